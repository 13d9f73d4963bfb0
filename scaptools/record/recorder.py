"""Record the events of a source plugin into captures (``scap record``).

The source yields ``PluginEvent`` and ``Checkpoint`` items; events are written
as ``pluginevent`` (322) events with the plugin's id (docs/format.md §10.3).
A source may also offer ``batches()``: the same stream as lists of
``(ts, payload)`` (and Checkpoints), written with
``CaptureWriter.write_plugin_events`` without building an Event per record;
other sources are grouped into such lists here (``_grouped``).
A commit, in this order: the capture is flushed and fsynced; then (with
``--state``) a journal line naming the committed position and the units before
it is appended and fsynced (``record/state.py``); only then are the pending
checkpoints acknowledged (an SQS message is deleted). A process that dies
anywhere in between loses nothing: see docs/recording.md for each point.
Commits happen at a checkpoint at most every ``COMMIT_INTERVAL`` seconds, when
the source is idle, on a stop and at the end. With ``--state`` a commit that
is not at a unit boundary (the run ended inside a unit) acknowledges nothing:
the restart cuts the capture back to the last line and records those units again.
Without ``--sort`` events are written in the source's order (file order); with
it the whole run is gathered first (runs sorted in memory and spilled to
temporary captures, ``ops/timeorder.py``), then written in time order and
committed once at the end.

Output naming: without rotation everything goes to ``OUT``; with
``rotate_size``/``rotate_events`` the files are ``OUT.0``, ``OUT.1``, ... .
A resumed run (``--state``) first cuts the last capture back to its last
commit (events after it belong to units that were not finished and will be
recorded again), then appends a new section to it (a capture may hold several
sections; sysdig and tshark read them in order).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from itertools import islice

from scaptools.errors import FormatError, RecordError
from scaptools.events.event import Event
from scaptools.format.layout import plugin_block_size
from scaptools.format.writer import CaptureWriter, section_header
from scaptools.plugin.api import Checkpoint
from scaptools.record.state import RecordState, output_path
from scaptools.record.summary import RecordSummary

TICK_EVENTS = 4096  # events written between looks at the clock (--duration, progress)
COMMIT_INTERVAL = 0.5  # seconds between commits while checkpoints keep coming
PROGRESS_INTERVAL = 0.5
_SECTION_SIZE = len(section_header())  # the bytes of a new file before its first event
plugin_event = Event.plugin  # (ts, plugin_id, payload): tid -1, cpu 0


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


class Output:
    """The current capture file, rotation and commit positions."""

    def __init__(self, opts: RecordOptions, index: int = 0):
        self.opts = opts
        self.rotating = bool(opts.rotate_size or opts.rotate_events)
        self.index = index
        self.files: list[str] = []
        self.writer = None
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
        self._earlier, self._bytes = append_to or (0, _SECTION_SIZE)
        self._append = bool(append_to)
        if not self._append:
            self._start()
        if path not in self.files:
            self.files.append(path)

    def _start(self) -> None:
        path = self.path
        try:
            if self._append:
                self._fh = open(path, "ab")
            else:  # an old file is cut to nothing by the writer's thread (freeing its
                # blocks takes a while), before its first write
                self._fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666), "wb")
        except OSError as exc:
            raise RecordError(f"{path}: cannot create: {exc.strerror or exc}") from None
        # signals wait for a block; a thread compresses and writes beside the recording
        self.writer = CaptureWriter(self._fh, gzip=self.opts.gzip, background=True,
                                    truncate=not self._append, path=path)

    def write(self, plugin_id: int, items: list) -> None:
        """Append plugin events for ``(ts, payload)`` items; with rotation, the next file
        starts at the first event the current one has no room for. A resumed file gets
        its new section with its first event."""
        while True:
            take, size = self._room(items)
            if take:
                if self.writer is None:
                    self._start()
                self.writer.write_plugin_events(plugin_id, items[:take] if take < len(items)
                                                else items)
                self._bytes = size
            if take == len(items):
                return
            items = items[take:]
            self.close()
            self.index += 1
            self.open()

    def _room(self, items: list) -> tuple[int, int]:
        """How many of ``items`` the current file takes, and its size after them.

        A file takes an event while it is empty or below both limits (checked before
        each event, as its size grows by each event block, §2)."""
        max_events, max_bytes = self.opts.rotate_events or 0, self.opts.rotate_size or 0
        count, size = self.events_in_file, self._bytes
        take = min(len(items), max(max_events - count, 0)) if max_events else len(items)
        if max_bytes:
            for i, (_, payload) in enumerate(items[:take]):
                if (count or i) and size >= max_bytes:
                    return i, size
                size += plugin_block_size(len(payload))
        return take, size

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
        self._deadline = self.started + self.opts.duration if self.opts.duration else None
        try:
            if self.state is not None:
                self._resume()
            else:
                self.output.open()
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
        st.load(getattr(self.stream, "prunable", None))
        index, events, size = st.repair(self.output.rotating)
        self.summary.resumed = bool(size or index)
        self.output.index = index
        self.output.files = st.files_before(index, self.output.rotating)
        self.output.open(append_to=(events, size) if size else None)
        resume = getattr(self.stream, "resume", None)
        seen = st.seen()
        if resume is not None and seen:
            resume(seen)

    # -- the loop -------------------------------------------------------------
    def _loop(self) -> None:
        """Write each list of ``(ts, payload)`` the source gives (--sort: ``_sorted_loop``)."""
        batches = getattr(self.stream, "batches", None)
        items = batches() if batches is not None else _grouped(self.stream, self.opts.max_events)
        self._items = items
        if self.opts.sort:
            self._sorted_loop(items)
            return
        for item in items:
            if item.__class__ is list:
                if self._put(item):
                    self._finish_at_limit()
                    break
                continue
            self._at_boundary = True
            self._checkpoint(item)
            limit = self.opts.max_events
            if self._stop_reason or (limit and self.summary.events >= limit):
                break
            self._tick()

    def _sorted_loop(self, items) -> None:
        """--sort: every event of the run, then written in time order (equal times in the
        source's order), with bounded memory (``ops/timeorder.py``). Checkpoints wait for
        the one commit at the end."""
        from scaptools.ops.timeorder import RunStore, SortedRuns, plugin_items
        with RunStore() as store:
            runs = SortedRuns(store, plugin_items(self.plugin_id))
            taken, limit = 0, self.opts.max_events
            for item in items:
                if item.__class__ is list:
                    if limit and taken + len(item) >= limit:
                        runs.extend(self._cut(item, limit - taken))
                        self._finish_at_limit()
                        break
                    runs.extend(item)
                    taken += len(item)
                    self._at_boundary = False
                    continue
                self._pending.append(item)
                self._at_boundary = True
                if self._stop_reason:
                    break
                self._tick()
            self._write_sorted(runs.merged())

    def _cut(self, items: list, left: int) -> list:
        """The first ``left`` of ``items``; the source is told of the rest."""
        self._at_boundary = False
        if len(items) > left:
            returned = getattr(self.stream, "returned", None)
            if returned is not None:
                returned(len(items) - left)
        return items[:left]

    def _write_sorted(self, merged) -> None:
        merged = iter(merged)
        while chunk := list(islice(merged, TICK_EVENTS)):
            self.output.write(self.plugin_id, chunk)
            self.summary.events += len(chunk)
            self._note_span(chunk[0][0], chunk[-1][0])
            self._tick()

    def _put(self, items: list) -> bool:
        """Write ``items`` (cut at --max-events); True when the limit is reached."""
        s, limit = self.summary, self.opts.max_events
        hit = bool(limit) and s.events + len(items) >= limit
        if hit and self._pending and self._at_boundary:
            self._commit()  # the units before a cut unit are acknowledged (state: at a boundary)
        if hit:
            left = limit - s.events
            if len(items) > left:
                returned = getattr(self.stream, "returned", None)
                if returned is not None:
                    returned(len(items) - left)
                items = items[:left]
        if not items:
            return hit
        for start in range(0, len(items), TICK_EVENTS):
            chunk = items[start:start + TICK_EVENTS]
            self.output.write(self.plugin_id, chunk)
            s.events += len(chunk)
            self._tick()
        self._at_boundary = False
        stamps = [ts for ts, _ in items]
        self._note_span(min(stamps), max(stamps))
        return hit

    def _note_span(self, first, last) -> None:
        s = self.summary
        if first is not None:
            s.first_ts = first if s.first_ts is None else min(s.first_ts, first)
            s.last_ts = last if s.last_ts is None else max(s.last_ts, last)

    def _finish_at_limit(self) -> None:
        """--max-events reached: keep the checkpoint that may close the current unit."""
        self._stop_reason = self._stop_reason or "max events"
        item = next(self._items, None)
        if item.__class__ is Checkpoint:
            self._pending.append(item)
            self._at_boundary = True
        elif item:  # the next unit's events: not used
            returned = getattr(self.stream, "returned", None)
            if returned is not None:
                returned(len(item))

    def _checkpoint(self, item: Checkpoint) -> None:
        self._pending.append(item)
        now = time.monotonic()
        if self._stop_reason or not item.info or now - self._last_commit >= COMMIT_INTERVAL:
            self._commit()

    def _tick(self) -> None:
        now = time.monotonic()
        if self._deadline is not None and now >= self._deadline:
            self.request_stop("duration")
        if self.opts.progress is not None and now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self.opts.progress(self)

    def _commit(self) -> None:
        """Make the capture durable, then name it in the state, then ack the checkpoints."""
        try:
            index, events, size = self.output.commit()
        except FormatError as exc:
            raise RecordError(f"cannot commit the capture: {exc}") from None
        self._last_commit = time.monotonic()
        st = self.state
        if st is not None:
            if not self._at_boundary:  # the state names unit boundaries only: ack nothing
                return
            units = [ck for ck in self._pending if ck.info]
            st.commit(index, events, size, self.output.files,
                      {ck.info: ck.version for ck in units if ck.keep},
                      [ck.info for ck in units if not ck.keep])
        acked = []
        for ck in self._pending:
            try:
                ck.ack()
                acked.append(ck.info)
            except Exception as exc:  # e.g. an SQS delete that failed: it will come again
                self.summary.ack_failures += 1
                self.report(f"warning: cannot acknowledge {ck.info}: {exc}")
        self._pending.clear()
        if st is not None:
            st.acked(acked)


def _grouped(stream, limit: int | None):
    """A plain source stream as lists of ``(ts, payload)`` and its Checkpoints.

    A list ends at a Checkpoint, at ``TICK_EVENTS`` events or at --max-events.
    """
    group, left = [], limit or -1
    for item in stream:
        if item.__class__ is Checkpoint:
            if group:
                yield group
                group = []
            yield item
            continue
        group.append((item.ts, item.payload))
        left -= 1
        if len(group) >= TICK_EVENTS or not left:
            yield group
            group = []
    if group:
        yield group
