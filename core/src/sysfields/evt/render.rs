//! Parameter text as sysdig shows it (`scaptools/events/render.py`): each parameter
//! renders to a text and an optional resolution (errno name, fd name, thread name, flag
//! names, absolute path, ...); `evt.args` shows `name=text(resolved)` or `name=text`.
//! Resolutions that need state ask the [`State`] (none: nothing is resolved).

use std::fmt::Write;

use super::args::{self, Args};
use super::table::{self, Fmt, PType, Param};
use super::text::{push_buffer, push_flags, push_g, push_number, push_sanitized};
use crate::state::params::{ip_text, join_paths, AF_INET, AF_INET6, AF_UNIX};
use crate::state::{Fd, State, Thread};
use crate::walk::EventRef;

const AT_FDCWD: i128 = -100;
const SIGNALS: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// What one rendering reads: the event, its split parameters, the state (`None`:
/// nothing resolved) and the cut of byte buffers (`None`: whole).
pub struct Renderer<'r, 'a> {
    pub ev: &'r EventRef<'a>,
    pub args: &'r Args<'a>,
    pub state: Option<&'r State>,
    pub limit: Option<usize>,
}

impl Renderer<'_, '_> {
    /// Parameter `index` (described by `info`): its text into `text`, its resolution
    /// into `resolved` (`render_param`; an empty parameter is `NULL` or nothing).
    pub fn param(&self, index: usize, info: &Param, text: &mut String, resolved: &mut String) {
        let mut data = self.args.get(index);
        if data.is_empty() {
            if !info.ptype.is_buffer() {
                text.push_str("NULL");
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
        self.value(info, ptype, data, text, resolved);
    }

    fn value(&self, info: &Param, ptype: PType, data: &[u8], text: &mut String, res: &mut String) {
        if ptype.numeric().is_some() && ptype != PType::Double {
            return self.numeric(info, ptype, data, text, res);
        }
        match ptype {
            PType::Charbuf => text.push_str(&args::cstr(data)),
            PType::Fspath | PType::Fsrelpath => self.path(info, data, text, res),
            PType::Sockaddr => sockaddr(data, text),
            PType::Socktuple => socktuple(data, text),
            PType::Fdlist => self.fdlist(data, text),
            PType::Double => match data.get(..8) {
                // no table parameter has this type; Python's repr of a float
                Some(b) => {
                    let _ = write!(
                        text,
                        "{:?}",
                        f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
                    );
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

    fn numeric(
        &self,
        info: &Param,
        ptype: PType,
        data: &[u8],
        text: &mut String,
        res: &mut String,
    ) {
        let Some((size, signed)) = ptype.numeric() else {
            return;
        };
        let Some(raw) = args::number(data, size, signed) else {
            text.push_str("NULL");
            return;
        };
        match ptype {
            PType::Errno if info.fmt == Fmt::Hex && raw >= 0 => {
                let _ = write!(text, "{raw:X}"); // addresses returned by mmap/brk-like calls
            }
            PType::Errno => {
                let _ = write!(text, "{raw}");
                if raw < 0 {
                    push_errno(-raw, res);
                }
            }
            PType::Pid | PType::Pid32 => {
                let _ = write!(text, "{raw}");
                if let Some(th) = self.state.and_then(|s| s.thread(raw)) {
                    res.push_str(&th.comm);
                }
            }
            PType::Fd | PType::Fd32 => {
                let _ = write!(text, "{raw}");
                self.resolve_fd(raw, res);
            }
            PType::Uid | PType::Gid => self.id(ptype, raw, text, res),
            PType::Flags(_) | PType::EnumFlags(_) | PType::Mode => {
                if ptype == PType::Mode {
                    push_number(raw, size, info.fmt, ptype, text);
                } else {
                    let _ = write!(text, "{raw}");
                }
                let flags = info.flags.and_then(|f| table::table().flag_tables.get(f));
                let exact = matches!(ptype, PType::EnumFlags(_));
                push_flags(raw, flags.map_or(&[][..], Vec::as_slice), exact, res);
            }
            PType::Syscallid => {
                let _ = write!(text, "{raw}");
                if let Some(name) = u64::try_from(raw)
                    .ok()
                    .and_then(|c| table::table().syscall_names.get(&c))
                {
                    res.push_str(name);
                }
            }
            PType::Sigtype => {
                let _ = write!(text, "{raw}");
                if (1..=31).contains(&raw) {
                    res.push_str(SIGNALS[raw as usize - 1]);
                }
            }
            PType::Reltime if raw == i128::from(u64::MAX) => text.push_str("none"),
            PType::Reltime => {
                let _ = write!(text, "{raw}");
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
                        text.push(' ');
                    }
                    text.push_str(name);
                }
            }
            _ => push_number(raw, size, info.fmt, ptype, text),
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

    fn id(&self, ptype: PType, raw: i128, text: &mut String, res: &mut String) {
        if raw == 0xFFFF_FFFF {
            text.push_str("-1");
            res.push_str("<NONE>");
            return;
        }
        let _ = write!(text, "{raw}");
        let Some(state) = self.state.filter(|_| self.thread().is_some()) else {
            return;
        };
        let name = if ptype == PType::Uid {
            state.users.get(&raw).map(|u| u.name.as_str())
        } else {
            state.groups.get(&raw).map(String::as_str)
        };
        match name {
            Some(name) => push_sanitized(name, res),
            None => res.push_str("<NA>"),
        }
    }

    fn path(&self, info: &Param, data: &[u8], text: &mut String, res: &mut String) {
        let start = text.len();
        push_sanitized(&args::cstr(data), text);
        let Some(th) = self.thread() else {
            return;
        };
        let path = &text[start..];
        if path == "<NA>" {
            return;
        }
        let mut base: &str = &th.cwd;
        let dir_name;
        if info.ptype == PType::Fsrelpath {
            let dirfd = info.dirfd.filter(|d| *d < self.ev.nparams as usize);
            let raw = dirfd.map(|d| self.args.get(d)).filter(|r| r.len() == 8);
            if let Some(num) = raw.and_then(|r| args::number(r, 8, true)) {
                if num != AT_FDCWD {
                    dir_name = match th.fdtable.borrow().get(&num) {
                        Some(fd) if !fd.name.is_empty() => {
                            let mut s = String::with_capacity(fd.name.len() + 1);
                            push_sanitized(&fd.name, &mut s);
                            s.push('/');
                            s
                        }
                        _ => String::new(),
                    };
                    base = &dir_name;
                }
            }
        }
        push_joined(base, path, res);
    }

    fn fdlist(&self, data: &[u8], text: &mut String) {
        let Some(th) = self.thread() else {
            return;
        };
        let Some(count) = args::number(data, 2, false) else {
            return;
        };
        let table = th.fdtable.borrow();
        for i in 0..count as usize {
            let at = 2 + 10 * i;
            let Some(item) = data.get(at..at + 10) else {
                break;
            };
            let num = args::number(item, 8, true).unwrap_or(0);
            let flags = args::number(&item[8..], 2, false).unwrap_or(0);
            if i > 0 {
                text.push(' ');
            }
            let kind = table.get(&num).map_or('?', Fd::typechar);
            let _ = write!(text, "{num}:{kind}{flags:x}");
        }
    }
}

/// `path` made absolute against `base` (`join_paths`), without a copy when it already
/// is normal.
fn push_joined(base: &str, path: &str, out: &mut String) {
    let normal = path.starts_with('/')
        && !path.contains("//")
        && !path.contains("/.")
        && !path.ends_with('/');
    if normal {
        out.push_str(path);
    } else {
        out.push_str(&join_paths(base, path));
    }
}

fn push_errno(errno: i128, out: &mut String) {
    if let Some(name) = table::table().errno.get(&errno) {
        out.push_str(name);
    }
}

/// `<type>name` as sysdig resolves an fd (`fd_text`: `<4t>1.2.3.4:5->...`).
pub fn push_fd(fd: &Fd, out: &mut String) {
    let kind = fd.typechar();
    out.push('<');
    out.push(kind);
    if kind == '4' || kind == '6' {
        match fd.l4proto {
            2 => out.push('t'),
            3 => out.push('u'),
            4 => out.push('i'),
            5 => out.push('r'),
            _ => {}
        }
    }
    out.push('>');
    push_sanitized(&fd.name, out);
}

fn sockaddr(data: &[u8], out: &mut String) {
    let family = data[0];
    let port = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]);
    match family {
        AF_UNIX => push_sanitized(&args::cstr(&data[1..]), out),
        AF_INET if data.len() >= 7 => {
            let _ = write!(out, "{}:{}", ip_text(&data[1..5]), port(5));
        }
        AF_INET6 if data.len() >= 19 => {
            let _ = write!(out, "{}:{}", ip_text(&data[1..17]), port(17));
        }
        _ => {
            let _ = write!(out, "family {family}");
        }
    }
}

fn socktuple(data: &[u8], out: &mut String) {
    let family = data[0];
    let port = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]);
    let (src, dst, width) = match family {
        AF_INET if data.len() >= 13 => (1, 7, 4),
        AF_INET6 if data.len() >= 37 => (1, 19, 16),
        AF_UNIX if data.len() >= 17 => {
            let ptr = |at: usize| args::number(&data[at..], 8, false).unwrap_or(0);
            let _ = write!(out, "{:x}->{:x} ", ptr(1), ptr(9));
            push_sanitized(&args::cstr(&data[17..]), out);
            return;
        }
        _ => {
            let _ = write!(out, "family {family}");
            return;
        }
    };
    let sip = unmap(ip_text(&data[src..src + width]));
    let dip = unmap(ip_text(&data[dst..dst + width]));
    let _ = write!(
        out,
        "{sip}:{}->{dip}:{}",
        port(src + width),
        port(dst + width)
    );
}

/// An IPv4-mapped IPv6 address written with its IPv4 tail shows as the IPv4 address.
fn unmap(ip: String) -> String {
    match ip.strip_prefix("::ffff:") {
        Some(v4) if v4.contains('.') => v4.to_string(),
        _ => ip,
    }
}

/// sysdig's `evt.args` into `out`: `name=value(resolved)` for every stored parameter.
pub fn push_args(r: &Renderer<'_, '_>, out: &mut String) {
    let Some(info) = table::event(r.ev.etype) else {
        return;
    };
    let mut resolved = String::new();
    for (i, param) in info.params.iter().enumerate().take(r.args.len()) {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&param.name);
        out.push('=');
        let start = out.len();
        resolved.clear();
        r.param(i, param, out, &mut resolved);
        if !resolved.is_empty() && out[start..] != resolved {
            out.push('(');
            out.push_str(&resolved);
            out.push(')');
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
