"""``scap print FILE [FILTER] [-p FORMAT] [-j] [-n N] [-D]``: one line per event.

The default line and ``-j`` objects are sysdig's (see ``scaptools.events.lines``);
thread, fd and user state is rebuilt while reading, so process names and fd
names resolve as in sysdig. FILTER is a condition compiled by the rule engine;
``-p`` takes a sysdig format string (``%field``, leading ``*`` = print lines
whose fields are missing).
"""
from __future__ import annotations

import sys

import click

from ..events.event import PLUGINEVENT
from ..events.lines import INTERNAL, STATE_ONLY, PluginText, default_line, json_line
from ..events.render import event_type_name
from ..format.reader import open_capture
from ..state import State, tracked_events


def _registry():
    try:
        from scaptools.plugin.registry import Registry
        return Registry.from_entry_points()
    except Exception:  # no plugins installed: plugin events print as <NA>
        return None


@click.command("print", short_help="Print the events of a capture, sysdig-style.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_words", nargs=-1, metavar="[FILTER]")
@click.option("-p", "fmt", help="sysdig format string, e.g. '%evt.num %proc.name'.")
@click.option("-j", "as_json", is_flag=True, help="JSON lines, like sysdig -j.")
@click.option("-n", "count", type=click.IntRange(min=0), help="Stop after N events.")
@click.option("-D", "show_internal", is_flag=True, help="Also print internal events.")
def print_command(file, filter_words, fmt, as_json, count, show_internal):
    """Print one line per event of FILE, optionally only those matching FILTER.

    FILTER is a Falco/sysdig condition, e.g. "evt.type=open and fd.name contains /etc".
    """
    registry = _registry()
    state = State()
    if as_json:
        state.buffer_limit = None  # sysdig -j prints buffers whole
    selector = _selector(" ".join(filter_words), registry) if filter_words else None
    render = _renderer(fmt, as_json, registry, state)
    hidden = STATE_ONLY if show_internal else INTERNAL | STATE_ONLY
    source = sys.stdin.buffer if file == "-" else file
    gate = getattr(selector, "types", None)
    # without -n, events the filter's evt.type gate refuses are not even handed over
    only = (gate | {PLUGINEVENT}) - hidden if gate is not None and count is None else None
    with open_capture(source, path="<stdin>" if file == "-" else None) as reader:
        events = tracked_events(reader, state, only=only)
        _print_events(events, state, selector, render, hidden, count)


def _print_events(events, state, selector, render, hidden, count) -> None:
    """Write ``render(event)`` for the events to show (not ``hidden``, accepted by
    ``selector``), up to event number ``count``."""
    if count is not None:
        events = _up_to(events, count)
    # the filter's evt.type gate: other syscall types are refused without calling it
    gate = getattr(selector, "types", None)
    names = getattr(selector, "names", None)
    if gate is not None:
        shown = (gate | {PLUGINEVENT}) - hidden
    write = sys.stdout.write
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


def _renderer(fmt, as_json: bool, registry, state):
    """``fn(event) -> line | None``: the ``-p`` format, else sysdig's JSON or text line."""
    if fmt:
        return _formatter(fmt, registry, as_json)
    plugins = PluginText(registry)
    if as_json:
        return lambda event: json_line(event, state, plugins)
    return lambda event: default_line(event, state, plugins)


def _selector(text: str, registry):
    from ..fields.filtering import compile_filter
    return compile_filter(text, registry)


def _formatter(fmt: str, registry, as_json: bool = False):
    """Compile FORMAT per event source; an error only if no source knows its fields."""
    from ..errors import FieldError
    from ..fields.formatting import compile_format
    from ..fields.syscall import syscall_fieldset
    errors = []

    def build(fieldset):
        try:
            return compile_format(fmt, fieldset, as_json)
        except FieldError as exc:
            errors.append(exc)
            return None

    syscall = build(syscall_fieldset())
    plugin_fns: dict = {}
    sources = registry.sources()[1:] if registry is not None else []
    for source in sources:
        plugin_fns[source] = build(registry.fieldset(source))
    if syscall is None and not any(plugin_fns.values()):
        raise errors[0]

    def render(event):
        if not event.is_plugin:
            return syscall(event) if syscall is not None else None
        source = registry.source_of(event.plugin_id) if registry is not None else None
        fn = plugin_fns.get(source)
        return fn(event) if fn is not None else None
    return render
