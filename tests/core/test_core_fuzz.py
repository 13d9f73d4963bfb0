"""Damaged captures read the same with and without the core (issue 14): cut anywhere,
bytes flipped, lengths made wrong, gzip streams cut, corrupted or followed by garbage.
Each gives the same events and the same error (type, text, offset, block type) in both
modes, from a path and from a file object, and never anything but a ScapError."""
from __future__ import annotations

import gzip
import io
import os
import random
import struct
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.errors import ScapError
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import event_block, section_header

ROOT = Path(__file__).resolve().parents[2]
SYSCALL = (ROOT / "captures" / "syscall_shell.scap").read_bytes()
PLUGIN = (ROOT / "captures" / "example.scap").read_bytes()


def big_endian_copy(data: bytes) -> bytes:
    from scaptools.format import schema
    out, pos = b"", 0
    while pos < len(data):
        btype, total = struct.unpack_from("<II", data, pos)
        out += schema.block(">", btype).build(schema.block("<", btype).parse(
            data[pos:pos + total]))
        pos += total
    return out


SAMPLE = SYSCALL + PLUGIN + big_endian_copy(SYSCALL)  # three sections, both orders


def noisy_capture(events: int = 2500, seed: int = 7) -> bytes:
    """Plugin events with payloads that compress poorly: megabytes of gzip input, so
    that the gzip reads cross the 1 MiB input and output pieces of both readers."""
    rng = random.Random(seed)
    blocks = [event_block(Event.plugin(1_700_000_000_000_000_000 + n, 2,
                                       rng.randbytes(rng.randrange(200, 1400))))
              for n in range(events)]
    return section_header() + b"".join(blocks)


@pytest.fixture(scope="module")
def noisy() -> bytes:
    return noisy_capture()


@contextmanager
def mode(pure: bool):
    before = os.environ.pop("SCAPTOOLS_PURE", None)
    if pure:
        os.environ["SCAPTOOLS_PURE"] = "1"
    try:
        yield
    finally:
        os.environ.pop("SCAPTOOLS_PURE", None)
        if before is not None:
            os.environ["SCAPTOOLS_PURE"] = before


def outcome(source, pure: bool, name: str) -> tuple:
    """Events (offset, num, ts, type, nparams, raw), error and state of one read."""
    events, error, reader = [], None, None
    with mode(pure), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = open_capture(source, path=name)
            with reader:
                for ev in reader:
                    events.append((ev.offset, ev.num, ev.ts, ev.tid, ev.cpu, ev.type,
                                   ev.nparams, ev.flags, ev.raw))
        except ScapError as exc:
            error = (type(exc).__name__, str(exc), exc.offset, exc.block_type)
    state = None if reader is None else (reader.truncated, reader.events_read,
                                         +reader.block_counts, len(reader.sections),
                                         len(reader.metadata))
    return events, error, state


def assert_same(tmp_path: Path, data: bytes, name: str = "damaged.scap") -> tuple:
    """Both modes agree on ``data``, read from a path and from a file object."""
    target = tmp_path / name
    target.write_bytes(data)
    pure = outcome(str(target), True, name)
    assert outcome(str(target), False, name) == pure
    assert outcome(io.BytesIO(data), False, name) == outcome(io.BytesIO(data), True, name)
    return pure


