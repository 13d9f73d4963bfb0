"""Record the events of a source plugin into captures (``scap record``).

The source yields ``PluginEvent`` and ``Checkpoint`` items; events are written
as ``pluginevent`` (322) events with the plugin's id (scap-format.md §10.3).
At a commit the capture is flushed and fsynced, and only then are the pending
checkpoints acknowledged (an SQS message is deleted) and the ``--state`` file
rewritten (atomically). Commits happen at a checkpoint at most every
``COMMIT_INTERVAL`` seconds, when the source is idle, on rotation and at the end.

Output naming: without rotation everything goes to ``OUT``; with
``rotate_size``/``rotate_events`` the files are ``OUT.0``, ``OUT.1``, ... .
A resumed run (``--state``) first cuts the last capture back to its last
commit (events after it belong to units that were not finished and will be
recorded again), then appends a new section to it (a capture may hold several
sections; sysdig and tshark read them in order).
"""
from __future__ import annotations

import os
import struct
import sys
import time
from dataclasses import dataclass, field

from .errors import FormatError, RecordError
from .events.event import NO_TID, PLUGINEVENT, Event
from .format.writer import CaptureWriter
from .plugin import Checkpoint

# ts, tid, len, type, nparams, u32 len(plugin_id), u32 len(payload), plugin_id
_PLUGIN_HEAD = struct.Struct("<QQIHIIII")
_HEAD_LEN = _PLUGIN_HEAD.size  # 38
COMMIT_INTERVAL = 0.5  # seconds between commits while checkpoints keep coming
PROGRESS_INTERVAL = 0.5


def plugin_event(ts: int, plugin_id: int, payload: bytes) -> Event:
    """A ``pluginevent`` in the v2 layout (u32 lengths; tid -1, cpu 0)."""
    raw = _PLUGIN_HEAD.pack(ts, NO_TID, _HEAD_LEN + len(payload), PLUGINEVENT, 2, 4,
                            len(payload), plugin_id) + payload
    return Event(0, ts, 0, NO_TID, PLUGINEVENT, 2, raw)


def output_path(out: str, index: int, rotating: bool) -> str:
    return f"{out}.{index}" if rotating else out


@dataclass
class RecordOptions:
    out: str
    gzip: bool = False
    max_events: int | None = None
    duration: float | None = None
    rotate_size: int | None = None
    rotate_events: int | None = None
    sort: bool = False
    state_path: str | None = None
    progress: object = None  # called with the Recorder every PROGRESS_INTERVAL seconds


@dataclass
class RecordSummary:
    files: list = field(default_factory=list)
    events: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    elapsed: float = 0.0
    ack_failures: int = 0
    stats: object = None
    stopped_by: str = ""
    resumed: bool = False  # a --state run that continued an earlier one


class Output:
    """The current capture file, rotation and commit positions.

    ``write`` is the writer's own method when there is no rotation (fast path).
    """

    def __init__(self, opts: RecordOptions, index: int = 0):
        self.opts = opts
        self.rotating = bool(opts.rotate_size or opts.rotate_events)
        self.index = index
        self.files: list[str] = []
        self.writer = None
        self.write = None
        self._earlier = 0  # events of this file written by an earlier run
        self._bytes = 0  # capture bytes (before gzip) in this file, for --rotate-size

    @property
    def path(self) -> str:
        return output_path(self.opts.out, self.index, self.rotating)

    @property
    def events_in_file(self) -> int:
        return self._earlier + (self.writer.events_written if self.writer else 0)

    def open(self, append_to: tuple[int, int] | None = None) -> None:
        """Start the current file; ``append_to`` = (events, size) kept from an earlier run.

        A resumed file gets its new section only with its first event, so no
        section without events is ever left behind (sysdig rejects those).
        """
        path = self.path
        self._earlier, self._bytes = append_to or (0, 28)  # 28: the section header block
        self._append = bool(append_to)
        if not self._append:
            self._start()
        self.write = self._slow_write if self.rotating or self._append else self.writer.write
        if path not in self.files:
            self.files.append(path)

    def _start(self) -> None:
        path = self.path
        try:
            self._fh = open(path, "ab" if self._append else "wb")
        except OSError as exc:
            raise RecordError(f"{path}: cannot create: {exc.strerror or exc}") from None
        self.writer = CaptureWriter(self._fh, gzip=self.opts.gzip)  # signals wait for a block

    def _slow_write(self, event: Event) -> None:
        """Writing with rotation, or into a resumed file."""
        opts, count = self.opts, self.events_in_file
        if count and ((opts.rotate_events and count >= opts.rotate_events)
                      or (opts.rotate_size and self._bytes >= opts.rotate_size)):
            self.close()
            self.index += 1
            self.open()
        if self.writer is None:
            self._start()
        self.writer.write(event)
        self._bytes += 12 + ((len(event.raw) + 5) & ~3)  # the event block (scap-format.md §2)

    def commit(self) -> tuple[int, int, int]:
        """Flush + fsync; returns (index, events, size on disk) of the current file."""
        if self.writer is None:
            return self.index, self._earlier, os.path.getsize(self.path)
        self.writer.flush()
        return self.index, self.events_in_file, os.fstat(self._fh.fileno()).st_size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self._fh.close()
            self.writer = None


