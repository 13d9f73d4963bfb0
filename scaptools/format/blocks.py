"""Non-event blocks as objects, and the slow-path event conversions.

``Block`` keeps the body bytes as stored and parses them with the schema only
when asked. Event blocks that miss the reader's fast path (flags-word blocks,
v1 blocks, big-endian sections) become ``Event`` objects here, always in the
v2 little-endian layout that ``Event.raw`` promises (docs/format.md §9.4).
"""
from __future__ import annotations

import struct
from functools import lru_cache

from construct import ConstructError

from ..errors import FormatError
from ..events.event import Event
from ..events.table import EVENT_NPARAMS, LARGE_PAYLOAD
from . import constants
from . import layout
from . import schema


@lru_cache(maxsize=None)
def header_struct(order: str, v2: bool) -> struct.Struct:
    """The event header (§9.2) as a ``struct``, from the layout tables."""
    table = layout.EVENT_HEADER_FIELDS if v2 else layout.EVENT_HEADER_V1_FIELDS
    return layout.layout_struct(table, order=order)


@lru_cache(maxsize=None)
def prefix_struct(order: str, flags: bool) -> struct.Struct:
    """cpuid [+ dump flags] in front of the event (§9.1), from the layout tables."""
    table = layout.EVENT_PREFIX_FIELDS + (layout.EVENT_FLAGS_FIELDS if flags else ())
    return layout.layout_struct(table, order=order)


HEADER = layout.EVENT_HEADER  # the v2 little-endian header of Event.raw


class Block:
    """One non-event block: ``type``, ``body`` (bytes between the 8-byte header and
    the trailer, padding included), ``order`` ("<"/">"), ``offset`` in the stream."""

    __slots__ = ("type", "body", "order", "offset", "path", "_parsed")

    def __init__(self, type: int, body: bytes, order: str = "<", offset: int = 0,
                 path: str = "<stream>"):
        self.type = type
        self.body = body
        self.order = order
        self.offset = offset
        self.path = path
        self._parsed = None

    @property
    def name(self) -> str:
        return constants.BLOCK_NAMES.get(self.type, f"unknown({self.type:#x})")

    @property
    def known(self) -> bool:
        return self.type == constants.BLOCK_SHB or self.type in constants.METADATA_BLOCKS

    @property
    def parsed(self):
        """The body parsed with the schema (a construct Container; raw bytes if unknown).

        Raises FormatError naming the offset and block type if the body is malformed.
        """
        if self._parsed is None:
            self._parsed = parse_body(self.type, self.body, self.order, self.offset, self.path)
        return self._parsed

    def raw(self) -> bytes:
        """The whole block as stored: header, body, trailer."""
        total = len(self.body) + layout.BLOCK_FRAME_SIZE
        head = layout.layout_struct(layout.BLOCK_HEADER_FIELDS, order=self.order)
        tail = layout.layout_struct(layout.BLOCK_TRAILER_FIELDS, order=self.order)
        return head.pack(self.type, total) + self.body + tail.pack(total)

    def little_endian(self) -> "Block":
        """This block in little-endian order (rebuilt through the schema if needed)."""
        if self.order == "<":
            return self
        if not self.known:
            raise FormatError("cannot convert an unknown block to little-endian", self.path,
                              self.offset, self.type)
        body = schema.block_body("<", self.type).build(self.parsed)
        return Block(self.type, body, "<", self.offset, self.path)

    def __repr__(self) -> str:
        return f"Block({self.name}, {len(self.body)} bytes at {self.offset:#x})"


def parse_body(btype: int, body: bytes, order: str, offset: int = 0, path: str = "<stream>"):
    """Parse a block body with the compiled schema; errors come from the interpreted one."""
    try:
        return schema.compiled_body(order, btype).parse(body)
    except Exception:  # the compiled parser drops paths: re-parse for a useful message
        pass
    try:
        return schema.block_body(order, btype).parse(body)
    except ConstructError as exc:  # its message puts the schema path on a line of its own
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise FormatError(f"malformed block body: {detail}", path, offset, btype) from None
    except Exception as exc:  # construct can fail in other ways on hostile input
        raise FormatError(f"malformed block body: {exc!r}", path, offset, btype) from None


def event_from_v2_block(btype: int, body: bytes, order: str) -> Event:
    """An event from a ``0x216/0x217/0x221/0x222`` body (§9.1-§9.3).

    Raises FormatError if the event does not fit its block.
    """
    pre = prefix_struct(order, btype in constants.FLAGS_BLOCKS)
    prefix = pre.size
    if len(body) < prefix + layout.EVENT_HEADER_SIZE:
        raise FormatError("event block too short for an event header")
    cpu, flags = (pre.unpack_from(body) + (0,))[:2]
    ts, tid, elen, etype, nparams = header_struct(order, True).unpack_from(body, prefix)
    large = etype in LARGE_PAYLOAD
    if elen < layout.EVENT_HEADER_SIZE or prefix + elen > len(body):
        raise FormatError(f"event length {elen} does not fit its block")
    if layout.param_data_at(nparams, large) > elen:
        raise FormatError(f"{nparams} parameter lengths do not fit event length {elen}")
    raw = body[prefix:prefix + elen]
    if order != "<":
        raw = _swap_v2(raw, order, etype, nparams, large)
    return Event(0, ts, cpu, tid, etype, nparams, raw, flags)


