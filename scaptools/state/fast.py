"""The event loop of ``tracked_events``: ``State.update`` with its common cases inlined.

Most events change nothing but their thread's syscall context (the last enter
event, its ``fd`` parameter and the call latency, scap-format.md §10.1): no
parser, no fd creation. For those the loop does the work of ``State._apply``
in place, with one list lookup for the event type's plan; every other event
(parsers, fd-creating calls, switches, unknown or absent threads, pending
removals) goes through ``State.update``, which stays the reference: both paths
leave the same tables and the same ``event.cache`` (tests/state compares them).
"""
from __future__ import annotations

import struct

from ..events.table import EVENTS, LARGE_PAYLOAD
from .fds import FD_PENDING_OTHER, FdInfo
from .plans import NO_CREATE, fd_param, plan, update_memory

_TID_LIMIT = 1 << 62  # larger tids (and NO_TID) are not threads (State.update)
_FD = struct.Struct("<q")  # a PT_FD parameter (§10.2)
_UNKNOWN_FD = FD_PENDING_OTHER  # parsers.pending_type("unknown fd")
_PLANS: list = []  # fast_plans(), on first use


def fast_plans() -> list:
    """Per event type: ``(enter, skip, fd_index, uses_fd, memory, no_create)`` when
    the type changes only the thread's syscall context (from ``plans.plan``;
    ``no_create``: the type never creates its thread), else ``None`` (the event
    takes ``State.update``)."""
    plans = []
    for etype in range(len(EVENTS)):
        handler, fd_index, memory, creates, uses_fd, skip, enter = plan(etype)
        if handler is not None or creates:
            plans.append(None)
            continue
        if etype in LARGE_PAYLOAD:  # _fd_param reads no fd from u32 length arrays
            fd_index = None
        plans.append((enter, skip, fd_index, uses_fd, memory or None, etype in NO_CREATE))
    return plans


def track(reader, state):
    """Yield the events of ``reader`` with ``state`` updated before each one."""
    if not _PLANS:
        _PLANS.extend(fast_plans())
    plans = _PLANS
    metadata = reader.metadata
    seeded = 0
    get_thread = state.threads.get
    remove, fd_remove = state._remove, state._fd_remove
    update = state.update
    nplans = len(plans)
    unpack_fd = _FD.unpack_from
    started = state.first_ts is not None
    for event in reader:
        if len(metadata) != seeded:
            for block in metadata[seeded:]:
                state.seed(block)
            seeded = len(metadata)
        etype = event.type
        plan = plans[etype] if etype < nplans else None
        if plan is not None and started:
            if remove or fd_remove:
                state.flush_removals()
            tid = event.tid
            thread = get_thread(tid)
            if thread is None:
                if plan[5] and 0 < tid < _TID_LIMIT:  # looked up, never created
                    event._cache = {"fd_new": False, "thread": None, "fd": None}
                    yield event
                    continue
            elif 0 < tid < _TID_LIMIT:
                enter, skip, fd_index, uses_fd, memory, _ = plan
                if skip:  # scheduler/internal: the syscall context stays
                    event._cache = {"fd_new": False, "latency": thread.last_latency,
                                    "thread": thread, "fd": None}
                elif enter:
                    thread.in_call = True
                    thread.last_enter = event
                    thread.last_latency = 0
                    num = None
                    if fd_index == 0:
                        raw = event.raw
                        nparams = event.nparams
                        if nparams and raw[26] == 8 and raw[27] == 0:
                            num = unpack_fd(raw, 26 + 2 * nparams)[0]
                    elif fd_index is not None:
                        num = fd_param(event, fd_index)
                    thread.lastevent_fd = num
                    fd = None
                    if uses_fd and num is not None and num >= 0:
                        fd = thread.fdtable.get(num) or FdInfo(num, _UNKNOWN_FD)
                    event._cache = {"fd_new": False, "thread": thread, "fd": fd}
                else:
                    thread.in_call = False
                    last = thread.last_enter
                    paired = last is not None and last.type == etype - 1
                    if paired:
                        thread.last_latency = event.ts - last.ts
                    else:
                        thread.lastevent_fd = None
                    fd = None
                    if uses_fd:
                        num = thread.lastevent_fd
                        if num is not None:
                            if num >= 0:
                                fd = thread.fdtable.get(num) or FdInfo(num, _UNKNOWN_FD)
                        elif paired:  # its enter event stored no fd
                            fd = FdInfo(-1, _UNKNOWN_FD)
                    event._cache = {"fd_new": False, "thread": thread, "fd": fd}
                if memory is not None:
                    update_memory(state, thread, event, memory)
                yield event
                continue
        if etype != 322:  # plugin events have no thread state
            update(event)
            started = state.first_ts is not None
        yield event
