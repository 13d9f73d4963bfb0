"""Thread, fd and user state rebuilt from a capture, as libsinsp keeps it.

API (used by ``scap print``, the syscall fields and ``scap replay``):

- ``State()``; seed it from metadata with ``state.seed(block)`` (any process,
  fd or user list block the reader yields; see ``seed.py``) or directly with
  ``add_thread(entry)``, ``add_fds(tid, entries)``, ``add_user(...)``,
  ``add_group(...)``.
- ``state.update(event)`` for every event, in file order, BEFORE reading fields of
  that event. It applies the event to the tables and stores, in ``event.cache``
  (a dict), ``"state"`` (this state), ``"thread"`` (the event's ``ThreadInfo`` or
  ``None``) and ``"fd"`` (the ``FdInfo`` the event works on, or ``None``). The
  syscall field extractors read the state of an event from there, so several
  captures can be tracked in one process at once, each with its own state.
- ``state.thread(tid)``, ``state.user_name(uid)``, ``state.group_name(gid)``
  (also the resolver interface of ``scaptools.events.render``).
- ``tracked_events(reader, state=None, only=None)``: the events of an open ``CaptureReader``
  with the state seeded from its metadata blocks and updated before each event is
  yielded; the one-line way to feed an engine::

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

from .fds import FdInfo, fd_from_list_entry
from .seed import seed_block
from .threads import ThreadInfo, thread_from_entry
from .tracker import Feed, track

__all__ = ["State", "ThreadInfo", "FdInfo", "tracked_events"]


class State:
    """Threads (with their fd tables), users and groups of one capture."""

    def __init__(self, max_threads: int = 131072):
        self.threads: dict[int, ThreadInfo] = {}
        self.users: dict[int, dict] = {}
        self.groups: dict[int, str] = {}
        self.containers: dict[str, dict] = {}  # 12-char id -> container event JSON
        self.interfaces: set[bytes] = set()  # addresses of the machine's interfaces (4 or 16 bytes)
        # per-thread memory of fields that keep one (thread.cpu*): key -> (thread, value)
        self.field_memory: dict = {}
        self.buffer_limit: int | None = 80  # cut of byte buffers in evt.args (None: whole)
        self.max_threads = max_threads
        self.first_ts: int | None = None  # of the first event (evt.reltime)
        self.last_shown_ts: int | None = None  # set by printers (evt.deltatime)
        self.removals: list[int] = []  # threads the previous event ended
        self.fd_removals: list[tuple[dict, int]] = []  # fds the previous event closed
        self.cpu_switch: dict[int, int] = {}  # cpu -> time of its last switch event
        self.shortcuts = True  # raw-layout reads (False: parsers only, see tracker.py)
        self._feed = Feed()
        self._loop = None  # tracker.track over _feed, started by update()

    # -- seeding ------------------------------------------------------------
    def seed(self, block) -> None:
        """Apply one metadata block (process, fd, user or interface list) from the reader."""
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

    def add_interface(self, addr: bytes) -> None:
        """An address of one of the machine's interfaces (docs/format.md §7)."""
        self.interfaces.add(addr)

    def is_local(self, ip: str, v6: bool) -> bool:
        """libsinsp's test of a server address: an IPv4 address equal to an interface's, or
        an IPv6 address in an interface's /64 (an unset address is all zeros)."""
        import ipaddress
        try:
            packed = ipaddress.ip_address(ip or ("::" if v6 else "0.0.0.0")).packed
        except ValueError:
            return False
        if len(packed) == 4:
            return packed in self.interfaces
        return any(len(a) == 16 and a[:8] == packed[:8] for a in self.interfaces)

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

    # -- events ---------------------------------------------------------------------
    def update(self, event) -> ThreadInfo | None:
        """Apply ``event`` to the tables; fill ``event.cache`` (see the module doc).

        The event goes through the loop of ``tracked_events`` (``tracker.track``).
        Returns the event's thread (None for none).
        """
        if self._loop is None:
            self._loop = track(self._feed, self, plugins=True, shortcuts=self.shortcuts)
        self._feed.queue.append(event)
        try:
            next(self._loop)
        except BaseException:  # the loop ended with the error: a fresh one next time
            self._loop = None
            self._feed.queue.clear()
            raise
        return event._cache["thread"]

    # -- removals (libsinsp drops a thread or fd after the event that ends it) ----------
    def flush_removals(self) -> None:
        """Drop the threads and fds that the previous event ended (see ``update``)."""
        for tid in self.removals:
            self.threads.pop(tid, None)
        self.removals.clear()
        for table, num in self.fd_removals:
            table.pop(num, None)
        self.fd_removals.clear()

    def schedule_removal(self, tid: int) -> None:
        self.removals.append(tid)

    def schedule_fd_removal(self, table: dict, num: int) -> None:
        self.fd_removals.append((table, num))

    def _evict(self) -> None:
        """Drop the oldest quarter of the threads (bounded memory)."""
        for tid in list(self.threads)[: max(1, self.max_threads // 4)]:
            del self.threads[tid]


def tracked_events(reader, state: State | None = None, *, only=None):
    """Yield the events of ``reader`` (a ``CaptureReader``) with ``state`` kept current.

    Metadata blocks are taken from ``reader.metadata`` as they appear (they come
    before the events they describe), so the reader's fast event path is used.
    ``only`` (a set of event type ids): yield just those events; all of them still
    update the state (a printer's filter gate).
    """
    state = state if state is not None else State()
    return track(reader, state, only, shortcuts=state.shortcuts)
