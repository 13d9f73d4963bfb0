"""Process creation and program changes: clone/fork/vfork and execve exits.

The exit event of a clone is seen twice, once by the parent (``res`` = the
child's tid) and once by the child (``res`` = 0); whichever comes first
creates the child thread (docs/format.md §10.1 for the parameters).
"""
from __future__ import annotations

from .parsers import apply_process_params
from .threads import PPM_CL_CLONE_FILES, PPM_CL_CLONE_THREAD, ThreadInfo


def on_clone_exit(state, thread, event, params):
    res = params.get("res")
    if not isinstance(res, int) or res < 0:
        return
    flags = params.get("flags") or 0
    if res == 0:  # the child's own return: `thread` is the child
        if not thread._dummy:
            for key in ("vtid", "vpid"):  # its own ids, as seen in its namespace
                if isinstance(params.get(key), int):
                    setattr(thread, key, params[key])
            return
        parent = state.thread(params.get("ptid")) if isinstance(params.get("ptid"), int) else None
        _fill_child(thread, parent, params, flags, event)
        return
    if state.thread(res) is not None:
        return
    child = ThreadInfo(res)
    _fill_child(child, thread, params, flags, event)
    child.ptid = thread.tid  # sysdig's parent of a new thread is the creating thread
    state.add(child)


def _fill_child(child: ThreadInfo, parent: ThreadInfo | None, params: dict, flags: int, event):
    if parent is not None:
        for key in ("comm", "exe", "exepath", "args", "env", "cgroups", "cwd", "root", "uid",
                    "gid", "loginuid", "sid", "vpgid", "pgid", "tty", "fdlimit"):
            setattr(child, key, getattr(parent, key))
    apply_process_params(child, {k: v for k, v in params.items() if k not in ("vtid", "vpid")})
    child.flags = flags
    child.clone_ts = event.ts
    child._dummy = False
    if flags & PPM_CL_CLONE_THREAD:
        child.pid = parent.pid if parent is not None else params.get("pid", child.tid)
    else:
        child.pid = child.tid
    if isinstance(params.get("ptid"), int) and params.get("res") == 0:
        child.ptid = params["ptid"]
    if parent is not None and parent.vtid == parent.tid:  # same pid namespace as its parent
        child.vtid, child.vpid = child.tid, child.pid
    if parent is not None:
        if flags & (PPM_CL_CLONE_FILES | PPM_CL_CLONE_THREAD):
            child.fdtable = parent.fdtable
        else:
            child.fdtable = {num: fd.copy(num) for num, fd in parent.fdtable.items()}


def on_execve_exit(state, thread, event, params):
    if params.get("res") != 0:
        return
    # libsinsp keeps the thread's cwd on execve but takes pid/ptid from the event
    apply_process_params(thread, {k: v for k, v in params.items() if k != "cwd"})
    for key in ("pid", "ptid"):
        if isinstance(params.get(key), int):
            setattr(thread, key, params[key])
    if "comm" not in params and thread.exe:
        thread.comm = thread.exe.rsplit("/", 1)[-1][:15]
    exepath = params.get("trusted_exepath") or params.get("filename")
    if isinstance(exepath, str) and exepath:
        thread.exepath = exepath
    elif thread.exe.startswith("/"):
        thread.exepath = thread.exe
    thread.lastexec_ts = event.ts
    thread._dummy = False
