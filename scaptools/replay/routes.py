"""Where replayed events go: one match function per event source, built once.

A plugin event's route is found once per plugin id (its source is the loaded
plugin's event source, docs/plugin-api.md §2.9) and counts the events it took.
``native_routes`` gives the same routes to the compiled replay loop, and says whether
the ``syscall`` source runs there too (``syscall_rules``: only when every selected
syscall rule runs in the core, since the thread state lives in one place).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(slots=True)
class Route:
    """The event source of a plugin id, its match function, the events routed so far."""

    source: str
    match: Callable
    events: int = 0


def router(engine) -> Callable[[str], Callable]:
    """``source -> fn(event) -> alerts``, one function per source, built once.

    Uses ``engine.matcher`` (the lookups of ``Engine.process`` done once per source)
    when the engine has it, else ``engine.process``."""
    matcher, cache = getattr(engine, "matcher", None), {}

    def route_of(source: str):
        fn = cache.get(source)
        if fn is None:
            if matcher is not None:
                fn = matcher(source)
            else:
                fn = lambda ev, _process=engine.process, _src=source: _process(ev, _src)  # noqa: E731
            cache[source] = fn
        return fn
    return route_of


@dataclass
class NativeRoutes:
    """Where the compiled replay loop sends each plugin id's events: the sources
    whose rules run in the core (``sources``, their ``NativeRules``), and a count slot
    per source (``slots``, source names)."""

    sources: list
    routes: dict  # plugin id -> ("core", source, slot) | ("python", 0, 0) | ("count", 0, slot)
    slots: list
    syscall: int | None = None  # the number of the syscall source in ``sources``
    kept: dict = field(default_factory=dict)  # syscall rule -> why it needs Python


def native_routes(engine, registry, syscall=None) -> NativeRoutes | None:
    """The routes of every loaded source plugin, or ``None`` when no source's rules run
    in the core (the Python loop is then the whole replay). ``syscall``: the syscall
    source's ``NativeRules`` when it runs in the core."""
    native = getattr(engine, "native", None) or {}
    if not native and syscall is None:
        return None
    with_rules = {r.source for r in engine.rules}
    sources, routes, slots = [], {}, []
    for pid, plugin in sorted(registry.by_id.items()):
        source = plugin.event_source
        if source not in slots:
            slots.append(source)
        slot = slots.index(source)
        if source in native:
            if native[source] not in sources:
                sources.append(native[source])
            routes[pid] = ("core", sources.index(native[source]), slot)
        elif source in with_rules:
            routes[pid] = ("python", 0, 0)
        else:
            routes[pid] = ("count", 0, slot)
    if syscall is not None:
        sources.append(syscall)
        return NativeRoutes(sources, routes, slots, len(sources) - 1)
    return NativeRoutes(sources, routes, slots) if sources else None


def syscall_rules(engine, core) -> tuple:
    """``(NativeRules, {})`` when every selected syscall rule (condition and output
    fields) runs in the core, else ``(None, {rule name: why it needs Python})``."""
    from scaptools.engine.native import NativeRules
    from scaptools.plugin.api import SYSCALL_SOURCE
    fieldset = engine.ruleset.fieldsets.get(SYSCALL_SOURCE)
    rules = engine.rules_for(SYSCALL_SOURCE)
    made = NativeRules.build(core, SYSCALL_SOURCE, rules, engine._groups(SYSCALL_SOURCE),
                             fieldset, engine.first, engine.hostname, empty=True)
    if made is None:
        return None, {rule.name: "the core cannot compile the plan" for rule in rules}
    if made.python_rules:
        return None, {rule.name: why for rule, why in zip(rules, made.reasons)
                      if why is not None}
    return made, {}
