"""Replay captures through Falco rules (``scap replay``; docs/rules-language.md §7, §10-11).

Events are routed by source: a plugin event (322) goes to the rules of the
event source of the loaded plugin with its id (docs/plugin-api.md §2.9; events of
an unknown plugin id are counted and skipped); every other event goes to the
``syscall`` rules. Alerts are handed to a callback; statistics are returned.
"""
from __future__ import annotations

import struct
import sys
import time
from typing import Callable, Iterable

from scaptools.core import native
from scaptools.events.event import raise_damaged
from scaptools.format.layout import (ASYNCEVENT, LARGE_LENGTH_SIZE, PARAM_LENGTHS_AT,
                                     PLUGIN_ID_AT, PLUGIN_LENGTHS, PLUGINEVENT, param_data_at)
from scaptools.plugin.api import SYSCALL_SOURCE
from scaptools.plugin.registry import Registry
from scaptools.replay.routes import NativeRoutes, Route, native_routes, router, syscall_rules
from scaptools.replay.stats import ReplayStats

_U32 = struct.Struct("<I")
_UNSEEN = object()  # a plugin id not looked up yet


def replay_events(events: Iterable, engine, registry: Registry,
                  on_alert: Callable, stats: ReplayStats | None = None) -> ReplayStats:
    """Feed ``events`` to ``engine`` routed by source; call ``on_alert(alert)`` for each alert."""
    stats = stats or ReplayStats()
    unpack, lens = _U32.unpack_from, PLUGIN_LENGTHS.unpack_from
    route_of = router(engine)
    routes: dict = {}  # plugin id -> Route, or None: unknown (skipped)
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
                route = routes[pid] = None if source is None else Route(source, route_of(source))
            if route is None:
                skipped += 1
                continue
            route.events += 1
            match = route.match
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
        if route is not None and route.events:
            counts[route.source] = counts.get(route.source, 0) + route.events
    return _counted(stats, counts, n, skipped, start)


def _counted(stats: ReplayStats, counts: dict, n: int, skipped: int, start: float):
    stats.by_source.update(counts)
    stats.events += n
    stats.skipped += skipped
    stats.seconds += time.perf_counter() - start
    return stats


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
    stats = stats or ReplayStats()
    track = SYSCALL_SOURCE in _rule_sources(engine)
    loop, kept = native_loop(engine, registry, syscall=track), None
    if track and loop is not None and loop[1].syscall is None:
        loop, kept = None, loop[1].kept  # the syscall state stays in Python
    stats.paths = stats.paths or _paths(engine, loop, kept)
    for path in paths:
        registry.first_ts = None  # evt.reltime counts from each capture's first event
        stdin = str(path) == "-"  # read a pipe
        if loop is not None and not stdin:  # the compiled loop (docs/core.md)
            replay_native(*loop, path, engine, registry, on_alert, stats, progress=progress)
            continue
        from scaptools.format.reader import open_capture
        from scaptools.state import State, tracked_events
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


def _paths(engine, loop=None, kept=None) -> dict:
    """Per source, the rules the core and the Python path evaluate (``--stats``); for
    the syscall source, why its rules stay in Python (``why``: rule -> reason)."""
    paths = getattr(engine, "paths", None)
    out = paths() if paths is not None else {}
    syscall = loop[1].sources[loop[1].syscall] if loop and loop[1].syscall is not None \
        else None
    if syscall is not None and SYSCALL_SOURCE in out:
        out[SYSCALL_SOURCE] = {"core": list(syscall.core_rules), "python": []}
    elif kept and SYSCALL_SOURCE in out:
        out[SYSCALL_SOURCE] = dict(out[SYSCALL_SOURCE], why=dict(kept))
    return out


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


class AlertWriter:
    """``on_alert`` that writes ``fmt(alert)`` and a newline through ``write``.

    When ``fmt`` says which Falco options it renders (``fmt.options``, as
    ``replay.config.alert_formatter`` returns it), the compiled replay loop writes
    the same lines itself, a batch at a time."""

    def __init__(self, fmt: Callable, write: Callable):
        self.fmt, self.write = fmt, write
        options = getattr(fmt, "options", None)
        self.format = core_format(options) if options is not None else None

    def __call__(self, alert) -> None:
        self.write(self.fmt(alert) + "\n")


class KeyedWriter(AlertWriter):
    """An ``AlertWriter`` whose Python alerts go to ``emit`` (which writes the merge key of
    a ``-j`` modulo share); the compiled loop writes its lines with the key itself."""

    def __init__(self, writer: AlertWriter, emit: Callable):
        self.fmt, self.write, self.format, self._emit = writer.fmt, writer.write, \
            writer.format, emit

    def __call__(self, alert) -> None:
        self._emit(alert)


def native_loop(engine, registry, syscall: bool = False):
    """``(core, routes)`` when the compiled loop evaluates some of the rules, else None.

    ``syscall``: the syscall source has rules; it runs in the loop when all of them can
    (``routes.syscall``), else ``routes.kept`` says why not (rule -> reason)."""
    core = native()
    if core is None:
        return None
    sysrules, kept = syscall_rules(engine, core) if syscall else (None, {})
    routes = native_routes(engine, registry, sysrules)
    if routes is None and kept:
        routes = NativeRoutes([], {}, [])
    if routes is not None:
        routes.kept = kept
    return (core, routes) if routes is not None else None


