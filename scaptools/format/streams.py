"""Byte sources for the reader: plain or gzip, from a path, a file object or a pipe.

Compression is recognised by the gzip magic at offset 0, never by the file name
(docs/format.md §1.1). Gzip input may hold several concatenated members. Nothing
here seeks or calls ``tell()``, so pipes work.
"""
from __future__ import annotations

import io
import os
import zlib

from ..errors import FormatError
from .constants import GZIP_MAGIC

READ_SIZE = 1 << 20  # bytes asked from the underlying file per read


class PlainSource:
    """Uncompressed bytes straight from the file."""

    compression = "none"

    def __init__(self, fileobj, first: bytes, path: str):
        self._f = fileobj
        self._pending = first
        self.path = path
        self.cut_short = False  # only gzip streams can be cut short

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` only at the end of the input."""
        if self._pending:
            data = self._pending
            if len(data) > size:
                self._pending = data[size:]
                return data[:size]
            self._pending = b""
            return data
        return _read(self._f, size, self.path)


class GzipSource:
    """Decompressed bytes of one or more concatenated gzip members (§1.1).

    Each call returns at most ``size`` bytes, so a small file that inflates to a
    huge one never needs more memory than one read.
    """

    compression = "gzip"

    def __init__(self, fileobj, first: bytes, path: str):
        self._f = fileobj
        self._input = first
        self._eof_input = False
        self._z = zlib.decompressobj(31)
        self._member_done = False
        self.path = path
        self.compressed_offset = 0  # compressed bytes consumed so far
        self.cut_short = False

    def read(self, size: int) -> bytes:
        while True:
            if self._member_done and not self._next_member():
                return b""
            if not self._input and not self._eof_input:
                self._input = _read(self._f, READ_SIZE, self.path)
                self._eof_input = not self._input
            if not self._input:
                # input over: fine only at a member boundary
                if not self._member_done:
                    self.cut_short = True
                    self._member_done = True
                return b""
            data = self._inflate(size)
            if data:
                return data

    def _inflate(self, size: int) -> bytes:
        chunk = self._input
        try:
            data = self._z.decompress(chunk, size)
        except zlib.error as exc:
            raise FormatError(f"gzip data corrupt near compressed offset "
                              f"{self.compressed_offset:#x}: {exc}", self.path) from None
        rest = self._z.unconsumed_tail or self._z.unused_data
        self.compressed_offset += len(chunk) - len(rest)
        self._input = rest
        if self._z.eof:
            self._member_done = True
        return data

    def _next_member(self) -> bool:
        """Start the next gzip member, if any; zero bytes after a member are ignored."""
        while True:
            self._input = self._input.lstrip(b"\0")
            if self._input or self._eof_input:
                break
            self._input = _read(self._f, READ_SIZE, self.path)
            self._eof_input = not self._input
        if not self._input:
            return False
        if len(self._input) < 2 and not self._eof_input:
            self._input += _read(self._f, READ_SIZE, self.path)
        if not self._input.startswith(GZIP_MAGIC):
            raise FormatError(f"garbage after gzip member at compressed offset "
                              f"{self.compressed_offset:#x}", self.path)
        self._z = zlib.decompressobj(31)
        self._member_done = False
        return True


def _read(f, size: int, path: str) -> bytes:
    try:
        data = f.read(size)
    except (OSError, ValueError) as exc:  # ValueError: a closed file
        raise FormatError(f"read failed: {exc}", path) from None
    return data or b""


def open_source(path_or_file, path: str | None = None):
    """Open a path or binary file object; returns ``(source, owned_file, path)``.

    Raises FormatError if the file cannot be opened.
    """
    owned = None
    if isinstance(path_or_file, (str, os.PathLike)):
        path = path or os.fspath(path_or_file)
        try:
            owned = f = open(path_or_file, "rb")
        except OSError as exc:
            raise FormatError(f"cannot open: {exc.strerror or exc}", path) from None
    else:
        f = path_or_file
        path = path or getattr(f, "name", None)
        path = path if isinstance(path, str) else "<stream>"
        if isinstance(f, io.TextIOBase):
            raise FormatError("the capture must be opened in binary mode", path)
    first = _read(f, READ_SIZE, path)
    if not isinstance(first, (bytes, bytearray)):
        raise FormatError("the capture must be opened in binary mode", path)
    first = bytes(first)
    while 0 < len(first) < 2:  # a pipe may hand out a single byte: the magic needs two
        more = _read(f, READ_SIZE, path)
        if not more:
            break
        first += more
    cls = GzipSource if first.startswith(GZIP_MAGIC) else PlainSource
    return cls(f, first, path), owned, path


__all__ = ["PlainSource", "GzipSource", "open_source"]
