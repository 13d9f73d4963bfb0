"""Canonical .scap writer (docs/format.md §11): the layout sysdig, Falco and tshark read.

Little-endian, section header 1.2 without options, metadata blocks before the
first event, syscall events in ``0x216``, large-payload events (322, 324, 402) in
``0x221`` with u32 lengths, never flags-word blocks, every block padded to 4 bytes
with its trailer. Plain or gzip.

``write_plugin_events`` frames runs of plugin events (the recorder's path)
without an ``Event`` per record, byte for byte as ``write`` would.

Every block reaches the file whole. ``flush()`` ends the current gzip member, so
the file is a complete multi-member gzip stream after it (§1.1), and fsyncs.
With ``background=True`` a thread compresses and writes the blocks in order
(zlib and file writes release the GIL, so this overlaps the caller's work) and
fsyncs every ``SYNC_BYTES`` on the way; ``flush()`` and ``close()`` wait for it,
and a write error is raised by the next call.
While the writer is open in the main thread, SIGINT and SIGTERM are held back
during a block write and then raised as ``KeyboardInterrupt``/``SystemExit``, so
``with CaptureWriter(...)`` always closes the file as a valid capture.
"""
from __future__ import annotations

import atexit
import errno
import io
import os
import queue
import signal
import struct
import threading
import weakref
import zlib
from typing import TYPE_CHECKING

from ..errors import FormatError
from . import constants
from . import layout

if TYPE_CHECKING:
    from .blocks import Block

_U32 = layout.BLOCK_TRAILER
# block type, total length, cpuid (§2, §9.1); from the layout tables, which do not
# import construct (recording does not need it); tests/format checks them against the schema
_EVENT_PREFIX = layout.EVENT_BLOCK_HEAD
_SHB_BODY = layout.SHB_HEAD  # magic, major, minor, section length (§3)
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")
# fsync errors of descriptors with nothing to sync (pipes, terminals, /dev/null)
_NOT_SYNCABLE = frozenset({errno.EINVAL, errno.EROFS, errno.ENOTSUP})
FLUSH_SIZE = 1 << 18  # pending bytes that trigger a write
SYNC_BYTES = 16 << 20  # background writing: bytes written between two fsyncs
QUEUE_CHUNKS = 8  # background writing: chunks waiting at most (then write() waits)
BATCH_EVENTS = 2048  # plugin events packed per chunk by write_plugin_events
# A plugin event block's head: block type, total length, cpuid (§2, §9.1), the v2
# event header ts, tid, len, type, nparams (§9.2), the two u32 lengths and the
# plugin id (§10.3). _JOINED[p] also holds the previous block's p padding bytes
# and trailer, so one pack per event frames a whole run of blocks.
_FIRST_HEAD = layout.PLUGIN_BLOCK_HEAD
_PLUGIN_HEAD = layout.codes(layout.PLUGIN_BLOCK_HEAD_FIELDS)
_TRAILER = layout.codes(layout.BLOCK_TRAILER_FIELDS)
_JOINED = tuple(struct.Struct(f"<{p}x{_TRAILER}{_PLUGIN_HEAD}") for p in range(4))
_TAIL = tuple(struct.Struct(f"<{p}x{_TRAILER}") for p in range(4))
# the event's length without its payload, its block's length without payload and padding
_PLUGIN_EVENT = layout.PLUGIN_HEAD_LEN
_PLUGIN_BLOCK = _FIRST_HEAD.size + layout.BLOCK_TRAILER_SIZE


def frame(block_type: int, body: bytes) -> bytes:
    """A whole block: header, body, zero padding to 4, trailer (§2)."""
    pad = _PAD[len(body) & 3]
    total = 12 + len(body) + len(pad)
    return _U32.pack(block_type) + _U32.pack(total) + body + pad + _U32.pack(total)


def section_header() -> bytes:
    """The canonical SHB: magic, version 1.2, section length -1, no options (§3)."""
    body = _SHB_BODY.pack(constants.SHB_MAGIC, constants.SHB_MAJOR, constants.SHB_MINOR, -1)
    return frame(constants.BLOCK_SHB, body)


