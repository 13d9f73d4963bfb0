"""The core's count of a capture's events (``CaptureReader.tally()``) equals what
``scap info``'s ``Summary`` counts from the pure reader's events: types, plugin ids,
timestamps, time order, damaged events (the first one's error too), the metadata
blocks, and the error and reader state of a damaged capture."""
from __future__ import annotations

import gzip
import io
import struct
import warnings
from pathlib import Path

import pytest

from scaptools.errors import ScapError
from scaptools.events.event import damaged_error
from scaptools.format.reader import open_capture
from scaptools.ops.info import Summary

ROOT = Path(__file__).resolve().parents[2]
SYSCALL = (ROOT / "captures" / "syscall_shell.scap").read_bytes()
PLUGIN = (ROOT / "captures" / "example.scap").read_bytes()


FIELDS = ("events", "plugins", "first_ts", "last_ts", "earliest", "latest", "inversions",
          "damaged", "machine", "lists")


def state(reader) -> tuple:
    return (reader.truncated, reader.events_read, +reader.block_counts,
            [(s.version, s.order, s.offset) for s in reader.sections], len(reader.metadata))


def pure_summary(source, name: str, monkeypatch) -> tuple:
    monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    summary, reader = Summary(name), open_capture(source, path=name)
    assert reader.tally() is None
    with reader, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            summary.add_events(reader.blocks())
        except ScapError as exc:
            summary.error = exc
    monkeypatch.delenv("SCAPTOOLS_PURE")
    first = summary.first_damaged
    return ({f: getattr(summary, f) for f in FIELDS}, first and str(first),
            str(summary.error) if summary.error else None, state(reader))


def core_summary(source, name: str) -> tuple:
    summary, reader = Summary(name), open_capture(source, path=name)
    tally = reader.tally()
    with reader, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for _, block in tally.blocks():
                summary.add_block(block)
        except ScapError as exc:
            summary.error = exc
    for name_ in FIELDS[:8]:
        setattr(summary, name_, getattr(tally, name_))
    first = tally.first_damaged and damaged_error(tally.first_damaged, name)
    return ({f: getattr(summary, f) for f in FIELDS}, first and str(first),
            str(summary.error) if summary.error else None, state(reader))


def damaged(data: bytes, count: int) -> bytes:
    """``data`` with the first parameter of ``count`` event blocks 1000 bytes too long."""
    out, pos, done = bytearray(data), 0, 0
    while pos < len(data) and done < count:
        btype, total = struct.unpack_from("<II", data, pos)
        if btype == 0x216 and struct.unpack_from("<I", data, pos + 32)[0]:
            length = struct.unpack_from("<H", data, pos + 36)[0]
            struct.pack_into("<H", out, pos + 36, length + 1000)
            done += 1
        pos += total
    return bytes(out)


CASES = {
    "syscall": SYSCALL, "plugin": PLUGIN, "both": SYSCALL + PLUGIN + SYSCALL,
    "damaged": damaged(SYSCALL, 3), "cut": (SYSCALL + PLUGIN)[:-100],
    "gzip_cut": gzip.compress(SYSCALL + PLUGIN)[:-30],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tally_equals_the_summary_of_the_events(core, monkeypatch, tmp_path, name):
    data = CASES[name]
    target = tmp_path / f"{name}.scap"
    target.write_bytes(data)
    for source in (str(target), io.BytesIO(data)):
        want = pure_summary(source if isinstance(source, str) else io.BytesIO(data),
                            f"{name}.scap", monkeypatch)
        assert core_summary(source, f"{name}.scap") == want
    if name == "damaged":
        assert want[0]["damaged"] == 3 and "damaged: parameter 1" in want[1]


@pytest.mark.parametrize("capture", sorted((ROOT / "captures").glob("*.scap")),
                         ids=lambda p: p.name)
def test_tally_of_repo_captures(core, monkeypatch, capture):
    assert core_summary(str(capture), capture.name) == \
        pure_summary(str(capture), capture.name, monkeypatch)


def test_tally_of_shared_captures(core, monkeypatch, shared):
    for capture in sorted(p for p in (shared / "captures").rglob("*")
                          if p.name.endswith((".scap", ".scap.gz"))):
        got = core_summary(str(capture), capture.name)
        assert got == pure_summary(str(capture), capture.name, monkeypatch), capture
        assert got[0]["events"] and got[2] is None
