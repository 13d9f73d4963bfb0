"""How events change the state: the one implementation, ``track``.

``track(reader, state, only)`` is the loop behind ``tracked_events``: for every
event it looks the event type's :class:`~scaptools.state.plans.Plan` up once and
does what the plan says. Most events change nothing but their thread's syscall
context (the last enter event, its ``fd`` parameter and the call latency,
docs/format.md §10.1); the others run their parser on the decoded parameters
(``_parse``). After it, ``event.cache`` (a dict) holds ``"state"`` (the state, for
the field extractors), ``"thread"`` (the event's ``ThreadInfo`` or None), ``"fd"``
(the ``FdInfo`` the event works on, or None) and ``"fd_new"``; switch events add
``"exectime"``, scheduler events ``"latency"``.

``State.update(event)`` feeds the same loop one event at a time (``Feed``), so
there is no second copy of it. The loop is long on purpose: it runs once per
event, and every function call or global lookup taken out of it costs a
measurable share of ``scap print``'s time. Close exits and the ``fd`` of enter
events are read straight from the raw layout instead of decoding parameters;
``shortcuts=False`` runs ``plans.fd_param`` and the parsers instead (the
reference that tests/state compares the raw reads with, event by event).
"""
from __future__ import annotations

import struct
from collections import deque

from ..events.event import raise_damaged
from ..events.params import params_of
from ..events.table import EVENTS
from ..format.constants import NO_TID
from ..format.layout import LENGTH_SIZE, PARAM_LENGTHS_AT, PLUGINEVENT, param_data_at
from .fds import FD_PENDING_FILE, FD_PENDING_OTHER, FdInfo
from .parsers import OPENS, join_paths, on_close_exit
from .plans import PLANS, SWITCH, THREADLESS, UNKNOWN_PLAN, fd_param, update_memory
from .threads import ThreadInfo

TID_LIMIT = 1 << 62  # larger tids (and NO_TID) are not threads
_FD = struct.Struct("<q")  # a PT_FD parameter (§10.2)
_UNKNOWN_FD = FD_PENDING_OTHER  # parsers.pending_type("unknown fd")
_AT = PARAM_LENGTHS_AT  # the length array; parameter i's low length byte is at _AT + 2 * i
_ONE = param_data_at(1)  # where the data of a one-parameter event starts
_TWO = param_data_at(2)
_LENS2 = struct.Struct("<HH")
_CLOSE_ENTERS = frozenset(e["id"] for e in EVENTS if e["name"] == "close"
                          and e["direction"] == "enter" and e["params"]
                          and e["params"][0]["name"] == "fd")


def _threadless(state, plan, event) -> None:
    """Events without a thread: plugin events, and tids 0, none or out of range."""
    cache = event._cache = {"state": state, "fd_new": False}
    handler = plan.handler
    # only the user, group and container parsers work without a thread
    if handler in THREADLESS and (event.tid == NO_TID or plan.name == "container"):
        handler(state, None, event, params_of(event))
    elif plan.skip and handler is SWITCH:
        switch(state, None, event, cache)
    cache["thread"] = cache["fd"] = None


def switch(state, thread, event, cache: dict) -> None:
    """CPU time: the outgoing thread ran since the previous switch on this CPU."""
    last = state.cpu_switch.get(event.cpu)
    state.cpu_switch[event.cpu] = event.ts
    cache["exectime"] = event.ts - last if last is not None else 0
    if thread is not None:
        thread.totexectime += cache["exectime"]


def created_fd(thread, event, params, cache):
    """The fd an fd-creating exit made (``fd_new`` when it is new or named)."""
    newfd = params.get("fd", params.get("fd2", params.get("res")))
    if isinstance(newfd, int) and newfd >= 0:
        thread.lastevent_fd = newfd
        created = thread.fd(newfd)
        cache["fd_new"] = event.name in OPENS or bool(created is not None and created.name)
        return created
    if isinstance(newfd, int) and event.name in OPENS:
        # a failed open: sysdig still shows the path it tried, as fd -1
        name = params.get("name") or ""
        path = join_paths(thread.cwd, name) if name else ""
        return FdInfo(-1, FD_PENDING_FILE, path)
    return None


def close_exit(state, thread, event) -> bool:
    """``parsers.on_close_exit`` read from the raw layout (§9.3): schedule the removal
    of the closed fd. False (nothing done) when a parameter is not the plain 8-byte
    value; the parser then decodes the event."""
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


class Feed:
    """The events handed to ``State.update``, as a reader for :func:`track`: a deque that
    the loop empties one event at a time (``metadata``: none, callers seed the state)."""

    def __init__(self):
        self.queue = deque()
        self.metadata: list = []

    def __iter__(self):
        return iter(self.queue.popleft, None)  # C-level: no Python call per event


