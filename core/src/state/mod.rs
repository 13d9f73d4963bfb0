//! Syscall state: the thread, fd, user and group tables of a capture, kept as the
//! Python `State` keeps them (`scaptools/state/`, docs/core.md "Syscall state").
//!
//! `State::seed` takes the metadata blocks of the walk (process lists of every
//! version, fd lists, user lists, interface lists); `State::update` takes every event in
//! file order. A thread ended by `procexit` and an fd ended by `close` stay in the
//! tables until the next event starts (libsinsp drops them after the event that ends
//! them). The thread table keeps at most `max_threads` threads.
//!
//! After `update`, the event's cache (`event.cache` of the Python tracker, `cache.rs`)
//! answers the syscall fields: `event_thread`, `event_fd` (a table's fd or a
//! placeholder, `Fd::pending`), `fd_new`, `event_latency`, `event_exectime`; and the
//! containers of the container events (`containers.rs`): `container_value(thread,
//! key)`. Field memory (`thread.cpu*`) is not kept: those fields stay in Python.

mod cache;
mod containers;
pub mod dump;
mod fdtable;
pub mod hash;
mod held;
pub mod memory;
pub mod params;
mod parsers;
mod procs;
pub mod seed;
mod sockets;
pub mod table;
pub mod thread;
pub mod threads;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::walk::{BlockRef, EventRef};
use cache::CachedFd;
pub use cache::EventCache;
pub use containers::{ContainerKey, ContainerValue};
pub use fdtable::FdTable;
use hash::IntMap;
pub use held::Held;
pub use thread::{Fd, Thread};
pub use threads::Threads;

/// Integers of the tables: wide enough for every i64 and u64 value the format holds.
pub type Int = i128;

/// The v2 event header size (§9.2); parameter lengths follow it.
pub(crate) const HEADER_SIZE: usize = 26;
/// Tids at or above this (and 0) are not threads (`tracker.TID_LIMIT`).
const TID_LIMIT: u64 = 1 << 62;
/// The tid of events that belong to no thread.
const NO_TID: u64 = u64::MAX;

/// One user of a user list or `useradded` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: Int,
    /// `None` when a `useradded` event left it empty
    pub gid: Option<Int>,
    pub name: String,
    pub home: String,
    pub shell: String,
}

/// The last enter event of a thread (`ThreadInfo.last_enter`): what its exit reads.
#[derive(Debug, Clone)]
pub struct Enter {
    pub etype: u16,
    pub ts: u64,
    pub cpu: u16,
    pub nparams: usize,
    pub large: bool,
    pub raw: Vec<u8>,
}

/// Threads (with their fd tables), users and groups of one capture.
#[derive(Debug, Default)]
pub struct State {
    pub threads: Threads,
    pub users: IntMap<User>,
    pub groups: IntMap<String>,
    pub first_ts: Option<u64>,
    /// addresses of the machine's interfaces (4 or 16 bytes)
    pub interfaces: HashSet<Vec<u8>>,
    /// 12-character container id -> what its container event said (`state.containers`)
    containers: HashMap<String, serde_json::Value>,
    /// cpu -> time of its last switch event
    cpu_switch: HashMap<u16, u64>,
    /// threads the previous event ended
    removals: Vec<Int>,
    /// fds the previous event closed: (table, fd number)
    fd_removals: Vec<(FdTable, Int)>,
    /// what the last event leaves for the fields
    cache: EventCache,
}

impl State {
    pub fn new() -> Self {
        Self::default()
    }

    /// A state that keeps at most `max` threads (the oldest quarter goes when full).
    pub fn with_max_threads(max: usize) -> Self {
        State {
            threads: Threads::new(max),
            ..State::default()
        }
    }

    /// Apply one metadata block (process, fd, user or interface list); other blocks are
    /// ignored.
    /// `Err` names what in the block is malformed.
    pub fn seed(&mut self, block: &BlockRef<'_>) -> Result<(), String> {
        seed::seed_block(self, block)
    }

    /// Add a thread as a process-list entry does: a thread shares its leader's fds.
    fn add_thread(&mut self, mut thread: Thread) {
        if thread.tid != thread.pid {
            if let Some(leader) = self.threads.get(&thread.pid) {
                thread.fdtable = leader.fdtable.clone();
            }
        }
        self.threads.add(thread);
    }

    /// Add the fds of an fd-list block to thread `tid` (created when unknown).
    fn add_fds(&mut self, tid: Int, fds: Vec<Fd>) {
        if !self.threads.contains_key(&tid) {
            self.threads.add(Thread::new(tid));
        }
        let Some(thread) = self.threads.get(&tid) else {
            return;
        };
        let mut table = thread.fdtable.borrow_mut();
        for fd in fds {
            table.insert(fd.num, fd);
        }
    }

