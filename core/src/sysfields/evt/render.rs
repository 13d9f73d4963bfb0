//! Parameter text as sysdig shows it (`scaptools/events/render.py`): each parameter
//! renders to a text and an optional resolution (errno name, fd name, thread name, flag
//! names, absolute path, ...); `evt.args` shows `name=text(resolved)` or `name=text`.
//! Resolutions that need state ask the [`State`] (none: nothing is resolved).
//!
//! Both go into one buffer, the resolution right after the text ([`Renderer::param`]
//! says where it starts), so that `evt.info` is written without a second string.

use std::fmt::Write;

use super::args::{self, Args};
use super::net::{fdlist, push_errno, push_fd, sockaddr, socktuple};
use super::table::{self, Fmt, PType, Param};
use super::text::{
    push_buffer, push_flags, push_g, push_hex, push_int, push_number, push_sanitized,
};
use crate::state::params::join_paths;
use crate::state::{State, Thread};
use crate::walk::EventRef;

const AT_FDCWD: i128 = -100;
#[rustfmt::skip]
const SIGNALS: [&str; 31] = [
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
    "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

/// What one rendering reads: the event, its split parameters, the state (`None`:
/// nothing resolved) and the cut of byte buffers (`None`: whole).
pub struct Renderer<'r, 'a> {
    pub ev: &'r EventRef<'a>,
    pub args: &'r Args<'a>,
    pub state: Option<&'r State>,
    pub limit: Option<usize>,
}

/// The buffer of one parameter: its text, then (from `res_at`) its resolution.
struct Out<'o> {
    buf: &'o mut String,
    res_at: Option<usize>,
}

impl Out<'_> {
    /// Where the resolution goes (the text is complete when this is first called).
    fn res(&mut self) -> &mut String {
        self.res_at.get_or_insert(self.buf.len());
        self.buf
    }
}

impl Renderer<'_, '_> {
    /// Append parameter `index` (described by `info`) to `buf`: its text, then its
    /// resolution; returns where the resolution starts (`render_param`; an empty
    /// parameter is `NULL` or nothing).
    pub fn param(&self, index: usize, info: &Param, buf: &mut String) -> usize {
        let mut out = Out { buf, res_at: None };
        self.param_into(index, info, &mut out);
        out.res_at.unwrap_or(out.buf.len())
    }

    fn param_into(&self, index: usize, info: &Param, out: &mut Out<'_>) {
        let mut data = self.args.get(index);
        if data.is_empty() {
            if !info.ptype.is_buffer() {
                out.buf.push_str("NULL");
            }
            return;
        }
        let mut ptype = info.ptype;
        if ptype == PType::Dyn {
            let types = info.dynamic.and_then(|d| table::table().dyn_tables.get(d));
            if let Some(&inner) = types.and_then(|t| t.get(usize::from(data[0]))) {
                ptype = inner;
                data = &data[1..];
            }
        }
        if ptype.numeric().is_some() && ptype != PType::Double {
            return self.numeric(info, ptype, data, out);
        }
        if matches!(ptype, PType::Fspath | PType::Fsrelpath) {
            return self.path(info, data, out);
        }
        let text = &mut *out.buf;
        match ptype {
            PType::Charbuf => text.push_str(&args::cstr(data)),
            PType::Sockaddr => sockaddr(data, text),
            PType::Socktuple => socktuple(data, text),
            PType::Fdlist => {
                if let Some(th) = self.thread() {
                    fdlist(data, &th.fdtable, text);
                }
            }
            // no table parameter has this type; Python's repr of a float
            PType::Double => match data.get(..8).and_then(|b| b.try_into().ok()) {
                Some(b) => {
                    let _ = write!(text, "{:?}", f64::from_le_bytes(b));
                }
                None => text.push_str("NULL"),
            },
            _ => push_buffer(data, self.limit, text),
        }
    }

    /// The event's thread as the renderer looks it up (by the event's tid).
    fn thread(&self) -> Option<&Thread> {
        self.state?.thread(i128::from(self.ev.tid))
    }

