"""Per event type: which parser runs and where its fd and memory parameters are.

``plan(etype)`` is computed once per event type from the event table
(docs/format.md §10.1): the parser (``HANDLERS``), the position of the enter
event's ``fd`` parameter, the memory counters the event carries, and the flags
(creates an fd, works on an fd, never creates its thread, enter or exit).
``fd_param`` and ``update_memory`` read those parameters straight from the v2
layout (§9.3) without decoding the others; a parameter they need that runs past
the end of its event raises ``DamagedEvent``.
"""
from __future__ import annotations

import struct

from ..events.event import check_params, raise_damaged
from ..events.params import NUMERIC
from ..events.table import EVENTS
from ..format.layout import LARGE_PAYLOAD_TYPES, PARAM_LENGTHS_AT, lengths_struct, param_data_at
from . import parsers as P
from .containers import on_container
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
    ("open", "<"): P.on_open_exit, ("openat", "<"): P.on_open_exit,
    ("openat2", "<"): P.on_open_exit, ("creat", "<"): P.on_open_exit,
    ("open_by_handle_at", "<"): P.on_open_exit,
    ("socket", "<"): P.on_socket_exit, ("connect", "<"): P.on_connect_exit,
    ("bind", "<"): P.on_bind_exit,
    ("sendto", "<"): P.on_datagram, ("sendmsg", "<"): P.on_datagram,
    ("recvfrom", "<"): P.on_datagram, ("recvmsg", "<"): P.on_datagram,
    ("accept", "<"): P.on_accept_exit,
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
THREADLESS = frozenset((P.on_user_added, P.on_group_added, on_container))


PLANS: dict[int, tuple] = {}
SWITCH = object()
_FD_STRUCT = struct.Struct("<q")


def plan(etype: int) -> tuple:
    """What ``State._apply`` has to do for an event type (computed once per type)."""
    entry = PLANS.get(etype)
    if entry is None:
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
            handler = SWITCH  # a marker: switch events are handled by State._switch
        if memory:
            _LAYOUTS[etype] = _memory_layout(info["params"], memory)
        entry = PLANS[etype] = (handler, fd_index, memory, etype in CREATES_FD,
                                etype in FD_EVENTS, etype in NO_CREATE, direction == ">")
    return entry


_LENS = [lengths_struct(n) for n in range(33)]
_MEMORY = {"vm_size": "vmsize_kb", "vm_rss": "vmrss_kb", "vm_swap": "vmswap_kb",
           "pgft_maj": "pfmajor", "pgft_min": "pfminor"}
_NUM = {"PT_UINT32": struct.Struct("<I"),
        "PT_UINT64": struct.Struct("<Q")}


def _memory_layout(params: list, memory: tuple):
    """``(count, sizes, struct, attrs)`` reading every memory counter of an event type in
    one unpack when its first ``count`` parameters have their table sizes (``struct``
    covers those parameters whole); None when a parameter before the last counter has
    no fixed size."""
    count = max(index for index, _, _ in memory) + 1
    fmt, sizes = "<", []
    wanted = {index: attr for index, attr, _ in memory}
    for index, info in enumerate(params[:count]):
        code = NUMERIC.get(info["type"])
        if code is None:
            return None
        size = struct.calcsize(code)
        sizes.append(size)
        fmt += code[1:] if index in wanted else f"{size}x"
    return count, tuple(sizes), struct.Struct(fmt), tuple(
        (attr, attr.startswith("vm")) for _, attr, _ in memory)


_LAYOUTS: dict[int, tuple | None] = {}


def memory_layout(etype: int):
    """The one-unpack layout of an event type's memory counters (see _memory_layout)."""
    return _LAYOUTS.get(etype)


def update_memory(state, thread, event, memory) -> None:
    """Memory and page-fault counters (brk/mmap/munmap/switch/clone/execve, §10.1),
    read straight from the v2 layout without decoding the other parameters; memory
    belongs to the process: the ``vm*`` counters go to its main thread."""
    nparams = event.nparams
    if nparams > 32 or event.type in LARGE_PAYLOAD_TYPES:
        return
    raw = event.raw
    layout = _LAYOUTS.get(event.type)
    if layout is not None and nparams >= layout[0] \
            and _LENS[layout[0]].unpack_from(raw, PARAM_LENGTHS_AT) == layout[1] \
            and param_data_at(nparams) + layout[2].size <= len(raw):
        main = None
        for value, (attr, vm) in zip(layout[2].unpack_from(raw, param_data_at(nparams)),
                                     layout[3]):
            if vm:
                main = main or state.threads.get(thread.pid) or thread
                setattr(main, attr, value)
            else:
                setattr(thread, attr, value)
        return
    check_params(event)  # every offset below is inside the event
    lens = _LENS[nparams].unpack_from(raw, PARAM_LENGTHS_AT)
    offsets, pos = [], param_data_at(nparams)
    for n in lens:
        offsets.append(pos)
        pos += n
    main = None
    for index, attr, st in memory:
        if index < nparams and lens[index] == st.size:
            target = thread
            if attr.startswith("vm"):
                main = main or state.threads.get(thread.pid) or thread
                target = main
            setattr(target, attr, st.unpack_from(raw, offsets[index])[0])


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


