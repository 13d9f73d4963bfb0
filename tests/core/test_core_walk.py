"""The core's capture walk gives what the pure reader gives (issue 14, "Reader in the
core"): the same events (num, ts, tid, cpu, type, nparams, raw, offset, flags), the
same blocks, the same reader state (sections, block counts, metadata, truncation,
warnings) and the same errors, on every capture of the repo and of ../shared, from a
path and from a file object, plain and gzip, and on captures made here: big-endian,
v1 and flags-word blocks, several sections, unknown blocks, gzip of several members."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from scaptools.errors import ScapError
from scaptools.format import constants, schema
from scaptools.format.reader import open_capture
from scaptools.format.writer import frame

ROOT = Path(__file__).resolve().parents[2]
REPO_CAPTURES = sorted((ROOT / "captures").glob("*.scap"))


@contextmanager
def mode(pure: bool):
    """Run the body with the pure reader (SCAPTOOLS_PURE=1) or with the core."""
    before = os.environ.get("SCAPTOOLS_PURE")
    if pure:
        os.environ["SCAPTOOLS_PURE"] = "1"
    else:
        os.environ.pop("SCAPTOOLS_PURE", None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SCAPTOOLS_PURE", None)
        else:
            os.environ["SCAPTOOLS_PURE"] = before


def describe(item) -> tuple:
    """Everything the reader says of one item of ``blocks()`` (or of an event)."""
    if hasattr(item, "raw") and hasattr(item, "nparams"):
        return ("event", item.offset, item.num, item.ts, item.tid, item.cpu, item.type,
                item.nparams, item.flags, bytes(item.raw))
    return ("block", item.offset, item.type, item.order, item.path, bytes(item.body))


def read(source, *, pure: bool, blocks: bool = True, path: str | None = None,
         keep: bool = True) -> dict:
    """Walk ``source`` (a path, or a function making a fresh file object) in one mode.

    Returns what was read (the items, or their digest when ``keep`` is false), the
    error, the reader's state afterwards and the warnings."""
    digest, items, error, reader = hashlib.sha256(), [], None, None
    with mode(pure), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reader = open_capture(source() if callable(source) else source, path=path)
            with reader:
                for entry in (reader.blocks() if blocks else reader):
                    if blocks:
                        offset, item = entry
                        assert offset == item.offset
                    else:
                        item = entry
                    one = describe(item)
                    digest.update(repr(one[:-1]).encode())
                    digest.update(one[-1])  # the bytes, last in each description
                    if keep:
                        items.append(one)
        except ScapError as exc:
            error = (type(exc).__name__, str(exc), getattr(exc, "offset", None),
                     getattr(exc, "block_type", None))
    state = None
    if reader is not None:
        state = {
            "path": reader.path, "compression": reader.compression,
            "truncated": reader.truncated, "events_read": reader.events_read,
            "counts": Counter(reader.block_counts),
            "sections": [(s.major, s.minor, s.order, s.offset, list(s.options))
                         for s in reader.sections],
            "metadata": [(b.offset, b.type, b.order, bytes(b.body)) for b in reader.metadata],
        }
    return {"items": items if keep else len(items), "digest": digest.hexdigest(),
            "error": error, "state": state,
            "warnings": [(w.category, str(w.message), w.filename) for w in caught]}


def assert_same(source, *, path: str | None = None, keep: bool = True,
                ways: tuple = (True, False)) -> dict:
    """Pure and core walks of ``source`` agree, for ``blocks()`` and for iteration."""
    for blocks in ways:
        pure = read(source, pure=True, blocks=blocks, path=path, keep=keep)
        core = read(source, pure=False, blocks=blocks, path=path, keep=keep)
        assert core["error"] == pure["error"]
        assert core["state"] == pure["state"]
        assert core["warnings"] == pure["warnings"]
        if keep:
            assert core["items"] == pure["items"]
        assert core["digest"] == pure["digest"]
    return pure


def both_ways(tmp_path: Path, data: bytes, name: str = "made.scap", keep: bool = True):
    """The pure and core walks agree on ``data`` from a path and from a file object."""
    target = tmp_path / name
    target.write_bytes(data)
    from_path = assert_same(str(target), keep=keep)
    from_file = assert_same(lambda: io.BytesIO(data), path=name, keep=keep)
    return from_path, from_file


# -- captures made here ------------------------------------------------------------