def event_block(event) -> bytes:
    """The block for one event: ``0x221`` for large-payload types, else ``0x216`` (§9.3).

    Raises FormatError if the event's ``len`` field does not match its bytes, or a
    non-large event exceeds libscap's 64 KiB block limit.
    """
    raw = event.raw
    if len(raw) < layout.EVENT_HEADER_SIZE or \
            _U32.unpack_from(raw, layout.EVENT_LEN_AT)[0] != len(raw):
        raise FormatError(f"event {event.num}: its header length does not match its "
                          f"{len(raw)} bytes (§9.2)")
    large = event.type in layout.LARGE_PAYLOAD_TYPES
    pad = _PAD[(len(raw) + layout.EVENT_AT) & 3]
    total = layout.EVENT_BLOCK_OVERHEAD + len(raw) + len(pad)
    if not large and total - layout.BLOCK_HEADER_SIZE > constants.NON_LARGE_MAX:
        raise FormatError(f"event {event.num} ({len(raw)} bytes) is too large for a "
                          f"non-large event block")
    btype = constants.BLOCK_EV_V2_LARGE if large else constants.BLOCK_EV_V2
    try:  # one join: the event's bytes are copied once
        return b"".join((_EVENT_PREFIX.pack(btype, total, event.cpu), raw, pad,
                         _U32.pack(total)))
    except struct.error:  # cpuid is a u16 (§9.1)
        raise FormatError(f"event {event.num}: cpu {event.cpu!r} does not fit a u16") from None


def plugin_blocks(plugin_id: int, items, path: str | None = None) -> bytes:
    """The ``0x221`` blocks of ``pluginevent``s for ``(ts, payload)`` items, cpu 0 (§10.3).

    Byte for byte what ``event_block`` makes for each ``Event.plugin`` event.
    """
    parts = []
    append = parts.append
    joined = [s.pack for s in _JOINED]
    btype, prev_pad, prev_total = constants.BLOCK_EV_V2_LARGE, -1, 0
    head, block, etype, no_tid = _PLUGIN_EVENT, _PLUGIN_BLOCK, layout.PLUGINEVENT, constants.NO_TID
    nparams, id_size = layout.PLUGIN_NPARAMS, layout.LARGE_LENGTH_SIZE
    try:
        for ts, payload in items:
            n = len(payload)
            pad = (-n) & 3  # _PLUGIN_BLOCK is a multiple of 4: n decides the padding
            total = block + n + pad
            if prev_pad < 0:
                append(_FIRST_HEAD.pack(btype, total, 0, ts, no_tid, head + n, etype,
                                        nparams, id_size, n, plugin_id))
            else:
                append(joined[prev_pad](prev_total, btype, total, 0, ts, no_tid, head + n,
                                        etype, nparams, id_size, n, plugin_id))
            append(payload)
            prev_pad, prev_total = pad, total
    except struct.error as exc:  # ts or plugin id that does not fit its field (§9.2)
        raise FormatError(f"plugin event does not fit the event header: {exc}", path) from None
    if prev_pad >= 0:
        append(_TAIL[prev_pad].pack(prev_total))
    return b"".join(parts)


