"""``scap slice`` keeps exactly the events of its window: every event of the whole capture
with START <= time <= END (both bounds kept, ``scap slice --help``: "first time to keep",
"last time to keep") that matches the filter is in the slice, and nothing else is.

The expected slice is computed here from the whole capture, event by event:

* plugin events: inside the window and, with a filter, matching it (the filters used
  are read here from the JSON payload or the event name);
* syscall events: the same, plus the events that change the process or fd state
  (open, openat, close), which the slice keeps even when they do not match;
* before the window: only the enter events of the calls that are in progress at its
  start (the last event of their thread before START is an enter event with an exit
  type) and whose exit (the next event of their thread) is in the slice, written
  first so that their exits keep their fd fields; nothing when the window is empty.

A window that keeps no event is written only with ``--allow-empty`` (given here), and
one whose END is before its START is refused.

Captures: the repository's CloudTrail captures joined into one (equal timestamps
included) and a syscall capture made here, with two threads whose calls overlap.
"""
from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.cli.main import cli
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter

ROOT = Path(__file__).resolve().parents[2]
STATE_CALLS = {"open", "openat", "close"}  # calls that change the fd table

# filter text -> the same test written here over the event
FILTERS = {
    None: lambda e: True,
    "ct.name=ConsoleLogin": lambda e: e.is_plugin and orjson.loads(e.payload).get(
        "eventName") == "ConsoleLogin",
    "ct.region=eu-west-1": lambda e: e.is_plugin and orjson.loads(e.payload).get(
        "awsRegion") == "eu-west-1",
    "evt.type=read": lambda e: not e.is_plugin and e.name == "read",
    "evt.type in (write, read) and thread.tid=200":
        lambda e: not e.is_plugin and e.name in ("write", "read") and e.tid == 200,
}


def key(e) -> tuple:
    return (e.ts, e.tid, e.type, bytes(e.raw))


def events_of(path) -> list:
    with open_capture(path) as reader:
        return [Event(e.num, e.ts, e.cpu, e.tid, e.type, e.nparams, bytes(e.raw), e.flags)
                for e in reader]


@pytest.fixture(scope="module")
def plugin_capture(tmp_path_factory) -> Path:
    """Every plugin event of captures/*.scap in time order, in one capture; every 20th
    record is there twice (as a second trail would deliver it), so stamps repeat."""
    events = []
    for path in sorted((ROOT / "captures").glob("*.scap")):
        events += [e for e in events_of(path) if e.is_plugin]
    events += events[::20]
    events.sort(key=lambda e: e.ts)
    assert len(events) >= 200 and len({e.ts for e in events}) < len(events)
    out = tmp_path_factory.mktemp("slice") / "cloudtrail.scap"
    with CaptureWriter(str(out)) as writer:
        for e in events:
            writer.write(Event.plugin(e.ts, e.plugin_id, e.payload))
    return out


def syscall_pair(tid, name, fd, ts_enter, ts_exit):
    i64, u32, u64 = (lambda v: struct.pack("<q", v)), (lambda v: struct.pack("<I", v)), \
        (lambda v: struct.pack("<Q", v))
    path = f"/srv/data/file{tid}".encode() + b"\0"
    if name == "openat":
        enter = (306, [i64(-100), path, u32(1), u32(0)])
        leave = (307, [i64(fd), i64(-100), path, u32(1), u32(0), u32(0x803), u64(0x1234)])
    elif name == "close":
        enter, leave = (4, [i64(fd)]), (5, [i64(0), i64(fd)])
    else:  # read or write of 3 bytes
        number = 6 if name == "read" else 8
        enter = (number, [i64(fd), u32(3)])
        leave = (number + 1, [i64(3), b"abc", i64(fd), u32(3)])
    return (Event.from_params(enter[0], enter[1], ts=ts_enter, tid=tid),
            Event.from_params(leave[0], leave[1], ts=ts_exit, tid=tid))


@pytest.fixture(scope="module")
def syscall_capture(tmp_path_factory) -> Path:
    """Threads 100 and 200 each open a file, read, write, read and close it; their calls
    overlap (200 enters while 100 is in a call) and their exits share timestamps."""
    calls = ["openat", "read", "write", "read", "read", "close"]
    base, events = 1_700_000_000_000_000_000, []
    for step, name in enumerate(calls):
        t = base + step * 3_000
        a_enter, a_exit = syscall_pair(100, name, 3, t, t + 2_000)
        b_enter, b_exit = syscall_pair(200, name, 4, t + 1_000, t + 2_000)
        events += [a_enter, b_enter, a_exit, b_exit]
    out = tmp_path_factory.mktemp("slice") / "syscall.scap"
    with CaptureWriter(str(out)) as writer:
        for e in events:
            writer.write(e)
    return out


