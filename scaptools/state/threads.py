"""Thread records (``ThreadInfo``) and what sysdig derives from them.

A process-list entry (docs/format.md §5) or a clone/execve exit event fills
one ``ThreadInfo``; the threads of one process share the fd table of the
main thread (libsinsp does the same for threads cloned with CLONE_FILES).
"""
from __future__ import annotations

PPM_CL_CLONE_FILES = 1  # clone_flags table values (event_table.json)
PPM_CL_CLONE_THREAD = 8192

_FIELDS = ("tid", "pid", "ptid", "sid", "vpgid", "pgid", "comm", "exe", "exepath", "args",
           "cwd", "env", "cgroups", "root", "fdlimit", "flags", "uid", "gid", "loginuid",
           "vtid", "vpid", "vmsize_kb", "vmrss_kb", "vmswap_kb", "pfmajor", "pfminor",
           "tty", "exe_writable", "cap_inheritable", "cap_permitted", "cap_effective",
           "clone_ts", "pidns_init_start_ts")


class ThreadInfo:
    """One thread: identity, process data, and its fd table (``fdtable``)."""

    __slots__ = _FIELDS + ("fdtable", "exited", "last_enter", "lastevent_fd", "filtered",
                           "lastexec_ts", "_dummy", "sched_in_ts", "totexectime", "_container",
                           "last_latency", "in_call")

    def __init__(self, tid: int, **values):
        self.tid = tid
        self.pid = tid
        self.ptid = 0
        self.sid = self.vpgid = self.pgid = -1
        self.comm = self.exe = self.exepath = self.cwd = self.root = ""
        self.args: list[str] = []
        self.env: list[str] = []
        self.cgroups: list[str] = []
        self.fdlimit = self.flags = self.uid = self.gid = 0
        self.loginuid = 0xFFFFFFFF
        self.vtid = self.vpid = -1
        self.vmsize_kb = self.vmrss_kb = self.vmswap_kb = self.pfmajor = self.pfminor = 0
        self.tty = self.exe_writable = 0
        self.cap_inheritable = self.cap_permitted = self.cap_effective = 0
        self.clone_ts = self.pidns_init_start_ts = self.lastexec_ts = 0
        self.sched_in_ts = self.totexectime = 0  # switch events (thread.exectime)
        self._container = None  # container id, computed on first use
        self.last_latency = 0  # of the last syscall (shown again by scheduler events)
        self.in_call = False  # its last syscall event was an enter (the call is in progress)
        self.fdtable: dict = {}
        self.exited = False
        self.last_enter = None
        self.lastevent_fd = None
        self._dummy = False
        for key, value in values.items():
            if key in _FIELDS:
                setattr(self, key, value)

    def fd(self, num: int):
        """The ``FdInfo`` of fd ``num``, or ``None``."""
        return self.fdtable.get(num)

    @property
    def is_main_thread(self) -> bool:
        return self.tid == self.pid

    def __repr__(self) -> str:
        return f"ThreadInfo(tid={self.tid}, pid={self.pid}, comm={self.comm!r})"


def split_nul(value) -> list[str]:
    """NUL-separated strings (args, env, cgroups; §5) as a list."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not value:
        return []
    return value.rstrip("\0").split("\0")


def thread_from_entry(entry) -> ThreadInfo:
    """A ``ThreadInfo`` from a process-list entry (dict or object, §5 names)."""
    get = entry.get if isinstance(entry, dict) else (lambda k, d=None: getattr(entry, k, d))
    values = {}
    for key in _FIELDS:
        value = get(key)
        if value is not None:
            values[key] = value
    for key in ("args", "env", "cgroups"):
        if key in values:
            values[key] = split_nul(values[key])
    for key in ("comm", "exe", "exepath", "cwd", "root"):
        if isinstance(values.get(key), bytes):
            values[key] = values[key].decode("utf-8", "replace")
    if values.get("cwd") and not values["cwd"].endswith("/"):
        values["cwd"] += "/"  # libsinsp keeps directories with a trailing slash
    return ThreadInfo(values.pop("tid"), **values)
