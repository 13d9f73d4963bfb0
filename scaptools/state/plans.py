"""Per event type: what applying an event of that type to the state involves.

``PLANS[etype]`` is a :class:`Plan` computed once, at import, from the event
table (docs/format.md §10.1): the parser (``HANDLERS``), the position of the
enter event's ``fd`` parameter, the memory counters the event carries, and the
flags (creates an fd, works on an fd, never creates its thread, enter or exit).
``fd_param`` and ``update_memory`` read those parameters straight from the v2
layout (§9.3) without decoding the others; a parameter they need that runs past
the end of its event raises ``DamagedEvent``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ..events.event import check_params, raise_damaged
from ..events.params import NUMERIC
from ..events.table import EVENTS
from ..format.layout import LARGE_PAYLOAD_TYPES, PARAM_LENGTHS_AT, lengths_struct, param_data_at
from .containers import on_container
from .fds import FD_EVENT, FD_EVENTPOLL, FD_INOTIFY, FD_SIGNALFD, FD_TIMERFD
from .parsers import (on_accept_exit, on_bind_exit, on_chdir_exit, on_close_exit,
                      on_connect_enter, on_connect_exit, on_datagram, on_dup_exit,
                      on_fchdir_exit, on_group_added, on_open_exit, on_pipe_exit, on_procexit,
                      on_setgid_exit, on_setuid_exit, on_socket_exit, on_user_added,
                      pending_type, simple_fd)
from .procs import on_clone_exit, on_execve_exit

CREATES_FD = frozenset(e["id"] for e in EVENTS if "EF_CREATES_FD" in e["flags"])
# events that work on an fd (fd.* fields have values); sysdig 0.29.3's table does not
# mark the memory-mapping calls, so neither do we
FD_EVENTS = frozenset(
    e["id"] for e in EVENTS
    if {"EF_USES_FD", "EF_CREATES_FD", "EF_DESTROYS_FD"} & set(e["flags"])
    and e["name"] not in ("mmap", "mmap2", "munmap"))
# events that look their thread up without creating it (libsinsp: scheduler and
# EF_SKIPPARSERESET events)
NO_CREATE = frozenset(e["id"] for e in EVENTS if "EF_SKIPPARSERESET" in e["flags"]
                      or "EC_SCHEDULER" in e["category_bits"])

# (event name, direction) -> handler; direction '<' = exit (docs/format.md §10.1)
HANDLERS = {
    ("open", "<"): on_open_exit, ("openat", "<"): on_open_exit,
    ("openat2", "<"): on_open_exit, ("creat", "<"): on_open_exit,
    ("open_by_handle_at", "<"): on_open_exit,
    ("socket", "<"): on_socket_exit, ("connect", ">"): on_connect_enter,
    ("connect", "<"): on_connect_exit,
    ("bind", "<"): on_bind_exit,
    ("sendto", "<"): on_datagram, ("sendmsg", "<"): on_datagram,
    ("recvfrom", "<"): on_datagram, ("recvmsg", "<"): on_datagram,
    ("accept", "<"): on_accept_exit,
    ("accept4", "<"): on_accept_exit, ("close", "<"): on_close_exit,
    ("dup", "<"): on_dup_exit, ("dup2", "<"): on_dup_exit, ("dup3", "<"): on_dup_exit,
    ("pipe", "<"): on_pipe_exit, ("pipe2", "<"): on_pipe_exit,
    ("eventfd", "<"): simple_fd(FD_EVENT), ("eventfd2", "<"): simple_fd(FD_EVENT),
    ("signalfd", "<"): simple_fd(FD_SIGNALFD),
    ("signalfd4", "<"): simple_fd(FD_SIGNALFD),
    ("timerfd_create", "<"): simple_fd(FD_TIMERFD),
    ("inotify_init", "<"): simple_fd(FD_INOTIFY),
    ("inotify_init1", "<"): simple_fd(FD_INOTIFY),
    ("epoll_create", "<"): simple_fd(FD_EVENTPOLL),
    ("epoll_create1", "<"): simple_fd(FD_EVENTPOLL),
    ("chdir", "<"): on_chdir_exit, ("fchdir", "<"): on_fchdir_exit,
    ("setuid", "<"): on_setuid_exit, ("setgid", "<"): on_setgid_exit,
    ("clone", "<"): on_clone_exit, ("fork", "<"): on_clone_exit, ("vfork", "<"): on_clone_exit,
    ("clone3", "<"): on_clone_exit, ("execve", "<"): on_execve_exit,
    ("execveat", "<"): on_execve_exit, ("procexit", ">"): on_procexit,
    ("useradded", ">"): on_user_added, ("groupadded", ">"): on_group_added,
    ("container", ">"): on_container,
}
THREADLESS = frozenset((on_user_added, on_group_added, on_container))
SWITCH = object()  # the handler of switch events: the tracker's own (CPU time)

_FD_STRUCT = struct.Struct("<q")  # a PT_FD parameter (§10.2)
_LENS = [lengths_struct(n) for n in range(33)]
_DATA_STARTS = [param_data_at(n) for n in range(33)]  # where the data of n parameters starts
_MEMORY = {"vm_size": "vmsize_kb", "vm_rss": "vmrss_kb", "vm_swap": "vmswap_kb",
           "pgft_maj": "pfmajor", "pgft_min": "pfminor"}
_NUM = {"PT_UINT32": struct.Struct("<I"),
        "PT_UINT64": struct.Struct("<Q")}


@dataclass(frozen=True, slots=True)
class Counter:
    """One memory counter parameter: its position, the thread attribute it sets, its
    struct, and whether it belongs to the process (the ``vm*`` ones) or the thread."""

    index: int
    attr: str
    value: struct.Struct
    of_process: bool


@dataclass(frozen=True, slots=True)
class MemoryPlan:
    """The memory counters of an event type (brk, mmap, switch, execve, ...).

    ``one_unpack``: when the first ``count`` parameters have the sizes ``sizes`` (their
    ``lengths`` read that way), ``values`` reads every counter in one unpack; None when
    a parameter before the last counter has no fixed size.
    """

    counters: tuple  # of Counter
    count: int = 0
    lengths: struct.Struct | None = None
    sizes: tuple = ()
    values: struct.Struct | None = None

    @property
    def one_unpack(self) -> bool:
        return self.values is not None


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying one event type involves.

    ``handler``: the parser (``HANDLERS``), ``SWITCH`` or None; ``fd_index``: where the
    enter event's ``fd`` parameter is (None for none and for large-payload types);
    ``memory``: a :class:`MemoryPlan` or None; ``creates``/``uses_fd``: the event creates
    / works on an fd; ``skip``: scheduler and internal events, which leave the thread's
    syscall context alone and never create their thread; ``enter``: an enter event;
    ``pending``: the placeholder fd type of an fd-creating enter event; ``plain``: no
    parser and no fd created (the thread's syscall context and counters are all).
    """

    name: str
    handler: object
    fd_index: int | None
    memory: MemoryPlan | None
    creates: bool
    uses_fd: bool
    skip: bool
    enter: bool
    pending: int | None
    plain: bool


