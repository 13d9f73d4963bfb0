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
from . import constants as C
from . import schema as S


@lru_cache(maxsize=None)
def header_struct(order: str, v2: bool) -> struct.Struct:
    """The event header (§9.2) as a ``struct``, derived from the schema."""
    return struct.Struct(S.struct_format(S.event_header(order, v2)))


@lru_cache(maxsize=None)
def prefix_struct(order: str, flags: bool) -> struct.Struct:
    """cpuid [+ dump flags] in front of the event (§9.1), derived from the schema."""
    return struct.Struct(S.struct_format(S.event_prefix(order, flags)))


HEADER = header_struct("<", True)  # the v2 little-endian header of Event.raw


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
        return C.BLOCK_NAMES.get(self.type, f"unknown({self.type:#x})")

    @property
    def known(self) -> bool:
        return self.type == C.BLOCK_SHB or self.type in C.METADATA_BLOCKS

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
        total = len(self.body) + 12
        u32 = struct.Struct(self.order + "I")
        return (u32.pack(self.type) + u32.pack(total) + self.body + u32.pack(total))

    def little_endian(self) -> "Block":
        """This block in little-endian order (rebuilt through the schema if needed)."""
        if self.order == "<":
            return self
        if not self.known:
            raise FormatError("cannot convert an unknown block to little-endian", self.path,
                              self.offset, self.type)
        body = S.block_body("<", self.type).build(self.parsed)
        return Block(self.type, body, "<", self.offset, self.path)

    def __repr__(self) -> str:
        return f"Block({self.name}, {len(self.body)} bytes at {self.offset:#x})"


def parse_body(btype: int, body: bytes, order: str, offset: int = 0, path: str = "<stream>"):
    """Parse a block body with the compiled schema; errors come from the interpreted one."""
    try:
        return S.compiled_body(order, btype).parse(body)
    except Exception:  # the compiled parser drops paths: re-parse for a useful message
        pass
    try:
        return S.block_body(order, btype).parse(body)
    except ConstructError as exc:  # its message puts the schema path on a line of its own
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise FormatError(f"malformed block body: {detail}", path, offset, btype) from None
    except Exception as exc:  # construct can fail in other ways on hostile input
        raise FormatError(f"malformed block body: {exc!r}", path, offset, btype) from None


def event_from_v2_block(btype: int, body: bytes, order: str) -> Event:
    """An event from a ``0x216/0x217/0x221/0x222`` body (§9.1-§9.3).

    Raises FormatError if the event does not fit its block.
    """
    pre = prefix_struct(order, btype in C.FLAGS_BLOCKS)
    prefix = pre.size
    if len(body) < prefix + C.EVENT_HEADER_V2:
        raise FormatError("event block too short for an event header")
    cpu, flags = (pre.unpack_from(body) + (0,))[:2]
    ts, tid, elen, etype, nparams = header_struct(order, True).unpack_from(body, prefix)
    width = 4 if etype in LARGE_PAYLOAD else 2
    if elen < C.EVENT_HEADER_V2 or prefix + elen > len(body):
        raise FormatError(f"event length {elen} does not fit its block")
    if C.EVENT_HEADER_V2 + width * nparams > elen:
        raise FormatError(f"{nparams} parameter lengths do not fit event length {elen}")
    raw = body[prefix:prefix + elen]
    if order != "<":
        raw = _swap_v2(raw, order, etype, nparams, width)
    return Event(0, ts, cpu, tid, etype, nparams, raw, flags)


def _swap_v2(raw: bytes, order: str, etype: int, nparams: int, width: int) -> bytes:
    """Rewrite a big-endian v2 event header and length array little-endian.

    Parameter values are kept as stored (no big-endian capture is known, §1.2).
    """
    ts, tid, elen, _, _ = header_struct(order, True).unpack_from(raw)
    code = "I" if width == 4 else "H"
    lens = struct.unpack_from(f"{order}{nparams}{code}", raw, C.EVENT_HEADER_V2)
    start = C.EVENT_HEADER_V2 + width * nparams
    return (HEADER.pack(ts, tid, elen, etype, nparams) + struct.pack(f"<{nparams}{code}", *lens)
            + raw[start:])


def event_from_v1(btype: int, body: bytes, order: str) -> Event:
    """An event from a v1 block (``0x204/0x8010ABCD/0x208``), converted to v2 (§9.4).

    ``nparams`` is worked out from the event table; an event whose count cannot be
    found (or whose type is not in the table) is kept with ``nparams`` 0.
    """
    pre = prefix_struct(order, btype == C.BLOCK_EVF)
    prefix = pre.size
    if len(body) < prefix + C.EVENT_HEADER_V1:
        raise FormatError("event block too short for a v1 event header")
    cpu, flags = (pre.unpack_from(body) + (0,))[:2]
    ts, tid, elen, etype = header_struct(order, False).unpack_from(body, prefix)
    if etype in C.V1_LEN_QUIRK:
        elen -= 3  # old writers stored len 3 bytes too large for these (§9.4)
    if elen < C.EVENT_HEADER_V1 or prefix + elen > len(body):
        raise FormatError(f"v1 event length {elen} does not fit its block")
    rest = body[prefix + C.EVENT_HEADER_V1:prefix + elen]
    nparams = v1_nparams(rest, etype, order)
    if order != "<" and nparams:
        lens = struct.unpack_from(f"{order}{nparams}H", rest)
        rest = struct.pack(f"<{nparams}H", *lens) + rest[2 * nparams:]
    raw = HEADER.pack(ts, tid, elen + 4, etype, nparams) + rest
    return Event(0, ts, cpu, tid, etype, nparams, raw, flags)


_U16_ARRAYS = [struct.Struct(f"<{n}H") for n in range(64)]
_V1_COUNTS: dict[int, int] = {}  # event type -> the parameter count last found (§9.4)


def v1_event_at(buf: bytes, pos: int, elen: int, etype: int, ts: int, tid: int, cpu: int):
    """Fast path for a little-endian ``0x204`` block at ``pos`` (§9.4).

    Returns the v2 ``Event`` or None to leave the block to the slow path. At most
    one count can make the lengths add up (a larger count needs 2 more bytes per
    length and never less data), so remembering the last count per type is safe.
    """
    start, size = pos + 32, elen - C.EVENT_HEADER_V1  # lengths start after the header
    n = _V1_COUNTS.get(etype)
    if n is None or 2 * n > size or 2 * n + sum(_U16_ARRAYS[n].unpack_from(buf, start)) != size:
        if etype >= len(EVENT_NPARAMS) or EVENT_NPARAMS[etype] >= len(_U16_ARRAYS):
            return None
        n = v1_nparams(buf[start:start + size], etype)
        if not n and size:
            return None  # no count fits: the slow path keeps it opaque
        _V1_COUNTS[etype] = n
    raw = HEADER.pack(ts, tid, elen + 4, etype, n) + buf[start:start + size]
    return Event(0, ts, cpu, tid, etype, n, raw)


def v1_nparams(rest: bytes, etype: int, order: str = "<") -> int:
    """The parameter count of a v1 event: the largest n <= the table's count whose
    lengths add up exactly to the stored data (§9.4, lenient variant)."""
    if etype >= len(EVENT_NPARAMS):
        return 0
    for n in range(EVENT_NPARAMS[etype], -1, -1):
        if 2 * n > len(rest):
            continue
        lens = struct.unpack_from(f"{order}{n}H", rest)
        if 2 * n + sum(lens) == len(rest):
            return n
    return 0
