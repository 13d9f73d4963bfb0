"""The core's walk equals the construct schema, the documented truth of the format
(issue 14 design rules): on every capture of the repo and of ../shared, and on their
big-endian forms built by the schema, every block the schema parses is the block or
the event the core walk gives, at the same offset."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from scaptools.core.walk import BATCH, CLASSES
from scaptools.events.table import EVENT_NPARAMS, LARGE_PAYLOAD
from scaptools.format import constants, schema
from scaptools.format.blocks import Block

ROOT = Path(__file__).resolve().parents[2]


def core_items(core, path: Path) -> list:
    """``(offset, Event)`` and ``(offset, Block)`` of the core's walk, in file order."""
    walker, items = core.Walker.open(str(path), path.name, CLASSES), []
    while True:
        events, block, error = walker.next_batch(BATCH, True)
        assert error is None, error
        items += events
        if block is not None:
            offset, btype, body, order = block
            items.append((offset, Block(btype, body, order, offset)))
        elif not events:
            return items


def schema_blocks(data: bytes):
    """``(offset, order, parsed block)`` of every block, by the schema alone."""
    pos, order = 0, "<"
    while pos < len(data):
        if data[pos:pos + 4] == struct.pack("<I", constants.BLOCK_SHB):
            order = "<" if data[pos + 8:pos + 12] == constants.SHB_MAGIC_LE else ">"
        btype, total = struct.unpack_from(order + "II", data, pos)
        yield pos, order, schema.block(order, btype).parse(data[pos:pos + total])
        pos += total


def v1_count(rest: bytes, etype: int, order: str) -> int:
    """§9.4: the largest count up to the table's whose u16 lengths fill ``rest``."""
    for n in range(EVENT_NPARAMS[etype] if etype < len(EVENT_NPARAMS) else -1, -1, -1):
        if 2 * n <= len(rest) and \
                2 * n + sum(struct.unpack_from(f"{order}{n}H", rest)) == len(rest):
            return n
    return 0


def v2_raw(ev, order: str) -> bytes:
    """The v2 little-endian bytes of a schema-parsed v2 event (§9.2-§9.3)."""
    width = "I" if ev.type in LARGE_PAYLOAD else "H"
    head = struct.pack("<QQIHI", ev.ts, ev.tid, ev.len, ev.type, ev.nparams)
    return head + struct.pack(f"<{ev.nparams}{width}", *ev.lengths) + ev.data


def v1_raw(ev, order: str) -> tuple[bytes, int]:
    n = v1_count(ev.rest, ev.type, order)
    lengths = struct.unpack_from(f"{order}{n}H", ev.rest)
    head = struct.pack("<QQIHI", ev.ts, ev.tid, len(ev.rest) + 26, ev.type, n)
    return head + struct.pack(f"<{n}H", *lengths) + ev.rest[2 * n:], n


def check(core, path: Path) -> int:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    items = core_items(core, path)
    parsed = list(schema_blocks(data))
    kinds = [(offset, p.block_type if p.block_type not in constants.EVENT_BLOCKS else "event")
             for offset, _, p in parsed]
    assert kinds == [(offset, item.type if isinstance(item, Block) else "event")
                     for offset, item in items]
    for (offset, order, p), (_, item) in zip(parsed, items):
        if isinstance(item, Block):
            assert (item.order, item.body) == (order, data[offset + 8:offset + p.total_length - 4])
            assert item.parsed == p.body
            continue
        ev, body = p.body.event, p.body
        assert (item.ts, item.tid, item.type, item.cpu, item.flags) == \
            (ev.ts, ev.tid, ev.type, body.cpu, body.get("flags", 0))
        if p.block_type in constants.EVENT_BLOCKS_V2:
            assert (item.nparams, item.raw) == (ev.nparams, v2_raw(ev, order))
        else:
            assert (item.raw, item.nparams) == v1_raw(ev, order)
    return len(items)


def big_endian(path: Path, folder: Path) -> Path:
    """The capture rebuilt big-endian by the schema (one section, plain)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    out = b"".join(schema.block(">", p.block_type).build(p) for _, _, p in schema_blocks(data))
    target = folder / f"{path.name}.big.scap"
    target.write_bytes(out)
    return target


@pytest.mark.parametrize("capture", sorted((ROOT / "captures").glob("*.scap")),
                         ids=lambda p: p.name)
def test_repo_captures_equal_the_schema(core, tmp_path, capture):
    assert check(core, capture) > 0
    assert check(core, big_endian(capture, tmp_path)) > 0


def test_shared_captures_equal_the_schema(core, shared, tmp_path):
    captures = sorted(p for p in (shared / "captures").rglob("*")
                      if p.name.endswith((".scap", ".scap.gz")) and "100k" not in p.name)
    total = 0
    for capture in captures:
        total += check(core, capture)
        if capture.name.startswith(("curl_google.", "sample.", "cloudtrail_small.scap")):
            total += check(core, big_endian(capture, tmp_path))  # v1, v2 and plugin events
    assert total > 8000
