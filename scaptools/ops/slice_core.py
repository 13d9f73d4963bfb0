"""``scap slice`` in the compiled core (docs/core.md, "Where the core runs").

When the core is active and the capture and the output are file paths, the core walks
the capture, keeps the syscall state, writes the state at the slice's start as lists
(``core/src/state/dump.rs``), applies the filter and frames the events to keep
(``scaptools._core.Slice``); Python writes them with the same ``Output`` as the Python
path. The plan handed to the core is the print plan's filter and plugin routes
(``scaptools.view.incore``) with the event types a slice keeps whatever the filter.

The Python path (``slice.cut``) stays the reference (both loops share ``slicing.py``).
It cuts when the core cannot do exactly as it does: before reading (a filter field the
core lacks, a plugin source whose filter only Python evaluates, a time the core cannot
hold), and during the loop (a damaged event the state or the filter reads, an event
Python would refuse to write): then what the core wrote is removed and the Python path
cuts the capture.
"""
from __future__ import annotations

import json
import os
import warnings

from scaptools.core import native
from scaptools.core.walk import CLASSES
from scaptools.engine.native import Unsupported
from scaptools.errors import OptionError
from scaptools.fields.generic import hostname
from scaptools.format.blocks import Block
from scaptools.ops.slicing import CARRIED, KEEP, PAIRED, Output, empty_slice, parse_time
from scaptools.ops.timeorder import RunStore

_EDGE_MAX = 1 << 127  # a time the core holds (u128)


def cut_in_core(path, out, start, end, selector, compress: bool, allow_empty: bool):
    """Cut with the core as ``slice.cut`` does and return the events written; ``None``
    when the Python path must cut (nothing is left written then)."""
    core = native()
    paths = (str, os.PathLike)
    if core is None or not hasattr(core, "Slice") or not isinstance(path, paths) \
            or not isinstance(out, paths):
        return None
    try:
        low, high = _edge(start, 0), _edge(end, 1 << 64)
        plan, rules = _plan(core, selector)
    except (OptionError, Unsupported):  # a bad time is refused at the first event, if any
        return None
    plan["slice"] = {"keep": sorted(KEEP), "paired": sorted(PAIRED),
                     "carried": sorted(CARRIED), "filtered": selector is not None}
    name = os.fspath(path)
    try:
        run = core.Slice(name, name, json.dumps(plan), rules, CLASSES, low, high)
    except ValueError:
        return None
    return _loop(run, name, out, (start, end), selector, compress, allow_empty)


def _edge(text, default: int) -> tuple[bool, int]:
    """``(after_first, ns)`` of a time of the module doc of ``slice``."""
    if not text:
        return False, default
    after = text.strip().startswith("+")
    ns = parse_time(text, 0)
    if not 0 <= ns < _EDGE_MAX:  # before the epoch, or past what the core holds
        raise OptionError(f"time out of range: {text!r}")
    return after, ns


def _plan(core, selector) -> tuple[dict, list]:
    from scaptools.view.incore import filter_plan, plugin_routes
    plan = {"hidden": [], "count": None, "hostname": hostname(), "render": {"kind": "none"},
            "filter": {"fields": [], "cond": None, "types": None, "names": None}}
    if selector is None:
        plan["plugins"], rules = {"default": "skip", "ids": []}, []
        return plan, rules
    if not hasattr(selector, "registry"):
        raise Unsupported("the selector is not a compiled filter")
    plan["filter"] = filter_plan(core, selector.text, selector)
    plan["plugins"], rules = plugin_routes(selector.registry, selector)
    if any(route == "python" for _pid, route, _n in plan["plugins"]["ids"]):
        raise Unsupported("a plugin source's filter is evaluated by Python")
    return plan, rules


def _blocks(items) -> list[Block]:
    return [Block(btype, body, ">" if big else "<") for btype, body, big in items]


def _loop(run, name, out, times, selector, compress, allow_empty):
    output, notes_seen = None, []
    with RunStore() as store:
        try:
            while True:
                start, blocks, count, carried, waiting, notes, stop = run.step()
                notes_seen += notes  # shown when the core's slice stands
                if start is not None:
                    output = Output(out, compress, _blocks(start), store)
                if output is not None:
                    for ts, block in carried:
                        output.carry(ts, block)
                    if not waiting:
                        output.release()
                    output.waiting = waiting
                    if count:
                        output.put(blocks, count)
                if stop is None:
                    continue
                if stop[0] != "python":
                    for note in notes_seen:
                        warnings.warn(note, stacklevel=3)
                if stop[0] == "error":
                    raise stop[1]
                if stop[0] == "window":
                    raise OptionError(f"--end {times[1]} is before --start {times[0]}")
                if stop[0] == "python":
                    if output is not None and output.writer is not None:
                        output.close()
                        os.remove(out)
                    output = None
                    return None
                break  # the end
        finally:
            if output is not None:
                output.close()
    if output is not None and output.kept:
        return output.writer.events_written
    return empty_slice(name, out, _blocks(stop[1]), selector, compress, allow_empty)

