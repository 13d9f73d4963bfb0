//! How events change thread and fd state (`scaptools/state/parsers.py`): one handler
//! per event name and direction; exit events read the matching enter event as the
//! thread's `last_enter`.

use std::sync::OnceLock;

use super::params::{decode, join_paths, Params, Value};
use super::sockets::{
    accept_exit, bind_exit, connect_enter, connect_exit, datagram, int_or_zero, socket_exit,
};
use super::table::{event, EventInfo};
use super::thread::*;
use super::{procs, Int, State, Thread, User};
use crate::walk::EventRef;

const PPM_O_DIRECTORY: Int = 1 << 10;

/// The parser of an event type (`plans.HANDLERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    None,
    Open,
    Socket,
    ConnectEnter,
    Connect,
    Bind,
    Datagram,
    Accept,
    Close,
    Dup,
    Pipe,
    Simple(Int),
    Chdir,
    Fchdir,
    Setuid,
    Setgid,
    Clone,
    Execve,
    Procexit,
    UserAdded,
    GroupAdded,
    Container,
}

impl Handler {
    pub fn is_none(self) -> bool {
        self == Handler::None
    }

    /// The handlers that also run without a thread (user, group and container events).
    pub fn is_threadless(self) -> bool {
        matches!(
            self,
            Handler::UserAdded | Handler::GroupAdded | Handler::Container
        )
    }

    /// The parsers that may rename an fd of the table in place (`fd.name_changed`).
    pub fn renames(self) -> bool {
        matches!(self, Handler::Connect | Handler::Bind | Handler::Datagram)
    }
}

/// The handler of event type `etype` (`None` past the table), found once per type.
pub fn handler_for(etype: u16) -> Handler {
    static HANDLERS: OnceLock<Vec<Handler>> = OnceLock::new();
    let all = HANDLERS.get_or_init(|| super::table::events().iter().map(handler_of).collect());
    all.get(usize::from(etype))
        .copied()
        .unwrap_or(Handler::None)
}

/// The handler of an event type.
pub fn handler_of(info: &EventInfo) -> Handler {
    use Handler::*;
    if info.enter {
        return match info.name.as_str() {
            "connect" => ConnectEnter,
            "procexit" => Procexit,
            "useradded" => UserAdded,
            "groupadded" => GroupAdded,
            "container" => Container,
            _ => None,
        };
    }
    match info.name.as_str() {
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" => Open,
        "socket" => Socket,
        "connect" => Connect,
        "bind" => Bind,
        "sendto" | "sendmsg" | "recvfrom" | "recvmsg" => Datagram,
        "accept" | "accept4" => Accept,
        "close" => Close,
        "dup" | "dup2" | "dup3" => Dup,
        "pipe" | "pipe2" => Pipe,
        "eventfd" | "eventfd2" => Simple(FD_EVENT),
        "signalfd" | "signalfd4" => Simple(FD_SIGNALFD),
        "timerfd_create" => Simple(FD_TIMERFD),
        "inotify_init" | "inotify_init1" => Simple(FD_INOTIFY),
        "epoll_create" | "epoll_create1" => Simple(FD_EVENTPOLL),
        "chdir" => Chdir,
        "fchdir" => Fchdir,
        "setuid" => Setuid,
        "setgid" => Setgid,
        "clone" | "fork" | "vfork" | "clone3" => Clone,
        "execve" | "execveat" => Execve,
        _ => None,
    }
}

/// User, group and container events of no thread; `Err` for a container event whose
/// `container` is not an object (where the Python parser fails).
pub fn threadless(state: &mut State, handler: Handler, params: &Params) -> Result<(), String> {
    match handler {
        Handler::UserAdded => user_added(state, params),
        Handler::GroupAdded => group_added(state, params),
        Handler::Container => state.on_container(params)?,
        _ => {}
    }
    Ok(())
}