class Recorder:
    """Drive one source stream into captures (see the module doc)."""

    def __init__(self, stream, plugin_id: int, opts: RecordOptions, *, params: str = "",
                 report=None):
        self.stream = stream
        self.plugin_id = plugin_id
        self.opts = opts
        self.report = report or (lambda msg: print(msg, file=sys.stderr))
        self.summary = RecordSummary(stats=getattr(stream, "stats", None))
        self.state = RecordState(opts.state_path, params, opts.out) if opts.state_path else None
        self.output = Output(opts)
        self._stop_reason = ""
        self._pending: list[Checkpoint] = []
        self._at_boundary = True  # no event written since the last checkpoint
        self._last_commit = 0.0
        self._last_progress = 0.0
        self.started = 0.0

    # -- control --------------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        return bool(self._stop_reason)

    def request_stop(self, reason: str = "stop requested") -> None:
        """End after the current unit of work (signal handlers call this)."""
        if not self._stop_reason:
            self._stop_reason = reason
            stop = getattr(self.stream, "stop", None)
            if stop is not None:
                stop()

    def run(self) -> RecordSummary:
        """Record until the source ends, a limit is reached or a stop is requested."""
        self.started = self._last_commit = time.monotonic()
        if self.state is not None:
            self._resume()
        else:
            self.output.open()
        try:
            self._loop()
            self._commit()
        finally:
            self.output.close()
            close = getattr(self.stream, "close", None)
            if close is not None:
                close()
        s = self.summary
        s.files = list(self.output.files)
        s.elapsed = time.monotonic() - self.started
        s.stopped_by = self._stop_reason
        if s.events == 0 and not s.files:
            raise RecordError("no capture was written")
        return s

    def _resume(self) -> None:
        st = self.state
        st.load()
        index, events, size = st.repair(self.output.rotating, self.opts.gzip)
        self.summary.resumed = bool(size or index)
        self.output.index = index
        self.output.files = st.files_before(index, self.output.rotating)
        self.output.open(append_to=(events, size) if size else None)
        resume = getattr(self.stream, "resume", None)
        if resume is not None and st.done_through is not None:
            resume(st.done_through, st.failed)

    # -- the loop -------------------------------------------------------------
    def _loop(self) -> None:
        opts, write, pid = self.opts, self.output.write, self.plugin_id
        pack, new_event = _PLUGIN_HEAD.pack, Event
        limit = opts.max_events or 0
        deadline = self.started + opts.duration if opts.duration else None
        buffer = [] if opts.sort else None
        s = self.summary
        events = s.events
        first = last = None
        for item in self.stream:
            if item.__class__ is not Checkpoint:
                if buffer is not None:
                    buffer.append(item)
                    continue
                ts, payload = item.ts, item.payload  # plugin_event(), inlined
                write(new_event(0, ts, 0, NO_TID, PLUGINEVENT, 2, pack(
                    ts, NO_TID, _HEAD_LEN + len(payload), PLUGINEVENT, 2, 4, len(payload), pid)
                    + payload))
                self._at_boundary = False
                if first is None:
                    first = last = ts
                elif ts < first:
                    first = ts
                elif ts > last:
                    last = ts
                events += 1
                if events == limit:
                    s.events = events
                    self._finish_at_limit()
                    break
                if not events & 1023:
                    s.events = events
                    self._tick(deadline)
                continue
            if buffer:
                first, last, events = self._write_sorted(buffer, first, last, events, limit)
                buffer.clear()
            s.events = events
            self._at_boundary = True
            self._checkpoint(item)
            if self._stop_reason or (limit and events >= limit):
                break
            self._tick(deadline)
        s.events = events
        self._note_span(first, last)

    def _write_sorted(self, buffer, first, last, events, limit):
        buffer.sort(key=lambda e: e.ts)
        for item in buffer[:limit - events] if limit else buffer:
            self.output.write(plugin_event(item.ts, self.plugin_id, item.payload))
            first = item.ts if first is None else min(first, item.ts)
            last = item.ts if last is None else max(last, item.ts)
            events += 1
        return first, last, events

    def _note_span(self, first, last) -> None:
        s = self.summary
        if first is not None:
            s.first_ts = first if s.first_ts is None else min(s.first_ts, first)
            s.last_ts = last if s.last_ts is None else max(s.last_ts, last)

    def _finish_at_limit(self) -> None:
        """--max-events reached: keep the checkpoint that may close the current unit."""
        self._stop_reason = self._stop_reason or "max events"
        item = next(self.stream, None)
        if item is not None and item.__class__ is Checkpoint:
            self._pending.append(item)
            self._at_boundary = True

    def _checkpoint(self, item: Checkpoint) -> None:
        self._pending.append(item)
        now = time.monotonic()
        if self._stop_reason or not item.info or now - self._last_commit >= COMMIT_INTERVAL:
            self._commit()

    def _tick(self, deadline) -> None:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            self.request_stop("duration")
        if self.opts.progress is not None and now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.opts.progress(self)

    def _commit(self) -> None:
        """Make the capture durable, then ack the pending checkpoints, then save the state."""
        try:
            index, events, size = self.output.commit()
        except FormatError as exc:
            raise RecordError(f"cannot commit the capture: {exc}") from None
        done = [ck for ck in self._pending if ck.info]
        for ck in self._pending:
            try:
                ck.ack()
            except Exception as exc:  # e.g. an SQS delete that failed: it will come again
                self.summary.ack_failures += 1
                self.report(f"warning: cannot acknowledge {ck.info}: {exc}")
        self._pending.clear()
        self._last_commit = time.monotonic()
        if self.state is not None and self._at_boundary:  # the state names unit boundaries only
            failed = sorted(getattr(self.stream, "failed", ()) or ())
            self.state.save(index, events, size, done[-1].info if done else None, failed,
                            self.output.files)


