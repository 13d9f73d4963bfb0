"""What runs on the Dask workers: the compiled rules, planning, one unit, one spec.

The rules reach a worker as a worker plugin (:class:`RulesOnWorker`) that compiles
its bundle when it arrives, on every worker of the cluster, also on workers that
join or restart later. Tasks find it by name (``get_worker().plugins[name]``).
A worker running several tasks at once (``--nthreads`` > 1) gives each its own
compiled engine, since an engine and its registry keep per-capture state.

A unit's alerts come back as one text (every line ended), with the unit's
statistics and, for a damaged capture, the error one process would print: the
alerts before the fault are kept, as one process keeps them.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from contextlib import contextmanager
from typing import NamedTuple

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from scaptools.errors import FormatError, ScapError
from scaptools.replay.stats import ReplayStats

from .bundle import adopt_host_and_zone, check_version, compile_bundle
from .units import Capture, Unit, plan_units


class UnitResult(NamedTuple):
    """The outcome of one unit: alert lines, statistics, error text or None, the worker
    that ran it, for how long and the CPU time its process used meanwhile."""

    capture: int
    part: int
    text: str
    stats: ReplayStats
    error: str | None
    worker: str
    seconds: float
    cpu: float


class _Pool:
    """Objects made on demand and reused, one per task running at a time."""

    def __init__(self, make):
        self._make, self._free = make, queue.SimpleQueue()

    def put(self, item) -> None:
        self._free.put(item)

    @contextmanager
    def taken(self):
        try:
            item = self._free.get_nowait()
        except queue.Empty:
            item = self._make()
        try:
            yield item
        finally:
            self._free.put(item)


class RulesOnWorker(WorkerPlugin):
    """A run's rules (a ``RulesBundle``), compiled on each worker when registered."""

    def __init__(self, bundle):
        self.bundle = bundle

    def setup(self, worker) -> None:
        self.runtimes = _Pool(lambda: compile_bundle(self.bundle))
        self.runtimes.put(compile_bundle(self.bundle))  # errors show at registration
        self._lock, self._s3 = threading.Lock(), None

    def s3_client(self):
        """This worker's S3 client (its own credentials), made on first use."""
        from .s3 import make_client
        with self._lock:
            if self._s3 is None:
                self._s3 = make_client(self.bundle.aws)
            return self._s3


class SpecsOnWorker(WorkerPlugin):
    """``scap test`` on a worker: a replayer per running task (it caches loaded rules)."""

    def __init__(self, host: str, tz: str | None, version: str):
        self.host, self.tz, self.version = host, tz, version

    def setup(self, worker) -> None:
        from scaptools.testing.runner import Replayer
        check_version(self.version)
        adopt_host_and_zone(self.host, self.tz)
        self.replayers = _Pool(Replayer)


def plan_task(index: int, capture: Capture, count: int) -> list[Unit]:
    """Cut a capture into ``count`` units (the walk over its blocks runs here)."""
    return plan_units(index, capture, count)


def replay_task(unit: Unit, name: str) -> UnitResult:
    """Replay one unit through the rules of the plugin ``name``."""
    from scaptools.replay.loop import AlertWriter
    worker = get_worker()
    plugin = worker.plugins[name]
    stats, parts, error = ReplayStats(), [], None
    start, cpu = time.perf_counter(), time.process_time()
    with plugin.runtimes.taken() as runtime:
        paths = getattr(runtime.engine, "paths", None)  # which rules the compiled core runs
        stats.paths = paths() if paths is not None else {}
        try:
            _replay(unit, runtime, plugin, AlertWriter(runtime.fmt, parts.append), stats)
        except ScapError as exc:  # a damaged capture: keep the alerts before the fault
            error = str(exc)
    return UnitResult(unit.capture, unit.part, "".join(parts), stats, error, worker.address,
                      time.perf_counter() - start, time.process_time() - cpu)


def _replay(unit: Unit, runtime, plugin, emit, stats) -> None:
    """The unit's events through the engine: in the compiled loop when the core runs some
    of the rules and the file is found where the client named it, else in Python."""
    from scaptools.replay.loop import native_loop, replay_files, replay_native
    from scaptools.replay.parallel import RangeFile
    here = unit.s3 is None and os.path.abspath(unit.name) == unit.location
    if unit.s3 is not None:
        from .s3 import S3File
        with S3File(plugin.s3_client(), unit.s3) as stream:
            _replay_stream(stream, unit, runtime, emit, stats)
    elif unit.whole and here:
        replay_files([unit.name], runtime.engine, runtime.registry, emit, stats)
    elif unit.whole:  # another working folder than the client's: open the absolute path
        try:
            stream = open(unit.location, "rb")
        except OSError as exc:
            raise FormatError(f"cannot open: {exc.strerror}", unit.name) from None
        with stream:
            _replay_stream(stream, unit, runtime, emit, stats)
    else:
        loop = native_loop(runtime.engine, runtime.registry) if here else None
        stream = RangeFile(unit.location, unit.head, unit.start, unit.end)
        try:
            if loop is None:
                _replay_stream(stream, unit, runtime, emit, stats)
            else:  # as a -j worker runs its range
                runtime.registry.first_ts = unit.first_ts
                replay_native(*loop, unit.name, runtime.engine, runtime.registry, emit, stats,
                              window=(unit.head, unit.start, unit.end), num_base=unit.before)
        except FormatError as exc:  # name the offset in the real file
            offset = stream.file_offset(exc.offset)
            raise type(exc)(exc.message, exc.path, offset, exc.block_type) from None
        finally:
            stream.close()


def _replay_stream(stream, unit: Unit, runtime, emit, stats) -> None:
    from scaptools.format.reader import open_capture
    from scaptools.replay.loop import replay_events
    from scaptools.state import State, tracked_events
    runtime.registry.first_ts = unit.first_ts  # evt.reltime counts from the capture's start
    with open_capture(stream, path=unit.name) as reader:
        events = tracked_events(reader, State()) if runtime.track else reader
        if unit.before:
            events = _renumbered(events, unit.before)
        replay_events(events, runtime.engine, runtime.registry, emit, stats)


def _renumbered(events, before: int):
    for ev in events:
        ev.num += before
        yield ev


def spec_task(spec, update: bool, cwd: str, name: str):
    """Run one ``scap test`` spec; paths are made absolute when this worker works in
    another folder than the client. Returns the ``SpecResult`` naming the spec as given."""
    from scaptools.testing.runner import run_spec
    plugin = get_worker().plugins[name]
    local = spec if os.getcwd() == cwd else _absolute(spec, cwd)
    with plugin.replayers.taken() as replayer:
        result = run_spec(local, replayer, update=update)
    result.spec = spec
    return result


def _absolute(spec, cwd: str):
    from dataclasses import replace
    from pathlib import Path

    def anchor(path):
        return path if path is None or not isinstance(path, Path) else Path(cwd) / path
    return replace(spec, path=anchor(spec.path), capture=anchor(spec.capture),
                   rules=[anchor(r) for r in spec.rules], golden=anchor(spec.golden))
