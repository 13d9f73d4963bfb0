"""Block ranges: the walk over block headers without decoding the blocks (docs/format.md §2).

Every block starts with its type and total length and ends with the length
again, so a plain capture can be walked from header to header. The checks of a
block's frame live here, for the reader (which also decodes) and for
:func:`walk_blocks` (which only walks: planning ``scap replay -j``'s ranges).
"""
from __future__ import annotations

import mmap
from contextlib import closing
from typing import NamedTuple

from ..errors import FormatError
from . import constants
from . import layout

WINDOW = 1 << 24  # bytes of the file mapped at a time (counted in RSS while mapped)


class BlockRange(NamedTuple):
    """Where one block is: its offset in the file, its type and its total length."""

    offset: int
    type: int
    length: int


def length_fault(total: int) -> str | None:
    """What is wrong with a block's total length, or None (§2)."""
    if total < layout.BLOCK_FRAME_SIZE or total & 3:
        return (f"bad block length {total} (must be >= {layout.BLOCK_FRAME_SIZE} and a "
                f"multiple of 4)")
    return None


def size_fault(btype: int, total: int) -> str | None:
    """An event block too long for libscap's buffer of non-large blocks (§9.3), or None."""
    if btype in constants.EVENT_BLOCKS and btype not in constants.LARGE_EVENT_BLOCKS \
            and total - layout.BLOCK_HEADER_SIZE > constants.NON_LARGE_MAX:
        return (f"event block length {total} exceeds the {constants.NON_LARGE_MAX}-byte "
                f"limit of non-large event blocks")
    return None


def section_order(head: bytes, path: str = "<stream>", offset: int = 0) -> str | None:
    """The byte order ("<" or ">") of the section header block that ``head`` starts,
    or None when ``head`` does not start one (§3).

    Raises FormatError (naming ``path`` and ``offset``) when the byte-order magic is
    neither order's.
    """
    if len(head) < layout.SHB_MAGIC_AT + 4 or \
            layout.BLOCK_TRAILER.unpack_from(head)[0] != constants.BLOCK_SHB:
        return None  # the SHB type reads the same in both orders
    magic = bytes(head[layout.SHB_MAGIC_AT:layout.SHB_MAGIC_AT + 4])
    if magic == constants.SHB_MAGIC_LE:
        return "<"
    if magic == constants.SHB_MAGIC_BE:
        return ">"
    raise FormatError(f"bad byte-order magic {magic.hex()} in section header", path, offset,
                      constants.BLOCK_SHB)


def walk_blocks(fh, size: int, start: int = 0, path: str = "<stream>",
                window: int | None = None):
    """Yield a :class:`BlockRange` for every block of a plain little-endian capture file
    from offset ``start`` to its end (``size`` bytes).

    The file is read through a read-only mapping, one window (``WINDOW`` bytes
    unless given) at a time, unmapped when done so that the pages walked do not
    stay in the process's memory; a block longer than half a window has its
    trailer read directly. Raises FormatError (file, offset, block type) at the
    first block whose frame is not sane: a length under 12 or not a multiple of
    4, a block past the end of the file, a trailer that differs from the length.
    """
    pos = start
    with closing(_Walk(fh, size, path, window or WINDOW)) as walk:
        while pos < size:
            rng = walk.block_at(pos)
            yield rng
            pos += rng.length


class _Walk:
    """The mapped window of :func:`walk_blocks` and the checks of one block's frame."""

    def __init__(self, fh, size: int, path: str, window: int):
        self.fh, self.size, self.path, self.window = fh, size, path, window
        self.view, self.base, self.stop = None, 0, 0

    def block_at(self, pos: int) -> BlockRange:
        if self.size - pos < layout.BLOCK_FRAME_SIZE:
            raise FormatError(f"capture ends inside a block ({self.size - pos} bytes left)",
                              self.path, pos)
        if pos + layout.BLOCK_HEADER_SIZE > self.stop:
            self._map(pos)
        btype, total = layout.BLOCK_HEADER.unpack_from(self.view, pos - self.base)
        fault = length_fault(total)
        if fault is None and pos + total > self.size:
            fault = f"block of {total} bytes runs past the end of the file"
        if fault is None:
            if pos + total > self.stop and total <= self.window // 2:
                self._map(pos)  # the next window holds the whole block
            trailer = self._trailer(pos, total)
            if trailer != total:
                fault = f"block length {total} != trailer {trailer}"
        if fault is not None:
            raise FormatError(fault, self.path, pos, btype)
        return BlockRange(pos, btype, total)

    def _trailer(self, pos: int, total: int) -> int:
        end = pos + total - layout.BLOCK_TRAILER_SIZE
        if pos + total <= self.stop:
            return layout.BLOCK_TRAILER.unpack_from(self.view, end - self.base)[0]
        self.fh.seek(end)  # a block longer than half a window: read its trailer
        data = self.fh.read(layout.BLOCK_TRAILER_SIZE)
        return layout.BLOCK_TRAILER.unpack(data)[0] if len(data) == 4 else -1

    def _map(self, pos: int) -> None:
        self.close()
        base = pos - pos % mmap.ALLOCATIONGRANULARITY
        length = min(self.size - base, self.window)
        if length <= pos - base:
            raise FormatError("block header outside the mapped window", self.path, pos)
        self.view = mmap.mmap(self.fh.fileno(), length, access=mmap.ACCESS_READ, offset=base)
        self.base, self.stop = base, base + length

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
