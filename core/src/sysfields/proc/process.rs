//! The `proc.*` fields (`proc_fields` and `_add_process_details` of
//! `scaptools/fields/syscall/proc.py`).

use std::borrow::Cow;

use super::family;
use super::{event_thread, int, main_thread, parent_thread, refuse_arg, Ctx};
use crate::fields::FieldError;
use crate::state::Thread;
use crate::value::Value;

/// A compiled `proc.*` field: what it reads and its type name.
#[derive(Debug, Clone, PartialEq)]
pub struct Field(Kind, &'static str);

/// A thread's value that several fields read (of the thread, its parent or an ancestor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attr {
    Pid,
    Comm,
    Exe,
    Exepath,
    Cmdline,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// of the event's thread
    Own(Own),
    /// of the main thread of its process
    Main(Main),
    /// of the thread that made it
    Parent(Attr),
    /// of the ancestor `level` processes up (0: the process itself)
    Ancestor(Attr, u128),
    Nthreads,
    Nchilds,
    Sname,
    LoginShell,
    Duration,
    ParentDuration,
    GroupLeader(Attr),
    /// never has a value here
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Own {
    Pid,
    Comm,
    Vpid,
    False,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Main {
    Exe,
    Args,
    Env,
    Cmdline,
    Exeline,
    Cwd,
    Ppid,
    FdOpenCount,
    FdLimit,
    FdUsage,
    VmSize,
    VmRss,
    VmSwap,
    Sid,
    Tty,
    Exepath,
    Vpgid,
    ExeWritable,
    False,
    VpgidLeader,
}

const SIMPLE: &[(&str, Kind, &str)] = &[
    ("proc.pid", Kind::Own(Own::Pid), "int64"),
    ("proc.exe", Kind::Main(Main::Exe), "string"),
    ("proc.name", Kind::Own(Own::Comm), "string"),
    ("proc.args", Kind::Main(Main::Args), "string"),
    ("proc.env", Kind::Main(Main::Env), "string"),
    ("proc.cmdline", Kind::Main(Main::Cmdline), "string"),
    ("proc.exeline", Kind::Main(Main::Exeline), "string"),
    ("proc.cwd", Kind::Main(Main::Cwd), "string"),
    ("proc.nthreads", Kind::Nthreads, "uint64"),
    ("proc.nchilds", Kind::Nchilds, "uint64"),
    ("proc.ppid", Kind::Main(Main::Ppid), "int64"),
    ("proc.pname", Kind::Parent(Attr::Comm), "string"),
    ("proc.pcmdline", Kind::Parent(Attr::Cmdline), "string"),
    ("proc.pexe", Kind::Parent(Attr::Exe), "string"),
    ("proc.pexepath", Kind::Parent(Attr::Exepath), "string"),
    ("proc.duration", Kind::Duration, "reltime"),
    ("proc.fdopencount", Kind::Main(Main::FdOpenCount), "uint64"),
    ("proc.fdlimit", Kind::Main(Main::FdLimit), "int64"),
    ("proc.vmsize", Kind::Main(Main::VmSize), "uint64"),
    ("proc.vmrss", Kind::Main(Main::VmRss), "uint64"),
    ("proc.vmswap", Kind::Main(Main::VmSwap), "uint64"),
    ("proc.sid", Kind::Main(Main::Sid), "int64"),
    ("proc.sname", Kind::Sname, "string"),
    ("proc.tty", Kind::Main(Main::Tty), "uint64"),
    ("proc.exepath", Kind::Main(Main::Exepath), "string"),
    ("proc.vpgid", Kind::Main(Main::Vpgid), "int64"),
    ("proc.vpid", Kind::Own(Own::Vpid), "int64"),
    ("proc.loginshellid", Kind::LoginShell, "int64"),
    (
        "proc.is_container_healthcheck",
        Kind::Own(Own::False),
        "bool",
    ),
    (
        "proc.is_container_liveness_probe",
        Kind::Own(Own::False),
        "bool",
    ),
    (
        "proc.is_container_readiness_probe",
        Kind::Own(Own::False),
        "bool",
    ),
    ("proc.fdusage", Kind::Main(Main::FdUsage), "double"),
    (
        "proc.is_exe_writable",
        Kind::Main(Main::ExeWritable),
        "bool",
    ),
    ("proc.is_exe_upper_layer", Kind::Main(Main::False), "bool"),
    ("proc.is_exe_from_memfd", Kind::Main(Main::False), "bool"),
    ("proc.exe_ino.ctime", Kind::Never, "abstime"),
    ("proc.exe_ino.mtime", Kind::Never, "abstime"),
    (
        "proc.exe_ino.ctime_duration_proc_start",
        Kind::Never,
        "reltime",
    ),
    (
        "proc.is_vpgid_leader",
        Kind::Main(Main::VpgidLeader),
        "bool",
    ),
    ("proc.vpgid.name", Kind::GroupLeader(Attr::Comm), "string"),
    ("proc.vpgid.exe", Kind::GroupLeader(Attr::Exe), "string"),
    ("proc.ppid.duration", Kind::ParentDuration, "reltime"),
];

const ANCESTORS: &[(&str, Attr, &str)] = &[
    ("proc.apid", Attr::Pid, "int64"),
    ("proc.aname", Attr::Comm, "string"),
    ("proc.aexe", Attr::Exe, "string"),
    ("proc.aexepath", Attr::Exepath, "string"),
];

/// `Ok(None)`: `name` is not a `proc.*` field of the core.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<Field>, FieldError> {
    if let Some((_, attr, ty)) = ANCESTORS.iter().find(|(n, _, _)| *n == name) {
        return match level(arg) {
            Some(level) => Ok(Some(Field(Kind::Ancestor(*attr, level), ty))),
            // an argument only Python reads the same way (non-ASCII digits, huge)
            None => Err(FieldError::Unknown(name.to_owned())),
        };
    }
    match SIMPLE.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, ty)) => {
            refuse_arg(name, arg)?;
            Ok(Some(Field(kind.clone(), ty)))
        }
        None => Ok(None),
    }
}

