//! Names of fds: the type letter, `fd.name` (also of placeholders),
//! `fd.directory` and `fd.filename` (`posixpath` semantics).

use super::super::Ctx;
use crate::state::thread::*;
use crate::state::Fd;

/// Every ASCII character, so that a type letter is text without an allocation.
static ASCII: [u8; 128] = {
    let mut all = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        all[i] = i as u8;
        i += 1;
    }
    all
};

/// The type letter sysdig shows in `<f>/etc/passwd` (`Fd::typechar`), also of
/// placeholders.
pub fn type_char(fd: &Fd) -> &'static str {
    let at = fd.typechar() as usize;
    ASCII
        .get(at..=at)
        .and_then(|one| std::str::from_utf8(one).ok())
        .unwrap_or("o")
}

/// Whether the event is an exit (`<`); types past the table are enters.
fn is_exit(cx: &Ctx<'_>) -> bool {
    crate::state::table::event(cx.ev.etype).is_some_and(|info| !info.enter)
}

/// `fd.name`: the stored name; a placeholder's path (a failed open), or the empty
/// text after the call of an fd the capture never described.
pub fn name<'a>(fd: &'a Fd, cx: &Ctx<'a>) -> Option<&'a str> {
    if !fd.pending() {
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
    if fd.pending() {
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
        let letter = |ftype| type_char(&Fd::new(-1, ftype));
        assert_eq!(letter(FD_PENDING_FILE), "f");
        assert_eq!(letter(FD_PENDING_OTHER), "o");
        assert_eq!(letter(-100 - FD_FIFO), "p");
        assert_eq!(letter(-5), "o");
        assert_eq!(letter(FD_MEMFD), "o");
        assert_eq!(letter(FD_DIRECTORY), "d");
    }
}