class CaptureWriter:
    """Write a capture in the canonical layout; use it as a context manager.

    ``path_or_fileobj``: a path or a binary file object (kept open on close).
    ``gzip``: compress. ``metadata``: blocks (e.g. ``reader.metadata``) to carry over.
    ``background``: see the module doc. ``truncate``: cut the file object to
    nothing before the first write (in the thread with ``background``).
    ``path``: the name errors give for a file object (default: its ``name``).
    """

    def __init__(self, path_or_fileobj, *, gzip: bool = False, metadata=None,
                 handle_signals: bool = True, background: bool = False,
                 truncate: bool = False, path: str | None = None):
        if isinstance(path_or_fileobj, (str, os.PathLike)):
            self.path = os.fspath(path_or_fileobj)
            try:
                self._f = open(path_or_fileobj, "wb")
            except OSError as exc:
                raise FormatError(f"cannot create: {exc.strerror or exc}", self.path) from None
            self._owned = True
        else:
            self._f, self._owned = path_or_fileobj, False
            name = getattr(path_or_fileobj, "name", None)  # an int for os.fdopen's files
            self.path = path or (os.fspath(name) if isinstance(name, (str, os.PathLike))
                                 else "<stream>")
        self.gzip = gzip
        self.events_written = 0
        self.closed = False
        self._z = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._started_events = False
        self._guard = _SignalGuard() if handle_signals else None
        if truncate and not background:
            self._truncate()
        self._thread = _Background(self, truncate) if background else None
        _OPEN_WRITERS.add(self)
        self._add(section_header())
        for blk in metadata or ():
            self.write_metadata(blk)

    # -- public -------------------------------------------------------------
    def write_metadata(self, block: Block) -> None:
        """Add a metadata block (made little-endian); SHB and unknown blocks are skipped.

        Raises FormatError after the first event (metadata must come first, §11 rule 3).
        """
        if block.type == constants.BLOCK_SHB or block.type not in constants.METADATA_BLOCKS:
            return
        if self._started_events:
            raise FormatError("metadata blocks must come before the first event", self.path)
        self._add(frame(block.type, block.little_endian().body))

    def write(self, event) -> None:
        """Append one event (its flags are not stored: no flags-word blocks)."""
        if self.closed:
            raise FormatError("the capture writer is closed", self.path)
        self._pending.append(event_block(event))
        self._started_events = True
        self._pending_size += len(event.raw) + 20
        self.events_written += 1
        if self._pending_size >= FLUSH_SIZE:
            self._emit(False)

    def write_blocks(self, blocks: bytes, count: int) -> None:
        """Append ``count`` event blocks already framed as ``event_block`` frames them
        (e.g. read back from a capture this writer's layout wrote)."""
        if self.closed:
            raise FormatError("the capture writer is closed", self.path)
        self._pending.append(blocks)
        self._started_events = True
        self._pending_size += len(blocks)
        self.events_written += count
        if self._pending_size >= FLUSH_SIZE:
            self._emit(False)

    def write_plugin_events(self, plugin_id: int, items) -> None:
        """Append ``pluginevent``s for a sequence of ``(ts, payload)`` (tid none, cpu 0).

        The same bytes as ``write(Event.plugin(ts, plugin_id, payload))`` for each
        item, without building events: packed ``BATCH_EVENTS`` at a time.
        """
        if self.closed:
            raise FormatError("the capture writer is closed", self.path)
        for start in range(0, len(items), BATCH_EVENTS):
            chunk = items[start:start + BATCH_EVENTS]
            data = plugin_blocks(plugin_id, chunk, self.path)
            self._pending.append(data)
            self._started_events = True
            self._pending_size += len(data)
            self.events_written += len(chunk)
            if self._pending_size >= FLUSH_SIZE:
                self._emit(False)

    def flush(self) -> None:
        """Make every event written so far durable and readable (flush + fsync)."""
        self._emit(True)
        if self._thread is not None:
            self._thread.wait()
        self._sync()

    def close(self) -> None:
        """Write what is pending, end the gzip stream, fsync and close."""
        if self.closed:
            return
        try:
            self._emit(True)
            if self._thread is not None:
                self._thread.wait()
            self._sync()
        finally:
            self.closed = True
            if self._thread is not None:
                self._thread.stop()
            try:
                if self._owned:
                    self._f.close()
            except OSError as exc:  # buffered bytes that could not be written
                raise FormatError(f"write failed: {exc}", self.path) from None
            finally:
                if self._guard:
                    self._guard.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals ----------------------------------------------------------
    def _add(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)

    def _emit(self, end_member: bool) -> None:
        """Write the pending blocks; ``end_member`` also closes the gzip member."""
        if self.closed:
            raise FormatError("the capture writer is closed", self.path)
        if not self._pending and not (end_member and (self._z or self._thread)):
            return
        data = b"".join(self._pending)
        if self._thread is not None:  # compressed and written by the thread, in order
            with self._guard or _NO_GUARD:  # handed over once, or not at all
                self._thread.put(data, end_member)
                self._pending.clear()
                self._pending_size = 0
            return
        with self._guard or _NO_GUARD:
            if self.gzip:
                data = self._compress(data, end_member)
            self._write(data)
            self._pending.clear()
            self._pending_size = 0

    def _compress(self, data: bytes, end_member: bool) -> bytes:
        """``data`` through the current gzip member (ended when ``end_member``)."""
        if self._z is None:
            self._z = zlib.compressobj(6, zlib.DEFLATED, 31)
        data = self._z.compress(data)
        if end_member:
            data += self._z.flush(zlib.Z_FINISH)
            self._z = None
        return data

    def _write(self, data: bytes) -> None:
        try:
            self._f.write(data)
        except OSError as exc:
            raise FormatError(f"write failed: {exc}", self.path) from None

    def _truncate(self) -> None:
        try:
            self._f.truncate(0)
        except (AttributeError, ValueError, io.UnsupportedOperation):
            pass  # not a file that can be cut (a pipe): nothing to cut
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: a pipe or a device, nothing to cut
                raise FormatError(f"cannot truncate: {exc}", self.path) from None

    def _sync(self) -> None:
        """Flush and fsync; a failure (a full disk, an I/O error) is a FormatError, never
        silent: a commit must not be taken for done when its bytes are not on disk."""
        try:
            self._f.flush()
        except OSError as exc:
            raise FormatError(f"write failed: {exc}", self.path) from None
        try:
            fd = self._f.fileno()
        except (AttributeError, ValueError, OSError):
            return  # no file descriptor (BytesIO): flushing is all there is
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc.errno not in _NOT_SYNCABLE:
                raise FormatError(f"fsync failed: {exc}", self.path) from None