    pub fn add_user(&mut self, user: User) {
        self.users.insert(user.uid, user);
    }

    pub fn add_group(&mut self, gid: Int, name: String) {
        self.groups.insert(gid, name);
    }

    pub fn thread(&self, tid: Int) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// Drop the threads and fds that the previous event ended.
    pub fn flush_removals(&mut self) {
        for tid in self.removals.drain(..) {
            self.threads.remove(&tid);
        }
        for (table, num) in self.fd_removals.drain(..) {
            table.borrow_mut().remove(&num);
        }
    }

    /// Apply one event (in file order). `Err` for an event whose parameters run past
    /// its end when the state has to read them.
    pub fn update(&mut self, ev: &EventRef<'_>) -> Result<(), String> {
        self.cache.clear();
        if ev.etype == table::PLUGIN_EVENT {
            return Ok(()); // plugin events have no thread state
        }
        if !self.removals.is_empty() || !self.fd_removals.is_empty() {
            self.flush_removals();
        }
        self.first_ts.get_or_insert(ev.ts);
        let info = table::event(ev.etype);
        let handler = parsers::handler_for(ev.etype);
        let skip = info.is_some_and(|i| i.skip);
        let enter = info.is_none_or(|i| i.enter);
        let switch = skip && info.is_some_and(|i| i.name == "switch");
        if ev.tid == 0 || ev.tid >= TID_LIMIT {
            if handler.is_threadless()
                && (ev.tid == NO_TID || handler == parsers::Handler::Container)
            {
                let params = decode(info, ev)?;
                parsers::threadless(self, handler, &params)?;
            } else if switch {
                self.switch(None, ev);
            }
            return Ok(());
        }
        let tid = Int::from(ev.tid);
        if !skip && handler.is_none() && info.is_some_and(|i| !i.creates && i.memory.is_none()) {
            // an event that changes only its own thread: no need to hold it out
            if let Some(thread) = self.threads.get_mut(&tid) {
                self.cache.tid = Some(tid);
                self.cache.fd = track_call(thread, info, ev, enter)?;
                return Ok(());
            }
        }
        let mut thread = match self.threads.take(tid) {
            Some(thread) => thread,
            None if skip => {
                // looked up, never created
                if switch {
                    self.switch(None, ev);
                }
                return Ok(());
            }
            None => {
                self.threads.add_held(tid);
                Box::new(Thread::dummy(tid))
            }
        };
        self.cache.tid = Some(tid);
        let result = if skip {
            self.cache.latency = Some(thread.last_latency);
            let counted = memory::apply(self, &mut thread, info, ev);
            if counted.is_ok() && switch {
                self.switch(Some(&mut thread), ev);
            }
            counted
        } else {
            self.apply(&mut thread, info, handler, ev, enter)
        };
        if let Some(gone) = self.threads.put_back(thread) {
            self.cache.gone = Some(gone);
        }
        result
    }

    /// What an event of a known (or just made up) thread does: the in-place read of an
    /// enter event's fd, the memory counters, then the parser; the fd it works on goes
    /// to the cache.
    fn apply(
        &mut self,
        thread: &mut Thread,
        info: Option<&'static table::EventInfo>,
        handler: parsers::Handler,
        ev: &EventRef<'_>,
        enter: bool,
    ) -> Result<(), String> {
        let mut fd = track_call(thread, info, ev, enter)?;
        let Some(info) = info else {
            return Ok(()); // past the table: an enter event with no parameters
        };
        memory::apply(self, thread, Some(info), ev)?;
        if !handler.is_none() || info.creates {
            fd = self.parse(thread, info, handler, ev, fd)?;
        }
        self.cache.fd = fd;
        Ok(())
    }

    /// The parser of an event that has one or creates an fd, and the fd it shows
    /// (`tracker._parse`; `fd`: the fd it works on).
    fn parse(
        &mut self,
        thread: &mut Thread,
        info: &'static table::EventInfo,
        handler: parsers::Handler,
        ev: &EventRef<'_>,
        mut fd: CachedFd,
    ) -> Result<CachedFd, String> {
        let creates_exit = info.creates && !info.enter; // it decodes its parameters
        let params = if !handler.is_none() || creates_exit {
            params::decode(info, ev.raw, ev.nparams as usize, ev.large)?
        } else {
            params::Params::default()
        };
        if !handler.is_none() {
            // only these parsers rename an fd they do not replace
            let before = handler.renames().then(|| cache::table_name(&fd)).flatten();
            let shown = parsers::apply(self, thread, handler, ev, &params)?;
            if let Some(shown) = shown {
                fd = CachedFd::Owned(Box::new(shown));
            } else if before.is_some_and(|name| cache::renamed(&fd, &name)) {
                self.cache.fd_new = true; // fd.name_changed
            }
        }
        if info.creates && info.enter {
            // no fd yet: a placeholder of the call's type
            let pending = cache::pending_type(&info.name);
            fd = CachedFd::Owned(Box::new(Fd::new(-1, pending)));
        } else if info.creates {
            fd = cache::created_fd(thread, &info.name, &params, &mut self.cache.fd_new);
        }
        Ok(fd)
    }

