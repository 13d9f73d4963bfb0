"""``scap info FILE [--json]``: what a capture holds, without printing its events.

Format version, byte order, compression, blocks by type, machine info, process /
fd / user counts, events by type and by plugin id, first and last timestamp,
whether the file is truncated, and the events whose parameter lengths run past
their end (damaged events are counted and read past, as capinfos reads past a
bad packet). A truncated, corrupt or damaged file is reported as far as it could
be read, then one line on stderr names the file and the offset of its first
fault (exit code 1).
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime, timezone

import click

from ..errors import ScapError
from ..events.event import Event, damaged_error, params_fit
from ..format import constants as C
from ..format.blocks import Block
from ..format.reader import open_capture


class Summary:
    """Counters filled while walking the blocks of one capture."""

    def __init__(self, path: str = "<stream>"):
        self.path = path
        self.events = Counter()       # event type -> count
        self.plugins = Counter()      # plugin id -> count
        self.first_ts = self.last_ts = None
        self.machine = None
        self.lists = Counter()        # processes, fds, interfaces, users, groups
        self.error = None
        self.damaged = 0              # events whose parameters run past their end
        self.first_damaged = None     # the DamagedEvent of the first one

    def add_events(self, items) -> None:
        """Count the events of ``(offset, item)`` pairs; hand blocks to :meth:`add_block`."""
        events, plugins = self.events, self.plugins
        for _, item in items:
            if isinstance(item, Block):
                self.add_block(item)
                continue
            events[item.type] += 1
            if not params_fit(item):
                self.add_damaged(item)
            elif item.type == 322:
                plugins[item.plugin_id] += 1
            if self.first_ts is None:
                self.first_ts = item.ts
            self.last_ts = item.ts

    def add_damaged(self, event) -> None:
        self.damaged += 1
        if self.first_damaged is None:
            self.first_damaged = damaged_error(event, self.path)

    def add_block(self, blk: Block) -> None:
        if not blk.known or blk.type == C.BLOCK_SHB:
            return
        body = blk.parsed
        if blk.type in C.MI_BLOCKS:
            self.machine = {
                "hostname": body.hostname.rstrip(b"\0").decode("utf-8", "replace"),
                "num_cpus": body.num_cpus, "memory_size_bytes": body.memory_size_bytes,
                "max_pid": body.max_pid, "boot_ts_epoch": body.boot_ts_epoch}
        elif blk.type in C.PL_VERSIONS:
            self.lists["processes"] += len(body.entries)
        elif blk.type in C.FDL_BLOCKS:
            self.lists["fds"] += len(body.list.entries)
        elif blk.type in C.IL_BLOCKS:
            self.lists["interfaces"] += len(body.entries)
        elif blk.type in C.UL_BLOCKS:
            for entry in body.entries:
                kind = entry.entry.kind if "entry" in entry else entry.kind
                self.lists["users" if kind == 0 else "groups"] += 1


def summarize(path: str) -> dict:
    """Walk a capture and return its summary as a JSON-ready dict."""
    reader = open_capture(sys.stdin.buffer if path == "-" else path,
                          path="<stdin>" if path == "-" else None)
    summary = Summary(reader.path)
    with reader:
        try:
            summary.add_events(reader.blocks())
        except ScapError as exc:
            summary.error = exc
    return _report(reader, summary)


def _report(reader, s: Summary) -> dict:
    sections = reader.sections
    return {
        "file": reader.path,
        "format_version": sorted({sec.version for sec in sections}),
        "byte_order": sorted({sec.byte_order for sec in sections}),
        "compression": reader.compression,
        "sections": len(sections),
        "blocks": {C.BLOCK_NAMES.get(t, f"{t:#x}"): n
                   for t, n in sorted(reader.block_counts.items(), key=_block_order) if n},
        "machine": s.machine,
        "metadata": {k: s.lists.get(k, 0)
                     for k in ("processes", "fds", "interfaces", "users", "groups")},
        "events": sum(s.events.values()),
        "events_by_type": {f"{t} {Event(0, 0, 0, 0, t, 0, b'').name}": n
                           for t, n in sorted(s.events.items())},
        "events_by_plugin": {str(pid): n for pid, n in sorted(s.plugins.items(),
                                                              key=lambda kv: kv[0] or 0)},
        "first_ts": s.first_ts,
        "last_ts": s.last_ts,
        "truncated": reader.truncated,
        "damaged_events": s.damaged,
        "first_damaged_event": _damaged_report(s.first_damaged),
        "error": str(s.error) if s.error else None,
        "_exc": _first_fault(s),
    }


def _damaged_report(exc) -> dict | None:
    return None if exc is None else {"offset": exc.offset, "error": exc.message}


def _first_fault(s: Summary):
    """The error for stderr: the first damaged event (it comes before any fault that
    stopped the walk), with the count of damaged events; else the walk's error."""
    exc = s.first_damaged
    if exc is None:
        return s.error
    if s.damaged > 1:
        exc.message += f" ({s.damaged} damaged events in all)"
    return exc


def _block_order(item) -> tuple:
    """Section header first, then metadata, then event blocks (file order, docs/format.md §2)."""
    btype = item[0]
    return btype != C.BLOCK_SHB, btype in C.EVENT_BLOCKS, btype


def _iso(ts) -> str:
    if ts is None:
        return "-"
    dt = datetime.fromtimestamp(ts // 1_000_000_000, timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ts % 1_000_000_000:09d}Z ({ts})"


def print_text(report: dict) -> None:
    """The human-readable form of a report."""
    line = click.echo
    line(f"file:           {report['file']}")
    line(f"format version: {', '.join(report['format_version']) or '-'}"
         f" ({report['sections']} section(s))")
    line(f"byte order:     {', '.join(report['byte_order']) or '-'}")
    line(f"compression:    {report['compression']}")
    line(f"truncated:      {'yes' if report['truncated'] else 'no'}")
    first = report["first_damaged_event"]
    line(f"damaged:        {report['damaged_events']} event(s), the first at offset "
         f"{first['offset']:#x}" if first else "damaged:        no")
    machine = report["machine"]
    if machine:
        line(f"machine:        {machine['hostname']}, {machine['num_cpus']} cpus, "
             f"{machine['memory_size_bytes']} bytes memory")
    meta = report["metadata"]
    line("metadata:       " + ", ".join(f"{v} {k}" for k, v in meta.items()))
    line(f"events:         {report['events']}")
    line(f"first event:    {_iso(report['first_ts'])}")
    line(f"last event:     {_iso(report['last_ts'])}")
    line("blocks:")
    for name, n in report["blocks"].items():
        line(f"  {name:<14} {n}")
    line("events by type:")
    for name, n in report["events_by_type"].items():
        line(f"  {name:<24} {n}")
    if report["events_by_plugin"]:
        line("events by plugin id:")
        for pid, n in report["events_by_plugin"].items():
            line(f"  {pid:<24} {n}")


@click.command("info", short_help="Summarize a capture: versions, blocks, events, time span.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def info_command(file, as_json):
    """Show format version, byte order, compression, block and event counts of FILE.

    A damaged capture is summarized as far as it can be read: a block cut short or
    malformed ends the walk, and events whose parameter lengths run past their end
    are counted ("damaged") and read past. Then one line on stderr names the file
    and the byte offset of the first fault, and the exit code is 1.
    """
    report = summarize(file)
    exc = report.pop("_exc")
    if exc is not None and not report["blocks"]:
        raise exc  # not a capture at all: nothing to summarize
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        print_text(report)
    if exc is not None:
        raise exc