/// Run `handler` for one event of `thread` (taken out of the state while it runs).
/// `Some(fd)`: the fd the event shows instead of the table's (a failed unix connect).
pub fn apply(
    state: &mut State,
    thread: &mut Thread,
    handler: Handler,
    ev: &EventRef<'_>,
    p: &Params,
) -> Result<Option<Fd>, String> {
    let name = event(ev.etype).map_or("", |i| i.name.as_str());
    match handler {
        Handler::None => {}
        Handler::Open => open_exit(thread, name, p)?,
        Handler::Socket => socket_exit(thread, p)?,
        Handler::ConnectEnter => connect_enter(thread, p),
        Handler::Connect => return connect_exit(thread, name, p),
        Handler::Bind => bind_exit(thread, name, p)?,
        Handler::Datagram => datagram(thread, name, p)?,
        Handler::Accept => accept_exit(thread, p),
        Handler::Close => close_exit(state, thread, p)?,
        Handler::Dup => dup_exit(thread, name, p)?,
        Handler::Pipe => pipe_exit(thread, p),
        Handler::Simple(ftype) => {
            if let Some(res) = p.int("res").filter(|r| *r >= 0) {
                thread.set_fd(Fd::new(res, ftype));
            }
        }
        Handler::Chdir => chdir_exit(thread, p),
        Handler::Fchdir => fchdir_exit(thread, name, p)?,
        Handler::Setuid => {
            if let Some(uid) = set_id(thread, "setuid", "uid", p)? {
                thread.uid = uid;
            }
        }
        Handler::Setgid => {
            if let Some(gid) = set_id(thread, "setgid", "gid", p)? {
                thread.gid = gid;
            }
        }
        Handler::Clone => procs::clone_exit(state, thread, ev, p),
        Handler::Execve => procs::execve_exit(thread, ev, p),
        Handler::Procexit => {
            thread.exited = true;
            state.schedule_removal(thread.tid);
        }
        Handler::UserAdded => user_added(state, p),
        Handler::GroupAdded => group_added(state, p),
        Handler::Container => state.on_container(p)?,
    }
    Ok(None)
}

/// The parameters of the thread's last enter event when it is a `name` event, else
/// none; `Err` when that event is damaged (the exit that reads it fails).
pub fn enter_params(thread: &Thread, name: &str) -> Result<Params, String> {
    let Some(last) = &thread.last_enter else {
        return Ok(Params::default());
    };
    match event(last.etype) {
        Some(info) if info.name == name => decode(info, &last.raw, last.nparams, last.large)
            .map_err(|e| format!("its enter event is damaged: {e}")),
        _ => Ok(Params::default()),
    }
}

/// `params.get(key, default)`: the event's own value wins, even an empty one.
pub(super) fn get_or<'a>(p: &'a Params, key: &str, other: &'a Params) -> Option<&'a Value> {
    p.get(key).or_else(|| other.get(key))
}

fn open_exit(thread: &mut Thread, name: &str, p: &Params) -> Result<(), String> {
    let Some(fd) = p.int("fd").filter(|fd| *fd >= 0) else {
        return Ok(());
    };
    // the enter event is decoded only when the exit lacks a parameter
    let mut enter: Option<Params> = None;
    let mut enter_of = |thread: &Thread| -> Result<Params, String> {
        if enter.is_none() {
            enter = Some(enter_params(thread, name)?);
        }
        Ok(enter.clone().unwrap_or_default())
    };
    let path = match p.get("name").filter(|v| v.truthy()) {
        Some(v) => v.clone(),
        None => enter_of(thread)?
            .get("name")
            .filter(|v| v.truthy())
            .cloned()
            .unwrap_or(Value::Text(String::new())),
    };
    let path = match &path {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    };
    let flags = match p.get("flags") {
        Some(v) => v.int().unwrap_or(0),
        None => enter_of(thread)?
            .get("flags")
            .and_then(Value::int)
            .unwrap_or(0),
    };
    let dirfd = if p.has("dirfd") {
        p.int("dirfd")
    } else if enter_has_dirfd(name) {
        enter_of(thread)?.int("dirfd")
    } else {
        None
    };
    let mut base = thread.cwd.clone();
    if let Some(dirfd) = dirfd {
        if dirfd != -100 && !path.starts_with('/') {
            base = thread.fd(dirfd).map(|d| d.name).unwrap_or_default();
        }
    }
    let full = if path.is_empty() {
        String::new()
    } else {
        join_paths(&base, &path)
    };
    let ftype = if flags & PPM_O_DIRECTORY != 0 {
        FD_DIRECTORY
    } else {
        FD_FILE
    };
    let mut info = Fd::new(fd, ftype);
    info.name = full;
    info.flags = flags;
    info.ino = p.get("ino").and_then(Value::int).unwrap_or(0);
    info.dev = p.get("dev").and_then(Value::int).unwrap_or(0);
    thread.set_fd(info);
    Ok(())
}

