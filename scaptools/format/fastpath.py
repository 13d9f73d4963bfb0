"""The reader's hot loop: well-formed event blocks straight to ``Event`` objects.

One ``struct`` unpack per block, derived from the schema, reads the block header,
cpuid and event header (docs/format.md §2, §9.1-§9.2); one more reads the
trailer. Anything unusual (other block types, incomplete or badly framed blocks,
the v1 length quirk) stops the loop, and the reader's slow path deals with that
block and reports faults. There are two copies of the loop, one per output kind,
because a per-event branch on the kind costs several percent.
"""
from __future__ import annotations

import struct

from ..events.event import Event
from . import constants as C
from . import schema as S
from .blocks import v1_event_at


class Formats:
    """The fast-path structs of one byte order, derived from the schema."""

    def __init__(self, order: str):
        hdr = S.block_header(order)
        self.header = struct.Struct(S.struct_format(hdr))
        # block header + cpuid + v2 event header: the whole fast path in one unpack
        self.event = struct.Struct(S.struct_format(hdr, S.event_prefix(order, False),
                                                   S.event_header(order, True)))
        self.u32 = struct.Struct(S.struct_format(S.block_trailer(order)))


FORMATS = {"<": Formats("<"), ">": Formats(">")}
_QUIRK = C.V1_LEN_QUIRK


def fast_events(buf: bytes, base: int, pos: int, num: int):
    """Yield the events of consecutive well-formed little-endian event blocks
    (``0x216``, ``0x221`` and v1 ``0x204``) from ``buf[pos:]``, each with the offset
    of its block (``base`` is the stream offset of ``buf[0]``).

    Returns ``(pos, num, large_blocks, v1_blocks)`` at the first block it leaves
    to the slow path (or at the end of the buffer).
    """
    end, large, v1, new = len(buf), 0, 0, object.__new__
    unpack, u32 = FORMATS["<"].event.unpack_from, FORMATS["<"].u32.unpack_from
    while pos + 36 <= end:
        btype, total, cpu, ts, tid, elen, etype, nparams = unpack(buf, pos)
        nxt = pos + total
        if ((btype == 0x216 or btype == 0x221) and nxt <= end
                and 26 + 2 * nparams <= elen <= total - 14 and not total & 3
                and u32(buf, nxt - 4)[0] == total):
            if btype != 0x216:
                large += 1
            num += 1
            ev = new(Event)  # fields set inline: much cheaper than Event.__init__
            ev.num = num
            ev.ts = ts
            ev.cpu = cpu
            ev.tid = tid
            ev.type = etype
            ev.nparams = nparams
            ev.raw = buf[pos + 10:pos + 10 + elen]
            ev._offset = base + pos
            yield ev
        elif btype == 0x204 and (ev := _v1(buf, pos, nxt, end, total, elen, etype, ts, tid,
                                           cpu)):
            num += 1
            v1 += 1
            ev.num = num
            ev._offset = base + pos
            yield ev
        else:
            break
        pos = nxt
    return pos, num, large, v1


def fast_blocks(buf: bytes, base: int, pos: int, num: int):
    """:func:`fast_events`, yielding ``(offset, event)`` pairs.

    :func:`fast_events` takes one whole block per event and stops at the first block
    it does not take, so each offset is the previous one plus that block's length.
    """
    u32 = FORMATS["<"].u32.unpack_from
    events = fast_events(buf, base, pos, num)
    while True:
        try:
            ev = next(events)
        except StopIteration as done:
            return done.value
        yield base + pos, ev
        pos += u32(buf, pos + 4)[0]


def _v1(buf, pos, nxt, end, total, elen, etype, ts, tid, cpu):
    """The v1 event of a complete, well-framed ``0x204`` block, or None (§2, §9.4)."""
    if (nxt <= end and 22 <= elen <= total - 14 and not total & 3 and etype not in _QUIRK
            and FORMATS["<"].u32.unpack_from(buf, nxt - 4)[0] == total):
        return v1_event_at(buf, pos, elen, etype, ts, tid, cpu)
    return None
