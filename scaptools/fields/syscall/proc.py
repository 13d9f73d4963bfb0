"""``proc.*``, ``thread.*``, ``user.*`` and ``group.*`` fields (sysdig 0.29.3 meanings).

Values come from the thread table of ``scaptools.state`` (seeded from process
and user list blocks, docs/format.md §5 and §8, and kept current by events).
"""
from __future__ import annotations

from scaptools.fields.syscall.common import (FieldAdder, event_state, event_thread, main_thread,
                                             on_main, on_thread, parent_thread)


def _cmdline(th) -> str:
    return " ".join([th.comm] + list(th.args))


def _ancestor(ev, level: int):
    thread = event_thread(ev)
    if thread is None:
        return None
    state = event_state(ev)
    cur = main_thread(state, thread)  # ancestors follow the processes' parents
    for _ in range(level):
        cur = main_thread(state, parent_thread(state, cur))
        if cur is None:
            return None
    return cur


def _ancestor_field(attr: str):
    def factory(arg):
        level = int(arg) if arg not in (None, "") and arg.isdigit() else 1
        def extract(ev):
            anc = _ancestor(ev, level)
            return getattr(anc, attr) if anc is not None else None
        return extract
    return factory


def _parent(attr):
    def extract(ev):
        parent = parent_thread(event_state(ev), event_thread(ev))
        if parent is None:
            return None
        return attr(parent) if callable(attr) else getattr(parent, attr)
    return extract


def _duration(ev):
    thread = event_thread(ev)
    if thread is None or not thread.clone_ts:
        return None
    return ev.ts - thread.clone_ts


def _group_leader(attr):
    def extract(ev):
        state = event_state(ev)
        main = main_thread(state, event_thread(ev))
        if main is None or state is None or main.vpgid < 0:
            return None
        for t in state.threads.values():
            if t.vpid == main.vpgid and t.tid == t.pid:
                return getattr(t, attr)
        return None
    return extract


def _parent_duration(ev):
    state = event_state(ev)
    parent = main_thread(state, parent_thread(state, main_thread(state, event_thread(ev))))
    if parent is None or not parent.clone_ts:
        return None
    return ev.ts - parent.clone_ts


def _nthreads(ev):
    thread = event_thread(ev)
    if thread is None:
        return None
    state = event_state(ev)
    if state is None:
        return 1
    main = main_thread(state, thread)
    return sum(1 for t in state.threads.values() if t.pid == main.pid)


def _nchilds(ev):
    """Threads and processes this thread started, plus, for a main thread, the other
    threads of its process (libsinsp links listed threads to their main thread)."""
    th = event_thread(ev)
    if th is None:
        return None
    state = event_state(ev)
    if state is None:
        return 0
    main = th.tid == th.pid
    return sum(1 for t in state.threads.values()
               if t is not th and (t.ptid == th.tid or (main and t.pid == th.pid)))


def _sname(ev):
    """The highest ancestor in the same session (libsinsp walks up the parents)."""
    thread = event_thread(ev)
    if thread is None:
        return None
    state = event_state(ev)
    main = main_thread(state, thread)
    best, cur, seen = main, parent_thread(state, main), {main.tid}
    while cur is not None and cur.tid not in seen and cur.sid == main.sid:
        seen.add(cur.tid)
        best, cur = cur, parent_thread(state, main_thread(state, cur))
    return best.comm


def _loginshell(ev):
    """pid of the highest shell among the ancestors (sysdig's proc.loginshellid)."""
    state = event_state(ev)
    found, cur, seen = None, event_thread(ev), set()
    while cur is not None and cur.tid not in seen:
        seen.add(cur.tid)
        if cur.comm in SHELLS:
            found = cur.pid
        cur = parent_thread(state, main_thread(state, cur))
    return found


SHELLS = frozenset(("ash", "bash", "csh", "ksh", "sh", "tcsh", "zsh", "dash", "fish"))


def _vid(value: int):
    return value if value >= 0 else None


def _user(key):
    def extract(ev):
        thread = event_thread(ev)
        state = event_state(ev)
        if thread is None or state is None:
            return None
        user = state.users.get(thread.uid)
        return user[key] if user is not None else None  # shown as <NA>
    return extract


def _loginname(ev):
    thread = event_thread(ev)
    state = event_state(ev)
    if thread is None or state is None or thread.loginuid == 0xFFFFFFFF:
        return None
    user = state.users.get(thread.loginuid)
    return user["name"] if user is not None else None


