"""The heads (``eventTime``, ``eventID``) of a large log file, from a helper process.

msgspec holds the GIL while it decodes, so the two decoders of a log file
(pieces.py) cannot share one process's cores. ``start`` forks a helper that
inflates the file, cuts it into pieces and decodes their heads; it sends each
piece and then its heads down a pipe, and the parent decodes the records of the
piece (``Helper.pieces``): the same text, so the same records, counted again.

The helper is only a shortcut: when the file is not clean, or the helper fails,
sends something unreadable or a piece whose count differs from its heads,
``pieces`` ends with None and the parent decodes the file as a whole (after
the parts already given, pieces.py). It ignores SIGINT (the parent decides when
to stop), touches nothing but the file's bytes and its pipe, and leaves with
``os._exit``; the parent kills and reaps it once the file is done.
"""
from __future__ import annotations

import gc
import os
import queue
import signal
import struct
import threading

import msgspec

from . import logfile as L
from . import pieces as P

HELPER_MIN = 1 << 20  # compressed bytes from which a file gets a helper
ENABLED = True
QUEUE_FRAMES = 16  # frames read ahead from the helper's pipe
_HEAD = struct.Struct("<BI")  # frame: kind, body length
_PIECE, _HEADS, _FAILED, _END = range(4)  # a piece, its heads, not a clean file, the end
_ENCODE = msgspec.msgpack.Encoder()
_DECODE = msgspec.msgpack.Decoder()


def start(data: bytes) -> "Helper | None":
    """A helper inflating ``data`` (or not: plain) and decoding its heads, or None (not
    worth it)."""
    if not ENABLED or len(data) < HELPER_MIN or not hasattr(os, "fork") or _cores() < 2:
        return None
    r, w = os.pipe()
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
            _serve(data, w)
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    return Helper(pid, r)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _serve(data: bytes, fd: int) -> None:
    """The helper's work: inflate (a thread: inflating releases the GIL), cut, and send
    each piece (``[record,...]``) and its heads; then the end, or _FAILED when
    the file is not clean (pieces.py)."""
    gc.disable()  # its objects die young; nothing of the parent's is collected here
    for sig, how in ((signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_DFL)):
        try:
            signal.signal(sig, how)
        except (ValueError, OSError):
            pass
    chunks: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=P._inflate, args=(data, chunks, threading.Event()),
                     daemon=True).start()
    for found in P._pieces(chunks.get, P._HEADS.decode):
        if found is None:
            _send(fd, _FAILED, b"")
            return
        heads, view, newline = found
        times = [h.eventTime for h in heads]
        stamps = L.stamps_of(times)
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
    GIL) so the helper never waits for the parent to look."""

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self.file = os.fdopen(fd, "rb")
        self.frames: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self.reader = threading.Thread(target=self._read, name="heads-reader", daemon=True)
        self.reader.start()

    def pieces(self):
        """(raws, stamps, times, ids, newline) of each piece; None when the file is not
        clean or the helper fails (then nothing more)."""
        while True:
            item = self.frames.get()
            if item is None or item[0] == _END:
                if item is None:
                    yield None
                return
            kind, piece = item
            heads = self.frames.get()
            if kind != _PIECE or heads is None or heads[0] != _HEADS:
                yield None
                return
            try:
                stamps, times, ids, newline = _DECODE.decode(heads[1])
                raws = P._RAWS.decode(piece)  # Raw views keep ``piece`` alive
                n = len(raws)
                if n != len(ids) or n != len(stamps if stamps is not None else times):
                    raise ValueError("a piece and its heads differ")
            except (ValueError, TypeError, msgspec.DecodeError):
                yield None
                return
            yield raws, stamps, times or [None] * n, ids, newline

    def _read(self) -> None:
        """The reading thread: frames into ``frames``, then None."""
        try:
            while True:
                head = self.file.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    break
                kind, size = _HEAD.unpack(head)
                body = self.file.read(size)
                if len(body) < size:
                    break
                self.frames.put((kind, body))
                if kind in (_END, _FAILED):
                    break
        except (OSError, ValueError):
            pass
        self.frames.put(None)

    def close(self) -> None:
        """Stop the helper (killed if still at work) and reap it."""
        if not self.pid:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while self.reader.is_alive():  # its pipe ends: the reader puts None and leaves
            try:
                self.frames.get(timeout=0.05)
            except queue.Empty:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.pid = 0
        self.file.close()
