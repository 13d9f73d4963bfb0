"""The event loop of ``tracked_events``: ``State.update`` with its common cases inlined.

Most events change nothing but their thread's syscall context (the last enter
event, its ``fd`` parameter and the call latency, docs/format.md §10.1). For
those, and for the frequent parsed ones (switch, close and open exits, the enter
events of fd-creating calls), the loop does the work of ``State._apply`` in
place, driven by one list lookup of the event type's plan. Every other event
(other parsers, unknown or absent threads, parameters not in their plain
layout) goes through ``State.update``, which stays the reference: both paths
leave the same tables and the same ``event.cache`` (tests/state compares them
event by event).
"""
from __future__ import annotations

import struct

from ..events.event import raise_damaged
from ..events.params import decode_params
from ..events.table import EVENTS
from ..format.layout import LARGE_PAYLOAD_TYPES, PARAM_LENGTHS_AT, PLUGINEVENT, param_data_at
from .fds import FD_PENDING_OTHER, FdInfo
from . import parsers as P
from .plans import NO_CREATE, SWITCH, fd_param, memory_layout, plan, update_memory

_TID_LIMIT = 1 << 62  # larger tids (and NO_TID) are not threads (State.update)
_FD = struct.Struct("<q")  # a PT_FD parameter (§10.2)
_UNKNOWN_FD = FD_PENDING_OTHER  # parsers.pending_type("unknown fd")
_PLANS: list = []  # fast_plans(), on first use


def fast_plans() -> list:
    """Per event type: ``(enter, skip, fd_index, uses_fd, memory, no_create, pending,
    special)`` when the loop can apply the type itself (from ``plans.plan``;
    ``memory``: None, or the plan's counters with their one-unpack layout;
    ``no_create``: the type never creates its thread; ``pending``: the placeholder
    fd type of an fd-creating enter event; ``special``: ``SWITCH``, ``_CLOSE`` or
    ``_OPEN``), else ``None`` (the event takes ``State.update``)."""
    plans = []
    for etype in range(len(EVENTS)):
        handler, fd_index, memory, creates, uses_fd, skip, enter = plan(etype)
        pending = special = None
        if handler is SWITCH or handler is P.on_close_exit:
            special = _CLOSE if handler is P.on_close_exit else SWITCH
        elif handler is P.on_open_exit and creates and not enter:
            special = _OPEN
        elif creates and enter and handler is None:
            pending = P.pending_type(EVENTS[etype]["name"])  # State._created_fd
        elif handler is not None or creates:
            plans.append(None)
            continue
        if etype in LARGE_PAYLOAD_TYPES:  # _fd_param reads no fd from u32 length arrays
            fd_index = None
        layout = memory_layout(etype) if memory else None
        if layout is not None:  # (memory, count, length struct, sizes, value struct, attrs)
            count, sizes, values, attrs = layout
            memory = (memory, count, struct.Struct(f"<{count}H"), sizes, values, attrs)
        elif memory:
            memory = (memory, None)
        plans.append((enter, skip, fd_index, uses_fd, memory or None, etype in NO_CREATE,
                      pending, special))
    return plans


_CLOSE = object()  # marker: close exits (parsers.on_close_exit, done by close_exit)
_OPEN = object()  # marker: open/openat/... exits (parsers.on_open_exit, State._created_fd)
_CLOSE_ENTERS = frozenset(e["id"] for e in EVENTS if e["name"] == "close"
                          and e["direction"] == "enter" and e["params"]
                          and e["params"][0]["name"] == "fd")
_LENS2 = struct.Struct("<HH")
_AT = PARAM_LENGTHS_AT  # the length array; parameter i's low length byte is at _AT + 2 * i
_ONE = param_data_at(1)  # where the data of a one-parameter event starts
_TWO = param_data_at(2)


def close_exit(state, thread, event) -> bool:
    """``parsers.on_close_exit`` read from the raw layout (§9.3): schedule the removal
    of the closed fd. False (nothing done) when a parameter is not the plain 8-byte
    value; ``State.update`` then decodes the event."""
    raw, nparams = event.raw, event.nparams
    size = _FD.size
    if nparams == 1 and len(raw) >= _ONE + size and raw[_AT] == size and raw[_AT + 1] == 0:
        fd = None  # the exit's own fd parameter is absent
    elif nparams == 2 and len(raw) >= _TWO + 2 * size and \
            _LENS2.unpack_from(raw, _AT) == (size, size):
        fd = _FD.unpack_from(raw, _TWO + size)[0]
    else:
        return False
    res = _FD.unpack_from(raw, param_data_at(nparams))[0]
    if res < 0:
        return True
    last = thread.last_enter
    if last is not None and last.type in _CLOSE_ENTERS and last.nparams:
        lraw = last.raw  # the enter event's fd wins (parsers._enter_params)
        if last.nparams != 1 or len(lraw) < _ONE + size or lraw[_AT] != size \
                or lraw[_AT + 1] != 0:
            return False
        fd = _FD.unpack_from(lraw, _ONE)[0]
    if fd is not None:
        state.schedule_fd_removal(thread.fdtable, fd)
    return True


