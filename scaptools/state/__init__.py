"""Thread, fd and user state rebuilt from a capture, as libsinsp keeps it.

API (used by ``scap print``, the syscall fields and ``scap replay``):

- ``State()``; seed it from metadata with ``state.seed(block)`` (any process,
  fd or user list block the reader yields; see ``seed.py``) or directly with
  ``add_thread(entry)``, ``add_fds(tid, entries)``, ``add_user(...)``,
  ``add_group(...)``.
- ``state.update(event)`` for every event, in file order, BEFORE reading fields of
  that event. It applies the event to the tables and stores, in ``event.cache``
  (a dict), ``"thread"`` (the event's ``ThreadInfo`` or ``None``) and ``"fd"``
  (the ``FdInfo`` the event works on, or ``None``).
- ``state.thread(tid)``, ``state.user_name(uid)``, ``state.group_name(gid)``
  (also the resolver interface of ``scaptools.events.render``).
- ``current_state()`` / ``set_current_state(state)``: the process-wide state that
  the syscall field extractors read (threads, users, first timestamp).
- ``tracked_events(reader, state=None)``: the events of an open ``CaptureReader``
  with the state seeded from its metadata blocks and updated before each event is
  yielded (the state is made current); the one-line way to feed an engine::

      with open_capture(path) as reader:
          for event in tracked_events(reader):
              alerts = engine.process(event, source_of(event))

- ``state.containers`` (container events), ``state.buffer_limit`` (cut of byte
  buffers in ``evt.args``; ``None`` for JSON output), ``state.first_ts``.
- ``scaptools.state.dump.state_blocks(state)``: the state as process/fd/user list
  blocks (used by ``scap slice``).

Memory stays bounded: a thread is dropped on the event after its ``procexit``
(libsinsp does the same), and at most ``max_threads`` threads are kept.
"""
from __future__ import annotations

from ..events.event import NO_TID
from ..events.params import params_of
from ..events.table import EVENTS, LARGE_PAYLOAD
from . import parsers as P
from .procs import on_clone_exit, on_execve_exit
from .containers import on_container
from .seed import seed_block
from .fast import fast_plans, track
from .threads import ThreadInfo, thread_from_entry
from .fds import FdInfo, fd_from_list_entry

__all__ = ["State", "ThreadInfo", "FdInfo", "current_state", "set_current_state",
           "tracked_events"]

_CREATES_FD = frozenset(e["id"] for e in EVENTS if "EF_CREATES_FD" in e["flags"])
# events that work on an fd (fd.* fields have values); sysdig 0.29.3's table does not
# mark the memory-mapping calls, so neither do we
_FD_EVENTS = frozenset(
    e["id"] for e in EVENTS
    if {"EF_USES_FD", "EF_CREATES_FD", "EF_DESTROYS_FD"} & set(e["flags"])
    and e["name"] not in ("mmap", "mmap2", "munmap"))
_CATEGORY = {e["id"]: e["category"] for e in EVENTS}
# events that look their thread up without creating it (libsinsp: scheduler and
# EF_SKIPPARSERESET events)
_NO_CREATE = frozenset(e["id"] for e in EVENTS if "EF_SKIPPARSERESET" in e["flags"]
                       or "EC_SCHEDULER" in e["category_bits"])

