//! What the proc fields read from a thread's relatives: ancestors, the session leader,
//! the login shell, the threads and children of a process, the process group leader
//! (`_ancestor`, `_sname`, `_loginshell`, `_nthreads`, `_nchilds`, `_group_leader` of
//! `scaptools/fields/syscall/proc.py`).

use std::collections::{HashMap, HashSet};

use super::{main_thread, parent_thread};
use crate::state::{Int, State, Thread};

/// Up to this level the ancestor walk just steps; past it, it looks for a loop.
const SHORT: u128 = 64;

/// The names of shells (`proc.loginshellid`).
const SHELLS: &[&str] = &[
    "ash", "bash", "csh", "ksh", "sh", "tcsh", "zsh", "dash", "fish",
];

/// The main thread of the process that made `thread`'s process.
fn up<'a>(state: &'a State, thread: &Thread) -> Option<&'a Thread> {
    Some(main_thread(state, parent_thread(state, thread)?))
}

/// The process `level` steps up from `thread`'s (0: its own main thread). A walk that
/// comes back to a thread it met goes round that loop as often as the level asks
/// (the same thread as stepping one by one, without the steps).
pub fn ancestor<'a>(state: &'a State, thread: &'a Thread, level: u128) -> Option<&'a Thread> {
    let mut cur = main_thread(state, thread);
    if level <= SHORT {
        for _ in 0..level {
            cur = up(state, cur)?;
        }
        return Some(cur);
    }
    // from the first step on, every thread comes from the table by its tid
    cur = up(state, cur)?;
    let mut met: HashMap<Int, u128> = HashMap::new();
    let mut step = 1;
    while step < level {
        if let Some(first) = met.insert(cur.tid, step) {
            let rest = (level - step) % (step - first);
            for _ in 0..rest {
                cur = up(state, cur)?;
            }
            return Some(cur);
        }
        cur = up(state, cur)?;
        step += 1;
    }
    Some(cur)
}

/// Thread ids met by a walk up the parents: a short list first, a set when it grows.
#[derive(Default)]
struct Met {
    few: Vec<Int>,
    many: HashSet<Int>,
}

impl Met {
    /// Whether `tid` was met before; it is met now.
    fn again(&mut self, tid: Int) -> bool {
        if self.few.contains(&tid) || self.many.contains(&tid) {
            return true;
        }
        if self.few.len() < 32 {
            self.few.push(tid);
        } else {
            self.many.insert(tid);
        }
        false
    }
}

/// The highest ancestor in the session of `thread`'s process (`proc.sname`).
pub fn session_leader<'a>(state: &'a State, thread: &'a Thread) -> &'a Thread {
    let main = main_thread(state, thread);
    let mut met = Met::default();
    met.again(main.tid);
    let mut best = main;
    let mut cur = parent_thread(state, main);
    while let Some(found) = cur {
        if found.sid != main.sid || met.again(found.tid) {
            break;
        }
        best = found;
        cur = up(state, found);
    }
    best
}

/// The pid of the highest shell among `thread` and its ancestors (`proc.loginshellid`).
pub fn login_shell(state: &State, thread: &Thread) -> Option<Int> {
    let mut met = Met::default();
    let mut found = None;
    let mut cur = Some(thread);
    while let Some(here) = cur {
        if met.again(here.tid) {
            break;
        }
        if SHELLS.contains(&here.comm.as_str()) {
            found = Some(here.pid);
        }
        cur = up(state, here);
    }
    found
}

/// The threads of `thread`'s process (`proc.nthreads`).
pub fn nthreads(state: &State, thread: &Thread) -> u64 {
    let pid = main_thread(state, thread).pid;
    state.threads.iter().filter(|(_, t)| t.pid == pid).count() as u64
}

/// The threads and processes `thread` made, and for a main thread the other threads of
/// its process (`proc.nchilds`).
pub fn nchilds(state: &State, thread: &Thread) -> u64 {
    let main = thread.tid == thread.pid;
    state
        .threads
        .iter()
        .filter(|(_, t)| {
            t.tid != thread.tid && (t.ptid == thread.tid || (main && t.pid == thread.pid))
        })
        .count() as u64
}

/// The first main thread (in table order) whose vpid is the process group of
/// `thread`'s process (`proc.vpgid.name`, `proc.vpgid.exe`).
pub fn group_leader<'a>(state: &'a State, thread: &'a Thread) -> Option<&'a Thread> {
    let main = main_thread(state, thread);
    if main.vpgid < 0 {
        return None;
    }
    state
        .threads
        .in_order()
        .find(|t| t.vpid == main.vpgid && t.tid == t.pid)
}