    /// CPU time: the outgoing thread ran since the previous switch on this CPU.
    fn switch(&mut self, thread: Option<&mut Thread>, ev: &EventRef<'_>) {
        let last = self.cpu_switch.insert(ev.cpu, ev.ts);
        let exectime = last.map_or(0, |last| Int::from(ev.ts) - Int::from(last));
        self.cache.exectime = Some(exectime);
        if let Some(thread) = thread {
            thread.totexectime += exectime;
        }
    }

    pub(crate) fn schedule_removal(&mut self, tid: Int) {
        self.removals.push(tid);
    }

    pub(crate) fn schedule_fd_removal(&mut self, table: &FdTable, num: Int) {
        self.fd_removals.push((table.clone(), num));
    }
}

/// What every syscall event of a known thread does to it: whether it is in a call, its
/// last enter event, the fd of its call and the call's latency; returns the fd the
/// event works on.
fn track_call(
    thread: &mut Thread,
    info: Option<&'static table::EventInfo>,
    ev: &EventRef<'_>,
    enter: bool,
) -> Result<CachedFd, String> {
    let uses_fd = info.is_some_and(|i| i.uses_fd);
    let mut fd = CachedFd::None;
    thread.in_call = enter;
    if enter {
        set_enter(thread, ev);
        thread.lastevent_fd = enter_fd(info, ev)?;
        thread.last_latency = 0;
        if let Some(num) = thread.lastevent_fd.filter(|n| *n >= 0 && uses_fd) {
            fd = cache::lookup(thread, num);
        }
    } else {
        let paired = match &thread.last_enter {
            Some(last) if u32::from(last.etype) + 1 == u32::from(ev.etype) => {
                thread.last_latency = Int::from(ev.ts) - Int::from(last.ts);
                true
            }
            _ => {
                thread.lastevent_fd = None;
                false
            }
        };
        if uses_fd {
            fd = match thread.lastevent_fd {
                Some(num) if num >= 0 => cache::lookup(thread, num),
                Some(_) => CachedFd::None,
                // its enter event stored no fd
                None if paired => CachedFd::Owned(Box::new(Fd::new(-1, thread::FD_PENDING_OTHER))),
                None => CachedFd::None,
            };
        }
    }
    Ok(fd)
}

/// The event becomes the thread's `last_enter`; its buffer is reused when nothing else
/// holds it.
fn set_enter(thread: &mut Thread, ev: &EventRef<'_>) {
    if let Some(last) = thread.last_enter.as_mut().and_then(Rc::get_mut) {
        last.etype = ev.etype;
        last.ts = ev.ts;
        last.cpu = ev.cpu;
        last.nparams = ev.nparams as usize;
        last.large = ev.large;
        last.raw.clear();
        last.raw.extend_from_slice(ev.raw);
        return;
    }
    thread.last_enter = Some(Rc::new(Enter {
        etype: ev.etype,
        ts: ev.ts,
        cpu: ev.cpu,
        nparams: ev.nparams as usize,
        large: ev.large,
        raw: ev.raw.to_vec(),
    }));
}

fn decode(
    info: Option<&'static table::EventInfo>,
    ev: &EventRef<'_>,
) -> Result<params::Params, String> {
    match info {
        Some(info) => params::decode(info, ev.raw, ev.nparams as usize, ev.large),
        None => Ok(params::Params::default()),
    }
}

/// An enter event's `fd` parameter when it has the size of an fd (read in place as the
/// Python tracker reads it, `plans.fd_param`); `Err` when it runs past the event.
fn enter_fd(
    info: Option<&'static table::EventInfo>,
    ev: &EventRef<'_>,
) -> Result<Option<Int>, String> {
    let index = info.and_then(|i| i.fd_index);
    let nparams = ev.nparams as usize;
    let Some(index) = index.filter(|i| *i < nparams && !ev.large) else {
        return Ok(None);
    };
    let raw = ev.raw;
    if params::param_len(raw, index, false) != 8 {
        return Ok(None);
    }
    let before: usize = (0..index).map(|i| params::param_len(raw, i, false)).sum();
    let at = HEADER_SIZE + 2 * nparams + before;
    match raw.get(at..at + 8) {
        Some(b) => Ok(Some(Int::from(i64::from_le_bytes(
            b.try_into().unwrap_or([0; 8]),
        )))),
        None => Err("the fd parameter runs past the end of the event".into()),
    }
}