# (event name, direction) -> handler; direction '<' = exit (scap-format.md §10.1)
HANDLERS = {
    ("open", "<"): P.on_open_exit, ("openat", "<"): P.on_open_exit,
    ("openat2", "<"): P.on_open_exit, ("creat", "<"): P.on_open_exit,
    ("open_by_handle_at", "<"): P.on_open_exit,
    ("socket", "<"): P.on_socket_exit, ("connect", "<"): P.on_connect_exit,
    ("bind", "<"): P.on_bind_exit,
    ("sendto", "<"): P.on_datagram, ("sendmsg", "<"): P.on_datagram,
    ("recvfrom", "<"): P.on_datagram, ("recvmsg", "<"): P.on_datagram, ("accept", "<"): P.on_accept_exit,
    ("accept4", "<"): P.on_accept_exit, ("close", "<"): P.on_close_exit,
    ("dup", "<"): P.on_dup_exit, ("dup2", "<"): P.on_dup_exit, ("dup3", "<"): P.on_dup_exit,
    ("pipe", "<"): P.on_pipe_exit, ("pipe2", "<"): P.on_pipe_exit,
    ("eventfd", "<"): P._simple_fd(P.FD_EVENT), ("eventfd2", "<"): P._simple_fd(P.FD_EVENT),
    ("signalfd", "<"): P._simple_fd(P.FD_SIGNALFD),
    ("signalfd4", "<"): P._simple_fd(P.FD_SIGNALFD),
    ("timerfd_create", "<"): P._simple_fd(P.FD_TIMERFD),
    ("inotify_init", "<"): P._simple_fd(P.FD_INOTIFY),
    ("inotify_init1", "<"): P._simple_fd(P.FD_INOTIFY),
    ("epoll_create", "<"): P._simple_fd(P.FD_EVENTPOLL),
    ("epoll_create1", "<"): P._simple_fd(P.FD_EVENTPOLL),
    ("chdir", "<"): P.on_chdir_exit, ("fchdir", "<"): P.on_fchdir_exit,
    ("setuid", "<"): P.on_setuid_exit, ("setgid", "<"): P.on_setgid_exit,
    ("clone", "<"): on_clone_exit, ("fork", "<"): on_clone_exit, ("vfork", "<"): on_clone_exit,
    ("clone3", "<"): on_clone_exit, ("execve", "<"): on_execve_exit,
    ("execveat", "<"): on_execve_exit, ("procexit", ">"): P.on_procexit,
    ("useradded", ">"): P.on_user_added, ("groupadded", ">"): P.on_group_added,
    ("container", ">"): on_container,
}
_THREADLESS = frozenset((P.on_user_added, P.on_group_added, on_container))


