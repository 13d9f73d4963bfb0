"""The reader's hot loop: well-formed event blocks straight to ``Event`` objects.

One ``struct`` unpack per block, derived from the schema, reads the block header,
cpuid and event header (docs/format.md §2, §9.1-§9.2); one more reads the
trailer. Anything unusual (other block types, incomplete or badly framed blocks,
the v1 length quirk) stops the loop, and the reader's slow path deals with that
block and reports faults. The loop takes only blocks the slow path would turn into
the same event (never one it would refuse), so where a chunk ends never changes what
is read. There are two copies of the loop, one per output kind, because a per-event
branch on the kind costs several percent.
"""
from __future__ import annotations

from ..events.event import Event
from ..events.table import LARGE_PAYLOAD
from . import constants
from . import layout
from .blocks import v1_event_at


class Formats:
    """The fast-path structs of one byte order, from the layout tables."""

    def __init__(self, order: str):
        self.header = layout.layout_struct(layout.BLOCK_HEADER_FIELDS, order=order)
        # block header + cpuid + v2 event header: the whole fast path in one unpack
        self.event = layout.layout_struct(layout.BLOCK_HEADER_FIELDS, layout.EVENT_PREFIX_FIELDS,
                                          layout.EVENT_HEADER_FIELDS, order=order)
        self.u32 = layout.layout_struct(layout.BLOCK_TRAILER_FIELDS, order=order)


FORMATS = {"<": Formats("<"), ">": Formats(">")}
_QUIRK = constants.V1_LEN_QUIRK
_HEAD = layout.EVENT_BLOCK_AND_HEADER.size  # what one unpack reads
_EVENT_AT = layout.EVENT_AT  # the event inside its block
_MIN_EVENT = layout.PARAM_LENGTHS_AT  # v2 header: the u16 lengths follow
_MIN_V1_EVENT = layout.EVENT_HEADER_V1_SIZE
_OVERHEAD = layout.EVENT_BLOCK_OVERHEAD
_EV_V2, _EV_V2_LARGE = constants.BLOCK_EV_V2, constants.BLOCK_EV_V2_LARGE
_EV_V1 = constants.BLOCK_EV
# the largest non-large event block the slow path accepts (§9.3, ranges.size_fault)
_MAX_TOTAL = constants.NON_LARGE_MAX + layout.BLOCK_HEADER_SIZE
# width of a parameter length by event type: u32 for the large-payload types (§9.3)
_WIDTHS = tuple(layout.LARGE_LENGTH_SIZE if etype in LARGE_PAYLOAD else layout.LENGTH_SIZE
                for etype in range(1 << 16))


def fast_events(buf: bytes, base: int, pos: int, num: int, v1_counts: dict):
    """Yield the events of consecutive well-formed little-endian event blocks
    (``0x216``, ``0x221`` and v1 ``0x204``) from ``buf[pos:]``, each with the offset
    of its block (``base`` is the stream offset of ``buf[0]``).

    Returns ``(pos, num, large_blocks, v1_blocks)`` at the first block it leaves
    to the slow path (or at the end of the buffer). ``v1_counts`` is the reader's
    memory of v1 parameter counts (see ``blocks.v1_event_at``).
    """
    end, large, v1, new = len(buf), 0, 0, object.__new__
    unpack, u32 = FORMATS["<"].event.unpack_from, FORMATS["<"].u32.unpack_from
    head, at, least, widths, overhead = _HEAD, _EVENT_AT, _MIN_EVENT, _WIDTHS, _OVERHEAD
    ev_v2, ev_v2_large, ev_v1, most = _EV_V2, _EV_V2_LARGE, _EV_V1, _MAX_TOTAL
    while pos + head <= end:
        btype, total, cpu, ts, tid, elen, etype, nparams = unpack(buf, pos)
        nxt = pos + total
        if ((btype == ev_v2 or btype == ev_v2_large) and nxt <= end
                and least + widths[etype] * nparams <= elen <= total - overhead
                and not total & 3 and (total <= most or btype != ev_v2)
                and u32(buf, nxt - 4)[0] == total):
            if btype != ev_v2:
                large += 1
            num += 1
            ev = new(Event)  # fields set inline: much cheaper than Event.__init__
            ev.num = num
            ev.ts = ts
            ev.cpu = cpu
            ev.tid = tid
            ev.type = etype
            ev.nparams = nparams
            ev.raw = buf[pos + at:pos + at + elen]
            ev._offset = base + pos
            yield ev
        elif btype == ev_v1 and (ev := _v1(buf, pos, nxt, end, total, elen, etype, ts, tid,
                                           cpu, v1_counts)):
            num += 1
            v1 += 1
            ev.num = num
            ev._offset = base + pos
            yield ev
        else:
            break
        pos = nxt
    return pos, num, large, v1


def fast_blocks(buf: bytes, base: int, pos: int, num: int, v1_counts: dict):
    """:func:`fast_events`, yielding ``(offset, event)`` pairs.

    :func:`fast_events` takes one whole block per event and stops at the first block
    it does not take, so each offset is the previous one plus that block's length.
    """
    u32 = FORMATS["<"].u32.unpack_from
    events = fast_events(buf, base, pos, num, v1_counts)
    while True:
        try:
            ev = next(events)
        except StopIteration as done:
            return done.value
        yield base + pos, ev
        pos += u32(buf, pos + layout.BLOCK_LENGTH_AT)[0]


def _v1(buf, pos, nxt, end, total, elen, etype, ts, tid, cpu, counts):
    """The v1 event of a complete, well-framed ``0x204`` block, or None (§2, §9.4)."""
    if (nxt <= end and _MIN_V1_EVENT <= elen <= total - _OVERHEAD and not total & 3
            and total <= _MAX_TOTAL and etype not in _QUIRK and FORMATS["<"].u32.unpack_from(buf, nxt - 4)[0] == total):
        return v1_event_at(buf, pos, elen, etype, ts, tid, cpu, counts)
    return None