def core_format(options: dict) -> dict:
    """Falco's output options as the compiled loop takes them (docs/rules-language.md §10)."""
    from scaptools.replay.config import as_bool
    return {"json": as_bool(options["json_output"]),
            "iso8601": as_bool(options["time_format_iso_8601"]),
            "include_output": as_bool(options["json_include_output_property"]),
            "include_tags": as_bool(options["json_include_tags_property"]),
            "include_message": as_bool(options.get("json_include_message_property", False)),
            "include_fields": as_bool(options.get("json_include_output_fields_property",
                                                  True))}


BATCH = 4096  # alerts per batch of the compiled loop


def replay_native(core, routes, path, engine, registry, on_alert: Callable, stats: ReplayStats,
                  *, window=None, num_base: int = 0, modulo=None, before=None,
                  progress=None) -> None:
    """Replay the capture file ``path`` in the compiled loop (``core.Replay``): plugin
    events of core sources are evaluated there, every other event the Python path must
    see comes back and goes through ``replay_events`` (so its alerts, errors and
    counts are the Python loop's). An ``AlertWriter`` with a known format gets the
    core's lines a batch at a time; any other ``on_alert`` gets ``Alert`` objects.
    ``window`` (``(head, start, end)``), ``num_base`` and ``modulo`` (``(jobs, k)``) are
    a ``-j`` worker's share; ``before(num)`` is called before the alerts of each event
    Python sees (the merge key of a modulo share's lines)."""
    from scaptools.events.event import Event, damaged_error
    from scaptools.errors import DamagedEvent, FormatError, TruncatedCapture
    name = str(path)
    writer = on_alert if isinstance(on_alert, AlertWriter) and on_alert.format else None
    fmt = writer.format if writer is not None else None
    threads = 1 if window is not None or modulo is not None else 0  # -j: a CPU per worker
    if routes.syscall is not None and threads == 0:
        threads = syscall_threads()
    run = core.Replay(name, name, [n.compiled for n in routes.sources], routes.routes,
                      len(routes.slots), fmt, num_base, modulo, window, threads,
                      syscall=routes.syscall)
    by_rule, by_priority = stats.alerts_by_rule, stats.alerts_by_priority
    info = [[(r.name, r.priority_name) for r in n.rules] for n in routes.sources]
    start, last = time.perf_counter(), None
    while True:
        text, alerts, counts, warnings, stop = run.step(BATCH, _utc_offset())
        for message in warnings:
            import warnings as warnings_module
            warnings_module.warn(message, stacklevel=2)
        for source, rule, count in counts:
            rule_name, priority = info[source][rule]
            by_rule[rule_name] += count
            by_priority[priority] += count
        if text:
            writer.write(text)
        for source, rule, num, ts, message, pairs in alerts:
            if before is not None and num != last:
                before(num)
                last = num
            on_alert(routes.sources[source].alert(rule, ts, message, pairs))
        if progress is not None:
            _native_progress(progress, name, run, start)
        if stop is None:
            continue
        if stop[0] == "end":
            break
        if stop[0] == "error":
            _, kind, message, where, offset, block = stop
            cls = TruncatedCapture if kind == "truncated" else FormatError
            raise cls(message, where, offset, block)
        if stop[0] == "metadata":
            raise _metadata_error(name, *stop[1:])
        offset, num, ts, cpu, tid, etype, nparams, raw, flags = stop[1]
        ev = Event(num, ts, cpu, tid, etype, nparams, raw, flags)
        ev.offset = offset
        if stop[0] == "damaged":  # the syscall state reads past the event's end
            raise damaged_error(ev, name)
        if registry.first_ts is None:
            registry.first_ts = run.counts()[4]
        if before is not None:
            before(num)
            last = num
        seconds = stats.seconds
        try:
            replay_events((ev,), engine, registry, on_alert, stats)
        except DamagedEvent as exc:
            if exc.path == "<stream>":  # as the reader names the capture (reader.__exit__)
                exc.path = name
                exc.args = (str(exc),)
            raise
        stats.seconds, stats.events = seconds, stats.events - 1
    events, skipped, slots, syscall, first = run.counts()
    if registry.first_ts is None:
        registry.first_ts = first
    for source, count in zip(routes.slots, slots):
        if count:
            stats.by_source[source] += count
    if syscall:
        stats.by_source[SYSCALL_SOURCE] += syscall
    stats.events += events
    stats.skipped += skipped
    stats.seconds += time.perf_counter() - start


def _metadata_error(name: str, offset: int, btype: int, order: str, body: bytes, why: str):
    """The error of a metadata block the syscall state cannot read: the one its parse
    gives (``Block.parsed``, as the Python state meets it), else the core's reason."""
    from scaptools.errors import FormatError
    from scaptools.format.blocks import Block
    try:
        Block(btype, body, order, offset, name).parsed  # noqa: B018 - raises when malformed
    except FormatError as exc:
        return exc
    return FormatError(f"malformed metadata block: {why}", name, offset, btype)


def syscall_threads() -> int:
    """Threads of a replay with the syscall source in the core: the syscall state takes
    the events in order while another thread walks the next chunk, which pays only
    when a CPU is free: on a machine whose load is half as much again as its CPUs, one
    thread (0: the core picks, one per CPU)."""
    import os
    try:
        busy = os.getloadavg()[0] >= 1.5 * (os.cpu_count() or 1)
    except OSError:
        busy = False
    return 1 if busy else 0


def _utc_offset() -> int:
    """The host's UTC offset now, in seconds (the text alerts' local time, §10)."""
    return time.localtime(int(time.time())).tm_gmtoff


def _native_progress(stream, name, run, start) -> None:
    events = run.counts()[0]
    rate = events / max(time.perf_counter() - start, 1e-9)
    stream.write(f"\r{name}: {events:,} events ({rate:,.0f}/s)")
    stream.flush()
