//! Process creation and program changes (`scaptools/state/procs.py`): clone, fork,
//! vfork, clone3 and execve/execveat exits. The exit of a clone is seen twice, by the
//! parent (`res` = the child's tid) and by the child (`res` = 0); whichever comes
//! first creates the child.

use super::hash::IntMap;
use super::memory;
use super::params::{split_nul, Params, Value};
use super::table::MemoryField;
use super::{FdTable, Int, State, Thread};
use crate::walk::EventRef;

const PPM_CL_CLONE_FILES: Int = 1;
const PPM_CL_CLONE_THREAD: Int = 8192;

pub fn clone_exit(state: &mut State, thread: &mut Thread, ev: &EventRef<'_>, p: &Params) {
    let Some(res) = p.int("res").filter(|r| *r >= 0) else {
        return;
    };
    let flags = p.get("flags").and_then(Value::int).unwrap_or(0);
    if res == 0 {
        if !thread.dummy {
            // its own ids, as seen in its namespace
            if let Some(v) = p.int("vtid") {
                thread.vtid = v;
            }
            if let Some(v) = p.int("vpid") {
                thread.vpid = v;
            }
            return;
        }
        let parent = p.int("ptid").and_then(|ptid| {
            if ptid == thread.tid {
                Some(thread.clone())
            } else {
                state.thread(ptid).cloned()
            }
        });
        fill_child(thread, parent.as_ref(), p, flags, ev);
        return;
    }
    if res == thread.tid || state.thread(res).is_some() {
        return;
    }
    let mut child = Thread::new(res);
    fill_child(&mut child, Some(thread), p, flags, ev);
    child.ptid = thread.tid; // sysdig's parent of a new thread is the creating thread
    state.threads.add(child);
}

fn fill_child(
    child: &mut Thread,
    parent: Option<&Thread>,
    p: &Params,
    flags: Int,
    ev: &EventRef<'_>,
) {
    if let Some(parent) = parent {
        child.comm = parent.comm.clone();
        child.exe = parent.exe.clone();
        child.exepath = parent.exepath.clone();
        child.args = parent.args.clone();
        child.env = parent.env.clone();
        child.cgroups = parent.cgroups.clone();
        child.cwd = parent.cwd.clone();
        child.root = parent.root.clone();
        child.uid = parent.uid;
        child.gid = parent.gid;
        child.loginuid = parent.loginuid;
        child.sid = parent.sid;
        child.vpgid = parent.vpgid;
        child.pgid = parent.pgid;
        child.tty = parent.tty;
        child.fdlimit = parent.fdlimit;
    }
    apply_process_params(child, p, &["vtid", "vpid"]);
    child.flags = flags;
    child.clone_ts = Int::from(ev.ts);
    child.dummy = false;
    child.pid = if flags & PPM_CL_CLONE_THREAD != 0 {
        match parent {
            Some(parent) => parent.pid,
            None => p.int("pid").unwrap_or(child.tid),
        }
    } else {
        child.tid
    };
    if let (Some(ptid), Some(0)) = (p.int("ptid"), p.int("res")) {
        child.ptid = ptid;
    }
    if let Some(parent) = parent {
        if parent.vtid == parent.tid {
            // same pid namespace as its parent
            child.vtid = child.tid;
            child.vpid = child.pid;
        }
        if flags & (PPM_CL_CLONE_FILES | PPM_CL_CLONE_THREAD) != 0 {
            child.fdtable = parent.fdtable.clone();
        } else {
            let copy: IntMap<_> = parent
                .fdtable
                .borrow()
                .iter()
                .map(|(num, fd)| (*num, fd.copy(*num)))
                .collect();
            child.fdtable = FdTable::from_map(copy);
        }
    }
}

pub fn execve_exit(thread: &mut Thread, ev: &EventRef<'_>, p: &Params) {
    if p.int("res") != Some(0) {
        return;
    }
    // libsinsp keeps the thread's cwd on execve but takes pid/ptid from the event
    apply_process_params(thread, p, &["cwd"]);
    if let Some(v) = p.int("pid") {
        thread.pid = v;
    }
    if let Some(v) = p.int("ptid") {
        thread.ptid = v;
    }
    if !p.has("comm") && !thread.exe.is_empty() {
        let base = thread.exe.rsplit('/').next().unwrap_or_default();
        thread.comm = base.chars().take(15).collect();
    }
    let exepath = p
        .get("trusted_exepath")
        .filter(|v| v.truthy())
        .or_else(|| p.get("filename"));
    match exepath {
        Some(Value::Text(path)) if !path.is_empty() => thread.exepath = path.clone(),
        _ if thread.exe.starts_with('/') => thread.exepath = thread.exe.clone(),
        _ => {}
    }
    thread.lastexec_ts = Int::from(ev.ts);
    thread.dummy = false;
}

/// Copy the process fields of a clone/execve exit into `thread` (`apply_process_params`),
/// leaving out the parameters named in `except`.
fn apply_process_params(thread: &mut Thread, p: &Params, except: &[&str]) {
    let get = |key: &str| {
        if except.contains(&key) {
            None
        } else {
            p.get(key)
        }
    };
    let text = |key: &str| match get(key) {
        Some(Value::Text(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let list = |key: &str| match get(key) {
        Some(Value::Bytes(b)) => Some(split_nul(b)),
        _ => None,
    };
    let int = |key: &str| get(key).and_then(Value::int);
    if let Some(v) = text("exe") {
        thread.exe = v;
    }
    if let Some(v) = text("cwd") {
        thread.cwd = v;
    }
    if let Some(v) = text("comm") {
        thread.comm = v;
    }
    if let Some(v) = list("args") {
        thread.args = v;
    }
    if let Some(v) = list("env") {
        thread.env = v;
    }
    if let Some(v) = list("cgroups") {
        thread.cgroups = v;
    }
    let ints: [(&str, &mut Int); 9] = [
        ("fdlimit", &mut thread.fdlimit),
        ("vtid", &mut thread.vtid),
        ("vpid", &mut thread.vpid),
        ("uid", &mut thread.uid),
        ("gid", &mut thread.gid),
        ("loginuid", &mut thread.loginuid),
        ("tty", &mut thread.tty),
        ("vpgid", &mut thread.vpgid),
        ("pgid", &mut thread.pgid),
    ];
    for (key, slot) in ints {
        if let Some(v) = int(key) {
            *slot = v;
        }
    }
    for key in ["vm_size", "vm_rss", "vm_swap", "pgft_maj", "pgft_min"] {
        if let (Some(field), Some(v)) = (MemoryField::of(key), int(key)) {
            memory::set(thread, field, v);
        }
    }
    if !thread.cwd.is_empty() && !thread.cwd.ends_with('/') {
        thread.cwd.push('/');
    }
}