class State:
    """Threads (with their fd tables), users and groups of one capture."""

    def __init__(self, max_threads: int = 131072):
        self.threads: dict[int, ThreadInfo] = {}
        self.users: dict[int, dict] = {}
        self.groups: dict[int, str] = {}
        self.containers: dict[str, dict] = {}  # 12-char id -> container event JSON
        self.buffer_limit: int | None = 80  # cut of byte buffers in evt.args (None: whole)
        self.max_threads = max_threads
        self.first_ts: int | None = None  # of the first event (evt.reltime)
        self.last_shown_ts: int | None = None  # set by printers (evt.deltatime)
        self._remove: list[int] = []
        self._fd_remove: list[tuple[dict, int]] = []
        self._cpu_switch: dict[int, int] = {}  # cpu -> time of its last switch event

    # -- seeding ------------------------------------------------------------
    def seed(self, block) -> None:
        """Apply one metadata block (process, fd or user list) from the reader."""
        seed_block(self, block)

    def add(self, thread: ThreadInfo) -> ThreadInfo:
        if len(self.threads) >= self.max_threads:
            self._evict()
        self.threads[thread.tid] = thread
        return thread

    def add_thread(self, entry) -> ThreadInfo:
        """Add a process-list entry (scap-format.md §5); threads share their leader's fds."""
        thread = thread_from_entry(entry)
        leader = self.threads.get(thread.pid)
        if leader is not None and thread.tid != thread.pid:
            thread.fdtable = leader.fdtable
        return self.add(thread)

    def add_fds(self, tid: int, entries) -> None:
        """Add the entries of an fd-list block (scap-format.md §6) to thread ``tid``."""
        thread = self.threads.get(tid)
        if thread is None:
            thread = self.add(ThreadInfo(tid))
        for entry in entries:
            fd = fd_from_list_entry(entry)
            thread.fdtable[fd.num] = fd

    def add_user(self, uid, gid, name, home="", shell="") -> None:
        if isinstance(uid, int):
            self.users[uid] = {"uid": uid, "gid": gid, "name": name, "home": home,
                               "shell": shell}

    def add_group(self, gid, name) -> None:
        if isinstance(gid, int):
            self.groups[gid] = name

    # -- queries --------------------------------------------------------------
    def thread(self, tid) -> ThreadInfo | None:
        return self.threads.get(tid)

    def user_name(self, uid: int) -> str | None:
        user = self.users.get(uid)
        return user["name"] if user is not None else None

    def group_name(self, gid: int) -> str | None:
        return self.groups.get(gid)

    # -- events -----------------------------------------------------------------
    def update(self, event) -> ThreadInfo | None:
        """Apply ``event`` to the tables; fill ``event.cache`` (see the module doc)."""
        if self._remove or self._fd_remove:
            self.flush_removals()
        if self.first_ts is None:
            self.first_ts = event.ts
        # a fresh per-event dict: update() comes before any field of the event is read
        cache = event.cache = {"fd_new": False}
        tid = event.tid
        if tid == NO_TID or event.type == 322 or tid == 0 or tid >= 1 << 62:
            handler = HANDLERS.get((event.name, event.direction))
            # only the user, group and container parsers work without a thread
            if handler in _THREADLESS and (tid == NO_TID or event.name == "container"):
                handler(self, None, event, params_of(event))
            elif event.type in _NO_CREATE and event.name == "switch":
                self._switch(None, event, cache)
            cache["thread"] = cache["fd"] = None
            return None
        thread = self.threads.get(tid)
        if thread is None and event.type in _NO_CREATE:
            if event.name == "switch":
                self._switch(None, event, cache)
            cache["thread"] = cache["fd"] = None
            return None
        if thread is None:
            thread = self.add(ThreadInfo(tid, comm="<NA>", exe="<NA>", uid=0xFFFFFFFF,
                                         gid=0xFFFFFFFF, ptid=-1, fdlimit=-1))
            thread._dummy = True
        self._apply(thread, event, cache)
        return thread

    def _apply(self, thread: ThreadInfo, event, cache: dict) -> None:
        etype = event.type
        plan = _PLANS.get(etype) or _plan(etype)
        handler, fd_index, memory, creates, uses_fd, skip, enter = plan
        if skip:  # scheduler/internal events leave the thread's syscall context alone
            if memory:
                _update_memory(self, thread, event, memory)
            if handler is _SWITCH:
                self._switch(thread, event, cache)
            cache["latency"] = thread.last_latency
            cache["thread"], cache["fd"] = thread, None
            return
        thread.in_call = enter
        if enter:
            thread.last_enter = event
            thread.lastevent_fd = _fd_param(event, fd_index)
            thread.last_latency = 0
        elif thread.last_enter is not None and thread.last_enter.type == etype - 1:
            thread.last_latency = event.ts - thread.last_enter.ts
        else:
            thread.lastevent_fd = None
        cache["thread"] = thread
        fd = _working_fd(thread, event) if uses_fd else None
        if memory:
            _update_memory(self, thread, event, memory)
        if handler is not None or creates:
            # an fd-creating enter event needs no parameters (see _created_fd)
            params = params_of(event) if handler is not None or not enter else None
            if handler is not None:
                before = fd.name if fd is not None else None
                shown = handler(self, thread, event, params)
                if shown is not None:
                    fd = shown
                elif fd is not None and before is not None and fd.name != before:
                    cache["fd_new"] = True  # fd.name_changed
            if creates:
                fd = self._created_fd(thread, event, params, cache)
        cache["fd"] = fd

    def _switch(self, thread: ThreadInfo | None, event, cache: dict) -> None:
        """CPU time: the outgoing thread ran since the previous switch on this CPU."""
        last = self._cpu_switch.get(event.cpu)
        self._cpu_switch[event.cpu] = event.ts
        cache["exectime"] = event.ts - last if last is not None else 0
        if thread is not None:
            thread.totexectime += cache["exectime"]

    def _created_fd(self, thread, event, params, cache):
        if event.direction == ">":
            return FdInfo(-1, P.pending_type(event.name))
        newfd = params.get("fd", params.get("fd2", params.get("res")))
        if isinstance(newfd, int) and newfd >= 0:
            thread.lastevent_fd = newfd
            created = thread.fd(newfd)
            cache["fd_new"] = event.name in P.OPENS or bool(created is not None and created.name)
            return created
        if isinstance(newfd, int) and event.name in P.OPENS:
            # a failed open: sysdig still shows the path it tried, as fd -1
            name = params.get("name") or ""
            path = P.join_paths(thread.cwd, name) if name else ""
            return FdInfo(-1, P.FD_PENDING_FILE, path)
        return None

    def flush_removals(self) -> None:
        """Drop the threads and fds that the previous event ended (see ``update``)."""
        for tid in self._remove:
            self.threads.pop(tid, None)
        self._remove.clear()
        for table, num in self._fd_remove:
            table.pop(num, None)
        self._fd_remove.clear()

    def schedule_removal(self, tid: int) -> None:
        self._remove.append(tid)

    def schedule_fd_removal(self, table: dict, num: int) -> None:
        self._fd_remove.append((table, num))

    def _evict(self) -> None:
        """Drop the oldest quarter of the threads (bounded memory)."""
        for tid in list(self.threads)[: max(1, self.max_threads // 4)]:
            del self.threads[tid]


def tracked_events(reader, state: State | None = None):
    """Yield the events of ``reader`` (a ``CaptureReader``) with ``state`` kept current.

    Metadata blocks are taken from ``reader.metadata`` as they appear (they come
    before the events they describe), so the reader's fast event path is used.
    Events are applied as ``state.update`` does, common cases inlined (``fast.py``).
    """
    state = state if state is not None else State()
    set_current_state(state)
    if not _FAST_PLANS:
        _FAST_PLANS.extend(fast_plans(_plan, _NO_CREATE))
    return track(reader, state, _FAST_PLANS, _update_memory, _fd_param)


_FAST_PLANS: list = []  # filled on first use (fast.fast_plans)


def _working_fd(thread: ThreadInfo, event):
    """The fd an fd-using event works on (from its enter event's ``fd`` parameter)."""
    num = thread.lastevent_fd
    if num is not None and num >= 0:
        # an fd the capture never described: sysdig shows it as type unknown
        return thread.fd(num) or FdInfo(num, P.pending_type("unknown fd"))
    if num is None and event.direction == "<" and thread.last_enter is not None \
            and thread.last_enter.type == event.type - 1:
        return FdInfo(-1, P.pending_type("unknown fd"))  # its enter event stored no fd
    return None


_PLANS: dict[int, tuple] = {}
_SWITCH = object()
_FD_STRUCT = __import__("struct").Struct("<q")


def _plan(etype: int) -> tuple:
    """What ``State._apply`` has to do for an event type (computed once per type)."""
    plan = _PLANS.get(etype)
    if plan is None:
        info = EVENTS[etype] if etype < len(EVENTS) else {"name": "", "params": [],
                                                           "direction": "enter"}
        direction = ">" if info["direction"] == "enter" else "<"
        # clone exits carry the parent's counters at clone time: libsinsp ignores them
        memory = () if info["name"] in ("clone", "fork", "vfork", "clone3") else tuple(
            (i, _MEMORY[p["name"]], _NUM[p["type"]]) for i, p in enumerate(info["params"])
            if p["name"] in _MEMORY and p["type"] in _NUM)
        fd_index = next((i for i, p in enumerate(info["params"])
                         if p["name"] == "fd" and p["type"] == "PT_FD"), None)
        handler = HANDLERS.get((info["name"], direction))
        if info["name"] == "switch":
            handler = _SWITCH  # a marker: switch events are handled by State._switch
        plan = _PLANS[etype] = (handler, fd_index, memory, etype in _CREATES_FD,
                                etype in _FD_EVENTS, etype in _NO_CREATE, direction == ">")
    return plan


_LENS = [__import__("struct").Struct(f"<{n}H") for n in range(33)]
_MEMORY = {"vm_size": "vmsize_kb", "vm_rss": "vmrss_kb", "vm_swap": "vmswap_kb",
           "pgft_maj": "pfmajor", "pgft_min": "pfminor"}
_NUM = {"PT_UINT32": __import__("struct").Struct("<I"),
        "PT_UINT64": __import__("struct").Struct("<Q")}


def _update_memory(state, thread, event, memory) -> None:
    """Memory and page-fault counters (brk/mmap/munmap/switch/clone/execve, §10.1),
    read straight from the v2 layout without decoding the other parameters."""
    nparams = event.nparams
    if nparams > 32 or event.type in LARGE_PAYLOAD:
        return
    raw = event.raw
    lens = _LENS[nparams].unpack_from(raw, 26)
    offsets, pos = [], 26 + 2 * nparams
    for n in lens:
        offsets.append(pos)
        pos += n
    main = None
    for index, attr, st in memory:
        if index < nparams and lens[index] == st.size:
            target = thread
            if attr.startswith("vm"):  # memory belongs to the process: its main thread
                main = main or state.threads.get(thread.pid) or thread
                target = main
            setattr(target, attr, st.unpack_from(raw, offsets[index])[0])


def _fd_param(event, index):
    """The enter event's ``fd`` parameter, read straight from the v2 layout (§9.3)."""
    nparams = event.nparams
    if index is None or index >= nparams or event.type in LARGE_PAYLOAD:
        return None
    raw = event.raw
    lens = _LENS[index + 1].unpack_from(raw, 26) if index < 32 else ()
    if not lens or lens[index] != 8:
        return None
    return _FD_STRUCT.unpack_from(raw, 26 + 2 * nparams + sum(lens[:index]))[0]


_CURRENT: list[State | None] = [None]


def current_state() -> State | None:
    return _CURRENT[0]


def set_current_state(state: State | None) -> None:
    _CURRENT[0] = state