    fn numeric(&self, info: &Param, ptype: PType, data: &[u8], out: &mut Out<'_>) {
        let Some((size, signed)) = ptype.numeric() else {
            return;
        };
        let Some(raw) = args::number(data, size, signed) else {
            out.buf.push_str("NULL");
            return;
        };
        match ptype {
            PType::Errno if info.fmt == Fmt::Hex && raw >= 0 => {
                push_hex(raw as u64, true, out.buf); // addresses returned by mmap/brk-like calls
            }
            PType::Errno => {
                push_int(raw, out.buf);
                if raw < 0 {
                    push_errno(-raw, out.res());
                }
            }
            PType::Pid | PType::Pid32 => {
                push_int(raw, out.buf);
                if let Some(th) = self.state.and_then(|s| s.thread(raw)) {
                    out.res().push_str(&th.comm);
                }
            }
            PType::Fd | PType::Fd32 => {
                push_int(raw, out.buf);
                self.resolve_fd(raw, out.res());
            }
            PType::Uid | PType::Gid => self.id(ptype, raw, out),
            PType::Flags(_) | PType::EnumFlags(_) | PType::Mode => {
                if ptype == PType::Mode {
                    push_number(raw, size, info.fmt, ptype, out.buf);
                } else {
                    push_int(raw, out.buf);
                }
                let flags = info.flags.and_then(|f| table::table().flag_tables.get(f));
                let exact = matches!(ptype, PType::EnumFlags(_));
                push_flags(raw, flags.map_or(&[][..], Vec::as_slice), exact, out.res());
            }
            PType::Syscallid => {
                push_int(raw, out.buf);
                let names = &table::table().syscall_names;
                if let Some(name) = u64::try_from(raw).ok().and_then(|c| names.get(&c)) {
                    out.res().push_str(name);
                }
            }
            PType::Sigtype => {
                push_int(raw, out.buf);
                if (1..=31).contains(&raw) {
                    out.res().push_str(SIGNALS[raw as usize - 1]);
                }
            }
            PType::Reltime if raw == i128::from(u64::MAX) => out.buf.push_str("none"),
            PType::Reltime => {
                push_int(raw, out.buf);
                let res = out.res();
                push_g(raw as f64 / 1e9, res);
                res.push('s');
            }
            PType::Sigset => {
                let set = SIGNALS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| raw & (1 << i) != 0);
                for (n, (_, name)) in set.enumerate() {
                    if n > 0 {
                        out.buf.push(' ');
                    }
                    out.buf.push_str(name);
                }
            }
            _ => push_number(raw, size, info.fmt, ptype, out.buf),
        }
    }

    fn resolve_fd(&self, raw: i128, res: &mut String) {
        let Some(th) = self.thread() else {
            return;
        };
        if raw >= 0 {
            if let Some(fd) = th.fdtable.borrow().get(&raw) {
                push_fd(fd, res);
            }
        } else if raw == AT_FDCWD {
            res.push_str("AT_FDCWD");
        } else {
            push_errno(-raw, res);
        }
    }

    fn id(&self, ptype: PType, raw: i128, out: &mut Out<'_>) {
        if raw == 0xFFFF_FFFF {
            out.buf.push_str("-1");
            out.res().push_str("<NONE>");
            return;
        }
        push_int(raw, out.buf);
        let Some(state) = self.state.filter(|_| self.thread().is_some()) else {
            return;
        };
        let name = if ptype == PType::Uid {
            state.users.get(&raw).map(|u| u.name.as_str())
        } else {
            state.groups.get(&raw).map(String::as_str)
        };
        match name {
            Some(name) => push_sanitized(name, out.res()),
            None => out.res().push_str("<NA>"),
        }
    }

    /// A path, then (with a thread) the path made absolute against the cwd or the
    /// directory fd of a relative path.
    fn path(&self, info: &Param, data: &[u8], out: &mut Out<'_>) {
        let start = out.buf.len();
        push_sanitized(&args::cstr(data), out.buf);
        let end = out.buf.len();
        let Some(th) = self.thread() else {
            return;
        };
        if &out.buf[start..] == "<NA>" {
            return;
        }
        if is_normal(&out.buf[start..end]) {
            let res = out.res();
            res.extend_from_within(start..end);
            return;
        }
        let mut dir_name = None;
        if info.ptype == PType::Fsrelpath {
            let dirfd = info.dirfd.filter(|d| *d < self.ev.nparams as usize);
            let raw = dirfd.map(|d| self.args.get(d)).filter(|r| r.len() == 8);
            let num = raw.and_then(|r| args::number(r, 8, true));
            if let Some(num) = num.filter(|n| *n != AT_FDCWD) {
                let mut name = String::new();
                if let Some(fd) = th.fdtable.borrow().get(&num).filter(|f| !f.name.is_empty()) {
                    push_sanitized(&fd.name, &mut name);
                    name.push('/');
                }
                dir_name = Some(name);
            }
        }
        let joined = join_paths(dir_name.as_deref().unwrap_or(&th.cwd), &out.buf[start..end]);
        out.res().push_str(&joined);
    }
}

/// An absolute path without empty, `.` or `..` parts and no slash at the end: its own
/// absolute form.
fn is_normal(path: &str) -> bool {
    path.starts_with('/') && !path.contains("//") && !path.contains("/.") && !path.ends_with('/')
}

/// sysdig's `evt.args` into `out`: `name=value(resolved)` for every stored parameter.
pub fn push_args(r: &Renderer<'_, '_>, out: &mut String) {
    let Some(info) = table::event(r.ev.etype) else {
        return;
    };
    for (i, param) in info.params.iter().enumerate().take(r.args.len()) {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&param.name);
        out.push('=');
        let start = out.len();
        let split = r.param(i, param, out);
        if split < out.len() && out[start..split] != out[split..] {
            out.insert(split, '(');
            out.push(')');
        } else {
            out.truncate(split);
        }
    }
}

/// `evt.info` of a syscall event: its arguments, followed by a space when there are
/// any; nothing for generic events (`event_info`).
pub fn push_info(r: &Renderer<'_, '_>, out: &mut String) {
    if r.ev.etype < 2 {
        return;
    }
    let start = out.len();
    push_args(r, out);
    if out.len() > start {
        out.push(' ');
    }
}
