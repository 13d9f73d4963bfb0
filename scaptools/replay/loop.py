"""Replay captures through Falco rules (``scap replay``; docs/rules-language.md §7, §10-11).

Events are routed by source: a plugin event (322) goes to the rules of the
event source of the loaded plugin with its id (docs/plugin-api.md §2.9; events of
an unknown plugin id are counted and skipped); every other event goes to the
``syscall`` rules. Alerts are handed to a callback; statistics are returned.
"""
from __future__ import annotations

import json
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from scaptools.errors import RuleError
from scaptools.events.event import raise_damaged
from scaptools.format.layout import (ASYNCEVENT, LARGE_LENGTH_SIZE, PARAM_LENGTHS_AT,
                                     PLUGIN_ID_AT, PLUGIN_LENGTHS, PLUGINEVENT, param_data_at)
from scaptools.plugin.api import SYSCALL_SOURCE
from scaptools.plugin.registry import Registry

_U32 = struct.Struct("<I")
RULE_SUFFIXES = (".yaml", ".yml")

# Falco configuration keys replay understands, with Falco's defaults
DEFAULT_OPTIONS = {
    "json_output": False,
    "json_include_output_property": True,
    "json_include_tags_property": True,
    "time_format_iso_8601": False,
    "priority": "debug",
    "rule_matching": "first",
    "json_include_message_property": False,
    "json_include_output_fields_property": True,
}


@dataclass
class ReplayStats:
    """What a replay saw: events by source, alerts by rule and by priority, time spent."""

    events: int = 0
    skipped: int = 0  # plugin events whose plugin id no loaded plugin has
    by_source: Counter = field(default_factory=Counter)
    alerts_by_rule: Counter = field(default_factory=Counter)
    alerts_by_priority: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_rule.values())

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """Human-readable statistics (for stderr)."""
        out = [f"Events read: {self.events}",
               f"Elapsed: {self.seconds:.3f} s ({self.rate:,.0f} events/s)"]
        if self.skipped:
            out.append(f"Events of unknown plugins skipped: {self.skipped}")
        for source, count in sorted(self.by_source.items()):
            out.append(f"  source {source}: {count}")
        out.append(f"Alerts: {self.alerts}")
        for prio, count in self.alerts_by_priority.most_common():
            out.append(f"  {prio}: {count}")
        out.append("Alerts by rule:")
        for rule, count in self.alerts_by_rule.most_common():
            out.append(f"  {rule}: {count}")
        return out


def rule_files(paths: Iterable) -> list[Path]:
    """``-r`` arguments: files as given, directories as their ``*.yaml``/``*.yml`` files sorted."""
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir()
                              if p.is_file() and p.suffix in RULE_SUFFIXES))
        else:
            out.append(path)
    return out


def load_ruleset(paths: Iterable, registry: Registry):
    """Load and compile rule files for the registry's sources; returns the ``LoadResult``."""
    from scaptools.engine import load_rules
    sources = [str(p) for p in rule_files(paths)]
    return load_rules(sources, registry.fieldset, plugin_versions=registry.versions())


def make_engine(result, options: dict, *, tags=(), skip_tags=(), disabled=(), enable_all=False):
    """An ``Engine`` for a successful load, configured from Falco options."""
    from scaptools.engine import Engine
    from scaptools.fields.generic import hostname
    if not result.ok:
        first = result.errors[0]
        raise RuleError(first.message, first.location, first.item_type, first.item_name,
                        first.code)
    return Engine(result.ruleset, rule_matching=str(options["rule_matching"]),
                  min_priority=options.get("priority"), tags=tuple(tags),
                  skip_tags=tuple(skip_tags), disabled=tuple(disabled), enable_all=enable_all,
                  hostname=hostname())


def replay_events(events: Iterable, engine, registry: Registry,
                  on_alert: Callable, stats: ReplayStats | None = None) -> ReplayStats:
    """Feed ``events`` to ``engine`` routed by source; call ``on_alert(alert)`` for each alert."""
    stats = stats or ReplayStats()
    unpack, lens = _U32.unpack_from, PLUGIN_LENGTHS.unpack_from
    route_of = _router(engine, registry)
    routes: dict = {}  # plugin id -> [source, match, count], or None: unknown (skipped)
    counts: dict[str, int] = {}
    by_rule, by_priority = stats.alerts_by_rule, stats.alerts_by_priority
    n = skipped = 0
    need_first = registry.first_ts is None
    start = time.perf_counter()
    for ev in events:
        n += 1
        if ev.type == PLUGINEVENT:
            raw, pid = ev.raw, -1
            if ev.nparams == 2 and len(raw) >= PLUGIN_ID_AT:
                first, size = lens(raw, PARAM_LENGTHS_AT)
                if PLUGIN_ID_AT + first + size > len(raw):
                    raise_damaged(ev)  # extractors would read past the end of the event
                if first == 4:  # plugin id: the first u32 parameter (docs/format.md §9.2)
                    pid = unpack(raw, PLUGIN_ID_AT)[0]
            route = routes.get(pid, _UNSEEN)
            if route is _UNSEEN:
                source = registry.source_of(pid)
                route = routes[pid] = None if source is None else [source, route_of(source), 0]
            if route is None:
                skipped += 1
                continue
            route[2] += 1
            match = route[1]
        else:
            source = _async_source(ev, registry) if ev.type == ASYNCEVENT else SYSCALL_SOURCE
            counts[source] = counts.get(source, 0) + 1
            match = route_of(source)
        if need_first:  # unless a caller (a parallel worker) has set it already
            if registry.first_ts is None:
                registry.first_ts = ev.ts
            need_first = False
        alerts = match(ev)
        if alerts:
            for alert in alerts:
                by_rule[alert.rule] += 1
                by_priority[str(alert.priority)] += 1
                on_alert(alert)
    for route in routes.values():
        if route is not None and route[2]:
            counts[route[0]] = counts.get(route[0], 0) + route[2]
    return _counted(stats, counts, n, skipped, start)


