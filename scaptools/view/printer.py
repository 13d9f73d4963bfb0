"""``scap print``: one sysdig line per event of a capture.

The default line and ``-j`` objects are sysdig's (:mod:`.lines`); thread, fd and
user state is rebuilt while reading, so process names and fd names resolve as
in sysdig. A filter is a condition compiled by the rule engine (:mod:`.filtering`);
a format is a sysdig ``-p`` string (:mod:`.formatting`: ``%field``, a leading
``*`` prints lines whose fields are missing). With the compiled core, the whole loop
runs there when it can (:mod:`.incore`); the loop here is the reference.
"""
from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass

from scaptools.errors import FieldError, OptionError
from scaptools.events.render import event_type_name
from scaptools.fields.syscall import syscall_fieldset
from scaptools.format.layout import PLUGINEVENT
from scaptools.format.reader import open_capture
from scaptools.state import State, tracked_events
from scaptools.view.filtering import compile_filter
from scaptools.view.formatting import compile_format, format_fields
from scaptools.view.incore import Printed, print_in_core
from scaptools.view.lines import INTERNAL, STATE_ONLY, PluginText, default_line, json_line


@dataclass
class PrintOptions:
    """What to print: ``filter`` (a condition), ``fmt`` (a ``-p`` format), ``as_json``
    (sysdig's ``-j``), ``count`` (stop after event number N), ``show_internal`` (``-D``)."""

    filter: str = ""
    fmt: str | None = None
    as_json: bool = False
    count: int | None = None
    show_internal: bool = False


def installed_plugins():
    """A registry of the installed plugins, or None when none loads (plugin events
    then print as ``<NA>``)."""
    try:
        from scaptools.plugin.registry import Registry
        return Registry.from_entry_points()
    except Exception:  # no plugins installed
        return None


def print_capture(source, options: PrintOptions, *, path: str | None = None, registry=None,
                  write=None) -> Printed:
    """Print the events of ``source`` (a path or a binary file object) with ``write``
    (default: standard output), one line each. Returns which path printed
    (``Printed.path``: ``core`` or ``python``, see :mod:`.incore`).

    Raises RuleError/FieldError for a filter or format that no event source accepts
    (before reading), FormatError for a bad capture.
    """
    write = write or sys.stdout.write
    state = State()
    if options.as_json:
        state.buffer_limit = None  # sysdig -j prints buffers whole
    selector = compile_filter(options.filter, registry) if options.filter else None
    render = renderer(options.fmt, options.as_json, registry, state)
    hidden = STATE_ONLY if options.show_internal else INTERNAL | STATE_ONLY
    done = print_in_core(source, path, options, registry, selector, render, hidden, write)
    if done.path == "core":
        return done
    if done.lines or done.warnings:  # the core stopped: the rest is printed from the start
        write = after_lines(write, done.lines)
    with warnings.catch_warnings():
        for message in done.warnings:  # shown already
            warnings.filterwarnings("ignore", re.escape(message))
        print_python(source, path, options, state, selector, render, hidden, write)
    return done


def print_python(source, path, options, state, selector, render, hidden, write) -> None:
    """The Python path of ``print_capture`` (the reference)."""
    gate = getattr(selector, "types", None)
    # without a count, events the filter's evt.type gate refuses are not even handed over
    only = (gate | {PLUGINEVENT}) - hidden if gate is not None and options.count is None \
        else None
    with open_capture(source, path=path) as reader:
        events = tracked_events(reader, state, only=only)
        print_events(events, state, selector, render, hidden, options.count, write)


def after_lines(write, skip: int):
    """``write`` for the lines after the first ``skip`` (one line per call)."""
    left = [skip]

    def skipping(line: str) -> None:
        if left[0]:
            left[0] -= 1
            return
        write(line)
    return skipping


def print_events(events, state, selector, render, hidden, count, write) -> None:
    """Write ``render(event)`` for the events to show (not ``hidden``, accepted by
    ``selector``), up to event number ``count``."""
    if count is not None:
        events = _up_to(events, count)
    # the filter's evt.type gate: other syscall types are refused without calling it
    gate = getattr(selector, "types", None)
    names = getattr(selector, "names", None)
    if gate is not None:
        shown = (gate | {PLUGINEVENT}) - hidden
    for event in events:
        etype = event.type
        if gate is not None:
            if etype not in shown:
                continue
            if etype < 2 and names is not None and event_type_name(event) not in names:
                continue  # a generic event of another syscall
        elif etype in hidden:
            continue
        if selector is not None and not selector(event):
            continue
        line = render(event)
        if line is not None:
            write(line + "\n")
            state.last_shown_ts = event.ts


def _up_to(events, count: int):
    """The events numbered up to ``count``; stops reading at the next one."""
    for event in events:
        if event.num > count:
            return
        yield event


def renderer(fmt, as_json: bool, registry, state):
    """``fn(event) -> line | None``: the ``-p`` format, else sysdig's JSON or text line."""
    if fmt:
        return format_renderer(fmt, registry, as_json)
    plugins = PluginText(registry)
    if as_json:
        return lambda event: json_line(event, state, plugins)
    return lambda event: default_line(event, state, plugins)


def format_renderer(fmt: str, registry, as_json: bool = False):
    """Compile FORMAT per event source; an error only if no source knows its fields."""
    errors = []

    def build(fieldset):
        try:
            return compile_format(fmt, fieldset, as_json)
        except FieldError as exc:
            errors.append(exc)
            return None

    syscall_fields = syscall_fieldset()
    syscall = build(syscall_fields)
    plugin_fns: dict = {}
    sources = registry.sources()[1:] if registry is not None else []
    for source in sources:
        plugin_fns[source] = build(registry.fieldset(source))
    if syscall is None and not any(plugin_fns.values()):
        fieldsets = {"syscall": syscall_fields}
        fieldsets.update((source, registry.fieldset(source)) for source in sources)
        raise format_error(fmt, fieldsets, errors[0])

    def render(event):
        if not event.is_plugin:
            return syscall(event) if syscall is not None else None
        source = registry.source_of(event.plugin_id) if registry is not None else None
        fn = plugin_fns.get(source)
        return fn(event) if fn is not None else None
    return render


def format_error(fmt: str, fieldsets: dict, first: FieldError) -> OptionError:
    """Why no event source can print ``fmt``: a field that none of ``fieldsets`` (source
    -> FieldSet) knows, else fields of different sources, else ``first``'s reason."""
    known = {name: [source for source, fs in fieldsets.items() if fs.lookup(name)]
             for name in format_fields(fmt)}
    unknown = [name for name, where in known.items() if not where]
    if unknown:
        return OptionError(f"-p format: unknown field %{unknown[0]} (no loaded event source "
                           f"has it: {', '.join(fieldsets)})")
    common = set(fieldsets).intersection(*known.values())
    if not common:
        parts = ", ".join(f"%{name} ({'/'.join(where)})" for name, where in known.items())
        return OptionError(f"-p format: no event source has all of its fields: {parts}")
    return OptionError(f"-p format: {first.message}")