def track(reader, state, only=None):
    """Yield the events of ``reader`` with ``state`` updated before each one (only
    those whose type is in ``only`` when given; every event updates the state).

    One long loop on purpose: it runs once per event, and every function call or
    global lookup taken out of it costs a measurable share of ``scap print``'s time.
    """
    if not _PLANS:
        _PLANS.extend(fast_plans())
    plans, nplans = _PLANS, len(_PLANS)
    metadata = reader.metadata
    seeded = 0
    get_thread = state.threads.get
    remove, fd_remove = state._remove, state._fd_remove
    update = state.update
    unpack_fd = _FD.unpack_from
    limit, close_marker, open_marker, switch_marker = _TID_LIMIT, _CLOSE, _OPEN, SWITCH
    plugin_type, at, fd_size = PLUGINEVENT, PARAM_LENGTHS_AT, _FD.size
    started = state.first_ts is not None
    for event in reader:
        if len(metadata) != seeded:
            for block in metadata[seeded:]:
                state.seed(block)
            seeded = len(metadata)
        etype = event.type
        plan = plans[etype] if etype < nplans else None
        if plan is None or not started:
            if etype != plugin_type:  # plugin events have no thread state
                update(event)
                started = state.first_ts is not None
            if only is None or etype in only:
                yield event
            continue
        if remove or fd_remove:
            state.flush_removals()
        tid = event.tid
        thread = get_thread(tid)
        enter, skip, fd_index, uses_fd, memory, no_create, pending, special = plan
        if thread is None or not 0 < tid < limit or (
                special is close_marker and not close_exit(state, thread, event)):
            if thread is None and no_create and 0 < tid < limit:  # looked up, never created
                cache = event._cache = {"fd_new": False, "thread": None, "fd": None}
                if special is switch_marker:
                    state._switch(None, event, cache)
            else:
                update(event)
            if only is None or etype in only:
                yield event
            continue
        if skip:  # scheduler/internal: the syscall context stays
            cache = event._cache = {"fd_new": False, "latency": thread.last_latency,
                                    "thread": thread, "fd": None}
            if special is switch_marker:
                state._switch(thread, event, cache)
        elif enter:
            thread.in_call = True
            thread.last_enter = event
            thread.last_latency = 0
            num = None
            if fd_index == 0:
                raw = event.raw
                nparams = event.nparams
                if nparams and raw[at] == fd_size and raw[at + 1] == 0:
                    start = at + 2 * nparams  # the data after the u16 lengths
                    if start + fd_size > len(raw):
                        raise_damaged(event)  # the fd runs past the end of the event
                    num = unpack_fd(raw, start)[0]
            elif fd_index is not None:
                num = fd_param(event, fd_index)
            thread.lastevent_fd = num
            fd = None
            if pending is not None:  # an fd-creating call: no fd yet
                fd = FdInfo(-1, pending)
            elif uses_fd and num is not None and num >= 0:
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
            if special is open_marker:  # the new fd, as State._apply finds it
                cache = event._cache = {"fd_new": False, "thread": thread}
                # a fresh event: nothing has decoded its parameters yet (params_of)
                params = event._params = decode_params(event)
                P.on_open_exit(state, thread, event, params)
                cache["fd"] = state._created_fd(thread, event, params, cache)
            else:
                fd = None
                if uses_fd:
                    num = thread.lastevent_fd
                    if num is not None:
                        if num >= 0:
                            fd = thread.fdtable.get(num) or FdInfo(num, _UNKNOWN_FD)
                    elif paired:  # its enter event stored no fd
                        fd = FdInfo(-1, _UNKNOWN_FD)
                event._cache = {"fd_new": False, "thread": thread, "fd": fd}
        if memory is not None:  # plans.update_memory, its one-unpack case inlined
            count = memory[1]
            nparams = event.nparams
            raw = event.raw
            if count is not None and count <= nparams <= 32 and \
                    memory[2].unpack_from(raw, at) == memory[3] and \
                    at + 2 * nparams + memory[4].size <= len(raw):
                main = thread if thread.pid == tid else get_thread(thread.pid) or thread
                for value, (attr, vm) in zip(memory[4].unpack_from(raw, at + 2 * nparams),
                                             memory[5]):
                    setattr(main if vm else thread, attr, value)
            else:  # other sizes, or counters past the end of the event (DamagedEvent)
                update_memory(state, thread, event, memory[0])
        if only is None or etype in only:
            yield event
