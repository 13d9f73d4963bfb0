"""Large log files read from disk a chunk at a time, never whole (docs/cloudtrail-plugin.md §3.4).

A log file that ``pieces.py`` decodes piece by piece (gzip of ``STREAM_MIN``
bytes and up, or plain of ``PLAIN_STREAM_MIN`` bytes and up that starts with
``{"Records":[``) stays on disk: a ``Body`` holds an open descriptor of it
and reads it with ``os.pread`` (no shared file offset, so the forked heads
helper reads the same descriptor on its own). A large S3 object is first
streamed into an unlinked temporary file (in ``TMPDIR``, 1 MiB at a time),
which the system frees as soon as its descriptor is closed: at the end of its
unit, or when the process ends in any way. Smaller files are read whole and
decoded at once (``decode_log``), which is faster for them.

Only a file that is not clean (see pieces.py) is read whole after all, to be
decoded as a whole: a damaged file's records are found only that way, so a
huge damaged file takes memory in proportion to its size.
"""
from __future__ import annotations

import os
import tempfile

from . import logfile
from . import s3 as s3mod

RECORDS_START = b'{"Records":['  # how a log file that can be decoded piece by piece starts


class Body:
    """The bytes of one large log file on disk, read by offset (``chunks``, ``read``).

    ``file``: the open binary file (closed by ``close``, or when the Body is
    collected); ``size``: its length in bytes.
    """

    def __init__(self, file, size: int):
        self.file = file
        self.size = size

    def __len__(self) -> int:
        return self.size

    def head(self, n: int) -> bytes:
        return os.pread(self.file.fileno(), n, 0)

    def chunks(self, size: int):
        """The file's bytes in order, ``size`` at a time (the last chunk shorter)."""
        fd, pos = self.file.fileno(), 0
        while pos < self.size:
            chunk = os.pread(fd, min(size, self.size - pos), pos)
            if not chunk:
                raise OSError(f"{self.size - pos} bytes missing at offset {pos}")
            pos += len(chunk)
            yield chunk

    def read(self) -> bytes:
        """The whole file (only to decode a file that is not clean as a whole)."""
        return b"".join(self.chunks(1 << 24))

    def close(self) -> None:
        self.file.close()


def is_gzip(source) -> bool:
    """True for gzip bytes or a gzip Body."""
    head = source.head(2) if source.__class__ is Body else source[:2]
    return head == logfile.GZIP_MAGIC


def streamable(head: bytes, size: int) -> bool:
    """``logfile.streamable`` of a file of ``size`` bytes that starts with ``head``."""
    if head.startswith(logfile.GZIP_MAGIC):
        return size >= logfile.STREAM_MIN
    return size >= logfile.PLAIN_STREAM_MIN and head.startswith(RECORDS_START)


def open_body(path: str) -> Body | None:
    """A Body of the file at ``path`` when it is decoded piece by piece, else None.
    OSError when it cannot be opened."""
    file = open(path, "rb", buffering=0)
    body = Body(file, os.fstat(file.fileno()).st_size)
    if streamable(body.head(len(RECORDS_START)), body.size):
        return body
    file.close()
    return None


def local_log(path: str):
    """A local log file as ``_unit_events`` takes it: its Body when it is decoded piece
    by piece, else its decoded LogFile. OSError when it cannot be read."""
    body = open_body(path)
    if body is not None:
        return body
    with open(path, "rb") as fh:
        return logfile.decode_log(fh.read(), path)


def s3_log(client, bucket: str, key: str, name: str, on_retry=None):
    """An S3 object as ``_unit_events`` takes it: a large object streamed into an
    unlinked temporary file, as a Body; a small one decoded (a LogFile).

    Transient errors, also while the body is read, are retried (``s3.download``).
    """
    spool = _Spool()
    try:
        got = s3mod.download(client, bucket, key, on_retry=on_retry, into=spool)
    except BaseException:
        spool.close()
        raise
    if got.__class__ is bytes:
        spool.close()
        return logfile.decode_log(got, name)
    body = Body(got, got.tell())
    if streamable(body.head(len(RECORDS_START)), body.size):
        return body
    try:
        return logfile.decode_log(body.read(), name)
    finally:
        body.close()


class _Spool:
    """``s3.download``'s ``into``: a temporary file for an object that may be decoded
    piece by piece (gzip size counts: a plain one is decided once it is on disk)."""

    def __init__(self):
        self.file = None

    def __call__(self, size):
        if size is not None and size < min(logfile.STREAM_MIN, logfile.PLAIN_STREAM_MIN):
            return None
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="scap-record-")
        return self.file

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def whole(source, name: str) -> logfile.LogFile:
    """A log file (bytes or Body) decoded as a whole (not piece by piece): the way
    of a file that is not clean. A Body is read whole for it (see the module doc)."""
    if source.__class__ is not Body:
        return logfile.decode_log(source, name)
    try:
        data = source.read()
    except OSError as exc:
        log = logfile.LogFile(name)
        log.problems.append(f"{name}: cannot read: {exc}")
        return log
    return logfile.decode_log(data, name)


def close(source) -> None:
    """Release a Body (its descriptor; a spooled object's disk space)."""
    if source.__class__ is Body:
        source.close()
