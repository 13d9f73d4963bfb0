"""Streaming .scap reader: every block version, both byte orders, plain or gzip.

The input is read in large chunks and walked block by block (docs/format.md §2),
counting the byte offset without ``tell()``. Event blocks of the v2 kinds
(``0x216``/``0x221``, and v1 ``0x204``) take the fast path of :mod:`.fastpath`:
one precompiled ``struct`` unpack, derived from :mod:`.schema`, and one ``Event``.
Every other block goes through
:meth:`CaptureReader._slow_block`, which uses the construct schema.

A fault raises ``TruncatedCapture``/``FormatError`` naming file, offset and block
type, but only after every complete event before it has been yielded.
Every event knows the offset of its block (``Event.offset``); a ``DamagedEvent``
raised while the events are used (a parameter length past the end of its event)
gets the file's name when it leaves the reader's ``with`` block.

When the compiled core is built (``scaptools.core.native()``), the walk itself runs
there (``core/src/walk``): it yields the same events, blocks and errors, in batches
(:meth:`CaptureReader._scan_native`); ``SCAPTOOLS_PURE=1`` keeps the walk here.
"""
from __future__ import annotations

import warnings
from collections import Counter
from itertools import chain
from dataclasses import dataclass, field

from ..core import native
from ..core.walk import BATCH, TALLY_BATCH, Tally, has_walker, open_walker
from ..errors import DamagedEvent, FormatError, TruncatedCapture
from ..events.event import Event
from . import constants
from . import layout
from .blocks import Block, event_from_v1, event_from_v2_block
from .fastpath import FORMATS, fast_blocks, fast_events
from .ranges import length_fault, section_order, size_fault
from .streams import open_source

CHUNK = 1 << 20  # decompressed bytes added to the buffer per refill
_FAST = layout.EVENT_BLOCK_AND_HEADER.size  # bytes the fast path looks at first
_FRAME, _HEADER = layout.BLOCK_FRAME_SIZE, layout.BLOCK_HEADER_SIZE
# the block types _scan counts after the walk (its fast path's), in its order
_FAST_TYPES = (constants.BLOCK_EV_V2_LARGE, constants.BLOCK_EV, constants.BLOCK_EV_V2)


@dataclass
class Section:
    """What the section header said (§3): version, byte order, options."""

    major: int
    minor: int
    order: str  # "<" little-endian, ">" big-endian
    offset: int
    options: list = field(default_factory=list)

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def byte_order(self) -> str:
        return "little" if self.order == "<" else "big"