def _plan(etype: int, info: dict) -> Plan:
    direction = ">" if info["direction"] == "enter" else "<"
    name, params = info["name"], info["params"]
    handler = SWITCH if name == "switch" else HANDLERS.get((name, direction))
    fd_index = next((i for i, p in enumerate(params)
                     if p["name"] == "fd" and p["type"] == "PT_FD"), None)
    if etype in LARGE_PAYLOAD_TYPES:  # fd_param reads no fd from u32 length arrays
        fd_index = None
    creates, enter, memory = etype in CREATES_FD, direction == ">", _memory(name, params)
    return Plan(name=name, handler=handler, fd_index=fd_index, memory=memory,
                creates=creates, uses_fd=etype in FD_EVENTS, skip=etype in NO_CREATE,
                enter=enter, pending=pending_type(name) if creates and enter else None,
                plain=handler is None and not creates)


def _memory(name: str, params: list) -> MemoryPlan | None:
    """The memory counters of an event type and their one-unpack read."""
    if name in ("clone", "fork", "vfork", "clone3"):
        return None  # clone exits carry the parent's counters at clone time: libsinsp ignores them
    counters = tuple(Counter(i, _MEMORY[p["name"]], _NUM[p["type"]],
                             _MEMORY[p["name"]].startswith("vm"))
                     for i, p in enumerate(params) if p["name"] in _MEMORY and p["type"] in _NUM)
    if not counters:
        return None
    count = counters[-1].index + 1
    fmt, sizes = "<", []
    wanted = {c.index for c in counters}
    for index, info in enumerate(params[:count]):
        code = NUMERIC.get(info["type"])
        if code is None:
            return MemoryPlan(counters)
        size = struct.calcsize(code)
        sizes.append(size)
        fmt += code[1:] if index in wanted else f"{size}x"
    return MemoryPlan(counters, count, _LENS[count], tuple(sizes), struct.Struct(fmt))


