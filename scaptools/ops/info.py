"""What a capture holds, without printing its events (``scap info``).

Format version, byte order, compression, blocks by type, machine info, process /
fd / user counts, events by type (with the direction of enter and exit types) and
by plugin id, the earliest and the latest timestamp, whether the events are in
time order (and how many are earlier than the event before them: where a tool
keeps file order, such as ``scap convert`` or ``scap record`` without ``--sort``,
this is what it kept), whether the file is truncated, and the events whose parameter lengths run past
their end (damaged events are counted and read past, as capinfos reads past a
bad packet). A truncated, corrupt or damaged file is summarized as far as it
could be read, and its first fault is returned beside the report.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from scaptools.errors import ScapError
from scaptools.events.event import PLUGINEVENT, Event, damaged_error, params_fit
from scaptools.events.table import EVENTS
from scaptools.format import constants
from scaptools.format.blocks import Block
from scaptools.format.reader import open_capture


# what the events give, counted by :meth:`Summary.add_events` on the pure path and by
# the compiled core's walk (``CaptureReader.tally()``, core/src/walk/tally.rs) otherwise
EVENT_COUNTS = ("events", "plugins", "first_ts", "last_ts", "earliest", "latest", "inversions",
                "damaged")


class Summary:
    """Counters filled while walking the blocks of one capture: the metadata blocks are
    read here; the events are counted here on the pure path, and taken from the core's
    tally of them (:meth:`add_tally`) when the compiled core is active."""

    def __init__(self, path: str = "<stream>"):
        self.path = path
        self.events = Counter()       # event type -> count
        self.plugins = Counter()      # plugin id -> count
        self.first_ts = self.last_ts = None  # in file order
        self.earliest = self.latest = None
        self.inversions = 0  # events earlier than the event before them
        self._last = None
        self.machine = None
        self.lists = Counter()        # processes, fds, interfaces, users, groups
        self.error = None
        self.damaged = 0              # events whose parameters run past their end
        self.first_damaged = None     # the DamagedEvent of the first one

    def add_events(self, items) -> None:
        """Count the events of ``(offset, item)`` pairs; hand blocks to :meth:`add_block`."""
        events, plugins = self.events, self.plugins
        try:
            for _, item in items:
                if isinstance(item, Block):
                    self.add_block(item)
                    continue
                events[item.type] += 1
                if not params_fit(item):
                    self.add_damaged(item)
                elif item.type == PLUGINEVENT:
                    plugins[item.plugin_id] += 1
                self.add_time(item.ts)
        finally:
            self.last_ts = self._last

    def add_tally(self, tally) -> None:
        """Read the non-event blocks of a core ``Tally`` (``CaptureReader.tally()``), then
        take its counts of the events: complete once its walk has ended or failed."""
        try:
            for _, blk in tally.blocks():
                self.add_block(blk)
        finally:
            for name in EVENT_COUNTS:
                setattr(self, name, getattr(tally, name))
            if tally.first_damaged is not None:
                self.first_damaged = damaged_error(tally.first_damaged, self.path)

    def add_time(self, ts: int) -> None:
        last = self._last
        if last is None:
            self.first_ts = self.earliest = self.latest = ts
        elif ts < last:
            self.inversions += 1
            if ts < self.earliest:
                self.earliest = ts
        elif ts > self.latest:
            self.latest = ts
        self._last = ts

    def add_damaged(self, event) -> None:
        self.damaged += 1
        if self.first_damaged is None:
            self.first_damaged = damaged_error(event, self.path)

    def add_block(self, blk: Block) -> None:
        if not blk.known or blk.type == constants.BLOCK_SHB:
            return
        body = blk.parsed
        if blk.type in constants.MI_BLOCKS:
            self.machine = {
                "hostname": body.hostname.rstrip(b"\0").decode("utf-8", "replace"),
                "num_cpus": body.num_cpus, "memory_size_bytes": body.memory_size_bytes,
                "max_pid": body.max_pid, "boot_ts_epoch": body.boot_ts_epoch}
        elif blk.type in constants.PL_VERSIONS:
            self.lists["processes"] += len(body.entries)
        elif blk.type in constants.FDL_BLOCKS:
            self.lists["fds"] += len(body.list.entries)
        elif blk.type in constants.IL_BLOCKS:
            self.lists["interfaces"] += len(body.entries)
        elif blk.type in constants.UL_BLOCKS:
            for entry in body.entries:
                kind = entry.entry.kind if "entry" in entry else entry.kind
                self.lists["users" if kind == 0 else "groups"] += 1


def summarize(src, *, src_path: str | None = None) -> tuple[dict, ScapError | None]:
    """Walk a capture (a path or a binary file object named ``src_path``).

    Returns its summary as a JSON-ready dict and the first fault met (None for a
    sound capture): the first damaged event, whose message counts the damaged
    events, else the error that ended the walk. A file that is not a capture at
    all gives a report without blocks.
    """
    reader = open_capture(src, path=src_path)
    summary = Summary(reader.path)
    with reader:
        tally = reader.tally()  # None on the pure path
        try:
            if tally is None:
                summary.add_events(reader.blocks())
            else:
                summary.add_tally(tally)
        except ScapError as exc:
            summary.error = exc
    return _report(reader, summary), _first_fault(summary)


def _report(reader, s: Summary) -> dict:
    sections = reader.sections
    return {
        "file": reader.path,
        "format_version": sorted({sec.version for sec in sections}),
        "byte_order": sorted({sec.byte_order for sec in sections}),
        "compression": reader.compression,
        "sections": len(sections),
        "blocks": {constants.BLOCK_NAMES.get(t, f"{t:#x}"): n
                   for t, n in sorted(reader.block_counts.items(), key=_block_order) if n},
        "machine": s.machine,
        "metadata": {k: s.lists.get(k, 0)
                     for k in ("processes", "fds", "interfaces", "users", "groups")},
        "events": sum(s.events.values()),
        "events_by_type": {type_label(t): n for t, n in sorted(s.events.items())},
        "events_by_plugin": {str(pid): n for pid, n in sorted(s.plugins.items(),
                                                              key=lambda kv: kv[0] or 0)},
        "first_ts": s.first_ts,
        "last_ts": s.last_ts,
        "earliest_ts": s.earliest,
        "latest_ts": s.latest,
        "time_ordered": s.inversions == 0,
        "inversions": s.inversions,
        "truncated": reader.truncated,
        "damaged_events": s.damaged,
        "first_damaged_event": _damaged_report(s.first_damaged),
        "error": str(s.error) if s.error else None,
    }


def _paired(etype: int, direction: str, step: int) -> bool:
    other = etype + step
    return (0 <= other < len(EVENTS) and EVENTS[etype]["direction"] == direction
            and EVENTS[other]["name"] == EVENTS[etype]["name"]
            and EVENTS[other]["direction"] != direction)


def type_label(etype: int) -> str:
    """``"3 open (exit)"``: the id, the name and, for a type with an enter/exit pair, its
    direction (``"322 pluginevent"`` for the others)."""
    label = f"{etype} {Event(0, 0, 0, 0, etype, 0, b'').name}"
    if etype < len(EVENTS):
        if _paired(etype, "enter", 1):
            return label + " (enter)"
        if _paired(etype, "exit", -1):
            return label + " (exit)"
    return label


def _damaged_report(exc) -> dict | None:
    return None if exc is None else {"offset": exc.offset, "error": exc.message}


def _first_fault(s: Summary) -> ScapError | None:
    """The first damaged event (it comes before any fault that stopped the walk), with
    the count of damaged events; else the walk's error."""
    exc = s.first_damaged
    if exc is None:
        return s.error
    if s.damaged > 1:
        exc.message += f" ({s.damaged} damaged events in all)"
    return exc