def expected_slice(whole, start, end, filter_text):
    """The events the slice must hold, from the whole capture (see the module doc)."""
    low = start if start is not None else 0
    high = end if end is not None else 1 << 64
    test = FILTERS[filter_text]
    inside = [e for e in whole if low <= e.ts <= high and (
        test(e) or (filter_text is not None and not e.is_plugin and e.name in STATE_CALLS))]
    if not any(low <= e.ts <= high for e in whole):
        return []
    last_before, first_after, started = {}, {}, False
    for e in whole:
        started = started or low <= e.ts <= high
        if not started and not e.is_plugin:
            last_before[e.tid] = e
        elif started and not e.is_plugin:
            first_after.setdefault(e.tid, e)
    pending = [e for e in last_before.values() if e.direction == ">" and e.tid in first_after
               and first_after[e.tid] in inside]
    return sorted(pending, key=lambda e: e.ts) + inside


def check_slice(path, tmp_path, start, end, filter_text, forms=(str, str)):
    out = tmp_path / "slice.scap"
    args = ["slice", str(path), "-w", str(out)]
    if start is not None:
        args += ["--start", forms[0](start)]
    if end is not None:
        args += ["--end", forms[1](end)]
    if filter_text is not None:
        args.append(filter_text)
    res = CliRunner().invoke(cli, args + ["--allow-empty"])
    if start is not None and end is not None and end < start:
        assert res.exit_code == 2 and "before" in res.output
        return []
    assert res.exit_code == 0, res.output
    got = [key(e) for e in events_of(out)]
    want = [key(e) for e in expected_slice(events_of(path), start, end, filter_text)]
    assert Counter(got) == Counter(want), (start, end, filter_text)
    return got


def stamps(path) -> list[int]:
    return sorted({e.ts for e in events_of(path)})


@pytest.mark.parametrize("filter_text", [None, "ct.name=ConsoleLogin", "ct.region=eu-west-1"])
def test_plugin_windows_on_event_times(plugin_capture, tmp_path, filter_text):
    times = stamps(plugin_capture)
    whole = events_of(plugin_capture)
    tied = Counter(e.ts for e in whole).most_common(1)[0][0]  # a stamp two events share
    windows = [(None, None), (times[0], times[-1]), (times[5], times[40]),
               (times[5] + 1, times[40] - 1), (times[5] - 1, times[40] + 1),
               (tied, tied), (tied - 1, tied), (tied, tied + 1), (tied + 1, tied - 1),
               (times[-1], None), (None, times[0]), (times[-1] + 1, None), (None, times[0] - 1),
               (times[30], times[29])]
    for start, end in windows:
        check_slice(plugin_capture, tmp_path, start, end, filter_text)
    assert len(check_slice(plugin_capture, tmp_path, tied, tied, None)) >= 2


def test_plugin_window_in_every_time_form(plugin_capture, tmp_path):
    """ns since the epoch, seconds, ISO 8601 and +N from the first event name the same times."""
    times = stamps(plugin_capture)
    first, a, b = times[0], times[10], times[60]
    seconds = (lambda t: f"{t // 10**9}.{t % 10**9:09d}")
    from datetime import datetime, timezone
    iso = (lambda t: datetime.fromtimestamp(t // 10**9, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))
    relative = (lambda t: f"+{(t - first) // 10**9}s")
    kept = check_slice(plugin_capture, tmp_path, a, b, None)
    assert kept[0][0] == a and kept[-1][0] == b
    for forms in ((seconds, seconds), (iso, iso), (relative, relative), (str, iso)):
        assert check_slice(plugin_capture, tmp_path, a, b, None, forms) == kept


@pytest.mark.parametrize("filter_text", [None, "evt.type=read",
                                         "evt.type in (write, read) and thread.tid=200"])
def test_syscall_windows_on_event_times(syscall_capture, tmp_path, filter_text):
    times = stamps(syscall_capture)
    windows = [(None, None)] + [(times[i], times[j]) for i in range(len(times))
                                for j in (i, min(i + 3, len(times) - 1))]
    windows += [(times[4] + 1, times[9] - 1), (times[9] + 1, times[4])]
    for start, end in windows:
        check_slice(syscall_capture, tmp_path, start, end, filter_text)
    # a window starting at an exit keeps that call's enter event, written first
    got = check_slice(syscall_capture, tmp_path, times[2], times[2], filter_text)
    assert got and got[0][0] < times[2]


def around(stamps_list):
    return st.one_of(st.none(), st.builds(lambda t, d: t + d, st.sampled_from(stamps_list),
                                          st.sampled_from([-1, 0, 0, 1, 500_000_000])))


@pytest.mark.parametrize("which", ["plugin_capture", "syscall_capture"])
def test_random_windows(which, request, tmp_path):
    path = request.getfixturevalue(which)
    times = stamps(path)
    plugin = which == "plugin_capture"
    filters = [f for f in FILTERS if f is None or f.startswith("ct.") == plugin]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(start=around(times), end=around(times), filter_text=st.sampled_from(filters))
    def run(start, end, filter_text):
        check_slice(path, tmp_path, start, end, filter_text)
    run()
