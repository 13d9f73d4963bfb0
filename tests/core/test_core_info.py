"""``scap info`` with the compiled core (the events counted in the core's walk,
``CaptureReader.tally()``) prints what it prints on the pure path (SCAPTOOLS_PURE=1),
byte for byte, in text and JSON, with the same error line and exit code: on every
capture of the repo and of ../shared, on captures made in every version, byte order
and packing, and on damaged ones (cut short, bytes flipped, parameters too long)."""
from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.cli.main import cli
from scaptools.format.reader import CaptureReader
from scaptools.ops.info import summarize

from .coreutil import sibling

ROOT = Path(__file__).resolve().parents[2]


# captures made in every version, byte order and block kind; events made damaged
MADE, multi_member = sibling("test_core_walk").MADE, sibling("test_core_walk").multi_member
damaged = sibling("test_core_walk_tally").damaged
REPO_CAPTURES = sorted((ROOT / "captures").glob("*.scap"))
SYSCALL = (ROOT / "captures" / "syscall_shell.scap").read_bytes()
PLUGIN = (ROOT / "captures" / "example.scap").read_bytes()
BOTH = SYSCALL + PLUGIN  # two sections, syscall and plugin events


def info(target, *, pure: bool, as_json: bool, data: bytes | None = None) -> tuple:
    """``scap info TARGET [--json]`` in this process (``data`` on stdin for ``-``):
    exit code, stdout, stderr."""
    args = ["info", str(target)] + (["--json"] if as_json else [])
    result = CliRunner().invoke(cli, args, input=data,
                                env={"SCAPTOOLS_PURE": "1" if pure else None})
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_same(target, data: bytes | None = None) -> tuple:
    """Both modes print the same, text and JSON; returns the core's text run."""
    for as_json in (False, True):
        core = info(target, pure=False, as_json=as_json, data=data)
        assert core == info(target, pure=True, as_json=as_json, data=data), (target, as_json)
        if not as_json:
            text = core
    return text


def both_ways(tmp_path: Path, data: bytes, name: str = "made.scap") -> tuple:
    """The same report from a path and from stdin; returns the text run from the path."""
    path = tmp_path / name
    path.write_bytes(data)
    text = assert_same(path)
    assert_same("-", data)
    return text


def test_the_core_counts_the_events_without_event_objects(core, monkeypatch):
    """With the core, ``summarize`` never iterates events in Python: the reader's event
    walk is not used at all, and the report is still whole."""
    def no_events(self):
        raise AssertionError("scap info walked the events in Python")

    monkeypatch.setattr(CaptureReader, "blocks", no_events)
    monkeypatch.setattr(CaptureReader, "__iter__", no_events)
    report, fault = summarize(str(ROOT / "captures" / "example.scap"))
    assert fault is None and report["events"] > 0 and report["events_by_plugin"]


@pytest.mark.parametrize("capture", REPO_CAPTURES, ids=lambda p: p.name)
def test_repo_captures(core, capture):
    code, text, err = assert_same(capture)
    assert code == 0 and err == "" and "events:" in text


def test_shared_captures(core, shared):
    captures = sorted(p for p in (shared / "captures").rglob("*")
                      if p.name.endswith((".scap", ".scap.gz")))
    assert captures, "no captures under ../shared/captures"
    for capture in captures:
        code, text, err = assert_same(capture)
        assert code == 0 and err == "", capture
        if capture.stat().st_size < 1 << 20:
            assert_same("-", capture.read_bytes())


@pytest.mark.parametrize("name", sorted(MADE))
@pytest.mark.parametrize("packing", ["plain", "gzip", "members"])
def test_made_captures(core, tmp_path, name, packing):
    """Every format version, both byte orders, flags-word and unknown blocks, several
    sections; plain, gzip, gzip of several members."""
    data = MADE[name]
    data = {"plain": data, "gzip": gzip.compress(data, mtime=0),
            "members": multi_member(data)}[packing]
    code, _, err = both_ways(tmp_path, data, f"{name}.scap")
    assert code == 0  # unknown blocks give a warning line each, nothing else does
    assert all(line.startswith("Warning: ") for line in err.splitlines())
    assert bool(err) == (name == "unknown_blocks")


def test_damaged_events_are_counted_alike(core, tmp_path):
    code, text, err = both_ways(tmp_path, damaged(BOTH, 3))
    assert code == 1 and "damaged:        3 event(s)" in text
    assert "damaged: parameter 1" in err and "(3 damaged events in all)" in err


def cut_points(size: int) -> list[int]:
    """Offsets to cut a capture at: inside the first blocks, at a quarter, half and
    three quarters, and a few bytes before the end."""
    return sorted({0, 7, 20, 30, 100, 500, size // 4, size // 2, 3 * size // 4 + 1,
                   size - 13, size - 4, size - 1} - {size})


@pytest.mark.parametrize("packing", ["plain", "gzip"])
def test_cut_captures(core, tmp_path, packing):
    """A capture cut short: truncated, the fault and its offset, the counts before it."""
    data = BOTH if packing == "plain" else gzip.compress(BOTH, mtime=0)
    faults = set()
    for end in cut_points(len(data)):
        code, text, err = both_ways(tmp_path, data[:end], f"cut{end}.scap")
        assert code == 1 and err, end
        faults.add(err)
    assert len(faults) > 4  # the cuts fail in different places


def test_flipped_bytes(core, tmp_path):
    """Bytes flipped at fixed random places: block lengths, types, trailers, event
    headers and parameter lengths go wrong in every way the walk can meet."""
    rng = random.Random(14)
    outcomes = set()
    for index in range(40):
        data = bytearray(BOTH)
        for _ in range(1 + index % 3):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        code, text, err = both_ways(tmp_path, bytes(data), f"flip{index}.scap")
        outcomes.add((code, "damaged:        no" in text))
    assert len(outcomes) > 1  # some flips break the capture, some do not


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(end=st.integers(0, len(BOTH)),
       flips=st.lists(st.tuples(st.integers(0, len(BOTH) - 1), st.integers(1, 255)),
                      max_size=3))
def test_any_cut_and_flip(core, end, flips):
    data = bytearray(BOTH)
    for at, mask in flips:
        data[at] ^= mask
    assert_same("-", bytes(data[:end]))
