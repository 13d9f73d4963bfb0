"""``scap slice`` in the core against the Python path (``SCAPTOOLS_PURE=1``): the same
bytes written (the state-at-start lists from the core's state, the carried enter events,
the kept events), the same count and the same error, on the shared syscall captures,
the repository's plugin captures, captures made here with every list version, fd type
and parser (sliced at each event, in both byte orders), damaged and cut captures, and
windows drawn by hypothesis. Where the core must not cut (a filter field only Python
has), it hands the slice to the Python path before writing anything."""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.errors import ScapError
from scaptools.format.reader import open_capture
from scaptools.ops import slicing
from scaptools.ops.slice import cut, event_filter
from scaptools.ops.slice_core import cut_in_core

from .coreutil import sibling

ROOT = Path(__file__).resolve().parents[2]
MADE = sibling("test_core_state_made")
STATE = sibling("test_core_state")
to_big_endian = sibling("test_core_walk").to_big_endian
WINDOWS = [(None, None), ("+0.05s", None), ("+0.2s", "+0.4s"), (None, "+0.1s"), ("+1s", "+3s")]
FILTERS = [None, "evt.type in (open, openat)", "proc.name=curl", "fd.name contains /etc",
           "evt.type=read and fd.type=ipv4", "fd.sport=443 or fd.cip != 127.0.0.1",
           "proc.aname[2]=bash or user.name=root"]


def slice_once(monkeypatch, path: Path, out: Path, pure: bool, start, end, text,
               allow_empty: bool, compress: bool = False):
    """``(count, error, bytes)`` of one slice; with ``pure`` False, the core must cut."""
    if pure:
        monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    else:
        monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    run = cut if pure else cut_in_core
    try:
        selector = event_filter(text) if text else None
        count, error = run(str(path), str(out), start, end, selector, compress,
                           allow_empty), None
        assert pure or count is not None, "the core handed the slice to Python"
    except ScapError as exc:
        count, error = None, f"{type(exc).__name__}: {exc}"
    finally:
        monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    data = out.read_bytes() if out.exists() else None
    if out.exists():
        out.unlink()
    return count, error, data


def assert_same(monkeypatch, tmp_path, path, start=None, end=None, text=None,
                allow_empty=True, compress=False):
    """The core's slice is the Python one; returns it."""
    core = slice_once(monkeypatch, path, tmp_path / "core.scap", False, start, end, text,
                      allow_empty, compress)
    python = slice_once(monkeypatch, path, tmp_path / "python.scap", True, start, end, text,
                        allow_empty, compress)
    assert core[:2] == python[:2], (path.name, start, end, text)
    assert core[2] == python[2], (path.name, start, end, text, "bytes differ")
    return python


def shared_syscall(shared: Path) -> list[Path]:
    found = sorted((shared / "captures" / "libs-e2e").glob("*.scap"))
    if not found:
        pytest.skip("../shared has no syscall captures (captures/libs-e2e)")
    return found


@pytest.mark.parametrize("text", FILTERS)
def test_shared_syscall_captures(core, shared, tmp_path, monkeypatch, text):
    written = 0
    for path in shared_syscall(shared):
        for start, end in WINDOWS:
            count, error, _ = assert_same(monkeypatch, tmp_path, path, start, end, text)
            written += count or 0
    assert written > 0


def test_the_slice_starts_inside_calls(core, shared, tmp_path, monkeypatch):
    """Windows starting at each of 40 events of sample.scap: threads are in calls then,
    and the enter events whose exits are kept come first."""
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    with open_capture(path) as reader:
        times = [e.ts for e in reader][::15][:40]
    carried = 0
    for ts in times:
        _count, _, data = assert_same(monkeypatch, tmp_path, path, str(ts), None, None)
        with open_capture(_write(tmp_path, data)) as r:
            carried += sum(1 for e in r if e.ts < ts)
    assert carried > 0  # some slices start with enter events from before the window


def _write(tmp_path: Path, data: bytes) -> Path:
    out = tmp_path / "read.scap"
    out.write_bytes(data)
    return out


def test_gzip_and_held_events(core, shared, tmp_path, monkeypatch):
    """A gzip output, and kept events held in temporary captures while calls wait."""
    path = shared / "captures" / "libs-e2e" / "curl_google.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/curl_google.scap is absent")
    assert_same(monkeypatch, tmp_path, path, "+0.1s", None, None, compress=True)
    monkeypatch.setattr(slicing, "HOLD_BYTES", 300)
    for start in ("+0.05s", "+0.1s", "+0.3s"):
        assert_same(monkeypatch, tmp_path, path, start, None, "proc.name=curl")


def made_capture(big: bool) -> bytes:
    events = MADE.fd_events(100) + MADE.socket_events(100) + MADE.process_events()
    data = MADE.capture(events)
    return to_big_endian(data) if big else data


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
def test_made_capture_sliced_at_each_event(core, tmp_path, monkeypatch, big):
    """Every list version, fd type and parser: the dump of each state along the way."""
    path = tmp_path / "made.scap"
    path.write_bytes(made_capture(big))
    with open_capture(path) as reader:
        times = sorted({e.ts for e in reader})
    for ts in times:
        assert_same(monkeypatch, tmp_path, path, str(ts), None, None)
    assert_same(monkeypatch, tmp_path, path, str(times[-1] + 1), None, None)  # empty