def block_list(data: bytes, order: str = "<") -> list[tuple[int, bytes]]:
    """``(type, whole block)`` of every block of a sound one-section capture."""
    pos, out = 0, []
    while pos < len(data):
        btype, total = struct.unpack_from(order + "II", data, pos)
        out.append((btype, data[pos:pos + total]))
        pos += total
    return out


def to_big_endian(data: bytes) -> bytes:
    """The capture rewritten big-endian by the schema (parse "<", build ">")."""
    out = b""
    for btype, raw in block_list(data):
        out += schema.block(">", btype).build(schema.block("<", btype).parse(raw))
    return out


def to_v1(data: bytes, order: str = "<") -> bytes:
    """Ordinary v2 event blocks as v1 blocks (``0x204``, some ``0x208`` with flags and
    ``0x8010ABCD``): the 22-byte header without nparams (§9.1, §9.2)."""
    out = b""
    for index, (btype, raw) in enumerate(block_list(data, order)):
        if btype != constants.BLOCK_EV_V2:
            out += raw
            continue
        cpu = raw[8:10]
        ts, tid, elen, etype = struct.unpack_from(order + "QQIH", raw, 10)
        event = struct.pack(order + "QQIH", ts, tid, elen - 4, etype) + raw[36:10 + elen]
        kind = (constants.BLOCK_EVF, constants.BLOCK_EV_INT, constants.BLOCK_EV)[index % 3]
        flags = struct.pack(order + "I", 1) if kind == constants.BLOCK_EVF else b""
        body = cpu + flags + event
        total = 12 + len(body) + (-len(body) % 4)
        out += (struct.pack(order + "II", kind, total) + body + bytes(-len(body) % 4)
                + struct.pack(order + "I", total))
    return out


def with_flags(data: bytes) -> bytes:
    """Every other event block as its flags-word kind (``0x217``/``0x222``, §9.1)."""
    kinds = {constants.BLOCK_EV_V2: constants.BLOCK_EVF_V2,
             constants.BLOCK_EV_V2_LARGE: constants.BLOCK_EVF_V2_LARGE}
    out = b""
    for index, (btype, raw) in enumerate(block_list(data)):
        if btype in kinds and index % 2:
            out += frame(kinds[btype], raw[8:10] + struct.pack("<I", index) + raw[10:-4])
        else:
            out += raw
    return out


def with_unknown_blocks(data: bytes) -> bytes:
    """Unknown blocks after the section header and among the events (skipped, §2)."""
    blocks = block_list(data)
    out = blocks[0][1] + frame(0x7777, b"unknown")
    for index, (_, raw) in enumerate(blocks[1:]):
        out += raw + (frame(0x7778, b"x" * index) if index in (2, 5) else b"")
    return out


def multi_member(data: bytes) -> bytes:
    """Gzip in three members, zero bytes after the second."""
    third = len(data) // 3
    return (gzip.compress(data[:third]) + gzip.compress(data[third:2 * third]) + b"\0" * 5
            + gzip.compress(data[2 * third:]))


SYSCALL = (ROOT / "captures" / "syscall_shell.scap").read_bytes()
PLUGIN = (ROOT / "captures" / "example.scap").read_bytes()
MIXED = SYSCALL + PLUGIN  # two sections

MADE = {
    "syscall": SYSCALL,
    "big_endian": to_big_endian(SYSCALL),
    "big_endian_plugin": to_big_endian(PLUGIN),
    "v1": to_v1(SYSCALL),
    "v1_big_endian": to_v1(to_big_endian(SYSCALL), ">"),
    "flags": with_flags(MIXED),
    "flags_big_endian": to_big_endian(with_flags(MIXED)),
    "unknown_blocks": with_unknown_blocks(MIXED),
    "sections": MIXED + to_big_endian(PLUGIN) + to_v1(to_big_endian(SYSCALL), ">"),
}


def test_made_captures_are_what_their_names_say():
    counts = {name: Counter(btype for btype, _ in block_list(data))
              for name, data in MADE.items() if "big" not in name}
    assert counts["v1"][constants.BLOCK_EVF] and counts["v1"][constants.BLOCK_EV_INT]
    assert counts["flags"][constants.BLOCK_EVF_V2] and counts["flags"][
        constants.BLOCK_EVF_V2_LARGE]
    assert counts["sections"][constants.BLOCK_SHB] == 3
    assert MADE["big_endian"][8:12] == constants.SHB_MAGIC_BE


