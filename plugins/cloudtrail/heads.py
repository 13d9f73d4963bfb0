"""The heads (``eventTime``, ``eventID``) of a large gzip log file, from a helper process.

msgspec holds the GIL while it decodes, so the two decoders of a log file
(pieces.py) cannot share one process's cores. ``start`` forks a helper that
inflates the file, sends the text down a pipe as it comes, and decodes the
heads, piece by piece, sending them in record order; ``Helper.take(n)`` gives
the next ``n``. The parent cuts and decodes the records themselves from the
same text at the same time, so the heads match the records by position.

The helper is only a shortcut: when its heads stop or are unreadable, ``take``
returns None and the parent decodes the heads itself; when its text stops
early, the parent decodes the file as a whole (pieces.py). It ignores SIGINT (the parent decides when
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
from collections import deque

import msgspec

from . import logfile as L
from . import pieces as P

HELPER_MIN = 1 << 20  # compressed bytes from which a file gets a helper
ENABLED = True
QUEUE_FRAMES = 16  # frames read ahead from the helper's pipe
_HEAD = struct.Struct("<BI")  # frame: kind, body length
_HEADS, _TEXT, _TEXT_END, _END = range(4)  # heads of records, text, end of the text, the end
_ENCODE = msgspec.msgpack.Encoder()
_DECODE = msgspec.msgpack.Decoder()


def start(data: bytes) -> "Helper | None":
    """A helper inflating gzip ``data`` and decoding its heads, or None (not worth it)."""
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
    """The helper's work: the text as it inflates (a thread: inflating and writing to
    the pipe release the GIL), the heads of each piece as they decode, then the end.

    The whole text is sent even when the heads stop early (a record that does not
    fit them): the parent then decodes the heads itself.
    """
    gc.disable()  # its objects die young; nothing of the parent's is collected here
    for sig, how in ((signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_DFL)):
        try:
            signal.signal(sig, how)
        except (ValueError, OSError):
            pass
    lock = threading.Lock()  # one frame at a time on the pipe
    chunks: queue.SimpleQueue = queue.SimpleQueue()

    def pump():
        for part in P.inflated(data):
            with lock:
                if part is None or part is P._FAILED:
                    _send(fd, _TEXT_END, b"" if part is None else b"x")
                else:
                    _send(fd, _TEXT, part)
            chunks.put(part)
    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    for found in P._pieces(chunks.get, P._HEADS.decode):
        if found is None:
            break
        heads = found[0]
        times = [h.eventTime for h in heads]
        stamps = L.stamps_of(times)
        body = _ENCODE.encode((stamps, None if stamps is not None else times,
                               [h.eventID for h in heads]))
        with lock:
            _send(fd, _HEADS, body)
    thread.join()
    _send(fd, _END, b"")


def _send(fd: int, kind: int, body) -> None:
    os.write(fd, _HEAD.pack(kind, len(body)))
    view = memoryview(body)
    while view:
        view = view[os.write(fd, view):]


class Helper:
    """The parent's end: the text part by part (``text``), the heads ``n`` at a time (``take``).

    A thread reads the pipe (the read releases the GIL) so the helper never waits
    for the parent to look.
    """

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self.file = os.fdopen(fd, "rb")
        self.frames: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self.texts: deque = deque()  # text parts, then None (clean end) or P._FAILED
        self.stamps: list = []  # ns, or None where the time must be parsed
        self.times: list = []  # the eventTime text where it must be parsed
        self.ids: list = []
        self.pos = 0
        self.more = True  # frames may still come
        self.reader = threading.Thread(target=self._read, name="heads-reader", daemon=True)
        self.reader.start()

    def text(self):
        """The next part of the text; None at its clean end; P._FAILED when it cannot come."""
        while not self.texts:
            if not self._pull():
                return P._FAILED
        return self.texts.popleft()

    def take(self, n: int):
        """(stamps, times, ids) of the next ``n`` records, or None when they do not come."""
        try:
            while len(self.ids) - self.pos < n:
                if not self._pull():
                    return None
        except (ValueError, TypeError, msgspec.DecodeError):
            return None
        a, b = self.pos, self.pos + n
        got = self.stamps[a:b], self.times[a:b], self.ids[a:b]
        if b >= 1 << 16:
            del self.stamps[:b], self.times[:b], self.ids[:b]
            b = 0
        self.pos = b
        return got

    def _pull(self) -> bool:
        """One more frame into the buffers; False when none will come."""
        if not self.more:
            return False
        item = self.frames.get()
        if item is None:
            self.more = False
            return False
        kind, body = item
        if kind == _TEXT:
            self.texts.append(body)
        elif kind == _TEXT_END:
            self.texts.append(P._FAILED if body else None)
        elif kind == _HEADS:
            stamps, times, ids = _DECODE.decode(body)
            n = len(ids)
            if len(stamps if stamps is not None else times) != n:
                raise ValueError("heads of different lengths")
            self.stamps += stamps if stamps is not None else [None] * n
            self.times += times if times is not None else [None] * n
            self.ids += ids
        else:
            self.more = False
            return False
        return True

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
                if kind == _END:
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