def test_plugin_captures(core, tmp_path, monkeypatch):
    """CloudTrail captures: plugin events judged by the core's rules of their source."""
    for name in ("example", "console", "iam"):
        path = ROOT / "captures" / f"{name}.scap"
        for text in (None, "ct.name=ConsoleLogin", "evt.num > 3", "ct.user contains a"):
            assert_same(monkeypatch, tmp_path, path, None, None, text)
        assert_same(monkeypatch, tmp_path, path, "+1s", None, "ct.region != us-east-1")


def test_repo_syscall_capture(core, tmp_path, monkeypatch):
    path = ROOT / "captures" / "syscall_shell.scap"
    for text in FILTERS:
        assert assert_same(monkeypatch, tmp_path, path, None, None, text)[0]


def test_damaged_events(core, tmp_path, monkeypatch):
    """An event whose parameter runs past its end: where the state or the filter reads
    it, the core hands the slice to Python, which gives its result (or error)."""
    data = (ROOT / "captures" / "syscall_shell.scap").read_bytes()
    for index in range(20):
        path = tmp_path / f"damaged{index}.scap"
        path.write_bytes(STATE.damaged_at(data, index))
        for text in (None, "proc.name=cat"):
            assert_same_any(monkeypatch, tmp_path, path, text)


def assert_same_any(monkeypatch, tmp_path, path, text):
    """The slice through ``cut`` in both modes (the core may hand it to Python)."""
    results = []
    for pure in (False, True):
        if pure:
            monkeypatch.setenv("SCAPTOOLS_PURE", "1")
        out = tmp_path / "any.scap"
        try:
            selector = event_filter(text) if text else None
            results.append((cut(str(path), str(out), None, None, selector, False, True), None))
        except ScapError as exc:
            results.append((None, str(exc)))
        finally:
            monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
        results[-1] += (out.read_bytes() if out.exists() else None,)
        if out.exists():
            out.unlink()
    assert results[0] == results[1], (path.name, text)


def test_cut_captures(core, shared, tmp_path, monkeypatch):
    """A capture cut short: the events kept before the damage, then the same error."""
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    data = path.read_bytes()
    for end in sorted({3000, len(data) // 3, len(data) // 2, len(data) - 5}):
        cut_path = tmp_path / f"cut{end}.scap"
        cut_path.write_bytes(data[:end])
        _count, error, _ = assert_same(monkeypatch, tmp_path, cut_path, None, None, None)
        assert error is not None and "offset" in error, end


def test_python_only_field(core, tmp_path, monkeypatch):
    """``evt.buffer`` is a Python field: the core leaves the slice to Python."""
    path = ROOT / "captures" / "syscall_shell.scap"
    selector = event_filter("evt.buffer contains root")
    assert cut_in_core(str(path), str(tmp_path / "x.scap"), None, None, selector, False,
                       True) is None
    assert not (tmp_path / "x.scap").exists()
    assert_same_any(monkeypatch, tmp_path, path, "evt.buffer contains root")


def test_window_errors(core, tmp_path, monkeypatch):
    """An end before the start, given as offsets or as a time and an offset."""
    path = ROOT / "captures" / "syscall_shell.scap"
    with open_capture(path) as reader:
        first = next(iter(reader)).ts
    for start, end in (("+2s", "+1s"), (str(first + 10), "+0.000000005s")):
        _count, error, data = assert_same(monkeypatch, tmp_path, path, start, end, None)
        assert error.startswith("OptionError: --end") and data is None


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 900), length=st.integers(0, 400),
       text=st.sampled_from(FILTERS))
def test_hypothesis_windows(core, shared, tmp_path, monkeypatch, start, length, text):
    path = shared / "captures" / "libs-e2e" / "curl_google.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/curl_google.scap is absent")
    assert_same(monkeypatch, tmp_path, path, f"+{start}ms", f"+{start + length}ms", text)


def test_times_before_the_epoch(core, tmp_path, monkeypatch):
    """A window before 1970 is the Python path's: its end before its start is refused."""
    path = ROOT / "captures" / "syscall_shell.scap"
    assert cut_in_core(str(path), str(tmp_path / "x.scap"), "1969-12-31T23:59:59Z",
                       "1969-12-31T23:59:58Z", None, False, True) is None
    monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    with pytest.raises(ScapError, match="--end .* is before --start"):
        cut(str(path), str(tmp_path / "x.scap"), "1969-12-31T23:59:59Z",
            "1969-12-31T23:59:58Z")


def with_unknown_block(data: bytes) -> bytes:
    """``data`` with a block of an unknown type after its section header."""
    shb = struct.unpack_from("<I", data, 4)[0]
    return data[:shb] + struct.pack("<II", 0x7777, 16) + b"\0" * 4 + struct.pack("<I", 16) \
        + data[shb:]


@pytest.mark.parametrize("damaged", [False, True])
def test_unknown_block_warned_once(core, tmp_path, monkeypatch, damaged):
    """The reader's warning of an unknown block type comes once, also when the core
    hands a damaged capture to the Python path."""
    data = (ROOT / "captures" / "syscall_shell.scap").read_bytes()
    if damaged:
        data = STATE.damaged_at(data, 0)
    path = tmp_path / "unknown.scap"
    path.write_bytes(with_unknown_block(data))
    monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        cut(str(path), str(tmp_path / "out.scap"), None, None, event_filter("proc.name=cat"),
            False, True)
    texts = [str(w.message) for w in seen if "unknown block type" in str(w.message)]
    assert len(texts) == 1, texts
