"""``scap print`` in the compiled core (docs/core.md, "Where the core runs").

When the core is active, the capture is a file path and every field of the filter and
of the format is one the core computes, the whole event loop runs there
(``scaptools._core.Print``): the walk, the syscall state, the filter and the lines.
Python writes the finished text, and filters and renders the plugin events with its
plugins (they have no syscall state). The plan handed to the core is written here:
the filter's ``evt.type`` gate and condition (in the plain form of
``scaptools.engine.native``), the events hidden, ``-n``, and the format's tokens.

The Python path stays the reference. Whatever the core cannot do exactly as it does is
left to it: before reading (a field the core lacks, a file object) the Python path
prints everything; during the loop (a damaged event, a value the core does not format)
the core stops and the Python path prints the capture again, writing only what comes
after the lines already written.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field

from scaptools.engine.native import PLAIN_TAGS, FieldTable, Unsupported, condition
from scaptools.core.walk import CLASSES
from scaptools.errors import DamagedEvent, FieldError
from scaptools.fields.generic import PAD9, TIME_STRING, hostname
from scaptools.fields.syscall import syscall_fieldset
from scaptools.view.formatting import TOKEN, compile_format

BATCH = 4096  # lines per call into the core
# the field types whose text a JSON object writes as the integer it spells (formatting)
INT_TYPES = ("uint64", "int64", "port", "reltime", "abstime")
# the field types whose Python values the core does not write as Python does
PYTHON_TYPES = ("bytebuf", "double")


@dataclass
class Printed:
    """Which path printed: ``path`` is ``core`` or ``python``; ``reason`` says why the
    Python path printed (all of it, or from line ``lines`` on)."""

    path: str
    reason: str | None = None
    lines: int = 0
    warnings: list = field(default_factory=list)


def print_in_core(source, path, options, registry, selector, render, hidden,
                  write) -> Printed:
    """Print with the core; a ``Printed`` whose ``path`` is ``python`` when the Python
    path must print (everything when ``lines`` is 0, else what comes after them)."""
    from scaptools.core import native
    core = native()
    if core is None or not hasattr(core, "Print"):
        return Printed("python", "the compiled core is off")
    if not isinstance(source, (str, os.PathLike)):
        return Printed("python", "the capture is not a file path")
    try:
        plan, rules = make_plan(core, options, registry, selector, hidden)
    except Unsupported as exc:
        return Printed("python", str(exc))
    name = path or os.fspath(source)
    try:
        run = core.Print(os.fspath(source), name, json.dumps(plan), rules, CLASSES)
    except ValueError as exc:
        return Printed("python", str(exc))
    return _loop(run, name, selector, render, write)


def make_plan(core, options, registry, selector, hidden) -> tuple[dict, list]:
    """The core's plan of this print (``core/src/print/plan.rs``) and the ``Rules`` of its
    plugin routes; ``Unsupported`` when the core cannot print it as Python does."""
    plan = {"hidden": sorted(hidden), "count": options.count, "hostname": hostname(),
            "filter": {"fields": [], "cond": None, "types": None, "names": None}}
    if selector is not None:
        plan["filter"] = filter_plan(core, options.filter, selector)
    plan["plugins"], rules = plugin_routes(registry, selector)
    plan["render"] = _render(core, options)
    return plan, rules


def plugin_routes(registry, selector) -> tuple[dict, list]:
    """Where the plugin events of each plugin id go: ``skip`` (the filter selects none of
    them), ``python`` (Python filters and renders them) or ``core`` (the core's rules of
    the filter test them, Python renders those selected)."""
    if selector is None:
        return {"default": "python", "ids": []}, []
    ids, rules = [], []
    for pid in (registry.by_id if registry is not None else {}):
        fn = selector.filters.get(registry.source_of(pid))
        if fn is None:
            ids.append([pid, "skip", None])
        elif getattr(fn, "rules", None) is not None:
            ids.append([pid, "core", len(rules)])
            rules.append(fn.rules)
        else:
            ids.append([pid, "python", None])
    # an id without a plugin has no source: no filter selects its events
    return {"default": "skip", "ids": ids}, rules


def filter_plan(core, text: str, selector) -> dict:
    """The filter part of a plan: the fields, the condition and the ``evt.type`` gate."""
    if selector.syscall is None:  # no syscall event can match
        return {"fields": [], "cond": "never", "types": None, "names": None}
    from scaptools.engine import parse_condition
    table = FieldTable(syscall_fieldset(), core)
    cond = condition(parse_condition(text), table)
    types, names = selector.types, selector.names
    return {"fields": table.rows, "cond": cond,
            "types": None if types is None else sorted(types),
            "names": None if names is None else sorted(names)}


def _render(core, options) -> dict:
    if not options.fmt:
        return {"kind": "json" if options.as_json else "line"}
    fieldset = syscall_fieldset()
    try:
        compile_format(options.fmt, fieldset, options.as_json)
    except FieldError:  # syscall events print nothing (the format is a plugin's)
        return {"kind": "none"}
    keep_all = options.fmt.startswith("*")
    text = options.fmt[1:] if keep_all else options.fmt
    rows, parts, pos = [], [], 0
    for m in TOKEN.finditer(text):
        parts.append(text[pos:m.start()])
        name, arg = m.group(1), (m.group(2)[1:-1] if m.group(2) else None)
        info = fieldset.lookup(name)
        if info.name != name:  # dotted argument form: evt.arg.fd
            name, arg = info.name, name[len(info.name) + 1:]
        _check_format_field(core, info, name, arg)
        ints = info.type in INT_TYPES
        parts.append([len(rows), PAD9 in info.tags, TIME_STRING in info.tags, ints,
                      m.group(0)[1:]])
        rows.append([name, arg])
        pos = m.end()
    parts.append(text[pos:])
    return {"kind": "format", "json": options.as_json, "keep_all": keep_all, "fields": rows,
            "parts": [p for p in parts if p != ""]}


def _check_format_field(core, info, name: str, arg) -> None:
    if info.type in PYTHON_TYPES:
        raise Unsupported(f"field {name} has type {info.type}")
    if any(tag not in PLAIN_TAGS for tag in info.tags):
        raise Unsupported(f"field {name} is tagged {', '.join(info.tags)}")
    why = core.SysFields([(name, arg)], "").unknown[0]
    if why is not None:
        raise Unsupported(f"field {name}: the core has no such field ({why})")


def _loop(run, name: str, selector, render, write) -> Printed:
    done = Printed("core")
    while True:
        text, lines, plugins, shown_warnings, stop = run.step(BATCH)
        for message in shown_warnings:
            warnings.warn(message, stacklevel=3)
            done.warnings.append(message)
        at = 0
        for where, event, selected in plugins:
            if where > at:
                write(text[at:where])
                at = where
            done.lines += _plugin_event(event, name, None if selected else selector, render,
                                        write)
        if at < len(text):
            write(text[at:])
        done.lines += lines
        if stop is None:
            continue
        if stop[0] == "end":
            return done
        if stop[0] == "error":
            raise stop[1]
        done.path, done.reason = "python", stop[1]
        return done


def _plugin_event(event, name: str, selector, render, write) -> int:
    """Filter (unless ``selector`` is None) and render one plugin event in Python; the
    number of lines written."""
    try:
        if selector is not None and not selector(event):
            return 0
        line = render(event)
    except DamagedEvent as exc:
        if exc.path == "<stream>":  # as the reader names the capture (reader.__exit__)
            exc.path = name
            exc.args = (str(exc),)
        raise
    if line is None:
        return 0
    write(line + "\n")
    return 1
