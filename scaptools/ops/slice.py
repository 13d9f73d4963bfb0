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

from typing import Callable

from scaptools.errors import OptionError
from scaptools.format.reader import open_capture
from scaptools.format.writer import event_block
from scaptools.ops.slice_core import cut_in_core
from scaptools.ops.slicing import CARRIED, KEEP, PAIRED, Output, empty_slice, parse_time
from scaptools.ops.timeorder import RunStore
from scaptools.state import State
from scaptools.state.dump import calls_in_progress, state_blocks

__all__ = ["cut", "event_filter", "parse_time"]


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
                        if item.type in CARRIED:
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
                    keep = inside and (selector is None or selector(item) or item.type in KEEP)
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


def _bounds(start, end, first_ts: int) -> tuple[int, int]:
    low = parse_time(start, first_ts) if start else 0
    high = parse_time(end, first_ts) if end else 1 << 64
    if high < low:
        raise OptionError(f"--end {end} is before --start {start}")
    return low, high


def _calls_returning(state) -> dict:
    """The enter events of the calls in progress that have an exit (not ``procexit``),
    by thread."""
    return {e.tid: e for e in calls_in_progress(state) if e.type in PAIRED}