class _Background:
    """The writer's thread: compress (with gzip) and write chunks in order, fsync now and then.

    The first error stops the writing; ``wait`` raises it (as FormatError).
    """

    def __init__(self, writer: CaptureWriter, truncate: bool = False):
        self.writer = writer
        self.chunks: queue.Queue = queue.Queue(QUEUE_CHUNKS)
        self.error: BaseException | None = None
        self._unsynced = 0
        self._truncate = truncate
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
        self._thread.start()

    def put(self, data: bytes, end_member: bool) -> None:
        if self.error is not None:
            self.wait()
        self.chunks.put((data, end_member))

    def wait(self) -> None:
        """Return once every chunk put is written; raise the thread's error if any."""
        self.chunks.join()
        if self.error is not None:
            exc = self.error
            if isinstance(exc, FormatError):
                raise exc
            raise FormatError(f"write failed: {exc}", self.writer.path) from None

    def stop(self) -> None:
        self.chunks.put(None)
        self._thread.join()

    def _run(self) -> None:
        w = self.writer
        while True:
            item = self.chunks.get()
            try:
                if item is None:
                    return
                if self._truncate:
                    self._truncate = False
                    w._truncate()
                if self.error is None:
                    data, end_member = item
                    if w.gzip:
                        data = w._compress(data, end_member)
                    w._write(data)
                    self._unsynced += len(data)
                    if self._unsynced >= SYNC_BYTES:  # keeps the commit's own fsync short
                        self._unsynced = 0
                        w._sync()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by wait()
                self.error = exc
            finally:
                self.chunks.task_done()


_OPEN_WRITERS: "weakref.WeakSet[CaptureWriter]" = weakref.WeakSet()


@atexit.register
def _close_open_writers() -> None:
    """At interpreter exit, finish writers nobody closed (valid capture on disk)."""
    for writer in list(_OPEN_WRITERS):
        try:
            writer.close()
        except Exception:  # exiting anyway: leave what is on disk
            pass


class _NoGuard:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_GUARD = _NoGuard()


class _SignalGuard:
    """Hold SIGINT/SIGTERM back while a block is written, then deliver them."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self._saved = {}
        self._held = None
        self._depth = 0
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            try:
                self._saved[sig] = signal.signal(sig, self._handler)
            except (ValueError, OSError):
                pass

    def _handler(self, signum, frame):
        if self._depth:
            self._held = (signum, frame)
        else:
            self._deliver(signum, frame)

    def _deliver(self, signum, frame):
        previous = self._saved.get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + signum)

    def release(self) -> None:
        """Put the previous handlers back."""
        for sig, previous in self._saved.items():
            try:
                if signal.getsignal(sig) == self._handler:
                    signal.signal(sig, previous)
            except (ValueError, OSError, TypeError):
                pass
        self._saved = {}

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if not self._depth and self._held:
            held, self._held = self._held, None
            self._deliver(*held)
        return False
