"""Filters of ``scap print``/``scap slice``: one condition for syscall and plugin events.

The condition is compiled by the rule engine (``scaptools.engine.compile_filter``)
once per event source: against the syscall field set for syscall events and
against the plugin source's field set for plugin events. A source whose fields
cannot express the condition selects none of its events (sysdig does the same
when a filter names fields a plugin does not provide).
"""
from __future__ import annotations

from ..errors import RuleError
from .syscall import syscall_fieldset


def compile_filter(text: str, registry=None):
    """``fn(event) -> bool``; raises ``RuleError`` when no event source accepts ``text``."""
    from ..engine import compile_filter as engine_compile

    errors: list[RuleError] = []

    def build(fieldset):
        try:
            return engine_compile(text, fieldset)
        except RuleError as exc:
            errors.append(exc)
            return None

    syscall = build(syscall_fieldset())
    plugin_filters: dict = {}

    def source_filter(event):
        source = registry.source_of(event.plugin_id) if registry is not None else None
        if source not in plugin_filters:
            fs = registry.fieldset(source) if source is not None else None
            plugin_filters[source] = build(fs) if fs is not None else None
        return plugin_filters[source]

    def match(event) -> bool:
        fn = source_filter(event) if event.is_plugin else syscall
        return fn is not None and fn(event)

    if syscall is None and (registry is None or not registry.sources()[1:]):
        raise errors[0]
    return match