def block_ends(data: bytes) -> list[int]:
    pos, order, ends = 0, "<", []
    while pos + 12 <= len(data):
        if data[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
            order = "<" if data[pos + 8] == 0x4D else ">"
        total = struct.unpack_from(order + "I", data, pos + 4)[0]
        pos += total
        ends.append(pos)
    return ends


def test_cut_at_and_around_every_block_end(core, tmp_path):
    cuts = {0, 1, 11, 12, 27, 28, 29}
    for end in block_ends(SAMPLE):
        cuts.update({end - 9, end - 4, end - 1, end, end + 3, end + 8, end + 11})
    errors = set()
    for cut in sorted(c for c in cuts if 0 <= c < len(SAMPLE)):
        _, error, _ = assert_same(tmp_path, SAMPLE[:cut])
        errors.add(error[0] if error else None)
    assert errors == {None, "FormatError", "TruncatedCapture"}


def test_wrong_lengths_in_every_block(core, tmp_path):
    ends = [0] + block_ends(SAMPLE)[:-1]
    for index, start in enumerate(ends):
        order = ">" if start >= len(SYSCALL) + len(PLUGIN) else "<"
        for value in (0, 8, 13, 1 << 16, 0xFFFFFFFC, index * 4 + 12):
            bad = bytearray(SAMPLE)
            struct.pack_into(order + "I", bad, start + 4, value)
            assert_same(tmp_path, bytes(bad))
            struct.pack_into(order + "I", bad, start + 4, struct.unpack_from(
                order + "I", SAMPLE, start + 4)[0])
            bad[start + 14:start + 18] = bytes([0xFF, 0xFF, 0xFF, 0x7F])  # ts / a length
            assert_same(tmp_path, bytes(bad))


def test_gzip_cut_corrupt_and_followed_by_garbage(core, tmp_path, noisy):
    packed = gzip.compress(noisy, 1)
    assert len(packed) > 3 << 19  # two 1 MiB input pieces and more
    messages = set()
    rng = random.Random(3)
    for cut in (2, 10, 11, 5000, len(packed) // 2, (1 << 20) + 1, len(packed) - 8,
                len(packed) - 1):
        events, error, _ = assert_same(tmp_path, packed[:cut], "cut.scap.gz")
        assert error[0] == "TruncatedCapture" and "gzip stream is cut short" in error[1]
    for at in [10, 11, 12, 100, 1 << 20, (1 << 20) + 7, len(packed) - 6, len(packed) - 2] + \
            [rng.randrange(10, len(packed)) for _ in range(12)]:
        bad = bytearray(packed)
        bad[at] ^= 1 << rng.randrange(8)
        events, error, _ = assert_same(tmp_path, bytes(bad), "flip.scap.gz")
        if error:
            messages.add(error[1].split(": ", 1)[1][:40])
    assert any("gzip data corrupt near compressed offset" in m for m in messages)
    for tail in (b"junk", b"\0\0\0", b"\0\0\x1f", b"\x1f\x8b\x08"):
        assert_same(tmp_path, packed + tail, "tail.scap.gz")
    members = gzip.compress(noisy[:1000]) + b"\0" * 3 + gzip.compress(noisy[1000:], 1)
    events, error, _ = assert_same(tmp_path, members, "members.scap.gz")
    assert error is None and len(events) == 2500


def mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=5),
       keep=st.integers(0, len(SAMPLE)), packed=st.booleans())
def test_mutated_captures_read_the_same(core, tmp_path_factory, edits, keep, packed):
    data = mutate(SAMPLE, edits)[:keep] if edits else SAMPLE[:keep]
    if packed:
        data = gzip.compress(data)
    assert_same(tmp_path_factory.mktemp("fuzz"), data)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                      max_size=4))
def test_mutated_gzip_streams_read_the_same(core, tmp_path_factory, edits):
    assert_same(tmp_path_factory.mktemp("fuzz"), mutate(gzip.compress(SAMPLE), edits),
                "m.scap.gz")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=400), head=st.sampled_from([b"", SAMPLE[:28], SAMPLE[:300]]),
       packed=st.booleans())
def test_random_bytes_never_crash_the_core(core, tmp_path_factory, data, head, packed):
    """Whatever it is fed, the core walk ends with events and at most a ScapError."""
    from scaptools.core.walk import BATCH, CLASSES
    from scaptools.format.streams import open_source
    blob = gzip.compress(head + data) if packed else head + data
    target = tmp_path_factory.mktemp("random") / "random.scap"
    target.write_bytes(blob)
    for walker in (core.Walker.open(str(target), "random.scap", CLASSES),
                   core.Walker.from_source(open_source(io.BytesIO(blob))[0], "r", CLASSES)):
        while True:
            events, block, error = walker.next_batch(BATCH, True)
            if error is not None:
                assert isinstance(error, ScapError)
                break
            if block is None and not events:
                break