def _counted(stats: ReplayStats, counts: dict, n: int, skipped: int, start: float):
    stats.by_source.update(counts)
    stats.events += n
    stats.skipped += skipped
    stats.seconds += time.perf_counter() - start
    return stats


_UNSEEN = object()


def _router(engine, registry):
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


def _async_source(ev, registry: Registry) -> str:
    """Async events carry a plugin id; 0 means ``syscall`` (docs/plugin-api.md §2.9)."""
    start = param_data_at(ev.nparams, large=True)  # the plugin id: the first parameter
    if ev.nparams and start + LARGE_LENGTH_SIZE > len(ev.raw):
        raise_damaged(ev)  # its plugin id would run past the end of the event
    pid = _U32.unpack_from(ev.raw, start)[0] if ev.nparams else 0
    return registry.source_of(pid) or SYSCALL_SOURCE if pid else SYSCALL_SOURCE


def replay_files(paths: Iterable, engine, registry: Registry, on_alert: Callable,
                 stats: ReplayStats | None = None, progress=None) -> ReplayStats:
    """Replay every capture in order, streaming each one.

    ``progress`` (a text stream, e.g. a terminal's stderr) gets a running count;
    the events are then read through a counting wrapper, so pipes pay nothing.
    """
    from scaptools.format.reader import open_capture
    from scaptools.state import State, tracked_events
    stats = stats or ReplayStats()
    track = SYSCALL_SOURCE in _rule_sources(engine)
    for path in paths:
        registry.first_ts = None  # evt.reltime counts from each capture's first event
        stdin = str(path) == "-"  # read a pipe
        with open_capture(sys.stdin.buffer if stdin else str(path),
                          path="<stdin>" if stdin else None) as reader:
            # syscall fields read thread/fd state rebuilt from the capture; plugin-only
            # rule sets skip that work
            events = tracked_events(reader, State()) if track else reader
            events = _with_progress(events, path, progress) if progress else events
            replay_events(events, engine, registry, on_alert, stats)
    if progress:
        progress.write("\r\033[K")
    return stats


def _rule_sources(engine) -> set:
    ruleset = getattr(engine, "ruleset", None)
    if ruleset is None or not hasattr(ruleset, "sources"):
        return {SYSCALL_SOURCE}  # unknown: keep the state, it is always correct
    return set(ruleset.sources())


def _with_progress(events, path, stream, every: int = 50_000):
    start = time.perf_counter()
    for n, ev in enumerate(events, 1):
        if n % every == 0:
            rate = n / max(time.perf_counter() - start, 1e-9)
            stream.write(f"\r{path}: {n:,} events ({rate:,.0f}/s)")
            stream.flush()
        yield ev


def alert_formatter(options: dict) -> Callable:
    """``alert -> line`` in Falco's text or JSON format, per the options (§10)."""
    from scaptools.engine.output import Clock, dumps_sorted, format_json, format_text
    iso, clock = as_bool(options["time_format_iso_8601"]), Clock()
    if as_bool(options["json_output"]):
        include_output = as_bool(options["json_include_output_property"])
        include_tags = as_bool(options["json_include_tags_property"])
        include_message = as_bool(options.get("json_include_message_property", False))

        def fmt(alert):
            text = format_json(alert, include_output=include_output, include_tags=include_tags,
                               iso8601=iso, include_message=include_message, clock=clock)
            if with_fields:
                return text
            obj = json.loads(text)  # Falco's json_include_output_fields_property: false
            obj.pop("output_fields", None)
            return dumps_sorted(obj)
        with_fields = as_bool(options.get("json_include_output_fields_property", True))
        return fmt
    return lambda alert: format_text(alert, iso, clock)


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


def parse_option(text: str) -> tuple[str, object]:
    """``-o KEY=VALUE``: the value is read as a YAML scalar (``true`` -> True)."""
    import yaml
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise RuleError(f"invalid option '{text}' (expected KEY=VALUE)", code="LOAD_ERR_VALIDATE")
    try:
        return key.strip(), yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        return key.strip(), value


def merged_options(config: dict | None, overrides: Iterable[str] = ()) -> dict:
    """Falco defaults, then ``-c`` file values, then ``-o`` overrides."""
    options = dict(DEFAULT_OPTIONS)
    for key in DEFAULT_OPTIONS:
        if config and key in config:
            options[key] = config[key]
    for text in overrides:
        key, value = parse_option(text)
        options[key] = value
    if options["rule_matching"] not in ("first", "all"):
        raise RuleError(f"invalid rule_matching '{options['rule_matching']}' "
                        "(expected first or all)", code="LOAD_ERR_VALIDATE")
    return options


# -- fan-out over processes (docs/design.md §8: processes first) ----------------------------
def replay_parallel(paths: list, jobs: int, build: Callable, write: Callable) -> ReplayStats:
    """Replay with ``jobs`` forked workers, alerts in event order (see ``replay_jobs``)."""
    from scaptools.replay.parallel import replay_parallel as run
    return run(paths, jobs, build, write)