class CaptureReader:
    """Iterate the events of a capture; see :func:`open_capture`.

    Attributes: ``path``, ``compression`` ("none"/"gzip"), ``section`` (the current
    :class:`Section`), ``sections`` (all seen), ``metadata`` (metadata blocks seen so far),
    ``block_counts`` (Counter of block types seen), ``truncated``, ``events_read``.
    """

    def __init__(self, path_or_file, *, path: str | None = None):
        core = native()
        self._walker = self._source = None
        if has_walker(core):  # the compiled walk (docs/core.md)
            self._walker, self._owned, self.path = open_walker(core, path_or_file, path)
            self.compression = self._walker.compression
        else:
            self._source, self._owned, self.path = open_source(path_or_file, path)
            self.compression = self._source.compression
        self.section: Section | None = None
        self.sections: list[Section] = []
        self.metadata: list[Block] = []
        self.block_counts: Counter = Counter()
        self.truncated = False
        self.events_read = 0
        self._started = False
        self._next = None  # (chunk, position) read ahead by _split
        self._warned: set[int] = set()
        self._v1_counts: dict[int, int] = {}  # event type -> v1 parameter count (§9.4)

    # -- public -------------------------------------------------------------
    def __iter__(self):
        return self._scan_native(False) if self._walker else self._scan(False)

    def blocks(self):
        """Yield ``(offset, item)`` in file order: a :class:`Block` for every non-event
        block (section header, metadata, unknown) and an ``Event`` for every event."""
        return self._scan_native(True) if self._walker else self._scan(True)

    def tally(self) -> Tally | None:
        """With the compiled core, a :class:`~scaptools.core.walk.Tally`: its
        ``blocks()`` yields ``(offset, Block)`` for the non-event blocks while the core
        counts the events (by type, by plugin id, times, damaged ones) without making
        ``Event`` objects; its counts are complete once ``blocks()`` ends or raises.
        ``None`` on the pure path (iterate :meth:`blocks` instead)."""
        return Tally(self._tally_blocks) if self._walker else None

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if isinstance(exc, DamagedEvent) and exc.path == "<stream>":
            exc.path = self.path  # an event of this capture was found damaged while in use
            exc.args = (str(exc),)

    # -- the block walk (§2) --------------------------------------------------
    def _start(self) -> None:
        if self._started:
            raise FormatError("a capture can be iterated only once", self.path)
        self._started = True

    def _scan_native(self, with_blocks: bool):
        """The walk of the compiled core: its batches flattened at C speed."""
        return chain.from_iterable(self._native_batches(with_blocks))

    def _native_batches(self, with_blocks: bool):
        """Lists of events (``(offset, event)`` pairs with ``with_blocks``) from the
        compiled core, each followed by the non-event block or the error that ended it
        (``core/src/python/walk.rs``): this generator runs once per batch, not once per
        event, and handles each block after the events before it are consumed."""
        self._start()
        walker = self._walker
        try:
            while True:
                events, block, error = walker.next_batch(BATCH, with_blocks)
                if events:
                    yield events
                    self.events_read = walker.events_read
                if block is not None:
                    offset, btype, body, order = block
                    item = self._native_block(btype, body, order, offset)
                    if with_blocks:
                        yield ((offset, item),)
                elif error is not None:
                    self.truncated = walker.truncated
                    raise error
                elif not events:
                    return
        finally:
            self._native_done()

    def _tally_blocks(self, tally):
        """The non-event blocks, the events being counted in the core into ``tally``
        (see :meth:`tally`)."""
        self._start()
        walker = self._walker
        try:
            while True:
                count, block, error, damaged = walker.tally(TALLY_BATCH)
                if damaged is not None:
                    tally.first_damaged = damaged
                if block is not None:
                    offset, btype, body, order = block
                    yield offset, self._native_block(btype, body, order, offset)
                elif error is not None:
                    self.truncated = walker.truncated
                    raise error
                elif not count:
                    return
        finally:
            self._native_done()
            tally.fill(walker.tally_counts())

    def _native_done(self) -> None:
        """The reader's state after the core's walk, as :meth:`_scan` leaves it."""
        walker = self._walker
        self.truncated = walker.truncated
        self.events_read = walker.events_read
        counts = dict(walker.counts())
        for btype, count in counts.items():
            if btype not in _FAST_TYPES:
                self.block_counts[btype] += count
        for btype in _FAST_TYPES:  # as _scan adds them: last, zeros included
            self.block_counts[btype] += counts.get(btype, 0)

    def _native_block(self, btype: int, body: bytes, order: str, offset: int):
        return self._make_item(btype, body, order, offset)

    def _scan(self, with_blocks: bool):
        self._start()
        buf, pos, base, num = b"", 0, 0, 0
        fast_large = fast_v1 = slow = 0
        fast = True
        try:
            while True:
                buf, base, pos = self._refill(buf, base, pos, _FAST)
                if pos >= len(buf):
                    self._finish(base + pos)
                    return
                if self.section is None:
                    self._check_start(buf, pos)
                end = len(buf)
                if fast:  # event blocks (§9.1-§9.3)
                    walk = fast_blocks if with_blocks else fast_events
                    pos, num, large, v1 = yield from walk(buf, base, pos, num,
                                                          self._v1_counts)
                    fast_large += large
                    fast_v1 += v1
                self.events_read = num
                if end - pos < _FAST:  # ran out of buffered bytes: refill before the slow path
                    buf, base, pos = self._refill(buf, base, pos, _FAST)
                    if len(buf) - pos >= _FAST or pos >= len(buf):
                        continue
                buf, base, pos, offset, item = self._slow_block(buf, base, pos)
                if isinstance(item, Event):
                    num += 1
                    slow += 1
                    item.num = num
                    item.offset = offset
                    self.events_read = num
                    yield (offset, item) if with_blocks else item
                    continue
                if item.type == constants.BLOCK_SHB:
                    fast = self.section.order == "<"
                if with_blocks:
                    yield offset, item
        finally:
            self.events_read = num
            self.block_counts[constants.BLOCK_EV_V2_LARGE] += fast_large
            self.block_counts[constants.BLOCK_EV] += fast_v1
            self.block_counts[constants.BLOCK_EV_V2] += num - slow - fast_large - fast_v1

    def _refill(self, buf: bytes, base: int, pos: int, need: int):
        """Make ``need`` bytes available at ``pos`` if the input has them.

        Returns ``(buf, base, pos)`` where ``base`` is the stream offset of ``buf[0]``.
        A block cut by the end of a chunk is joined with the start of the next
        chunk on its own (see :meth:`_split`), so chunks are never copied whole.
        """
        if len(buf) - pos >= need:
            return buf, base, pos
        if self._next is not None:  # the rest of a chunk read ahead by _split
            nbuf, npos = self._next
            self._next = None
            if pos == len(buf):
                return self._refill(nbuf, base + len(buf) - npos, npos, need)
            return self._refill(buf[pos:] + nbuf[npos:], base + pos, 0, need)  # tiny blocks
        data = self._source.read(CHUNK)  # never more: lengths may be bogus (§2)
        head = buf[pos:]
        if head and data:
            split = self._split(head, data)
            if split is not None:
                return split, base + pos, 0
        parts, have = [head, data], len(head) + len(data)
        while data and have < need:
            data = self._source.read(CHUNK)
            parts.append(data)
            have += len(data)
        return b"".join(parts), base + pos, 0

    def _split(self, head: bytes, data: bytes):
        """The block that ``head`` starts, completed from ``data``, if ``data`` holds
        all of it; the rest of ``data`` is kept for the next refill."""
        if self.section is None or self.section.order != "<":
            return None
        start = head + data[:max(0, _HEADER - len(head))]
        if len(start) < _HEADER:
            return None
        missing = FORMATS["<"].u32.unpack_from(start, layout.BLOCK_LENGTH_AT)[0] - len(head)
        if missing <= 0 or missing >= len(data):
            return None
        self._next = (data, missing)
        return head + data[:missing]

    def _check_start(self, buf: bytes, pos: int) -> None:
        if len(buf) - pos < _FRAME or \
                layout.BLOCK_TRAILER.unpack_from(buf, pos)[0] != constants.BLOCK_SHB:
            raise FormatError("not a scap capture: it does not start with a section header "
                              "block (0x0a0d0d0a)", self.path, 0)

    def _slow_block(self, buf: bytes, base: int, pos: int):
        """Read one block of any type; returns ``(buf, base, pos, offset, item)``."""
        buf, base, pos = self._refill(buf, base, pos, _FRAME)
        offset = base + pos
        if len(buf) - pos < _HEADER:
            self._cut(offset, None, f"capture ends inside a block header "
                      f"({len(buf) - pos} of {_HEADER} bytes)")
        order = self._order_at(buf, pos, offset)
        btype, total = FORMATS[order].header.unpack_from(buf, pos)
        self._check_length(btype, total, offset)
        buf, base, pos = self._refill(buf, base, pos, total)
        if len(buf) - pos < total:
            self._cut(offset, btype, f"capture ends inside a block ({len(buf) - pos} of "
                      f"{total} bytes)")
        end = pos + total - layout.BLOCK_TRAILER_SIZE
        trailer = FORMATS[order].u32.unpack_from(buf, end)[0]
        if trailer != total:
            raise FormatError(f"block length {total} != trailer {trailer}", self.path,
                              offset, btype)
        body = buf[pos + _HEADER:end]
        self.block_counts[btype] += 1
        item = self._make_item(btype, body, order, offset)
        return buf, base, pos + total, offset, item

    def _order_at(self, buf: bytes, pos: int, offset: int) -> str:
        """Byte order for the block at ``pos``: an SHB carries its own (§3)."""
        order = section_order(buf[pos:pos + _FRAME], self.path, offset)
        if order is not None:
            return order
        return self.section.order if self.section else "<"

    def _check_length(self, btype: int, total: int, offset: int) -> None:
        fault = length_fault(total) or size_fault(btype, total)
        if fault is not None:
            raise FormatError(fault, self.path, offset, btype)

    def _make_item(self, btype: int, body: bytes, order: str, offset: int):
        if btype == constants.BLOCK_SHB:
            return self._new_section(body, order, offset)
        if btype in constants.EVENT_BLOCKS:
            if self.section is None:
                raise FormatError("event before the section header", self.path, offset, btype)
            try:
                if btype in constants.EVENT_BLOCKS_V2:
                    return event_from_v2_block(btype, body, order)
                return event_from_v1(btype, body, order)
            except FormatError as exc:
                raise FormatError(exc.message, self.path, offset, btype) from None
        blk = Block(btype, body, order, offset, self.path)
        if btype in constants.METADATA_BLOCKS:
            self.metadata.append(blk)
        elif btype not in self._warned:  # unknown: skipped, warned once per type (§2)
            self._warned.add(btype)
            warnings.warn(f"{self.path}: offset {offset:#x}: skipping unknown block type "
                          f"{btype:#x}", stacklevel=4)
        return blk

    def _new_section(self, body: bytes, order: str, offset: int) -> Block:
        blk = Block(constants.BLOCK_SHB, body, order, offset, self.path)
        head = layout.layout_struct(layout.SHB_HEAD_FIELDS, order=order)
        if len(body) < head.size:
            raise FormatError(f"section header body shorter than {head.size} bytes", self.path,
                              offset, constants.BLOCK_SHB)
        magic, major, minor, _ = head.unpack_from(body)
        if major != constants.SHB_MAJOR:
            raise FormatError(f"unsupported format version {major}.{minor}", self.path,
                              offset, constants.BLOCK_SHB)
        options = []
        if len(body) > head.size:
            options = list(blk.parsed.options)
        self.section = Section(major, minor, order, offset, options)
        self.sections.append(self.section)
        return blk

    def _cut(self, offset: int, btype, message: str):
        self.truncated = True
        if self._source.cut_short:
            message += "; the gzip stream is cut short"
        raise TruncatedCapture(message, self.path, offset, btype)

    def _finish(self, offset: int) -> None:
        if self._source.cut_short:
            self.truncated = True
            raise TruncatedCapture("the gzip stream is cut short", self.path, offset)
        if self.section is None:
            raise FormatError("empty file: not a scap capture", self.path, 0)


def open_capture(path_or_file, *, path: str | None = None) -> CaptureReader:
    """Open a capture (path, binary file object or pipe; plain or gzip) for reading.

    Raises FormatError if it cannot be opened. Iterating yields ``Event`` objects
    numbered from 1; a bad or truncated tail raises FormatError/TruncatedCapture
    after every complete event before it.
    """
    return CaptureReader(path_or_file, path=path)