def events_of(data: bytes, flags: bool = True) -> list[tuple]:
    """The events of ``data`` by the pure reader, without their offsets and numbers."""
    with mode(pure=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unknown blocks
        return [(ev.ts, ev.tid, ev.cpu, ev.type, ev.nparams, ev.raw, ev.flags if flags else 0)
                for ev in open_capture(io.BytesIO(data))]


# what each made capture holds, in events of the captures it was made from
SAME_EVENTS = {
    "syscall": SYSCALL, "big_endian": SYSCALL, "big_endian_plugin": PLUGIN, "v1": SYSCALL,
    "v1_big_endian": SYSCALL, "flags": MIXED, "flags_big_endian": MIXED,
    "unknown_blocks": MIXED, "sections": MIXED + PLUGIN + SYSCALL,
}


@pytest.mark.parametrize("name", sorted(MADE))
@pytest.mark.parametrize("packing", ["plain", "gzip", "members"])
def test_made_captures(core, tmp_path, name, packing):
    data = MADE[name]
    packed = {"plain": data, "gzip": gzip.compress(data), "members": multi_member(data)}
    from_path, _ = both_ways(tmp_path, packed[packing], f"{name}.scap")
    assert from_path["error"] is None
    assert events_of(data, flags=False) == events_of(SAME_EVENTS[name], flags=False)


@pytest.mark.parametrize("capture", REPO_CAPTURES, ids=lambda p: p.name)
def test_repo_captures(core, capture):
    result = assert_same(str(capture))
    assert_same(lambda: io.BytesIO(capture.read_bytes()), path=capture.name)
    assert result["error"] is None


def shared_captures(shared: Path) -> list[Path]:
    return sorted(p for p in (shared / "captures").rglob("*")
                  if p.name.endswith((".scap", ".scap.gz")))


def test_shared_captures(core, shared):
    """Every reference capture, the 100k CloudTrail sample included (by digest)."""
    seen = 0
    for capture in shared_captures(shared):
        big = capture.stat().st_size > 5_000_000
        result = assert_same(str(capture), keep=not big, ways=(True,) if big else (True, False))
        if not big:
            assert_same(lambda: io.BytesIO(capture.read_bytes()), path=capture.name)
        assert result["error"] is None, capture
        seen += 1
    assert seen >= 8


def test_unknown_blocks_warn_once_per_type_from_the_same_place(core, tmp_path):
    data = with_unknown_blocks(MIXED) + frame(0x7777, b"again")
    from_path, _ = both_ways(tmp_path, data)
    messages = [message for _, message, _ in from_path["warnings"]]
    assert len(messages) == 2 and "skipping unknown block type 0x7777" in messages[0]
    assert from_path["warnings"][0][2] == __file__  # the caller of the iteration


def test_walker_from_rust_names_its_file_and_counts(core, tmp_path):
    """The binding itself: batches, blocks, counts, compression."""
    from scaptools.core.walk import BATCH, CLASSES
    target = tmp_path / "mixed.scap.gz"
    target.write_bytes(gzip.compress(MIXED))
    walker = core.Walker.open(str(target), "shown.scap", CLASSES)
    assert walker.compression == "gzip"
    kinds = []
    while True:
        events, block, error = walker.next_batch(BATCH, False)
        kinds += ["event"] * len(events)
        assert error is None
        if block is not None:
            kinds.append(hex(block[1]))
        elif not events:
            break
    assert kinds.count("event") == walker.events_read == 31
    assert dict(walker.counts())[constants.BLOCK_SHB] == 2
    with pytest.raises(ScapError, match="^missing.scap: cannot open: No such file"):
        core.Walker.open(str(tmp_path / "missing.scap"), "missing.scap", CLASSES)


def test_closing_the_reader_midway(core, tmp_path):
    """``reader.close()`` while iterating: the bytes already read are still walked, then
    the read of the closed file fails, in both modes (the core closes the file it opened)."""
    big = b"".join([MIXED] + [block for _, block in block_list(SYSCALL)[2:]] * 4000)
    for name, data in (("plain.scap", big), ("packed.scap.gz", gzip.compress(big))):
        target = tmp_path / name
        target.write_bytes(data)
        outcomes = []
        for pure in (True, False):
            with mode(pure):
                reader, count, error = open_capture(str(target)), 0, None
                try:
                    for _ in reader:
                        count += 1
                        if count == 10:
                            reader.close()
                except ScapError as exc:
                    error = str(exc)
            outcomes.append((count, error))
        assert outcomes[0] == outcomes[1]
        assert outcomes[0][1].endswith("read failed: read of closed file")
        assert outcomes[0][0] > 10
