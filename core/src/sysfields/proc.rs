//! The syscall fields of the classes proc, thread, user, group, container (and the
//! k8s fields that have no value without metadata), as `scaptools/fields/syscall/
//! proc.py` and `container.py` compute them.
//!
//! Each class has its own module; this one dispatches and holds what they share: the
//! main thread and the parent of a thread (`common.main_thread`, `parent_thread`) and
//! the integer values.

mod container;
mod family;
mod process;
mod thread;
mod user;

#[cfg(test)]
mod tests;

use super::Ctx;
use crate::fields::FieldError;
use crate::state::{Int, State, Thread};
use crate::value::Value;

/// A compiled field of this module.
#[derive(Debug, Clone, PartialEq)]
pub enum ProcField {
    Proc(process::Field),
    Thread(thread::Field),
    User(user::Field),
    Container(container::Field),
}

/// `Ok(None)`: `name` is not a field of this module.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<ProcField>, FieldError> {
    let class = name.split('.').next().unwrap_or("");
    Ok(match class {
        "proc" => process::compile(name, arg)?.map(ProcField::Proc),
        "thread" => thread::compile(name, arg)?.map(ProcField::Thread),
        "user" | "group" => user::compile(name, arg)?.map(ProcField::User),
        "container" | "k8s" => container::compile(name, arg)?.map(ProcField::Container),
        _ => None,
    })
}

impl ProcField {
    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match self {
            ProcField::Proc(field) => field.extract(cx),
            ProcField::Thread(field) => field.extract(cx),
            ProcField::User(field) => field.extract(cx),
            ProcField::Container(field) => field.extract(cx),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            ProcField::Proc(field) => field.type_name(),
            ProcField::Thread(field) => field.type_name(),
            ProcField::User(field) => field.type_name(),
            ProcField::Container(field) => field.type_name(),
        }
    }

    pub fn is_list(&self) -> bool {
        false
    }
}

/// The load error of a field that takes no argument and was given one.
fn refuse_arg(name: &str, arg: Option<&str>) -> Result<(), FieldError> {
    match arg {
        Some(_) => Err(FieldError::Argument(format!(
            "filter {name} does not support an argument"
        ))),
        None => Ok(()),
    }
}

/// An integer value (`None` only past the 64-bit ranges, which the tables never hold).
fn int<'a>(value: Int) -> Option<Value<'a>> {
    if value >= 0 {
        u64::try_from(value).ok().map(Value::U64)
    } else {
        i64::try_from(value).ok().map(Value::I64)
    }
}

/// The main thread of `thread`'s process (itself when that one is unknown).
fn main_thread<'a>(state: &'a State, thread: &'a Thread) -> &'a Thread {
    if thread.pid == thread.tid {
        return thread;
    }
    state.thread(thread.pid).unwrap_or(thread)
}

/// The thread that made `thread` (its `ptid`), if known.
fn parent_thread<'a>(state: &'a State, thread: &Thread) -> Option<&'a Thread> {
    state.thread(thread.ptid)
}

/// The event's thread (`None`: no value).
fn event_thread<'a>(cx: &Ctx<'a>) -> Option<&'a Thread> {
    cx.state.event_thread()
}
