"""Cut a capture by time and filter, keeping its state (``scap slice``).

The slice starts with process, fd and user lists that describe the state at its
first event (built from the events before it), so fields such as ``proc.name``
or ``fd.name`` of the kept events keep their values. With a filter, events that
change state (clone, execve, open, close, ...) inside the range are kept even if
they do not match, for the same reason. Times: ns since the epoch, seconds with a
fraction, ISO 8601 (``2018-08-17T17:35:48.5Z``) or ``+N[s|ms|us|ns]`` after the
first event. The enter events of calls in progress at the start are written first
(with their earlier timestamps), so the exits that follow keep their fd fields.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

from scaptools.errors import OptionError
from scaptools.events.table import EVENTS
from scaptools.format import constants
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.state import State
from scaptools.state.dump import calls_in_progress, state_blocks

_KEEP = frozenset(e["id"] for e in EVENTS if {"EF_MODIFIES_STATE", "EF_CREATES_FD",
                                              "EF_DESTROYS_FD"} & set(e["flags"]))
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
        selector: Callable | None = None, compress: bool = False) -> int:
    """Write the events of ``path`` from ``start`` to ``end`` (times as in the module
    doc) that ``selector(event)`` accepts, or that change state, to ``out``.

    Returns the number of events written. Raises OptionError for a time that
    cannot be read and ScapError for a bad capture.
    """
    state = State()
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