def _group_name(ev):
    thread = event_thread(ev)
    state = event_state(ev)
    if thread is None or state is None:
        return None
    return state.groups.get(thread.gid)


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def proc_fields() -> FieldAdder:
    a = FieldAdder()
    a.simple("proc.pid", "int64", "id of the process", on_thread(lambda t: t.pid))
    a.simple("proc.exe", "string", "first command line argument", on_main(lambda t: t.exe))
    a.simple("proc.name", "string", "name of the executable", on_thread(lambda t: t.comm))
    a.simple("proc.args", "string", "command line arguments",
             on_main(lambda t: " ".join(t.args)))
    a.simple("proc.env", "string", "environment variables", on_main(lambda t: " ".join(t.env)))
    a.simple("proc.cmdline", "string", "name and arguments", on_main(_cmdline))
    a.simple("proc.exeline", "string", "exe and arguments",
             on_main(lambda t: t.exe + " " + " ".join(t.args)))
    a.simple("proc.cwd", "string", "current working directory", on_main(lambda t: t.cwd))
    a.simple("proc.nthreads", "uint64", "threads of the process", _nthreads)
    a.simple("proc.nchilds", "uint64", "child threads and processes", _nchilds)
    a.simple("proc.ppid", "int64", "parent process id", on_main(lambda t: t.ptid))
    a.simple("proc.pname", "string", "parent name", _parent("comm"))
    a.simple("proc.pcmdline", "string", "parent command line", _parent(_cmdline))
    a.simple("proc.pexe", "string", "parent exe", _parent("exe"))
    a.simple("proc.pexepath", "string", "parent exe path", _parent("exepath"))
    a.with_arg("proc.apid", "int64", "ancestor pid", _ancestor_field("pid"), False)
    a.with_arg("proc.aname", "string", "ancestor name", _ancestor_field("comm"), False)
    a.with_arg("proc.aexe", "string", "ancestor exe", _ancestor_field("exe"), False)
    a.with_arg("proc.aexepath", "string", "ancestor exe path", _ancestor_field("exepath"), False)
    _add_process_details(a)
    return a


def _add_process_details(a: FieldAdder) -> None:
    a.simple("proc.duration", "reltime", "ns since the process started", _duration)
    a.simple("proc.fdopencount", "uint64", "open fds", on_main(lambda t: len(t.fdtable)))
    a.simple("proc.fdlimit", "int64", "fd limit", on_main(lambda t: t.fdlimit))
    # the latest counters any thread of the process reported (kept on the main thread)
    a.simple("proc.vmsize", "uint64", "virtual memory (kB)", on_main(lambda t: t.vmsize_kb))
    a.simple("proc.vmrss", "uint64", "resident memory (kB)", on_main(lambda t: t.vmrss_kb))
    a.simple("proc.vmswap", "uint64", "swapped memory (kB)", on_main(lambda t: t.vmswap_kb))
    a.simple("proc.sid", "int64", "session id", on_main(lambda t: t.sid))
    a.simple("proc.sname", "string", "session leader name", _sname)
    a.simple("proc.tty", "uint64", "controlling terminal", on_main(lambda t: t.tty))
    a.simple("proc.exepath", "string", "full executable path", on_main(lambda t: t.exepath))
    a.simple("proc.vpgid", "int64", "process group id", on_main(lambda t: t.vpgid))
    a.simple("proc.vpid", "int64", "pid in its namespace", on_thread(lambda t: _vid(t.vpid)))
    a.simple("proc.loginshellid", "int64", "pid of the login shell", _loginshell)
    for probe in ("healthcheck", "liveness_probe", "readiness_probe"):
        a.simple(f"proc.is_container_{probe}", "bool", f"container {probe} (none on hosts)",
                 on_thread(lambda t: False))
    a.simple("proc.fdusage", "double", "open fds / fd limit (%)",
             on_main(lambda t: f"{max(0.0, 100 * len(t.fdtable) / t.fdlimit):.1f}"
                     if t.fdlimit else None))
    a.simple("proc.is_exe_writable", "bool", "executable writable by its user",
             on_main(lambda t: bool(t.exe_writable)))
    a.simple("proc.is_exe_upper_layer", "bool", "executable in an overlayfs upper layer",
             on_main(lambda t: bool(getattr(t, "exe_upper_layer", 0))))
    a.simple("proc.is_exe_from_memfd", "bool", "executable from a memfd",
             on_main(lambda t: bool(getattr(t, "exe_from_memfd", 0))))
    a.simple("proc.exe_ino.ctime", "abstime", "ctime of the executable inode", lambda ev: None)
    a.simple("proc.exe_ino.mtime", "abstime", "mtime of the executable inode", lambda ev: None)
    a.simple("proc.exe_ino.ctime_duration_proc_start", "reltime",
             "process start minus executable ctime", lambda ev: None)
    a.simple("proc.is_vpgid_leader", "bool", "process group leader",
             on_main(lambda t: t.vpgid == t.vpid if t.vpgid >= 0 else None))
    a.simple("proc.vpgid.name", "string", "name of the process group leader",
             _group_leader("comm"))
    a.simple("proc.vpgid.exe", "string", "exe of the process group leader", _group_leader("exe"))
    a.simple("proc.ppid.duration", "reltime", "ns since the parent started", _parent_duration)