PLANS: tuple[Plan, ...] = tuple(_plan(e["id"], e) for e in EVENTS)
# event ids past the table: no parameters, no parser, an enter event
UNKNOWN_PLAN = _plan(len(EVENTS), {"name": "", "params": [], "direction": "enter"})


def plan_of(etype: int) -> Plan:
    """The plan of an event type (``UNKNOWN_PLAN`` past the table)."""
    return PLANS[etype] if etype < len(PLANS) else UNKNOWN_PLAN


def update_memory(state, thread, event, memory: MemoryPlan) -> None:
    """Memory and page-fault counters (brk/mmap/munmap/switch/clone/execve, §10.1),
    read straight from the v2 layout without decoding the other parameters; memory
    belongs to the process: the ``vm*`` counters go to its main thread."""
    nparams = event.nparams
    if nparams > 32 or event.type in LARGE_PAYLOAD_TYPES:
        return
    raw = event.raw
    values = memory.values
    if values is not None and nparams >= memory.count:
        start = _DATA_STARTS[nparams]
        if memory.lengths.unpack_from(raw, PARAM_LENGTHS_AT) == memory.sizes \
                and start + values.size <= len(raw):
            main = thread if thread.pid == thread.tid else None
            for value, counter in zip(values.unpack_from(raw, start), memory.counters):
                if counter.of_process:
                    main = main or state.threads.get(thread.pid) or thread
                    setattr(main, counter.attr, value)
                else:
                    setattr(thread, counter.attr, value)
            return
    check_params(event)  # every offset below is inside the event
    lens = _LENS[nparams].unpack_from(raw, PARAM_LENGTHS_AT)
    offsets, pos = [], param_data_at(nparams)
    for n in lens:
        offsets.append(pos)
        pos += n
    main = None
    for counter in memory.counters:
        if counter.index < nparams and lens[counter.index] == counter.value.size:
            target = thread
            if counter.of_process:
                main = main or state.threads.get(thread.pid) or thread
                target = main
            setattr(target, counter.attr, counter.value.unpack_from(raw, offsets[counter.index])[0])


def fd_param(event, index):
    """The enter event's ``fd`` parameter, read straight from the v2 layout (§9.3)."""
    nparams = event.nparams
    if index is None or index >= nparams or event.type in LARGE_PAYLOAD_TYPES:
        return None
    raw = event.raw
    lens = _LENS[index + 1].unpack_from(raw, PARAM_LENGTHS_AT) if index < 32 else ()
    if not lens or lens[index] != _FD_STRUCT.size:
        return None
    start = param_data_at(nparams) + sum(lens[:index])
    if start + _FD_STRUCT.size > len(raw):
        raise_damaged(event)
    return _FD_STRUCT.unpack_from(raw, start)[0]
