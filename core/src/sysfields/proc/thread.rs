//! The `thread.*` fields (`thread_fields` of `scaptools/fields/syscall/proc.py`). The
//! `thread.cpu*` fields keep a memory per thread between events and stay in Python.

use std::borrow::Cow;

use super::{event_thread, int, refuse_arg, Ctx};
use crate::fields::FieldError;
use crate::state::{Int, Thread};
use crate::value::Value;

/// A compiled `thread.*` field.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Tid,
    IsMain,
    Vtid,
    PfMajor,
    PfMinor,
    VmSize,
    VmRss,
    Cgroups,
    CapEffective,
    CapPermitted,
    /// the path of one cgroup subsystem (`thread.cgroup[cpu]`)
    Cgroup(String),
    ExecTime,
    TotExecTime,
}

const SIMPLE: &[(&str, Field, &str)] = &[
    ("thread.tid", Field::Tid, "int64"),
    ("thread.ismain", Field::IsMain, "bool"),
    ("thread.vtid", Field::Vtid, "int64"),
    ("thread.pfmajor", Field::PfMajor, "uint64"),
    ("thread.pfminor", Field::PfMinor, "uint64"),
    ("thread.vmsize", Field::VmSize, "uint64"),
    ("thread.vmrss", Field::VmRss, "uint64"),
    ("thread.cgroups", Field::Cgroups, "string"),
    ("thread.cap_effective", Field::CapEffective, "string"),
    ("thread.cap_permitted", Field::CapPermitted, "string"),
    ("thread.exectime", Field::ExecTime, "reltime"),
    ("thread.totexectime", Field::TotExecTime, "reltime"),
];

/// `Ok(None)`: `name` is not a `thread.*` field of the core.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<Field>, FieldError> {
    if name == "thread.cgroup" {
        return match arg {
            Some(arg) => Ok(Some(Field::Cgroup(arg.to_owned()))),
            None => Err(FieldError::Argument(format!(
                "filter {name} requires an argument"
            ))),
        };
    }
    match SIMPLE.iter().find(|(n, _, _)| *n == name) {
        Some((_, field, _)) => {
            refuse_arg(name, arg)?;
            Ok(Some(field.clone()))
        }
        None => Ok(None),
    }
}

impl Field {
    pub fn type_name(&self) -> &'static str {
        match self {
            Field::Cgroup(_) => "string",
            field => SIMPLE
                .iter()
                .find(|(_, f, _)| f == field)
                .map_or("string", |(_, _, ty)| ty),
        }
    }

    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        match self {
            // the header's tid as a signed number, with or without a thread
            Field::Tid => int(Int::from(cx.ev.tid as i64)),
            Field::ExecTime => match cx.state.event_exectime() {
                Some(time) => int(time),
                None => event_thread(cx).map(|_| Value::U64(0)),
            },
            field => field.of_thread(event_thread(cx)?),
        }
    }

    fn of_thread<'a>(&self, thread: &'a Thread) -> Option<Value<'a>> {
        let main = thread.tid == thread.pid;
        match self {
            Field::IsMain => Some(Value::Bool(main)),
            Field::Vtid => (thread.vtid >= 0)
                .then_some(())
                .and_then(|_| int(thread.vtid)),
            Field::PfMajor => int(thread.pfmajor),
            Field::PfMinor => int(thread.pfminor),
            Field::VmSize => int(if main { thread.vmsize_kb } else { 0 }),
            Field::VmRss => int(if main { thread.vmrss_kb } else { 0 }),
            Field::Cgroups => cgroups(thread),
            Field::CapEffective => Some(Value::Str(Cow::Owned(caps(thread.cap_effective)))),
            Field::CapPermitted => Some(Value::Str(Cow::Owned(caps(thread.cap_permitted)))),
            Field::Cgroup(sub) => thread.cgroups.iter().find_map(|item| {
                let (name, path) = item.split_once('=').unwrap_or((item, ""));
                (name == sub).then_some(Value::Str(Cow::Borrowed(path)))
            }),
            Field::TotExecTime => int(thread.totexectime),
            Field::Tid | Field::ExecTime => None,
        }
    }
}

/// The cgroups as `subsystem=path` words; sysdig 0.29.3 names the v1 `io` controller
/// by its old name `blkio`.
fn cgroups(thread: &Thread) -> Option<Value<'_>> {
    if thread.cgroups.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, item) in thread.cgroups.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match item.strip_prefix("io=") {
            Some(rest) => {
                out.push_str("blkio=");
                out.push_str(rest);
            }
            None => out.push_str(item),
        }
    }
    Some(Value::Str(Cow::Owned(out)))
}

/// Linux capability names by bit number.
const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The names of the bits set in `mask`, with spaces between.
fn caps(mask: Int) -> String {
    let names = CAPS
        .iter()
        .enumerate()
        .filter(|(bit, _)| (mask >> bit) & 1 == 1)
        .map(|(_, name)| *name);
    names.collect::<Vec<_>>().join(" ")
}
