"""The heads (``eventTime``, ``eventID``) of a large log file, from a helper process.

msgspec holds the GIL while it decodes, so the two decoders of a log file
(pieces.py) cannot share one process's cores. ``start`` forks a helper that
inflates the file (read from its bytes, or from disk through the ``spool.Body``
descriptor it inherits), cuts it into pieces and decodes their heads; it sends
each piece and then its heads down a pipe, and the parent decodes the records
of the piece (``Helper.pieces``): the same text, so the same records, counted
again.

Nothing runs unboundedly ahead: the helper's inflating thread waits while a few
parts wait to be cut (inflate.py), the helper waits on the pipe, and the
parent's reading thread waits while ``QUEUE_FRAMES`` frames wait to be taken.
No wait is forever: the reading thread stops when the parent closes the
helper, and ``pieces`` gives ``BROKEN`` when the helper died (its pipe ends
without the end frame) or sent nothing for ``STALL`` seconds.

The helper is only a shortcut: when the file is not clean ``pieces`` ends
with None and the parent decodes the file as a whole (after the parts already
given, pieces.py); when the helper breaks down (``BROKEN``: dead, stalled,
unreadable frames, a piece whose count differs from its heads) the parent goes
on decoding the file itself. The helper ignores SIGINT (the parent decides when
to stop), touches nothing but the file and its pipe, and leaves with
``os._exit``; the parent kills and reaps it once the file is done.
"""
from __future__ import annotations

import gc
import os
import queue
import signal
import struct
import threading
import time

import msgspec

from . import cutting, logfile
from .inflate import Feed

HELPER_MIN = 1 << 20  # compressed bytes from which a file gets a helper
ENABLED = True
QUEUE_FRAMES = 8  # frames (a piece, its heads, ...) read ahead from the helper's pipe
PIPE_SIZE = 1 << 20  # bytes the pipe holds (Linux; the default is 64 KiB)
STALL = 60.0  # seconds without a frame after which the helper counts as broken
WAIT = 0.1  # seconds between two looks at a stop or a dead peer while waiting
BROKEN = object()  # what ``pieces`` gives when the helper (not the file) failed
_HEAD = struct.Struct("<BI")  # frame: kind, body length
_PIECE, _HEADS, _FAILED, _END = range(4)  # a piece, its heads, not a clean file, the end
_ENCODE = msgspec.msgpack.Encoder()
_DECODE = msgspec.msgpack.Decoder()


def start(source) -> "Helper | None":
    """A helper inflating ``source`` (bytes or a spool.Body; gzip or plain) and decoding its
    heads, or None (not worth it)."""
    if not ENABLED or len(source) < HELPER_MIN or not hasattr(os, "fork") or _cores() < 2:
        return None
    r, w = os.pipe()
    _widen(w)
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the helper: never returns
        status = 1
        try:
            os.close(r)
            _serve(source, w)
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    return Helper(pid, r)


def _widen(fd: int) -> None:
    """A pipe of ``PIPE_SIZE`` bytes where the system allows it: the reading thread then
    takes a piece in a few reads, each of which waits for the GIL."""
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _serve(source, fd: int) -> None:
    """The helper's work: inflate (a thread: inflating releases the GIL), cut, and send
    each piece (``[record,...]``) and its heads; then the end, or _FAILED when
    the file is not clean (pieces.py)."""
    gc.disable()  # its objects die young; nothing of the parent's is collected here
    for sig, how in ((signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_DFL)):
        try:
            signal.signal(sig, how)
        except (ValueError, OSError):
            pass
    feed = Feed(source, cutting.CHUNK)
    for found in cutting.cut_pieces(feed.get, cutting.HEADS.decode):
        if found is None:
            _send(fd, _FAILED, b"")
            return
        heads, view, newline = found
        times = [h.eventTime for h in heads]
        stamps = logfile.stamps_of(times)
        _send(fd, _PIECE, view)
        _send(fd, _HEADS, _ENCODE.encode((stamps, None if stamps is not None else times,
                                          [h.eventID for h in heads], newline)))
    _send(fd, _END, b"")


def _send(fd: int, kind: int, body) -> None:
    os.write(fd, _HEAD.pack(kind, len(body)))
    view = memoryview(body)
    while view:
        view = view[os.write(fd, view):]


class Helper:
    """The parent's end: ``pieces()``. A thread reads the pipe (the read releases the
    GIL) so the helper does not wait for the parent to look (up to ``QUEUE_FRAMES``)."""

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self.file = os.fdopen(fd, "rb")
        self.frames: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self.closing = threading.Event()
        self.closed = threading.Lock()
        self.reader = threading.Thread(target=self._read, name="heads-reader", daemon=True)
        self.reader.start()

    def pieces(self):
        """(raws, stamps, times, ids, newline) of each piece; then None when the file is
        not clean, or BROKEN when the helper failed (then nothing more)."""
        while True:
            item = self._next()
            if item is not None and item[0] == _END:
                return
            if item is not None and item[0] == _FAILED:
                yield None
                return
            heads = self._next() if item is not None else None
            if item is None or item[0] != _PIECE or heads is None or heads[0] != _HEADS:
                yield BROKEN
                return
            try:
                stamps, times, ids, newline = _DECODE.decode(heads[1])
                raws = cutting.RAWS.decode(item[1])  # Raw views keep the piece alive
                n = len(raws)
                if n != len(ids) or n != len(stamps if stamps is not None else times):
                    raise ValueError("a piece and its heads differ")
            except (ValueError, TypeError, msgspec.DecodeError):
                yield BROKEN
                return
            yield raws, stamps, times or [None] * n, ids, newline

    def _next(self):
        """The next frame; None when the pipe ended without one or none came for
        ``STALL`` seconds."""
        deadline = time.monotonic() + STALL
        while True:
            try:
                return self.frames.get(timeout=WAIT)
            except queue.Empty:
                if not self.reader.is_alive() and self.frames.empty():
                    return None
                if time.monotonic() >= deadline:
                    return None

    def _read(self) -> None:
        """The reading thread: frames into ``frames``, then None; it ends at the end of
        the pipe, or within ``WAIT`` seconds of ``close``."""
        try:
            while True:
                head = self.file.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    break
                kind, size = _HEAD.unpack(head)
                body = self.file.read(size)
                if len(body) < size or not self._put((kind, body)):
                    break
                if kind in (_END, _FAILED):
                    break
        except (OSError, ValueError):
            pass
        self._put(None)

    def _put(self, item) -> bool:
        while not self.closing.is_set():
            try:
                self.frames.put(item, timeout=WAIT)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Stop the helper (killed if still at work) and reap it."""
        with self.closed:  # once: a second caller must never signal or wait on pid 0
            pid, self.pid = self.pid, 0
        if not pid:
            return
        self.closing.set()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.reader.join(STALL)  # its pipe ends with the helper, its put sees ``closing``
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        if not self.reader.is_alive():
            self.file.close()
