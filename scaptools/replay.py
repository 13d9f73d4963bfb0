"""Replay captures through Falco rules (``scap replay``; rules-language.md §7, §10-11).

Events are routed by source: a plugin event (322) goes to the rules of the
event source of the loaded plugin with its id (plugin-api.md §2.9; events of
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

from .errors import RuleError
from .plugin import SYSCALL_SOURCE, Registry

PLUGINEVENT, ASYNCEVENT = 322, 402
_PLUGIN_ID_AT = 26 + 2 * 4  # header + two u32 lengths (scap-format.md §9.2)
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
    from .engine import load_rules
    sources = [str(p) for p in rule_files(paths)]
    return load_rules(sources, registry.fieldset, plugin_versions=registry.versions())


def make_engine(result, options: dict, *, tags=(), skip_tags=(), disabled=(), enable_all=False):
    """An ``Engine`` for a successful load, configured from Falco options."""
    from .engine import Engine
    from .fields.generic import hostname
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
    process, unpack = engine.process, _U32.unpack_from
    source_by_id: dict[int, str | None] = {}
    counts: dict[str, int] = {}
    n = skipped = 0
    need_first = registry.first_ts is None
    start = time.perf_counter()
    for ev in events:
        n += 1
        kind = ev.type
        if kind == PLUGINEVENT:
            try:  # plugin id: the first u32 parameter (scap-format.md §9.2)
                pid = unpack(ev.raw, _PLUGIN_ID_AT)[0] if ev.nparams == 2 else -1
            except struct.error:
                pid = -1
            source = source_by_id.get(pid, 0)
            if source == 0:
                source = source_by_id[pid] = registry.source_of(pid)
            if source is None:
                skipped += 1
                continue
        else:
            source = _async_source(ev, registry) if kind == ASYNCEVENT else SYSCALL_SOURCE
        if need_first:  # unless a caller (a parallel worker) has set it already
            if registry.first_ts is None:
                registry.first_ts = ev.ts
            need_first = False
        counts[source] = counts.get(source, 0) + 1
        alerts = process(ev, source)
        if alerts:
            for alert in alerts:
                stats.alerts_by_rule[alert.rule] += 1
                stats.alerts_by_priority[str(alert.priority)] += 1
                on_alert(alert)
    stats.by_source.update(counts)
    stats.events += n
    stats.skipped += skipped
    stats.seconds += time.perf_counter() - start
    return stats


def _async_source(ev, registry: Registry) -> str:
    """Async events carry a plugin id; 0 means ``syscall`` (plugin-api.md §2.9)."""
    pid = _U32.unpack_from(ev.raw, 26 + 4 * ev.nparams)[0] if ev.nparams else 0
    return registry.source_of(pid) or SYSCALL_SOURCE if pid else SYSCALL_SOURCE


def replay_files(paths: Iterable, engine, registry: Registry, on_alert: Callable,
                 stats: ReplayStats | None = None, progress=None) -> ReplayStats:
    """Replay every capture in order, streaming each one.

    ``progress`` (a text stream, e.g. a terminal's stderr) gets a running count;
    the events are then read through a counting wrapper, so pipes pay nothing.
    """
    from .format.reader import open_capture
    from .state import State, tracked_events
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
    from .engine.output import format_json, format_text
    iso = as_bool(options["time_format_iso_8601"])
    if as_bool(options["json_output"]):
        include_output = as_bool(options["json_include_output_property"])
        include_tags = as_bool(options["json_include_tags_property"])
        include_message = as_bool(options.get("json_include_message_property", False))

        def fmt(alert):
            text = format_json(alert, include_output=include_output, include_tags=include_tags,
                               iso8601=iso, include_message=include_message)
            if with_fields:
                return text
            obj = json.loads(text)  # Falco's json_include_output_fields_property: false
            obj.pop("output_fields", None)
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        with_fields = as_bool(options.get("json_include_output_fields_property", True))
        return fmt
    return lambda alert: format_text(alert, iso8601=iso)


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


# -- fan-out over processes (DESIGN.md "Scale": processes first) ----------------------------
def replay_parallel(paths: list, jobs: int, build: Callable, write: Callable) -> ReplayStats:
    """Replay with ``jobs`` forked workers; alerts are written in event order.

    Worker ``k`` reads every capture but evaluates only the events whose number
    is ``k`` modulo ``jobs``, so it suits rule sets without state (plugin
    sources). ``build()`` runs in each worker and returns ``(engine, registry,
    formatter)``. Each worker streams its lines to a file; the parent merges the
    files by (capture, event number), so memory stays flat.
    """
    import heapq
    import multiprocessing
    import pickle
    import tempfile
    ctx = multiprocessing.get_context("fork")  # workers inherit the loaded engine
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scap-replay-") as tmp:
        outs = [Path(tmp) / f"{k}.txt" for k in range(jobs)]
        workers = [ctx.Process(target=_worker, args=(build, paths, k, jobs, outs[k]))
                   for k in range(jobs)]
        for proc in workers:
            proc.start()
        for proc in workers:
            proc.join()
        failed = [k for k, proc in enumerate(workers) if proc.exitcode != 0]
        stats_files = [out.with_suffix(".stats") for out in outs]
        if failed or not all(p.exists() for p in stats_files):
            error = next((out.with_suffix(".err").read_text() for out in outs
                          if out.with_suffix(".err").exists()), "worker failed")
            raise RuleError(f"parallel replay: {error}", code="LOAD_ERR_VALIDATE")
        files = [out.open(encoding="utf-8") for out in outs]
        try:
            for line in heapq.merge(*files, key=lambda text: text[:20]):
                write(line[21:])
        finally:
            for fh in files:
                fh.close()
        total = _merged_stats(pickle.loads(path.read_bytes()) for path in stats_files)
    total.seconds = time.perf_counter() - start
    return total


def _merged_stats(parts) -> ReplayStats:
    total = ReplayStats()
    for part in parts:
        total.events += part.events
        total.skipped += part.skipped
        total.by_source.update(part.by_source)
        total.alerts_by_rule.update(part.alerts_by_rule)
        total.alerts_by_priority.update(part.alerts_by_priority)
    return total


def _worker(build, paths, k: int, jobs: int, out: Path) -> None:
    """One share of the events: ``<capture:4><num:12><seq:4> <line>`` per alert."""
    import pickle
    from .format.reader import open_capture
    try:
        engine, registry, fmt = build()
        stats = ReplayStats()
        with out.open("w", encoding="utf-8") as fh:
            for index, path in enumerate(paths):
                registry.first_ts = None
                with open_capture(str(path)) as reader:
                    current = [0, 0]

                    def share(events):
                        for ev in events:
                            if registry.first_ts is None:
                                registry.first_ts = ev.ts  # evt.reltime counts from event 1
                            if ev.num % jobs == k:
                                current[0], current[1] = ev.num, 0
                                yield ev

                    def emit(alert, index=index):
                        current[1] += 1
                        fh.write(f"{index:04d}{current[0]:012d}{current[1]:04d} {fmt(alert)}\n")
                    replay_events(share(reader), engine, registry, emit, stats)
        out.with_suffix(".stats").write_bytes(pickle.dumps(stats))
    except Exception as exc:  # reported by the parent with the worker's message
        out.with_suffix(".err").write_text(str(exc))
        raise SystemExit(1) from None
