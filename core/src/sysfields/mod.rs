//! The fields of syscall events, computed in the core with the semantics of the Python
//! extractors (the reference, `scaptools/fields/syscall/`): the classes `evt`, `proc`,
//! `thread`, `user`, `group`, `fd`, `fdlist`, `container` (docs/core.md, "Syscall
//! fields").
//!
//! * [`compile`] resolves a name and its argument once. `Err(FieldError::Unknown)` means
//!   the core does not have the field: a rule or filter that uses it stays on the Python
//!   path. `Err(FieldError::Argument)` carries the Python field set's load error.
//! * [`SysField::extract`] reads one event through a [`Ctx`]: the event and the
//!   [`State`] right after `State::update` applied it (the state's per-event cache
//!   holds the event's thread and fd).
//!
//! Each class lives in its own module; every module has the same three entry points:
//! `compile(name, arg) -> Result<Option<F>, FieldError>` (`Ok(None)`: not a field of
//! this module), `F::extract(&self, &Ctx) -> Option<Value>`, `F::type_name()` and
//! `F::is_list()`.

mod evt;
mod fd;
mod proc;

use crate::fields::FieldError;
use crate::state::State;
use crate::value::Value;
use crate::walk::EventRef;
pub use evt::{push_event_args, MAX_BUF_LEN};

/// What a field reads for one event: the event and the state right after it was applied.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub ev: EventRef<'a>,
    pub state: &'a State,
    /// the machine's name (`evt.hostname`)
    pub hostname: &'a str,
}

/// A compiled syscall field.
#[derive(Debug, Clone, PartialEq)]
pub struct SysField(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Evt(evt::EvtField),
    Proc(proc::ProcField),
    Fd(fd::FdField),
}

/// The syscall field `name` with its argument (`proc.aname[2]` is
/// `("proc.aname", Some("2"))`, `evt.arg.fd` is `("evt.arg", Some("fd"))`).
pub fn compile(name: &str, arg: Option<&str>) -> Result<SysField, FieldError> {
    if let Some(field) = evt::compile(name, arg)? {
        return Ok(SysField(Kind::Evt(field)));
    }
    if let Some(field) = proc::compile(name, arg)? {
        return Ok(SysField(Kind::Proc(field)));
    }
    if let Some(field) = fd::compile(name, arg)? {
        return Ok(SysField(Kind::Fd(field)));
    }
    Err(FieldError::Unknown(name.to_owned()))
}

impl SysField {
    /// The field's value for the event, or `None` (no value).
    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match &self.0 {
            Kind::Evt(field) => field.extract(cx),
            Kind::Proc(field) => field.extract(cx),
            Kind::Fd(field) => field.extract(cx),
        }
    }

    /// The value type as the Python field set names it (`string`, `uint64`, `int64`,
    /// `abstime`, `reltime`, `bool`, ...).
    pub fn type_name(&self) -> &'static str {
        match &self.0 {
            Kind::Evt(field) => field.type_name(),
            Kind::Proc(field) => field.type_name(),
            Kind::Fd(field) => field.type_name(),
        }
    }

    /// Whether the field's values are lists.
    pub fn is_list(&self) -> bool {
        match &self.0 {
            Kind::Evt(field) => field.is_list(),
            Kind::Proc(field) => field.is_list(),
            Kind::Fd(field) => field.is_list(),
        }
    }
}
