"""The state tracker's raw-layout shortcuts (state/tracker.py) against the parsers.

``tracked_events`` (the loop) runs with its shortcuts; the reference is a state
that runs every parser on decoded parameters (``state.shortcuts = False``), fed
through ``state.update``. Both must leave the same thread and fd tables and the
same per-event cache, event by event: on every shared syscall capture (twice in
a row, so the second pass meets a filled state) and on random event sequences.
"""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.events.event import Event
from scaptools.events.table import EVENTS
from scaptools.format.reader import open_capture
from scaptools.state import State, tracked_events
from scaptools.state.fds import FdInfo
from scaptools.state.threads import ThreadInfo

CAPTURES = ["curl_google.scap", "curl_google_comments.scap", "sample.scap",
            "single_ipv6_conn.scap", "test_ipv6_client.scap"]
_SKIP = ("fdtable", "last_enter", "_container")


def fd_view(fd):
    if fd is None:
        return None
    return tuple(getattr(fd, a) for a in FdInfo.__slots__)


def thread_view(thread):
    if thread is None:
        return None
    values = tuple(getattr(thread, a, None) for a in ThreadInfo.__slots__ if a not in _SKIP)
    enter = thread.last_enter.num if thread.last_enter is not None else None
    fds = {num: fd_view(fd) for num, fd in thread.fdtable.items()}
    return values, enter, fds


def cache_view(cache):
    return {k: thread_view(v) if k == "thread" else fd_view(v) if k == "fd" else v
            for k, v in cache.items() if k != "state"}


def plain() -> State:
    """A state whose update runs the parsers only (no raw-layout shortcut)."""
    state = State()
    state.shortcuts = False
    return state


def reference(events, state: State, reader=None, seeded=0):
    """The plain loop: seed new metadata, then ``state.update`` every syscall event."""
    for event in events:
        if reader is not None and len(reader.metadata) != seeded:
            for block in reader.metadata[seeded:]:
                state.seed(block)
            seeded = len(reader.metadata)
        if not event.is_plugin:
            state.update(event)
        yield event


def assert_same(fast_events, slow_events, fast: State, slow: State):
    count = 0
    for a, b in zip(fast_events, slow_events, strict=True):
        assert (a.num, a.type) == (b.num, b.type)
        if not a.is_plugin:
            assert cache_view(a.cache) == cache_view(b.cache), a
            assert a.cache["state"] is fast and b.cache["state"] is slow
        count += 1
    assert {t: thread_view(x) for t, x in fast.threads.items()} == \
        {t: thread_view(x) for t, x in slow.threads.items()}
    assert fast.cpu_switch == slow.cpu_switch and fast.first_ts == slow.first_ts
    return count


@pytest.mark.parametrize("name", CAPTURES)
def test_fast_path_matches_update_on_captures(shared, name):
    path = shared / "captures" / "libs-e2e" / name
    fast, slow = State(), plain()
    for _ in range(2):  # the second pass runs on the state the first one left
        with open_capture(path) as ra, open_capture(path) as rb:
            count = assert_same(tracked_events(ra, fast), reference(rb, slow, rb), fast, slow)
        assert count > 100


def _q(v):
    return struct.pack("<q", v)


# event types that work on fds, plus a few that change state or are skipped
_FD_TYPES = [e["id"] for e in EVENTS if not e["large_payload"] and e["params"]
             and e["name"] in ("read", "write", "close", "open", "openat", "fstat", "mmap",
                               "munmap", "brk", "switch", "procinfo", "dup", "socket",
                               "connect", "sendto", "syscall", "lseek", "fcntl", "poll",
                               "procexit", "pipe", "chdir", "setuid", "access")]


def _param(etype, index, value):
    ptype = EVENTS[etype]["params"][index]["type"]
    if ptype in ("PT_FD", "PT_ERRNO", "PT_PID", "PT_INT64", "PT_UINT64"):
        return _q(value)
    if ptype in ("PT_UINT32", "PT_FLAGS32", "PT_UID", "PT_GID", "PT_MODE"):
        return struct.pack("<I", value & 0xFFFFFFFF)
    if ptype in ("PT_FSPATH", "PT_CHARBUF", "PT_FSRELPATH"):
        return f"/etc/f{value % 5}\0".encode()
    return b""


@st.composite
def event_sequences(draw):
    events = []
    for num in range(1, draw(st.integers(1, 60)) + 1):
        etype = draw(st.sampled_from(_FD_TYPES))
        nparams = len(EVENTS[etype]["params"])
        keep = draw(st.integers(0, nparams))  # older producers store fewer parameters
        values = [draw(st.sampled_from([-1, 0, 1, 3, 4, 100])) for _ in range(keep)]
        params = [_param(etype, i, v) for i, v in enumerate(values)]
        tid = draw(st.sampled_from([5, 6, 7, 0, 2**64 - 1]))
        events.append(Event.from_params(etype, params, ts=num * 10, tid=tid,
                                        cpu=draw(st.integers(0, 1)), num=num))
    return events


class _Reader(list):
    metadata: list = []


def _seeded(state: State) -> State:
    state.add_thread({"tid": 5, "pid": 5, "comm": "a", "cwd": "/root"})
    state.add_thread({"tid": 6, "pid": 5, "comm": "a", "cwd": "/root"})
    state.add_fds(5, [{"fd": 3, "ino": 1, "type": 1, "name": "/etc/passwd"},
                      {"fd": 4, "ino": 2, "type": 7, "name": "pipe:[2]"}])
    return state


@settings(max_examples=200, deadline=None)
@given(event_sequences())
def test_fast_path_matches_update_on_random_events(events):
    fast, slow = _seeded(State()), _seeded(plain())
    copies = [Event(e.num, e.ts, e.cpu, e.tid, e.type, e.nparams, e.raw) for e in events]
    assert_same(tracked_events(_Reader(events), fast), reference(copies, slow), fast, slow)


def test_only_yields_a_subset_and_keeps_the_whole_state(shared):
    path = shared / "captures" / "libs-e2e" / "curl_google.scap"
    full, part = State(), State()
    with open_capture(path) as ra, open_capture(path) as rb:
        every = [(e.num, cache_view(e.cache)) for e in tracked_events(ra, full)
                 if e.type in (2, 3)]
        some = [(e.num, cache_view(e.cache)) for e in tracked_events(rb, part, only={2, 3})]
    assert some == every and len(some) > 10
    assert {t: thread_view(x) for t, x in full.threads.items()} == \
        {t: thread_view(x) for t, x in part.threads.items()}