def _swap_v2(raw: bytes, order: str, etype: int, nparams: int, large: bool) -> bytes:
    """Rewrite a big-endian v2 event header and length array little-endian.

    Parameter values are kept as stored (no big-endian capture is known, §1.2).
    """
    ts, tid, elen, _, _ = header_struct(order, True).unpack_from(raw)
    little = layout.lengths_struct(nparams, large)
    lens = struct.unpack_from(order + little.format[1:], raw, layout.PARAM_LENGTHS_AT)
    start = layout.param_data_at(nparams, large)
    return HEADER.pack(ts, tid, elen, etype, nparams) + little.pack(*lens) + raw[start:]


def event_from_v1(btype: int, body: bytes, order: str) -> Event:
    """An event from a v1 block (``0x204/0x8010ABCD/0x208``), converted to v2 (§9.4).

    ``nparams`` is worked out from the event table; an event whose count cannot be
    found (or whose type is not in the table) is kept with ``nparams`` 0.
    """
    pre = prefix_struct(order, btype == constants.BLOCK_EVF)
    prefix = pre.size
    if len(body) < prefix + layout.EVENT_HEADER_V1_SIZE:
        raise FormatError("event block too short for a v1 event header")
    cpu, flags = (pre.unpack_from(body) + (0,))[:2]
    ts, tid, elen, etype = header_struct(order, False).unpack_from(body, prefix)
    if etype in constants.V1_LEN_QUIRK:
        elen -= constants.V1_LEN_EXCESS  # old writers stored len 3 bytes too large (§9.4)
    if elen < layout.EVENT_HEADER_V1_SIZE or prefix + elen > len(body):
        raise FormatError(f"v1 event length {elen} does not fit its block")
    rest = body[prefix + layout.EVENT_HEADER_V1_SIZE:prefix + elen]
    nparams = v1_nparams(rest, etype, order)
    if order != "<" and nparams:
        little = layout.lengths_struct(nparams)
        lens = struct.unpack_from(order + little.format[1:], rest)
        rest = little.pack(*lens) + rest[little.size:]
    raw = HEADER.pack(ts, tid, elen + _V2_GROWTH, etype, nparams) + rest
    return Event(0, ts, cpu, tid, etype, nparams, raw, flags)


_LENGTHS = layout.SHORT_LENGTHS
_V2_GROWTH = layout.EVENT_HEADER_SIZE - layout.EVENT_HEADER_V1_SIZE  # the nparams field


def v1_event_at(buf: bytes, pos: int, elen: int, etype: int, ts: int, tid: int, cpu: int,
                counts: dict):
    """Fast path for a little-endian ``0x204`` block at ``pos`` (§9.4).

    Returns the v2 ``Event`` or None to leave the block to the slow path. At most
    one count can make the lengths add up (a larger count needs 2 more bytes per
    length and never less data), so remembering the last count per type in
    ``counts`` (the reader's) is safe.
    """
    start = pos + layout.V1_LENGTHS_AT
    size = elen - layout.EVENT_HEADER_V1_SIZE
    n = counts.get(etype)
    lengths = _LENGTHS[n] if n is not None else None
    if lengths is None or lengths.size > size \
            or lengths.size + sum(lengths.unpack_from(buf, start)) != size:
        if etype >= len(EVENT_NPARAMS) or EVENT_NPARAMS[etype] >= len(_LENGTHS) - 1:
            return None
        n = v1_nparams(buf[start:start + size], etype)
        if not n and size:
            return None  # no count fits: the slow path keeps it opaque
        counts[etype] = n
    raw = HEADER.pack(ts, tid, elen + _V2_GROWTH, etype, n) + buf[start:start + size]
    return Event(0, ts, cpu, tid, etype, n, raw)


def v1_nparams(rest: bytes, etype: int, order: str = "<") -> int:
    """The parameter count of a v1 event: the largest n <= the table's count whose
    lengths add up exactly to the stored data (§9.4, lenient variant)."""
    if etype >= len(EVENT_NPARAMS):
        return 0
    for n in range(EVENT_NPARAMS[etype], -1, -1):
        little = layout.lengths_struct(n)
        if little.size > len(rest):
            continue
        lens = struct.unpack_from(order + little.format[1:], rest)
        if little.size + sum(lens) == len(rest):
            return n
    return 0
