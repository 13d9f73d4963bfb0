"""Where replayed events go: one match function per event source, built once.

A plugin event's route is found once per plugin id (its source is the loaded
plugin's event source, docs/plugin-api.md §2.9) and counts the events it took.
``native_routes`` gives the same routes to the compiled replay loop.
"""
from __future__ import annotations

from dataclasses import dataclass
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


def native_routes(engine, registry) -> NativeRoutes | None:
    """The routes of every loaded source plugin, or ``None`` when no source's rules run
    in the core (the Python loop is then the whole replay)."""
    native = getattr(engine, "native", None) or {}
    if not native:
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
    return NativeRoutes(sources, routes, slots) if sources else None
