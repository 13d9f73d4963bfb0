"""A damaged capture gives, with the compiled core, the alerts of every event before the
damage and then the same error (type, file, offset, text) as on the Python path."""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .coreutil import core_or_skip
from .test_core_replay import OWN, replay

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = (ROOT / "captures" / "example.scap").read_bytes()


def damaged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / f"damaged-{os.getpid()}.scap"
    path.write_bytes(data)
    return path


def block_ends(data: bytes) -> set:
    """The offsets where the capture's blocks end (each block: type, total length, ...)."""
    ends, pos = set(), 0
    while pos + 8 <= len(data):
        pos += int.from_bytes(data[pos + 4:pos + 8], "little")
        ends.add(pos)
    return ends


def same(monkeypatch, path: Path, jobs: int = 1):
    monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    core_or_skip()
    want = replay(monkeypatch, [path], [OWN], pure=True, jobs=jobs)
    assert replay(monkeypatch, [path], [OWN], pure=False, jobs=jobs) == want
    assert replay(monkeypatch, [path], [OWN], pure=False, render=False, jobs=jobs) == want
    return want


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cut=st.integers(0, len(CAPTURE) - 1))
def test_cut_short(monkeypatch, tmp_path, cut):
    out, _, error = same(monkeypatch, damaged(tmp_path, CAPTURE[:cut]))
    # a cut at a block boundary leaves a whole (shorter) capture: no error then
    assert error is not None or cut == 0 or out == "" or cut in block_ends(CAPTURE)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(at=st.integers(0, len(CAPTURE) - 1), byte=st.integers(0, 255))
def test_bytes_changed(monkeypatch, tmp_path, at, byte):
    data = bytearray(CAPTURE)
    data[at] = byte
    same(monkeypatch, damaged(tmp_path, bytes(data)))


def test_parameter_lengths_past_the_end_and_jobs(monkeypatch, tmp_path):
    """A plugin event whose payload length runs past its end: the reader yields it, the
    loop raises DamagedEvent naming the file and offset; -j 2 fails the same way."""
    data = bytearray(CAPTURE)
    at = data.index(b'{"eventVersion"', 2000)  # a payload inside the first events
    length_at = at - 4 - 4  # the payload's u32 length, before the 4-byte plugin id
    data[length_at:length_at + 4] = (0xFFFF).to_bytes(4, "little")
    path = damaged(tmp_path, bytes(data))
    out, _, error = same(monkeypatch, path)
    assert error is not None and error[0] == "DamagedEvent" and str(path) in error[1]
    assert same(monkeypatch, path, jobs=2)[2] == error
