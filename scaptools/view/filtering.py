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
``evt.type`` values) for callers that test the type themselves before calling it.
"""
from __future__ import annotations

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
        plugin_filters[source] = build(registry.fieldset(source))

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
