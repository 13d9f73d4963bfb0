"""Filters of ``scap print``/``scap slice``: one condition for syscall and plugin events.

The condition is compiled by the rule engine (``scaptools.engine.compile_filter``)
once per event source: against the syscall field set for syscall events and
against the plugin source's field set for plugin events. A source whose fields
cannot express the condition selects none of its events (sysdig does the same
when a filter names fields a plugin does not provide).

Syscall events first pass an ``evt.type`` gate: the event types the condition
can hold for (the engine's index analysis, docs/rules-language.md §7), so events of
other types are refused with one set lookup. The returned function carries the
gate as ``match.types`` (event type ids; ``None`` = any) and ``match.names`` (the
``evt.type`` values) for callers that test the type themselves before calling it, and
the compiled condition of syscall events as ``match.syscall`` (``None`` when the
syscall fields cannot express it).

Plugin events are tested in the compiled core when it is active (docs/core.md, "Where
the core runs"): the filter is written as the one rule of a source plan by
``scaptools.engine.native`` and the core's verdict is used, the Python function
answering for the events (and the conditions) the core leaves to it. ``match.paths``
says, per plugin source, which path tests its events (``core``, ``python`` or
``None`` when the source cannot express the filter); ``match.filters`` gives each plugin
source's function (``None``: it selects nothing), with the core's ``Rules`` as its
``rules`` when the core tests it.
"""
from __future__ import annotations

from dataclasses import dataclass

from scaptools.errors import RuleError
from scaptools.events.render import GENERIC, SYSCALL_NAMES, event_type_name
from scaptools.events.table import EVENT_NAMES
from scaptools.fields.syscall import TYPE_NAMES, syscall_fieldset
from scaptools.format.layout import PLUGINEVENT



def compile_filter(text: str, registry=None):
    """``fn(event) -> bool``; raises ``RuleError`` when no event source accepts ``text``."""
    from scaptools.engine import compile_filter as engine_compile

    errors: list[RuleError] = []

    def build(fieldset):
        try:
            return engine_compile(text, fieldset)
        except RuleError as exc:
            errors.append(exc)
            return None

    syscall = build(syscall_fieldset())
    # every source is tried now, so that a filter no source accepts fails before reading
    plugin_filters: dict = {None: None}
    for source in (registry.sources()[1:] if registry is not None else ()):
        fieldset = registry.fieldset(source)
        plugin_filters[source] = in_core(text, source, fieldset, build(fieldset))

    def source_filter(event):
        if registry is None:  # no plugins: plugin events match nothing
            return None
        return plugin_filters.get(registry.source_of(event.plugin_id))

    if syscall is None and not any(plugin_filters.values()):
        raise errors[0]  # a syntax error reads the same for every source
    names = type_names(text) if syscall is not None else None
    types = None if names is None else gate_types(names)

    def match(event) -> bool:
        etype = event.type
        if etype == PLUGINEVENT:
            fn = source_filter(event)
            return fn is not None and fn(event)
        if syscall is None or (types is not None and etype not in types):
            return False
        if etype < 2 and names is not None and event_type_name(event) not in names:
            return False
        return syscall(event)

    match.types, match.names = types, names
    match.syscall = syscall  # the condition of syscall events (None: it has no meaning there)
    match.paths = {source: getattr(fn, "path", "python") if fn is not None else None
                   for source, fn in plugin_filters.items() if source is not None}
    match.filters = {s: fn for s, fn in plugin_filters.items() if s is not None}
    match.text, match.registry = text, registry
    return match


class NoOutput:
    """The output of the filter's rule: nothing to print."""

    parts = ()


@dataclass(frozen=True)
class FilterRule:
    """A filter as the one rule of a source plan (``scaptools.engine.native``)."""

    source: str
    tree: object
    name: str = "filter"
    priority_name: str = "Debug"
    tags: tuple = ()
    index_values: None = None
    output: object = NoOutput


def in_core(text: str, source: str, fieldset, python):
    """``python`` (the compiled filter of ``source``), or a function testing events in
    the core with ``python`` for the events the core hands back; ``python`` itself when
    the core is off or cannot evaluate the condition exactly as ``python`` does."""
    from scaptools.core import native
    core = native()
    if core is None or python is None:
        return python
    from scaptools.engine import parse_condition
    from scaptools.engine.engine import Groups
    from scaptools.engine.native import NativeRules
    from scaptools.fields.generic import hostname
    rule = FilterRule(source, parse_condition(text))
    made = NativeRules.build(core, source, [rule], Groups(None, {}, ((rule, False),)),
                             fieldset, True, hostname())
    if made is None or not made.core_rules:
        return python
    core_match = made.compiled.match_event

    def match(event) -> bool:
        got = core_match(event.raw, event.num)  # None: no match, False: Python decides
        return python(event) if got is False else got is not None

    match.path = "core"
    match.rules = made.compiled  # the core's rules (``core.Rules``): the print loop uses them
    return match


def type_names(text: str) -> frozenset | None:
    """The ``evt.type`` values a syscall event needs for ``text`` to hold (None: any)."""
    from scaptools.engine import parse_condition
    from scaptools.engine.condition.index import index_values
    try:
        return index_values(parse_condition(text), "evt.type", TYPE_NAMES)
    except Exception:  # no gate: every event is tested by the condition itself
        return None


def gate_types(names: frozenset) -> frozenset:
    """Event type ids whose ``evt.type`` can be one of ``names`` (generic events whenever
    ``names`` holds a syscall name; ids past the table are named ``unknown``)."""
    types = {t for t, name in enumerate(EVENT_NAMES) if t > 1 and name in names}
    if names & (frozenset(SYSCALL_NAMES.values()) | {"<unknown>", "syscall", "unknown"}):
        types.update(GENERIC)
    if "unknown" in names:
        types.update(range(len(EVENT_NAMES), 1 << 16))
    return frozenset(types)
