//! What the last applied event leaves for the syscall fields: its thread, the fd it
//! works on, whether that fd is new, the latency and CPU time it shows (`event.cache`
//! of the Python tracker, `scaptools/state/tracker.py`).
//!
//! The fd is kept as its table and number when it is a table's fd, and read when a
//! field asks (`State::event_fd`): the Python cache holds the table's very `FdInfo`, so
//! what the event's own parser changes in it shows; nothing is copied per event. Only
//! fds that are in no table are owned here: the placeholders of an fd-creating call's
//! enter event, of an fd number the state does not know, a failed open's path, the
//! copy a failed unix connect shows.

use super::params::{join_paths, Params, Value};
use super::thread::{FD_EVENT, FD_EVENTPOLL, FD_FIFO, FD_INOTIFY, FD_IPV4_SOCK, FD_SIGNALFD};
use super::thread::{FD_PENDING_FILE, FD_PENDING_OTHER, FD_TIMERFD, FD_UNIX_SOCK};
use super::{Fd, FdTable, Int, State, Thread};

/// The fd of the cache.
#[derive(Debug, Default)]
pub(super) enum CachedFd {
    #[default]
    None,
    /// fd `num` of a table (read when asked)
    Table(FdTable, Int),
    /// an fd of no table
    Owned(Box<Fd>),
}

/// The per-event cache of the last event `State::update` applied.
#[derive(Debug, Default)]
pub struct EventCache {
    /// the event's thread (`cache["thread"]`)
    pub(super) tid: Option<Int>,
    /// the event's thread when the event itself dropped it from the table (the oldest
    /// quarter went while the event ran): it still shows it
    pub(super) gone: Option<Box<Thread>>,
    /// the fd the event works on, or a placeholder (`cache["fd"]`)
    pub(super) fd: CachedFd,
    pub(super) fd_new: bool,
    pub(super) latency: Option<Int>,
    pub(super) exectime: Option<Int>,
}

impl EventCache {
    /// Nothing shown (the start of each event, and plugin events).
    pub(super) fn clear(&mut self) {
        self.tid = None;
        self.gone = None;
        self.fd = CachedFd::None;
        self.fd_new = false;
        self.latency = None;
        self.exectime = None;
    }
}

impl State {
    /// The event's thread (`None`: the event has none).
    pub fn event_thread(&self) -> Option<&Thread> {
        if let Some(thread) = &self.cache.gone {
            return Some(thread);
        }
        self.cache.tid.and_then(|tid| self.threads.get(&tid))
    }

    /// The fd the event works on (`None`: it has none), as it is after the event: a
    /// table's fd, or a placeholder (`Fd::pending`: a negative type; see
    /// `FD_PENDING_FILE`, `FD_PENDING_OTHER`).
    pub fn event_fd(&self) -> Option<&Fd> {
        match &self.cache.fd {
            CachedFd::None => None,
            CachedFd::Table(table, num) => table.lend(self, *num),
            CachedFd::Owned(fd) => Some(fd),
        }
    }

    /// Whether the event made or renamed its fd (`fd.name_changed`, `fd_new`).
    pub fn fd_new(&self) -> bool {
        self.cache.fd_new
    }

    /// The latency the event shows (`cache["latency"]`: scheduler and internal events
    /// of a known thread show the thread's last one).
    pub fn event_latency(&self) -> Option<Int> {
        self.cache.latency
    }

    /// The CPU time a switch event shows (`cache["exectime"]`).
    pub fn event_exectime(&self) -> Option<Int> {
        self.cache.exectime
    }
}

/// The fd `num` of the thread's table, or the placeholder of an unknown fd.
pub(super) fn lookup(thread: &Thread, num: Int) -> CachedFd {
    if thread.fdtable.borrow().contains_key(&num) {
        CachedFd::Table(thread.fdtable.clone(), num)
    } else {
        CachedFd::Owned(Box::new(Fd::new(num, FD_PENDING_OTHER)))
    }
}

/// The name of the fd the cache holds when it is a table's (to see a parser rename it).
pub(super) fn table_name(fd: &CachedFd) -> Option<String> {
    match fd {
        CachedFd::Table(table, num) => table.borrow().get(num).map(|f| f.name.clone()),
        _ => None,
    }
}

/// Whether the table's fd the cache holds no longer has the name `before`.
pub(super) fn renamed(fd: &CachedFd, before: &str) -> bool {
    match fd {
        CachedFd::Table(table, num) => table.borrow().get(num).is_some_and(|f| f.name != before),
        _ => false,
    }
}

const OPENS: [&str; 5] = ["open", "openat", "openat2", "creat", "open_by_handle_at"];

/// The placeholder type of an fd-creating call's enter event (`parsers.pending_type`).
pub(super) fn pending_type(call: &str) -> Int {
    let made = match call {
        _ if OPENS.contains(&call) => return FD_PENDING_FILE,
        "socket" | "accept" | "accept4" => FD_IPV4_SOCK,
        "socketpair" => FD_UNIX_SOCK,
        "pipe" | "pipe2" => FD_FIFO,
        "eventfd" | "eventfd2" => FD_EVENT,
        "signalfd" | "signalfd4" => FD_SIGNALFD,
        "timerfd_create" => FD_TIMERFD,
        "inotify_init" | "inotify_init1" => FD_INOTIFY,
        "epoll_create" | "epoll_create1" => FD_EVENTPOLL,
        _ => return FD_PENDING_OTHER,
    };
    -100 - made
}

/// The fd an fd-creating exit made (`tracker.created_fd`): sets the thread's
/// `lastevent_fd` and `fd_new` when it is one; a failed open shows the path it tried as
/// fd -1.
pub(super) fn created_fd(
    thread: &mut Thread,
    call: &str,
    p: &Params,
    fd_new: &mut bool,
) -> CachedFd {
    let newfd = ["fd", "fd2", "res"].iter().find_map(|key| p.get(key));
    match newfd.and_then(Value::int) {
        Some(num) if num >= 0 => {
            thread.lastevent_fd = Some(num);
            let named = thread
                .fdtable
                .borrow()
                .get(&num)
                .map(|f| !f.name.is_empty());
            *fd_new = OPENS.contains(&call) || named == Some(true);
            match named {
                Some(_) => CachedFd::Table(thread.fdtable.clone(), num),
                None => CachedFd::None,
            }
        }
        Some(_) if OPENS.contains(&call) => {
            let path = match p.text("name") {
                Some(name) if !name.is_empty() => join_paths(&thread.cwd, name),
                _ => String::new(),
            };
            let mut fd = Fd::new(-1, FD_PENDING_FILE);
            fd.name = path;
            CachedFd::Owned(Box::new(fd))
        }
        _ => CachedFd::None,
    }
}
