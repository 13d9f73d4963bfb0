//! Names of fds: the type text and letter, `fd.name` (also of placeholders),
//! `fd.directory` and `fd.filename` (`posixpath` semantics).

use super::super::Ctx;
use crate::state::thread::*;
use crate::state::{Fd, Int};

const FD_UNSUPPORTED: Int = 10;
const FD_BPF: Int = 17;
const FD_USERFAULTFD: Int = 18;
const FD_IOURING: Int = 19;
const FD_MEMFD: Int = 20;
const FD_PIDFD: Int = 21;
/// A placeholder the state knows nothing of (`FD_PENDING_OTHER`); a placeholder of a
/// known kind has the type `-100 - kind`, a failed open's is -1 (`FD_PENDING_FILE`).
const FD_PENDING_OTHER: Int = -2;
const FD_PENDING_FILE: Int = -1;

/// sysdig's `fd.type` text of a type (not a placeholder).
pub fn type_name(ftype: Int) -> &'static str {
    match ftype {
        FD_FILE | FD_FILE_V2 => "file",
        FD_DIRECTORY => "directory",
        FD_IPV4_SOCK | FD_IPV4_SERVSOCK => "ipv4",
        FD_IPV6_SOCK | FD_IPV6_SERVSOCK => "ipv6",
        FD_FIFO => "pipe",
        FD_UNIX_SOCK => "unix",
        FD_EVENT => "event",
        FD_SIGNALFD => "signalfd",
        FD_EVENTPOLL => "eventpoll",
        FD_INOTIFY => "inotify",
        FD_TIMERFD => "timerfd",
        FD_NETLINK => "netlink",
        FD_BPF => "bpf",
        FD_USERFAULTFD => "userfaultfd",
        FD_IOURING => "io_uring",
        FD_MEMFD => "memfd",
        FD_PIDFD => "pidfd",
        _ => "unknown",
    }
}

/// The type letter sysdig shows in `<f>/etc/passwd`, also of placeholders.
pub fn type_char(ftype: Int) -> &'static str {
    let kind = if ftype <= -100 { -100 - ftype } else { ftype };
    match kind {
        FD_PENDING_FILE | FD_FILE | FD_FILE_V2 => "f",
        FD_DIRECTORY => "d",
        FD_IPV4_SOCK | FD_IPV4_SERVSOCK => "4",
        FD_IPV6_SOCK | FD_IPV6_SERVSOCK => "6",
        FD_FIFO => "p",
        FD_UNIX_SOCK => "u",
        FD_EVENT => "e",
        FD_UNSUPPORTED => "X",
        FD_SIGNALFD => "s",
        FD_EVENTPOLL => "l",
        FD_INOTIFY => "i",
        FD_TIMERFD => "t",
        FD_NETLINK => "n",
        _ => "o",
    }
}

/// Whether the event is an exit (`<`); types past the table are enters.
fn is_exit(cx: &Ctx<'_>) -> bool {
    crate::state::table::event(cx.ev.etype).is_some_and(|info| !info.enter)
}

/// `fd.name`: the stored name; a placeholder's path (a failed open), or the empty
/// text after the call of an fd the capture never described.
pub fn name<'a>(fd: &'a Fd, cx: &Ctx<'a>) -> Option<&'a str> {
    if fd.ftype >= 0 {
        return Some(&fd.name);
    }
    if (fd.num >= 0 || fd.ftype == FD_PENDING_OTHER) && is_exit(cx) {
        return Some("");
    }
    (!fd.name.is_empty()).then_some(fd.name.as_str())
}

/// `fd.directory`: a directory's own name, a file's directory, a placeholder's
/// directory ("/" when its name has none).
pub fn directory<'a>(fd: &'a Fd, cx: &Ctx<'a>) -> Option<&'a str> {
    if fd.ftype < 0 {
        let dir = dirname(name(fd, cx)?);
        return Some(if dir.is_empty() { "/" } else { dir });
    }
    match fd.ftype {
        FD_DIRECTORY => Some(&fd.name),
        FD_FILE | FD_FILE_V2 => Some(dirname(&fd.name)),
        _ => None,
    }
}

/// `fd.filename`: a file's name without its directory.
pub fn filename(fd: &Fd) -> Option<&str> {
    matches!(fd.ftype, FD_FILE | FD_FILE_V2).then(|| basename(&fd.name))
}

/// `posixpath.dirname`: up to the last `/`, without trailing slashes unless all
/// slashes.
pub fn dirname(path: &str) -> &str {
    let head = match path.rfind('/') {
        Some(at) => &path[..=at],
        None => "",
    };
    let trimmed = head.trim_end_matches('/');
    if trimmed.is_empty() {
        head
    } else {
        trimmed
    }
}

/// `posixpath.basename`: after the last `/`.
pub fn basename(path: &str) -> &str {
    path.rfind('/').map_or(path, |at| &path[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_posixpath() {
        for (path, dir, base) in [
            ("/etc/passwd", "/etc", "passwd"),
            ("/", "/", ""),
            ("//", "//", ""),
            ("//x", "//", "x"),
            ("a//b", "a", "b"),
            ("a/b/", "a/b", ""),
            ("plain", "", "plain"),
            ("", "", ""),
        ] {
            assert_eq!((dirname(path), basename(path)), (dir, base), "{path}");
        }
    }

    #[test]
    fn letters_of_placeholders() {
        assert_eq!(type_char(-1), "f");
        assert_eq!(type_char(-2), "o");
        assert_eq!(type_char(-100 - FD_FIFO), "p");
        assert_eq!(type_char(-5), "o");
        assert_eq!(type_char(FD_MEMFD), "o");
        assert_eq!(type_name(FD_UNKNOWN), "unknown");
    }
}