def track(reader, state, only=None, *, plugins: bool = False, shortcuts: bool = True):
    """Yield the events of ``reader`` with ``state`` updated before each one (only those
    whose type is in ``only`` when given; every event updates the state).

    Metadata blocks are applied as ``reader.metadata`` grows. Plugin events have no
    thread state: they are yielded untouched unless ``plugins`` (``State.update``, which
    records the first timestamp and an empty cache for them).
    """
    metadata, seeded = reader.metadata, 0
    get_thread = state.threads.get
    removals, fd_removals = state.removals, state.fd_removals
    flush, add = state.flush_removals, state.add
    plans, nplans, unknown = PLANS, len(PLANS), UNKNOWN_PLAN
    limit, plugin_type = TID_LIMIT, PLUGINEVENT
    switch_marker, unknown_fd = SWITCH, _UNKNOWN_FD
    at, at_high, width, fd_size, unpack_fd = _AT, _AT + 1, LENGTH_SIZE, _FD.size, _FD.unpack_from
    first_fd = 0 if shortcuts else -1  # the fd_index read in place
    started = False
    for event in reader:
        if len(metadata) != seeded:
            for block in metadata[seeded:]:
                state.seed(block)
            seeded = len(metadata)
        etype = event.type
        if etype == plugin_type and not plugins:
            if only is None or etype in only:
                yield event
            continue
        if removals or fd_removals:
            flush()
        if not started:
            if state.first_ts is None:
                state.first_ts = event.ts
            started = True
        tid = event.tid
        plan = plans[etype] if etype < nplans else unknown
        thread = get_thread(tid) if 0 < tid < limit and etype != plugin_type else False
        if thread is False:
            _threadless(state, plan, event)
        elif thread is None and plan.skip:  # looked up, never created
            cache = event._cache = {"state": state, "fd_new": False, "thread": None,
                                    "fd": None}
            if plan.handler is switch_marker:
                switch(state, None, event, cache)
        elif plan.skip:  # scheduler/internal events leave the thread's syscall context alone
            cache = event._cache = {"state": state, "fd_new": False,
                                    "latency": thread.last_latency, "thread": thread,
                                    "fd": None}
            if plan.memory is not None:
                update_memory(state, thread, event, plan.memory)
            if plan.handler is switch_marker:
                switch(state, thread, event, cache)
        else:
            if thread is None:
                thread = add(ThreadInfo(tid, comm="<NA>", exe="<NA>", uid=0xFFFFFFFF,
                                        gid=0xFFFFFFFF, ptid=-1, fdlimit=-1))
                thread._dummy = True
            fd = None
            if plan.enter:
                thread.in_call = True
                thread.last_enter = event
                index = plan.fd_index
                num = None
                if index == first_fd:  # plans.fd_param(event, 0), read in place
                    raw = event.raw
                    nparams = event.nparams
                    if nparams and raw[at] == fd_size and raw[at_high] == 0:
                        start = at + width * nparams  # the data after the u16 lengths
                        if start + fd_size > len(raw):
                            raise_damaged(event)  # the fd runs past the end of the event
                        num = unpack_fd(raw, start)[0]
                elif index is not None:
                    num = fd_param(event, index)
                thread.lastevent_fd = num
                thread.last_latency = 0
                if num is not None and num >= 0 and plan.uses_fd:
                    fd = thread.fdtable.get(num) or FdInfo(num, unknown_fd)
            else:
                thread.in_call = False
                last = thread.last_enter
                paired = last is not None and last.type == etype - 1
                if paired:
                    thread.last_latency = event.ts - last.ts
                else:
                    thread.lastevent_fd = None
                if plan.uses_fd:
                    num = thread.lastevent_fd
                    if num is not None:
                        if num >= 0:
                            fd = thread.fdtable.get(num) or FdInfo(num, unknown_fd)
                    elif paired:  # its enter event stored no fd
                        fd = FdInfo(-1, unknown_fd)
            memory = plan.memory
            if memory is None:
                pass
            elif shortcuts and memory.values is not None and \
                    memory.count <= event.nparams <= 32 and \
                    memory.lengths.unpack_from(event.raw, at) == memory.sizes and \
                    at + width * event.nparams + memory.values.size <= len(event.raw):
                # plans.update_memory's one-unpack case, in place
                main = thread if thread.pid == tid else get_thread(thread.pid) or thread
                for value, counter in zip(memory.values.unpack_from(
                        event.raw, at + width * event.nparams), memory.counters):
                    setattr(main if counter.of_process else thread, counter.attr, value)
            else:
                update_memory(state, thread, event, memory)
            if plan.plain:
                event._cache = {"state": state, "fd_new": False, "thread": thread, "fd": fd}
            else:
                _parse(state, thread, event, plan, fd, shortcuts)
        if only is None or etype in only:
            yield event


def _parse(state, thread, event, plan, fd, shortcuts: bool) -> None:
    """The rest of an event that is not plain: its parser and the fd it creates (``fd``:
    the fd it works on, found by :func:`track`)."""
    cache = event._cache = {"state": state, "fd_new": False, "thread": thread}
    handler = plan.handler
    if handler is on_close_exit and shortcuts and close_exit(state, thread, event):
        handler = None  # done from the raw layout
    enter = plan.enter
    if handler is not None or (plan.creates and not enter):
        params = params_of(event)
        if handler is not None:
            before = fd.name if fd is not None else None
            shown = handler(state, thread, event, params)
            if shown is not None:
                fd = shown
            elif fd is not None and before is not None and fd.name != before:
                cache["fd_new"] = True  # fd.name_changed
    if plan.creates:  # an enter event has no fd yet: a placeholder of the call's type
        fd = FdInfo(-1, plan.pending) if enter else created_fd(thread, event, params, cache)
    cache["fd"] = fd