/// The level of an ancestor field's argument: digits give their number, anything else
/// (none, empty, `-1`, `x`) level 1; `None` for what the core does not read as Python
/// does (`str.isdigit` takes more than ASCII digits).
pub(super) fn level(arg: Option<&str>) -> Option<u128> {
    let Some(arg) = arg.filter(|a| !a.is_empty()) else {
        return Some(1);
    };
    if !arg.is_ascii() {
        return None;
    }
    if arg.bytes().all(|b| b.is_ascii_digit()) {
        return arg.parse().ok();
    }
    Some(1)
}

impl Field {
    pub fn type_name(&self) -> &'static str {
        self.1
    }

    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        let state = cx.state;
        let thread = event_thread(cx)?;
        match &self.0 {
            Kind::Own(own) => own_value(thread, *own),
            Kind::Main(main) => main_value(main_thread(state, thread), *main),
            Kind::Parent(attr) => attr_value(parent_thread(state, thread)?, *attr),
            Kind::Ancestor(attr, level) => {
                attr_value(family::ancestor(state, thread, *level)?, *attr)
            }
            Kind::Nthreads => Some(Value::U64(family::nthreads(state, thread))),
            Kind::Nchilds => Some(Value::U64(family::nchilds(state, thread))),
            Kind::Sname => Some(Value::Str(Cow::Borrowed(
                family::session_leader(state, thread).comm.as_str(),
            ))),
            Kind::LoginShell => family::login_shell(state, thread).and_then(int),
            Kind::Duration => since(cx, thread),
            Kind::ParentDuration => {
                let main = main_thread(state, thread);
                since(cx, main_thread(state, parent_thread(state, main)?))
            }
            Kind::GroupLeader(attr) => attr_value(family::group_leader(state, thread)?, *attr),
            Kind::Never => None,
        }
    }
}

