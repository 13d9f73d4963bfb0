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
- ``tracked_events(reader, state=None, only=None)``: the events of an open ``CaptureReader``
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

from ..format.constants import NO_TID
from ..format.layout import PLUGINEVENT
from ..events.params import params_of
from . import parsers as P
from .seed import seed_block
from .fast import track
from .plans import (HANDLERS, NO_CREATE as _NO_CREATE, PLANS as _PLANS, SWITCH as _SWITCH,
                    THREADLESS as _THREADLESS, fd_param as _fd_param, plan as _plan,
                    update_memory as _update_memory)
from .threads import ThreadInfo, thread_from_entry
from .fds import FdInfo, fd_from_list_entry

__all__ = ["State", "ThreadInfo", "FdInfo", "current_state", "set_current_state",
           "tracked_events"]

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
        """Add a process-list entry (docs/format.md §5); threads share their leader's fds."""
        thread = thread_from_entry(entry)
        leader = self.threads.get(thread.pid)
        if leader is not None and thread.tid != thread.pid:
            thread.fdtable = leader.fdtable
        return self.add(thread)

    def add_fds(self, tid: int, entries) -> None:
        """Add the entries of an fd-list block (docs/format.md §6) to thread ``tid``."""
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
        if tid == NO_TID or event.type == PLUGINEVENT or tid == 0 or tid >= 1 << 62:
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


def tracked_events(reader, state: State | None = None, *, only=None):
    """Yield the events of ``reader`` (a ``CaptureReader``) with ``state`` kept current.

    Metadata blocks are taken from ``reader.metadata`` as they appear (they come
    before the events they describe), so the reader's fast event path is used.
    Events are applied as ``state.update`` does, common cases inlined (``fast.py``).
    ``only`` (a set of event type ids): yield just those events; all of them still
    update the state (a printer's filter gate).
    """
    state = state if state is not None else State()
    set_current_state(state)
    return track(reader, state, only)


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


_CURRENT: list[State | None] = [None]


def current_state() -> State | None:
    return _CURRENT[0]


def set_current_state(state: State | None) -> None:
    _CURRENT[0] = state
