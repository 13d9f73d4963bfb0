//! What the last applied event leaves for the syscall fields: its thread, the fd it
//! works on, whether that fd is new, the latency and CPU time it shows (`event.cache`
//! of the Python tracker, `scaptools/state/tracker.py`).

use super::{Fd, Int, State, Thread};

/// The per-event cache of the last event `State::update` applied.
#[derive(Debug, Default)]
pub struct EventCache {
    /// the event's thread (`cache["thread"]`)
    pub(crate) tid: Option<Int>,
    /// the fd the event works on, or a placeholder (`cache["fd"]`)
    pub(crate) fd: Option<Fd>,
    pub(crate) fd_new: bool,
    pub(crate) latency: Option<Int>,
    pub(crate) exectime: Option<Int>,
}

impl State {
    /// The event's thread (`None`: the event has none).
    pub fn event_thread(&self) -> Option<&Thread> {
        self.cache.tid.and_then(|tid| self.threads.get(&tid))
    }

    /// The fd the event works on (`None`: it has none). A placeholder has a negative
    /// type (`Fd::pending`).
    pub fn event_fd(&self) -> Option<&Fd> {
        self.cache.fd.as_ref()
    }

    /// Whether the event made or renamed its fd (`fd.name_changed`, `fd_new`).
    pub fn fd_new(&self) -> bool {
        self.cache.fd_new
    }

    /// The latency the event shows (`cache["latency"]`, scheduler events).
    pub fn event_latency(&self) -> Option<Int> {
        self.cache.latency
    }

    /// The CPU time a switch event shows (`cache["exectime"]`).
    pub fn event_exectime(&self) -> Option<Int> {
        self.cache.exectime
    }
}
