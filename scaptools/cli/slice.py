"""``scap slice FILE -w OUT [--start T] [--end T] [FILTER]``: cut a capture, keeping its state.

The slice starts with process, fd and user lists that describe the state at its
first event (built from the events before it), so fields such as ``proc.name``
or ``fd.name`` of the kept events keep their values. With a FILTER, events that
change state (clone, execve, open, close, ...) inside the range are kept even if
they do not match, for the same reason. Times: ns since the epoch, seconds with a
fraction, ISO 8601 (``2018-08-17T17:35:48.5Z``) or ``+N[s|ms|us|ns]`` after the
first event. The enter events of calls in progress at the start are written first
(with their earlier timestamps), so the exits that follow keep their fd fields.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import click

from ..events.table import EVENTS
from ..format.reader import open_capture
from ..format.writer import CaptureWriter
from ..state import State, set_current_state
from ..state.dump import calls_in_progress, state_blocks

_KEEP = frozenset(e["id"] for e in EVENTS if {"EF_MODIFIES_STATE", "EF_CREATES_FD",
                                              "EF_DESTROYS_FD"} & set(e["flags"]))
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "": 10**9}
_CARRIED = frozenset((0x201, 0x8002ABCD, 0x205, 0x8011ABCD, 0x219))  # machine, interfaces


def parse_time(text: str, first_ts: int) -> int:
    """A time option as ns since the epoch (see the module doc)."""
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
        raise click.BadParameter(f"not a time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000


@click.command("slice", short_help="Cut a capture by time and filter, keeping its state.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]")
@click.option("-w", "out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@click.option("--start", help="First time to keep: ns since the epoch, seconds, ISO 8601 "
                               "or +N[s|ms|us|ns] after the first event.")
@click.option("--end", help="Last time to keep (same forms as --start).")
@click.option("-z", "compress", is_flag=True, help="gzip the output.")
def slice_command(file, filter_words, out, start, end, compress):
    """Write the events of FILE between START and END (and matching FILTER) to OUT."""
    selector = None
    if filter_words:
        from ..fields.filtering import compile_filter
        from .print_ import _registry
        selector = compile_filter(" ".join(filter_words), _registry())
    written = cut(file, out, start, end, selector, compress)
    click.echo(f"{written} events written to {out}", err=True)


def cut(path, out, start, end, selector=None, compress=False) -> int:
    """The slice itself; returns the number of events written."""
    state = State()
    set_current_state(state)
    carried, writer, bounds = [], None, None
    try:
        with open_capture(path) as reader:
            for _offset, item in reader.blocks():
                if not hasattr(item, "ts"):
                    state.seed(item)
                    if item.type in _CARRIED:
                        carried.append(item)
                    continue
                if bounds is None:
                    bounds = (parse_time(start, item.ts) if start else 0,
                              parse_time(end, item.ts) if end else 1 << 64)
                inside = bounds[0] <= item.ts <= bounds[1]
                if inside and writer is None:
                    writer = CaptureWriter(out, gzip=compress,
                                           metadata=carried + state_blocks(state))
                    for enter in calls_in_progress(state):  # so their exits keep fd fields
                        writer.write(enter)
                if not item.is_plugin:
                    state.update(item)
                if inside and (selector is None or selector(item) or item.type in _KEEP):
                    writer.write(item)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        with CaptureWriter(out, gzip=compress, metadata=carried + state_blocks(state)):
            pass
        return 0
    return writer.events_written
