"""The text of a log file while it inflates, in parts of bounded size (docs/cloudtrail-plugin.md §3.4).

``inflated(source, chunk)`` gives the text of one log file (bytes, or a
``spool.Body`` read from disk) in parts: gzip is fed ``chunk`` compressed bytes
at a time (every member), and no call gives more than ``PART_MAX`` bytes of
text, whatever the compression ratio; plain text comes ``10 * chunk`` bytes at a
time. Then None, or ``FAILED`` (and nothing more) on any problem: bad or
truncated gzip, garbage after it, a read error.

``Feed`` runs it on a thread (inflating and reading release the GIL) into a
bounded queue: the thread waits while ``QUEUE_PARTS`` parts wait to be taken
(so the inflating never runs more than that ahead of the decoding), ``get``
gives ``FAILED`` instead of waiting forever once the thread is gone, and
``close`` ends the thread even while it waits on a full queue.
"""
from __future__ import annotations

import queue
import threading

from . import logfile
from .spool import Body, is_gzip

PART_MAX = 1 << 22  # text inflated by one call at most
QUEUE_PARTS = 4  # parts inflated ahead of the decoding at most
WAIT = 0.1  # seconds between two looks at a stop or a dead thread while waiting
FAILED = object()


def inflated(source, chunk: int):
    """The inflated text of ``source`` in parts, then None; FAILED on any problem."""
    try:
        gzip = is_gzip(source)
        if source.__class__ is Body:
            raw = source.chunks(chunk if gzip else chunk * 10)
        else:
            raw = _views(source, chunk if gzip else chunk * 10)
        if not gzip:
            yield from raw
            yield None
            return
        yield from _gunzip(raw)
    except Exception:  # bad gzip, a read error: decode_log (or the reader) reports it
        yield FAILED


def _views(data: bytes, size: int):
    view = memoryview(data)
    for pos in range(0, len(data), size):
        yield view[pos:pos + size]


def _gunzip(chunks):
    """Inflate every member of the gzip stream given in ``chunks``: text parts, then None
    or FAILED. Between members only zero padding up to the end is allowed."""
    d, rest, padding = None, b"", False
    for data in chunks:
        while data:
            if d is None:  # the next member, or zero padding
                rest, data = bytes(rest) + bytes(data), b""
                if not padding and rest.startswith(logfile.GZIP_MAGIC):
                    d, data, rest = logfile._inflate_lib.decompressobj(47), rest, b""
                elif rest.strip(b"\0") and not (rest == logfile.GZIP_MAGIC[:1] and not padding):
                    yield FAILED
                    return
                elif rest != logfile.GZIP_MAGIC[:1]:
                    padding, rest = True, b""
                continue
            part = d.decompress(data, PART_MAX)
            if part:
                yield part
            data = d.unconsumed_tail
            while len(part) == PART_MAX and not data and not d.eof:  # output still inside
                part = d.decompress(b"", PART_MAX)
                if part:
                    yield part
                data = d.unconsumed_tail
            if d.eof:
                d, data = None, d.unused_data
    if d is not None:
        part = d.flush()
        if part:
            yield part
        if not d.eof:  # truncated
            yield FAILED
            return
        if d.unused_data.strip(b"\0"):
            yield FAILED
            return
    if rest:  # a lone first byte of the magic
        yield FAILED
        return
    yield None


class Feed:
    """The inflated text of a log file from a thread, through a bounded queue (``get``)."""

    def __init__(self, source, chunk: int):
        self.queue: queue.Queue = queue.Queue(QUEUE_PARTS)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(source, chunk),
                                       name="cloudtrail-inflate", daemon=True)
        self.thread.start()

    def _run(self, source, chunk: int) -> None:
        for part in inflated(source, chunk):  # (should it die, ``get`` notices)
            if not self._put(part) or part is None or part is FAILED:
                return

    def _put(self, item) -> bool:
        """Put ``item`` once there is room; False (not put) once stopped."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=WAIT)
                return True
            except queue.Full:
                continue
        return False

    def get(self):
        """The next part, None at the end; FAILED on a problem, after a stop or when the
        thread ended without saying so."""
        while True:
            try:
                return self.queue.get(timeout=WAIT)
            except queue.Empty:
                if self.stop.is_set():
                    return FAILED
                if not self.thread.is_alive() and self.queue.empty():
                    return FAILED

    def close(self) -> None:
        """Stop the thread (it ends within ``WAIT`` seconds) and drop what it inflated."""
        self.stop.set()
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return