def _block_order(item) -> tuple:
    """Section header first, then metadata, then event blocks (file order, docs/format.md §2)."""
    btype = item[0]
    return btype != constants.BLOCK_SHB, btype in constants.EVENT_BLOCKS, btype


def _iso(ts) -> str:
    if ts is None:
        return "-"
    dt = datetime.fromtimestamp(ts // 1_000_000_000, timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ts % 1_000_000_000:09d}Z ({ts})"


def _order(report: dict) -> str:
    if report["time_ordered"]:
        return "yes"
    n = report["inversions"]
    return (f"no, {n} events earlier than the event before them" if n > 1
            else "no, 1 event earlier than the event before it")


def text_lines(report: dict) -> list[str]:
    """The human-readable form of a report."""
    first = report["first_damaged_event"]
    lines = [
        f"file:           {report['file']}",
        f"format version: {', '.join(report['format_version']) or '-'}"
        f" ({report['sections']} section(s))",
        f"byte order:     {', '.join(report['byte_order']) or '-'}",
        f"compression:    {report['compression']}",
        f"truncated:      {'yes' if report['truncated'] else 'no'}",
        f"damaged:        {report['damaged_events']} event(s), the first at offset "
        f"{first['offset']:#x}" if first else "damaged:        no"]
    machine = report["machine"]
    if machine:
        lines.append(f"machine:        {machine['hostname']}, {machine['num_cpus']} cpus, "
                     f"{machine['memory_size_bytes']} bytes memory")
    meta = report["metadata"]
    lines += ["metadata:       " + ", ".join(f"{v} {k}" for k, v in meta.items()),
              f"events:         {report['events']}",
              f"earliest event: {_iso(report['earliest_ts'])}",
              f"latest event:   {_iso(report['latest_ts'])}",
              f"time order:     {_order(report)}",
              "blocks:"]
    lines += [f"  {name:<14} {n}" for name, n in report["blocks"].items()]
    lines.append("events by type:")
    lines += [f"  {name:<24} {n}" for name, n in report["events_by_type"].items()]
    if report["events_by_plugin"]:
        lines.append("events by plugin id:")
        lines += [f"  {pid:<24} {n}" for pid, n in report["events_by_plugin"].items()]
    return lines
