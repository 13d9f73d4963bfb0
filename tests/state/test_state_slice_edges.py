"""``scap slice`` at its edges: which enter events from before ``--start`` are carried in
(only calls whose exit falls in the window; never a ``procexit``), ``--end`` before
``--start`` refused, and a slice that keeps no event."""
from __future__ import annotations

import struct

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter

BASE = 1_700_000_000_000_000_000
i64, u32 = (lambda v: struct.pack("<q", v)), (lambda v: struct.pack("<I", v))


def read_enter(tid, ts):
    return Event.from_params(6, [i64(3), u32(3)], ts=ts, tid=tid)


def read_exit(tid, ts):
    return Event.from_params(7, [i64(3), b"abc", i64(3), u32(3)], ts=ts, tid=tid)


def procexit(tid, ts):
    return Event.from_params(186, [i64(0), i64(0), b"\x00", b"\x00", i64(0)], ts=ts, tid=tid)


@pytest.fixture
def capture(tmp_path):
    """Before the window (BASE+100..BASE+200): thread 1 enters a read that returns inside
    it, thread 2 one that returns after it, thread 3 exits (procexit, no exit pair)."""
    events = [read_enter(1, BASE + 10), read_enter(2, BASE + 20), procexit(3, BASE + 90),
              read_enter(4, BASE + 150), read_exit(1, BASE + 160), read_exit(4, BASE + 170),
              read_exit(2, BASE + 300)]
    path = tmp_path / "c.scap"
    with CaptureWriter(str(path)) as writer:
        for event in events:
            writer.write(event)
    return path


def cut(*args):
    res = CliRunner().invoke(cli, ["slice", *map(str, args)])
    return res.exit_code, res.stderr


def kept(path):
    with open_capture(str(path)) as reader:
        return [(e.tid, e.name, e.direction, e.ts - BASE) for e in reader]


def test_only_calls_that_return_in_the_window_are_carried_in(capture, tmp_path):
    out = tmp_path / "s.scap"
    code, err = cut(capture, "-w", out, "--start", BASE + 100, "--end", BASE + 200)
    assert code == 0, err
    assert kept(out) == [(1, "read", ">", 10), (4, "read", ">", 150), (1, "read", "<", 160),
                         (4, "read", "<", 170)]


def test_end_before_start_is_refused(capture, tmp_path):
    out = tmp_path / "s.scap"
    code, err = cut(capture, "-w", out, "--start", BASE + 200, "--end", BASE + 100)
    assert code == 2 and "--end" in err and "before" in err and not out.exists()
    code, err = cut(capture, "-w", out, "--start", "+2s", "--end", "+1s")
    assert code == 2 and not out.exists()


def test_an_empty_slice_is_an_error_unless_allowed(capture, tmp_path):
    out = tmp_path / "s.scap"
    code, err = cut(capture, "-w", out, "--start", BASE + 400)
    assert code == 1 and "no event" in err and str(capture) in err and not out.exists()
    code, err = cut(capture, "-w", out, "--start", BASE + 100, "evt.type=open")
    assert code == 1 and not out.exists()
    code, err = cut(capture, "-w", out, "--start", BASE + 400, "--allow-empty")
    assert code == 0 and out.exists() and kept(out) == []
    assert "--allow-empty" in " ".join(CliRunner().invoke(cli, ["slice", "--help"]).output.split())


def test_a_long_call_held_past_the_memory_bound(capture, tmp_path, monkeypatch):
    """The events after the window start wait for the pending calls' exits; past the
    bound they wait in a temporary file, in order."""
    monkeypatch.setattr("scaptools.ops.slicing.HOLD_BYTES", 1)
    out = tmp_path / "s.scap"
    code, err = cut(capture, "-w", out, "--start", BASE + 100, "--end", BASE + 200)
    assert code == 0, err
    assert [t for t, *_ in kept(out)] == [1, 4, 1, 4]
