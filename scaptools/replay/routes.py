"""Where replayed events go: one match function per event source, built once.

A plugin event's route is found once per plugin id (its source is the loaded
plugin's event source, docs/plugin-api.md §2.9) and counts the events it took.
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
