"""What the two loops of ``scap slice`` share (the Python one in ``slice.py``, the
compiled core's in ``slice_core.py``): the times of ``--start``/``--end``, the event
types a slice keeps whatever the filter, the blocks it carries, and the output."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from operator import itemgetter

from scaptools.errors import OptionError, ScapError
from scaptools.events.table import EVENTS as TABLE
from scaptools.format import constants
from scaptools.format.writer import CaptureWriter
from scaptools.ops.timeorder import BLOCKS, RunStore, read_run

# event types a slice keeps whatever the filter: they change the state
KEEP = frozenset(e["id"] for e in TABLE if {"EF_MODIFIES_STATE", "EF_CREATES_FD",
                                            "EF_DESTROYS_FD"} & set(e["flags"]))
# enter types with an exit (not procexit, container, ...): the next event of their thread
PAIRED = frozenset(e["id"] for e, nxt in zip(TABLE, TABLE[1:])
                   if e["direction"] == "enter" and nxt["direction"] == "exit"
                   and nxt["name"] == e["name"])
HOLD_BYTES = 64 << 20  # event bytes held in memory while carried calls have not returned
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "": 10**9}
CARRIED = constants.MI_BLOCKS | constants.IL_BLOCKS  # machine, interfaces


def parse_time(text: str, first_ts: int) -> int:
    """A time as ns since the epoch (the forms of ``scaptools.ops.slice``'s module doc;
    ``+N`` is after ``first_ts``); OptionError if it is none."""
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