def thread_fields() -> FieldAdder:
    a = FieldAdder()
    a.simple("thread.tid", "int64", "thread id",
             lambda ev: ev.tid if ev.tid < 1 << 63 else ev.tid - (1 << 64))
    a.simple("thread.ismain", "bool", "main thread", on_thread(lambda t: t.tid == t.pid))
    a.simple("thread.vtid", "int64", "tid in its namespace", on_thread(lambda t: _vid(t.vtid)))
    a.simple("thread.pfmajor", "uint64", "major page faults", on_thread(lambda t: t.pfmajor))
    a.simple("thread.pfminor", "uint64", "minor page faults", on_thread(lambda t: t.pfminor))
    # zero for threads other than the main one (sysdig's definition)
    a.simple("thread.vmsize", "uint64", "virtual memory (kB)",
             on_thread(lambda t: t.vmsize_kb if t.tid == t.pid else 0))
    a.simple("thread.vmrss", "uint64", "resident memory (kB)",
             on_thread(lambda t: t.vmrss_kb if t.tid == t.pid else 0))
    a.simple("thread.cgroups", "string", "cgroups", on_thread(_cgroups))
    a.simple("thread.cap_effective", "string", "effective capabilities",
             on_thread(lambda t: _caps(t.cap_effective)))
    a.simple("thread.cap_permitted", "string", "permitted capabilities",
             on_thread(lambda t: _caps(t.cap_permitted)))
    a.with_arg("thread.cgroup", "string", "cgroup of one subsystem", _cgroup_factory)
    a.simple("thread.exectime", "reltime", "CPU time of the last run (switch events)",
             _exectime)
    a.simple("thread.totexectime", "reltime", "total CPU time seen so far",
             on_thread(lambda t: t.totexectime))
    for name, user, system, kind in (("thread.cpu", True, True, "CPU"),
                                     ("thread.cpu.user", True, False, "user CPU"),
                                     ("thread.cpu.system", False, True, "system CPU")):
        a.simple(name, "double", f"{kind} used since the thread's previous procinfo event "
                 "(procinfo events only, at most 100)", _thread_cpu(name, user, system))
    return a


_PROCINFO_E = 234  # procinfo: cpu_usr, cpu_sys (u64 each)
_U64 = 1 << 64


def _thread_cpu(name: str, user: bool, system: bool):
    """libsinsp's thread.cpu*: on a procinfo event, the growth of the thread's user and/or
    system CPU counters since its previous procinfo event (0 the first time, or when the
    previous total was 0; 64-bit unsigned, capped at 100), remembered per field and thread.
    Asked twice for one event, it gives the same value."""
    def extract(ev):
        if ev.type != _PROCINFO_E:
            return None
        thread, state = event_thread(ev), event_state(ev)
        if thread is None or state is None:
            return None
        cache = ev.cache
        if name in cache:
            return cache[name]
        pbytes = ev.param_bytes
        if pbytes is None or len(pbytes) < 2 or len(pbytes[0]) != 8 or len(pbytes[1]) != 8:
            return None
        total = (int.from_bytes(pbytes[0], "little") if user else 0) + \
            (int.from_bytes(pbytes[1], "little") if system else 0)
        key = (name, thread.tid)
        owner, last = state.field_memory.get(key, (None, 0))
        if owner is not thread:
            last = 0
        value = 0.0 if last == 0 else float(min((total - last) % _U64, 100))
        state.field_memory[key] = (thread, total % _U64)
        cache[name] = value
        return value
    return extract


def _cgroups(thread) -> str | None:
    # sysdig 0.29.3 names the cgroup v1 "io" controller by its old name "blkio"
    if not thread.cgroups:
        return None
    return " ".join("blkio" + c[2:] if c.startswith("io=") else c for c in thread.cgroups)


def _exectime(ev):
    value = (ev.cache or {}).get("exectime")
    if value is not None:
        return value
    return 0 if event_thread(ev) is not None else None


def _cgroup_factory(arg):
    def extract(ev):
        thread = event_thread(ev)
        if thread is None:
            return None
        for item in thread.cgroups:
            sub, _, path = item.partition("=")
            if sub == arg:
                return path
        return None
    return extract


CAPS = ("CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL "
        "CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE "
        "CAP_NET_BROADCAST CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER "
        "CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_PACCT "
        "CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE CAP_SYS_RESOURCE CAP_SYS_TIME "
        "CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL "
        "CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM "
        "CAP_BLOCK_SUSPEND CAP_AUDIT_READ CAP_PERFMON CAP_BPF CAP_CHECKPOINT_RESTORE").split()


def _caps(mask: int) -> str:
    return " ".join(name for i, name in enumerate(CAPS) if mask >> i & 1)


def user_fields() -> FieldAdder:
    a = FieldAdder()
    a.simple("user.uid", "uint64", "user id", on_thread(lambda t: t.uid))
    a.simple("user.name", "string", "user name", _user("name"))
    a.simple("user.homedir", "string", "home directory", _user("home"))
    a.simple("user.shell", "string", "shell", _user("shell"))
    a.simple("user.loginuid", "int64", "audit user id",
             on_thread(lambda t: _signed32(t.loginuid)))
    a.simple("user.loginname", "string", "audit user name", _loginname)
    a.simple("group.gid", "uint64", "group id", on_thread(lambda t: t.gid))
    a.simple("group.name", "string", "group name", _group_name)
    return a
