//! What the `evt.*` fields read of a syscall event besides its rendered arguments
//! (`scaptools/fields/syscall/evt.py`): its type name, return value, latency,
//! category and the fd-type questions of I/O calls.

use super::args::{self, Args};
use super::table::{self, PType};
use crate::state::{Fd, State};
use crate::walk::EventRef;

/// The parameter-length array's start in a v2 event (§9.3).
const LENGTHS_AT: usize = crate::state::HEADER_SIZE;
const OPENS: [&str; 5] = ["open", "openat", "openat2", "creat", "open_by_handle_at"];

/// The PPM_SC code of a generic event (its first parameter, a u16 right after the
/// length array), or `None` (`render.syscall_code`).
pub fn syscall_code(ev: &EventRef<'_>) -> Option<u64> {
    if ev.etype > 1 || ev.nparams == 0 {
        return None;
    }
    let start = LENGTHS_AT.checked_add(2usize.checked_mul(ev.nparams as usize)?)?;
    let raw = ev.raw;
    if raw.get(LENGTHS_AT..LENGTHS_AT + 2)? != [2, 0] {
        return None;
    }
    let code = raw.get(start..start + 2)?;
    Some(u64::from(u16::from_le_bytes([code[0], code[1]])))
}

/// `evt.type`: the table name, or the real syscall of a generic event (§10.1).
pub fn type_name(ev: &EventRef<'_>) -> &'static str {
    let t = table::table();
    if ev.etype > 1 {
        return t
            .events
            .get(usize::from(ev.etype))
            .map_or("unknown", |e| e.name.as_str());
    }
    match syscall_code(ev) {
        Some(code) => t
            .syscall_names
            .get(&code)
            .map_or("<unknown>", String::as_str),
        None => t.events[usize::from(ev.etype)].name.as_str(),
    }
}

/// The table name of the event's type (`Event.name`).
pub fn table_name(etype: u16) -> &'static str {
    table::event(etype).map_or("unknown", |e| e.name.as_str())
}

/// Whether the event is an exit (`evt.dir` `<`).
pub fn is_exit(etype: u16) -> bool {
    table::event(etype).is_some_and(|e| !e.enter)
}

/// The return value of an exit event: its `res` (or first `fd`) parameter (`_res`).
pub fn res(ev: &EventRef<'_>) -> Option<i128> {
    if !is_exit(ev.etype) || ev.nparams == 0 {
        return None;
    }
    let first = table::event(ev.etype)?.params.first()?;
    if first.name != "res" && first.name != "fd" {
        return None;
    }
    let value = args::int(first.ptype, Args::first(ev)?)?;
    if first.ptype == PType::Uint64 && value >> 63 != 0 {
        return Some(value - (1i128 << 64));
    }
    Some(value)
}

/// `evt.latency`: exit time minus its enter's time; scheduler events repeat the latency
/// of the thread's last call; 0 otherwise (`_latency`).
pub fn latency(ev: &EventRef<'_>, state: Option<&State>) -> i128 {
    let Some(state) = state else {
        return 0;
    };
    if !is_exit(ev.etype) {
        return state.event_latency().unwrap_or(0);
    }
    let enter = state.event_thread().and_then(|t| t.last_enter.as_ref());
    match enter {
        Some(e) if u32::from(e.etype) + 1 == u32::from(ev.etype) => {
            i128::from(ev.ts) - i128::from(e.ts)
        }
        _ => 0,
    }
}

/// The event's fd unless it is a placeholder (`fd is None or fd.pending`).
fn real_fd(state: Option<&State>) -> Option<&Fd> {
    state?.event_fd().filter(|fd| !fd.pending())
}

/// `evt.category` (`_category`).
pub fn category(ev: &EventRef<'_>, state: Option<&State>) -> &'static str {
    let t = table::table();
    let mut cat = table::event(ev.etype).map_or("EC_UNKNOWN", |e| e.category.as_str());
    if let Some(code) = syscall_code(ev) {
        if let Some(real) = t.syscall_categories.get(&code) {
            cat = real; // generic events: the category of the real syscall
        }
    }
    if cat.starts_with("EC_IO") {
        return real_fd(state).map_or("unknown", |fd| io_category(fd.ftype));
    }
    if table::event(ev.etype).is_some_and(|e| e.scheduler) {
        return "scheduler";
    }
    match cat {
        "EC_IPC" => "IPC", // sysdig spells IPC in capitals
        "EC_FILE" => "file",
        "EC_NET" => "net",
        "EC_MEMORY" => "memory",
        "EC_PROCESS" => "process",
        "EC_SLEEP" => "sleep",
        "EC_SYSTEM" => "system",
        "EC_SIGNAL" => "signal",
        "EC_USER" => "user",
        "EC_TIME" => "time",
        "EC_WAIT" => "wait",
        "EC_OTHER" => "other",
        _ => "unknown",
    }
}

/// sysdig's category of an I/O call by the type of its fd (`fd.io_category`).
fn io_category(ftype: i128) -> &'static str {
    match ftype {
        1 | 2 | 16 => "file",
        3..=6 => "net",
        7 | 8 | 9 | 11 | 13 => "ipc",
        _ => "unknown",
    }
}

/// Which `evt.count.error.*` a failed call counts in (`fd.error_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    File,
    Net,
    Memory,
    Other,
}

pub fn error_kind(ev: &EventRef<'_>, state: Option<&State>) -> ErrorKind {
    if let Some(fd) = real_fd(state) {
        if matches!(fd.ftype, 1 | 2 | 16) {
            return ErrorKind::File;
        }
        if fd.is_socket() {
            return ErrorKind::Net;
        }
    }
    if OPENS.contains(&table_name(ev.etype)) {
        return ErrorKind::File;
    }
    match table::event(ev.etype).map(|e| e.category.as_str()) {
        Some("EC_NET") => ErrorKind::Net,
        Some("EC_MEMORY") => ErrorKind::Memory,
        _ => ErrorKind::Other,
    }
}

/// `evt.buflen`: the return value of an I/O call on a real fd, when not negative.
pub fn buflen(ev: &EventRef<'_>, state: Option<&State>) -> Option<i128> {
    let io = table::event(ev.etype).is_some_and(|e| e.category.starts_with("EC_IO"));
    real_fd(state).filter(|_| io)?;
    res(ev).filter(|r| *r >= 0)
}

/// `evt.is_syslog`: a write to the syslog socket.
pub fn is_syslog(ev: &EventRef<'_>, state: Option<&State>) -> bool {
    let write = table::event(ev.etype).is_some_and(|e| e.is_io_write());
    let fd = state.and_then(State::event_fd);
    write && fd.is_some_and(|fd| fd.name == "/dev/log" || fd.name == "/run/systemd/journal/syslog")
}

/// `evt.is_open_read` (`want_write` false) and `evt.is_open_write`.
pub fn open_mode(ev: &EventRef<'_>, want_write: bool) -> bool {
    let Some(info) = table::event(ev.etype) else {
        return false;
    };
    if info.enter || !OPENS.contains(&info.name.as_str()) {
        return false;
    }
    let Some(index) = info.index("flags").filter(|i| *i < ev.nparams as usize) else {
        return false;
    };
    let Some(flags) =
        Args::split(ev).and_then(|a| args::int(info.params[index].ptype, a.get(index)))
    else {
        return false;
    };
    let mode = flags & 3;
    if want_write {
        mode == 2 || mode == 3
    } else {
        mode == 1 || mode == 3
    }
}