/// Whether any version of the `name` enter event has a `dirfd` parameter.
fn enter_has_dirfd(name: &str) -> bool {
    super::table::events()
        .iter()
        .any(|e| e.enter && e.name == name && e.params.iter().any(|p| p.name == "dirfd"))
}

/// The fd number an exit works on: its own `fd`, else its enter event's.
pub(super) fn event_fd(thread: &Thread, name: &str, p: &Params) -> Result<Option<Int>, String> {
    match p.int("fd") {
        Some(fd) => Ok(Some(fd)),
        None => Ok(enter_params(thread, name)?.int("fd")),
    }
}

fn close_exit(state: &mut State, thread: &mut Thread, p: &Params) -> Result<(), String> {
    if p.int("res").is_none_or(|r| r < 0) {
        return Ok(());
    }
    let enter = enter_params(thread, "close")?;
    if let Some(fd) = get_or(&enter, "fd", p).and_then(Value::int) {
        // removed once this event is done with it
        state.schedule_fd_removal(&thread.fdtable, fd);
    }
    Ok(())
}

fn dup_exit(thread: &mut Thread, name: &str, p: &Params) -> Result<(), String> {
    let Some(res) = p.int("res").filter(|r| *r >= 0) else {
        return Ok(());
    };
    let enter = enter_params(thread, name)?; // read even when the exit has `oldfd`
    let old = match p.get("oldfd") {
        Some(v) => v.int(),
        None => enter.int("fd"),
    };
    if let Some(src) = old.and_then(|o| thread.fd(o)) {
        thread.set_fd(src.copy(res));
    }
    Ok(())
}

fn pipe_exit(thread: &mut Thread, p: &Params) {
    if p.int("res").unwrap_or(0) < 0 {
        return;
    }
    let ino = int_or_zero(p.get("ino"));
    for key in ["fd1", "fd2"] {
        if let Some(fd) = p.int(key).filter(|fd| *fd >= 0) {
            let mut info = Fd::new(fd, FD_FIFO);
            info.ino = ino;
            thread.set_fd(info);
        }
    }
}

fn chdir_exit(thread: &mut Thread, p: &Params) {
    if p.int("res") != Some(0) {
        return;
    }
    if let Some(path) = p.text("path") {
        let joined = join_paths(&thread.cwd, path);
        thread.cwd = format!("{}/", joined.trim_end_matches('/'));
    }
}

fn fchdir_exit(thread: &mut Thread, name: &str, p: &Params) -> Result<(), String> {
    if p.int("res") != Some(0) {
        return Ok(());
    }
    if let Some(info) = event_fd(thread, name, p)?.and_then(|fd| thread.fd(fd)) {
        thread.cwd = format!("{}/", info.name.trim_end_matches('/'));
    }
    Ok(())
}

/// The id a successful setuid/setgid set: its enter event's, else its own.
fn set_id(thread: &Thread, call: &str, key: &str, p: &Params) -> Result<Option<Int>, String> {
    if p.int("res") != Some(0) {
        return Ok(None);
    }
    let enter = enter_params(thread, call)?;
    Ok(get_or(&enter, key, p).and_then(Value::int))
}

fn text_or_empty(p: &Params, key: &str) -> String {
    p.text(key).unwrap_or_default().to_string()
}

fn user_added(state: &mut State, p: &Params) {
    if let Some(uid) = p.int("uid") {
        state.add_user(User {
            uid,
            gid: p.int("gid"),
            name: text_or_empty(p, "name"),
            home: text_or_empty(p, "home"),
            shell: text_or_empty(p, "shell"),
        });
    }
}

fn group_added(state: &mut State, p: &Params) {
    if let Some(gid) = p.int("gid") {
        state.add_group(gid, text_or_empty(p, "name"));
    }
}