class RecordState:
    """The ``--state`` file: the capture position and the source position of the last commit.

    Saved atomically (temporary file, fsync, rename) after the capture fsync, and
    only at unit boundaries, so the capture up to (index, events, size) holds
    exactly the units up to ``done_through``.
    """

    VERSION = 1

    def __init__(self, path: str, params: str, out: str):
        self.path, self.params, self.out = path, params, out
        self.index = self.events = self.size = 0
        self.done_through: str | None = None
        self.failed: list[str] = []
        self.files: list[str] = []

    def load(self) -> None:
        """Read the file if it exists; RecordError when it belongs to another recording."""
        import json
        if not os.path.exists(self.path):
            return
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("version") != self.VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            self.index, self.events, self.size = data["index"], data["events"], data["size"]
            self.done_through, self.failed = data["done_through"], list(data["failed"])
            self.files = list(data["files"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"{self.path}: unreadable state file: {exc}") from None
        if data.get("open") != self.params or data.get("out") != self.out:
            raise RecordError(f"{self.path}: state of another recording (open "
                              f"{data.get('open')!r}, output {data.get('out')!r})")

    def repair(self, rotating: bool, gzip: bool) -> tuple[int, int, int]:
        """Cut the capture back to the last commit; remove files made after it."""
        path = output_path(self.out, self.index, rotating)
        actual = os.path.getsize(path) if os.path.exists(path) else 0
        if actual < self.size:
            raise RecordError(f"{path}: {actual} bytes, but the state file says {self.size} "
                              "were committed")
        if actual > self.size:
            with open(path, "r+b") as fh:
                fh.truncate(self.size)
                os.fsync(fh.fileno())
        later = self.index + 1
        while rotating and os.path.exists(output_path(self.out, later, rotating)):
            os.remove(output_path(self.out, later, rotating))
            later += 1
        return self.index, self.events, self.size

    def files_before(self, index: int, rotating: bool) -> list[str]:
        return [output_path(self.out, i, rotating) for i in range(index)]

    def save(self, index, events, size, done_through, failed, files) -> None:
        """Write the state atomically (nothing is written when nothing changed)."""
        import json
        done_through = done_through or self.done_through
        if (index, events, size, done_through, failed) == (
                self.index, self.events, self.size, self.done_through, self.failed):
            return
        self.index, self.events, self.size = index, events, size
        self.done_through, self.failed = done_through, failed
        data = {"version": self.VERSION, "open": self.params, "out": self.out, "index": index,
                "events": events, "size": size, "done_through": self.done_through,
                "failed": failed, "files": files}
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dirfd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
