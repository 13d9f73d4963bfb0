"""Cut a capture by time and filter, keeping its state (``scap slice``).

The slice starts with process, fd and user lists that describe the state at its
first event (built from the events before it), so fields such as ``proc.name``
or ``fd.name`` of the kept events keep their values. With a filter, events that
change state (clone, execve, open, close, ...) inside the range are kept even if
they do not match, for the same reason. Times: ns since the epoch, seconds with a
fraction, ISO 8601 (``2018-08-17T17:35:48.5Z``) or ``+N[s|ms|us|ns]`` after the
first event; an end before the start is refused. The enter events of calls in
progress at the start whose exits are in the slice (in the window, and kept by the
filter) are written first (with their earlier timestamps), so those exits keep their
fd fields (a ``procexit`` is no call
in progress). A slice that keeps no event is an error unless asked for (sysdig
refuses captures without events). Events keep the order of the file.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from operator import itemgetter
from typing import Callable

from scaptools.errors import OptionError, ScapError
from scaptools.events.table import EVENTS as TABLE
from scaptools.format import constants
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter, event_block
from scaptools.ops.timeorder import BLOCKS, RunStore, read_run
from scaptools.state import State
from scaptools.state.dump import calls_in_progress, state_blocks

_KEEP = frozenset(e["id"] for e in TABLE if {"EF_MODIFIES_STATE", "EF_CREATES_FD",
                                             "EF_DESTROYS_FD"} & set(e["flags"]))
# enter types with an exit (not procexit, container, ...): the next event of their thread
_PAIRED = frozenset(e["id"] for e, nxt in zip(TABLE, TABLE[1:])
                    if e["direction"] == "enter" and nxt["direction"] == "exit"
                    and nxt["name"] == e["name"])
HOLD_BYTES = 64 << 20  # event bytes held in memory while carried calls have not returned
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "": 10**9}
_CARRIED = constants.MI_BLOCKS | constants.IL_BLOCKS  # machine, interfaces


def parse_time(text: str, first_ts: int) -> int:
    """A time as ns since the epoch (see the module doc); OptionError if it is none."""
    m = re.fullmatch(r"\+(\d+(?:\.\d+)?)(s|ms|us|ns)?", text.strip())
    if m:
        return first_ts + int(float(m.group(1)) * _UNITS[m.group(2) or ""])
    if re.fullmatch(r"\d{13,}", text.strip()):
        return int(text)
    if re.fullmatch(r"\d+(\.\d+)?", text.strip()):
        return int(float(text) * 10**9)
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise OptionError(f"not a time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000


def event_filter(text: str) -> Callable:
    """``fn(event) -> bool`` for a filter condition over the syscall fields and the
    fields of the installed plugins (when no plugin loads, plugin events match nothing).

    Raises RuleError when no event source accepts ``text``."""
    from scaptools.view.filtering import compile_filter
    return compile_filter(text, _installed_plugins())


def _installed_plugins():
    from scaptools.plugin.registry import Registry
    try:
        return Registry.from_entry_points()
    except Exception:  # no plugin loads: the filter works on syscall events only
        return None


def cut(path, out, start: str | None = None, end: str | None = None,
        selector: Callable | None = None, compress: bool = False,
        allow_empty: bool = False) -> int:
    """Write the events of ``path`` from ``start`` to ``end`` (times as in the module
    doc) that ``selector(event)`` accepts, or that change state, to ``out``.

    Returns the number of events written. Raises OptionError for a time that
    cannot be read or an end before the start, ScapError for a slice that keeps
    no event (unless ``allow_empty``: then a capture without events is written)
    and for a bad capture. The compiled core cuts when it can (``slice_core``).
    """
    from scaptools.ops.slice_core import cut_in_core
    written = cut_in_core(path, out, start, end, selector, compress, allow_empty)
    if written is not None:
        return written
    state, carried, bounds, output, pending = State(), [], None, None, {}
    with RunStore() as store:
        try:
            with open_capture(path) as reader:
                for _offset, item in reader.blocks():
                    if not hasattr(item, "ts"):
                        state.seed(item)
                        if item.type in _CARRIED:
                            carried.append(item)
                        continue
                    if bounds is None:
                        bounds = _bounds(start, end, item.ts)
                    inside = bounds[0] <= item.ts <= bounds[1]
                    if inside and output is None:
                        output = Output(out, compress, carried + state_blocks(state), store)
                        pending = _calls_returning(state)
                        output.waiting = bool(pending)
                    if not item.is_plugin:
                        state.update(item)
                    keep = inside and (selector is None or selector(item) or item.type in _KEEP)
                    if pending:  # the next event of a waiting thread decides its call
                        enter = pending.pop(item.tid, None)
                        if enter is not None and keep:
                            output.carry(enter.ts, event_block(enter))
                        if not pending:
                            output.release()
                    if keep:
                        output.put(event_block(item))
                if output is not None:
                    output.release()  # the calls still waiting never returned
        finally:
            if output is not None:
                output.close()
    if output is not None and output.kept:
        return output.writer.events_written
    return empty_slice(reader.path, out, carried + state_blocks(state), selector, compress,
                       allow_empty)


def empty_slice(name: str, out, metadata: list, selector, compress: bool,
                allow_empty: bool) -> int:
    """A slice that keeps no event: ScapError, or with ``allow_empty`` a capture of just
    ``metadata``."""
    if not allow_empty:
        raise ScapError(f"{name}: no event falls in the window"
                        + (" and matches the filter" if selector else "")
                        + "; nothing written (--allow-empty writes a capture without events)")
    with CaptureWriter(out, gzip=compress, metadata=metadata):
        return 0


def _bounds(start, end, first_ts: int) -> tuple[int, int]:
    low = parse_time(start, first_ts) if start else 0
    high = parse_time(end, first_ts) if end else 1 << 64
    if high < low:
        raise OptionError(f"--end {end} is before --start {start}")
    return low, high


def _calls_returning(state) -> dict:
    """The enter events of the calls in progress that have an exit (not ``procexit``),
    by thread."""
    return {e.tid: e for e in calls_in_progress(state) if e.type in _PAIRED}


class Output:
    """The slice being written. The enter events of calls in progress at its start are
    written first, but only those whose exit is in the slice (``carry``); while that is
    not known (``waiting``), kept events are held, past ``HOLD_BYTES`` in a temporary
    capture, until ``release``."""

    def __init__(self, out, compress: bool, metadata: list, store: RunStore):
        self.out, self.compress, self.metadata, self.store = out, compress, metadata, store
        self.waiting = False
        self.carried: list = []  # (ts, block) of enter events whose exit is in the slice
        self.held: list = []  # (count, blocks)
        self.held_bytes = 0
        self.runs: list[str] = []
        self.writer = None
        self.kept = 0

    def carry(self, ts: int, block: bytes) -> None:
        self.carried.append((ts, block))

    def put(self, blocks: bytes, count: int = 1) -> None:
        """``count`` kept events, framed as ``event_block`` frames them."""
        self.kept += count
        if not self.waiting:
            self._started().write_blocks(blocks, count)
            return
        self.held.append((count, blocks))
        self.held_bytes += len(blocks)
        if self.held_bytes >= HOLD_BYTES:
            self.runs.append(self.store.write([[(0, b) for _n, b in self.held]], BLOCKS))
            self.held, self.held_bytes = [], 0

    def release(self) -> None:
        """No call waits any more: the held events go out, after the carried enters."""
        self.waiting = False
        for run in self.runs:
            for _ts, block in read_run(run, BLOCKS):
                self._started().write_blocks(block, 1)
        for count, blocks in self.held:
            self._started().write_blocks(blocks, count)
        self.runs, self.held, self.held_bytes = [], [], 0

    def _started(self) -> CaptureWriter:
        """The writer, opened with the carried enter events at the first kept event."""
        if self.writer is None:
            self.writer = CaptureWriter(self.out, gzip=self.compress, metadata=self.metadata)
            for _ts, block in sorted(self.carried, key=itemgetter(0)):  # exits keep fd fields
                self.writer.write_blocks(block, 1)
        return self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
