"""The heads (``eventTime``, ``eventID``) of a large gzip log file, from a helper process.

msgspec holds the GIL while it decodes, so the two decoders of a log file
(pieces.py) cannot share one process's cores. ``start`` forks a helper that
inflates its own copy of the file, decodes only the heads, piece by piece, and
sends them down a pipe in record order; ``Helper.take(n)`` gives the next ``n``.
The parent decodes the records themselves at the same time. Both decode the
same text into the same array elements, so the heads match the records by
position.

The helper is only a shortcut: when it cannot start, fails, ends early or sends
something unreadable, ``take`` returns None and the parent decodes the heads
itself, as it does without a helper. It ignores SIGINT (the parent decides when
to stop), touches nothing but the file's bytes and its pipe, and leaves with
``os._exit``; the parent kills and reaps it once the file is done.
"""
from __future__ import annotations

import gc
import os
import signal
import struct

import msgspec

from . import logfile as L
from . import pieces as P

HELPER_MIN = 1 << 20  # compressed bytes from which a file gets a helper
ENABLED = True
_LEN = struct.Struct("<I")
_RECORDS, _END = 0, 1
_ENCODE = msgspec.msgpack.Encoder()
_DECODE = msgspec.msgpack.Decoder()


def start(data: bytes) -> "Helper | None":
    """A helper decoding the heads of gzip ``data``, or None (not worth it, or no fork)."""
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
    """The helper's work: one message per piece, then the end."""
    gc.disable()  # its objects die young; nothing of the parent's is collected here
    for sig, how in ((signal.SIGINT, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_DFL)):
        try:
            signal.signal(sig, how)
        except (ValueError, OSError):
            pass
    for found in P._pieces(P.inflated(data).__next__, P._HEADS.decode):
        if found is None:
            break
        heads = found[0]
        times = [h.eventTime for h in heads]
        stamps = L.stamps_of(times)
        _send(fd, (_RECORDS, stamps, None if stamps is not None else times,
                   [h.eventID for h in heads]))
    _send(fd, (_END, None, None, None))


def _send(fd: int, message) -> None:
    body = _ENCODE.encode(message)
    view = memoryview(_LEN.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


class Helper:
    """The parent's end: heads in record order, ``n`` at a time."""

    def __init__(self, pid: int, fd: int):
        self.pid = pid
        self.file = os.fdopen(fd, "rb", buffering=1 << 20)
        self.stamps: list = []  # ns, or None where the time must be parsed
        self.times: list = []  # the eventTime text where it must be parsed
        self.ids: list = []
        self.pos = 0

    def take(self, n: int):
        """(stamps, times, ids) of the next ``n`` records, or None (the helper is closed)."""
        try:
            while len(self.ids) - self.pos < n:
                if not self._read():
                    self.close()
                    return None
        except (OSError, ValueError, TypeError, msgspec.DecodeError):
            self.close()
            return None
        a, b = self.pos, self.pos + n
        got = self.stamps[a:b], self.times[a:b], self.ids[a:b]
        if b >= 1 << 16:
            del self.stamps[:b], self.times[:b], self.ids[:b]
            b = 0
        self.pos = b
        return got

    def _read(self) -> bool:
        head = self.file.read(_LEN.size)
        if len(head) < _LEN.size:
            return False
        size = _LEN.unpack(head)[0]
        body = self.file.read(size)
        if len(body) < size:
            return False
        kind, stamps, times, ids = _DECODE.decode(body)
        if kind != _RECORDS or len(ids) != len(stamps if stamps is not None else times):
            return False
        n = len(ids)
        self.stamps += stamps if stamps is not None else [None] * n
        self.times += times if times is not None else [None] * n
        self.ids += ids
        return True

    def close(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0
            self.file.close()
