//! The thread table: threads by tid, in the order they were added, at most
//! `max_threads` of them (the Python `State.threads` dict with `State.add` and
//! `_evict`: when full, the oldest quarter goes).
//!
//! While an event runs, its thread is held out of the map (`take`/`put_back`) so that
//! the parsers can change it and the rest of the state at once; it still counts, keeps
//! its place in the order, and can be evicted meanwhile (then it is not put back).

use std::collections::BTreeMap;
use std::ops::Index;

use super::hash::IntMap;
use super::{Int, Thread};

/// The default bound (`State(max_threads=131072)`).
pub const MAX_THREADS: usize = 131072;

#[derive(Debug)]
pub struct Threads {
    /// boxed: taking a thread out and putting it back moves a pointer
    map: IntMap<Box<Thread>>,
    /// tid -> its place in the order; order: place -> tid
    seqs: IntMap<u64>,
    order: BTreeMap<u64, Int>,
    next_seq: u64,
    max: usize,
    /// the thread held out while its event runs, and whether it was dropped meanwhile
    held: Option<Int>,
    held_gone: bool,
}

impl Default for Threads {
    fn default() -> Self {
        Threads::new(MAX_THREADS)
    }
}

impl Threads {
    pub fn new(max: usize) -> Self {
        Threads {
            map: IntMap::default(),
            seqs: IntMap::default(),
            order: BTreeMap::new(),
            next_seq: 0,
            max,
            held: None,
            held_gone: false,
        }
    }

    pub fn get(&self, tid: &Int) -> Option<&Thread> {
        self.map.get(tid).map(|t| &**t)
    }

    pub(super) fn get_mut(&mut self, tid: &Int) -> Option<&mut Thread> {
        self.map.get_mut(tid).map(|t| &mut **t)
    }

    pub fn contains_key(&self, tid: &Int) -> bool {
        self.map.contains_key(tid)
    }

    /// The threads in the table (the held-out one included).
    pub fn len(&self) -> usize {
        self.map.len() + usize::from(self.held.is_some() && !self.held_gone)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Int, &Thread)> {
        self.map.iter().map(|(tid, t)| (tid, &**t))
    }

    /// The threads in the order they were added (the Python dict's order).
    pub fn in_order(&self) -> impl Iterator<Item = &Thread> {
        self.order.values().filter_map(|tid| self.get(tid))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Int> {
        self.map.keys()
    }

    /// Add (or replace) a thread as `State.add` does: make room first when full.
    pub(super) fn add(&mut self, thread: Thread) {
        self.make_room();
        self.place(thread.tid);
        self.map.insert(thread.tid, Box::new(thread));
    }

    /// Drop a thread; `None` when it is not there.
    pub(super) fn remove(&mut self, tid: &Int) -> Option<Box<Thread>> {
        if let Some(seq) = self.seqs.remove(tid) {
            self.order.remove(&seq);
        }
        if self.held == Some(*tid) {
            self.held_gone = true;
        }
        self.map.remove(tid)
    }

    /// Hold thread `tid` out of the map while its event runs.
    pub(super) fn take(&mut self, tid: Int) -> Option<Box<Thread>> {
        let thread = self.map.remove(&tid)?;
        self.held = Some(tid);
        self.held_gone = false;
        Some(thread)
    }

    /// Add a made-up thread and hold it out at once (`State.add` of the tracker).
    pub(super) fn add_held(&mut self, tid: Int) {
        self.make_room();
        self.place(tid);
        self.held = Some(tid);
        self.held_gone = false;
    }

    /// Put the held thread back, unless it was dropped meanwhile: then it is handed
    /// back (the event that ran still shows it).
    pub(super) fn put_back(&mut self, thread: Box<Thread>) -> Option<Box<Thread>> {
        let gone = std::mem::take(&mut self.held_gone);
        self.held = None;
        if gone {
            return Some(thread);
        }
        self.map.insert(thread.tid, thread);
        None
    }

    fn place(&mut self, tid: Int) {
        if !self.seqs.contains_key(&tid) {
            self.seqs.insert(tid, self.next_seq);
            self.order.insert(self.next_seq, tid);
            self.next_seq += 1;
        }
    }

    /// When full, drop the oldest quarter of the threads (bounded memory).
    fn make_room(&mut self) {
        if self.len() < self.max {
            return;
        }
        let count = (self.max / 4).max(1);
        let oldest: Vec<Int> = self.order.values().take(count).copied().collect();
        for tid in oldest {
            self.remove(&tid);
        }
    }
}

impl Index<&Int> for Threads {
    type Output = Thread;

    fn index(&self, tid: &Int) -> &Thread {
        &self.map[tid]
    }
}