/// Nanoseconds from the thread's start to the event (no value when the start is unknown).
fn since<'a>(cx: &Ctx<'a>, thread: &Thread) -> Option<Value<'a>> {
    if thread.clone_ts == 0 {
        return None;
    }
    int(i128::from(cx.ev.ts) - thread.clone_ts)
}

fn text(value: &str) -> Option<Value<'_>> {
    Some(Value::Str(Cow::Borrowed(value)))
}

fn own_value(thread: &Thread, own: Own) -> Option<Value<'_>> {
    match own {
        Own::Pid => int(thread.pid),
        Own::Comm => text(&thread.comm),
        Own::Vpid => (thread.vpid >= 0)
            .then_some(())
            .and_then(|_| int(thread.vpid)),
        Own::False => Some(Value::Bool(false)),
    }
}

pub(super) fn attr_value(thread: &Thread, attr: Attr) -> Option<Value<'_>> {
    match attr {
        Attr::Pid => int(thread.pid),
        Attr::Comm => text(&thread.comm),
        Attr::Exe => text(&thread.exe),
        Attr::Exepath => text(&thread.exepath),
        Attr::Cmdline => Some(Value::Str(cmdline(thread))),
    }
}

/// The name and the arguments, with spaces between (`_cmdline`).
fn cmdline(thread: &Thread) -> Cow<'_, str> {
    if thread.args.is_empty() {
        return Cow::Borrowed(&thread.comm);
    }
    let size = thread.comm.len() + thread.args.iter().map(|a| a.len() + 1).sum::<usize>();
    let mut out = String::with_capacity(size);
    out.push_str(&thread.comm);
    for arg in &thread.args {
        out.push(' ');
        out.push_str(arg);
    }
    Cow::Owned(out)
}

/// Words with spaces between, borrowed when there are fewer than two.
fn joined(words: &[String]) -> Cow<'_, str> {
    match words {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(one),
        _ => Cow::Owned(words.join(" ")),
    }
}

fn main_value(main: &Thread, field: Main) -> Option<Value<'_>> {
    match field {
        Main::Exe => text(&main.exe),
        Main::Args => Some(Value::Str(joined(&main.args))),
        Main::Env => Some(Value::Str(joined(&main.env))),
        Main::Cmdline => Some(Value::Str(cmdline(main))),
        Main::Exeline => Some(Value::Str(Cow::Owned(format!(
            "{} {}",
            main.exe,
            main.args.join(" ")
        )))),
        Main::Cwd => text(&main.cwd),
        Main::Ppid => int(main.ptid),
        Main::FdOpenCount => Some(Value::U64(main.fdtable.borrow().len() as u64)),
        Main::FdLimit => int(main.fdlimit),
        Main::FdUsage => fd_usage(main),
        Main::VmSize => int(main.vmsize_kb),
        Main::VmRss => int(main.vmrss_kb),
        Main::VmSwap => int(main.vmswap_kb),
        Main::Sid => int(main.sid),
        Main::Tty => int(main.tty),
        Main::Exepath => text(&main.exepath),
        Main::Vpgid => int(main.vpgid),
        Main::ExeWritable => Some(Value::Bool(main.exe_writable != 0)),
        Main::False => Some(Value::Bool(false)),
        Main::VpgidLeader => (main.vpgid >= 0).then_some(Value::Bool(main.vpgid == main.vpid)),
    }
}

/// Open fds over the fd limit in percent, one decimal (`proc.fdusage`, a text).
fn fd_usage(main: &Thread) -> Option<Value<'static>> {
    if main.fdlimit == 0 {
        return None;
    }
    let open = main.fdtable.borrow().len() as f64 * 100.0;
    let share = open / main.fdlimit as f64;
    let share = if share > 0.0 { share } else { 0.0 };
    Some(Value::Str(Cow::Owned(format!("{share:.1}"))))
}
