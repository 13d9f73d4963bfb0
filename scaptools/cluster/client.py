"""The client side of a cluster replay: units out, alerts back in single-process order.

Captures that are cut get a planning task first (it walks the capture's blocks on a
worker); the others are one unit each. Every unit is a task; as tasks end, the
alerts of the units are written strictly in order (capture after capture, range
after range), each unit's text whole, so the output is byte for byte what one
process writes. A unit's result is fetched only when its turn comes (the finished
units next in turn in one round trip, while they read 64 MiB of captures or less),
so the client holds little more than one unit's alerts at a time.

Dask re-runs the tasks of a worker that dies, and recomputes the results it held
that were not fetched yet: each unit is written exactly once. A damaged capture
ends its own units (the alerts before the fault are written, as one process
writes them) and the run goes on with the next capture; the errors are returned.
"""
from __future__ import annotations

import signal
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from distributed import as_completed

from scaptools.replay.stats import ReplayStats

from .units import pieces, unit_size, whole_unit
from .worker import RulesOnWorker, plan_task, replay_task

_DONE = None  # a slot whose unit has been written (its future released)
FETCH_BYTES = 64 << 20  # capture bytes of the units whose alerts are fetched together


@dataclass
class ClusterStats(ReplayStats):
    """``ReplayStats`` plus what the cluster did: per worker events, busy seconds and
    units; units and cut captures; alert text fetched and the time it took; errors."""

    workers: dict = field(default_factory=dict)
    units: int = 0
    cut: int = 0
    fetched_bytes: int = 0
    fetch_seconds: float = 0.0
    errors: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = super().lines()
        out.append(f"Workers used: {len(self.workers)}")
        for address, (events, seconds, cpu, units) in sorted(self.workers.items()):
            rate = events / seconds if seconds > 0 else 0.0
            per_cpu = events / cpu if cpu > 0 else 0.0
            out.append(f"  {address}: {events} events in {units} units ({rate:,.0f} events/s, "
                       f"{per_cpu:,.0f} per CPU second)")
        out.append(f"Units: {self.units} ({self.cut} captures cut); alerts fetched: "
                   f"{self.fetched_bytes / 1e6:.1f} MB in {self.fetch_seconds:.3f} s")
        return out

    def count(self, result) -> None:
        self.add(result.stats)
        events, seconds, cpu, units = self.workers.get(result.worker, (0, 0.0, 0.0, 0))
        self.workers[result.worker] = (events + result.stats.events, seconds + result.seconds,
                                       cpu + result.cpu, units + 1)


def replay_on_client(client, bundle, captures: list, out, *, split: bool,
                     unit_bytes: int | None = None, progress=None) -> ClusterStats:
    """Replay ``captures`` (``units.Capture``) through ``bundle`` on ``client``'s cluster,
    writing alert lines to ``out`` (a text stream); ``split`` allows cutting captures
    (no stateful rules) into units of ``unit_bytes`` (default: ``units.unit_size`` for
    the cluster's worker threads). Returns the statistics; capture errors are in
    ``errors``."""
    if unit_bytes is None:
        unit_bytes = unit_size(captures, sum(client.nthreads().values()))
    token = uuid.uuid4().hex[:12]  # this run's tasks and plugin, whoever else uses the cluster
    name = f"scaptools-rules-{bundle.digest}-{token}"
    client.register_plugin(RulesOnWorker(bundle), name=name)
    run = _Run(client, name, token, captures, out, progress)
    start = time.perf_counter()
    try:
        with _held_interrupts() as held:
            run.start([pieces(c, split, unit_bytes) for c in captures])
            run.finish(held)
    finally:
        run.cancel()
        _unregister(client, name)
    run.stats.seconds = time.perf_counter() - start
    return run.stats


def _unregister(client, name: str) -> None:
    try:
        client.unregister_worker_plugin(name)
    except Exception:  # noqa: BLE001 - a worker gone meanwhile: nothing left to free
        pass


class _Run:
    """The futures of one run, slot by slot, and the write cursor over them."""

    def __init__(self, client, name: str, token: str, captures: list, out, progress):
        self.client, self.name, self.token = client, name, token
        self.captures, self.out, self.progress = captures, out, progress
        self.slots: list = [None] * len(captures)  # per capture: its unit futures, once known
        self.plans: dict = {}  # planning future key -> (capture index, future)
        self.sizes: dict = {}  # unit future key -> bytes of capture it reads
        self.pending = as_completed(loop=client.loop)
        self.cursor = [0, 0]  # capture, unit
        self.done = 0
        self.stats = ClusterStats()

    def start(self, counts: list[int]) -> None:
        for index, (capture, count) in enumerate(zip(self.captures, counts)):
            if count > 1:
                future = self.client.submit(plan_task, index, capture, count, priority=1,
                                            key=f"scap-plan-{self.token}-{index}")
                self.plans[future.key] = (index, future)
                self.pending.add(future)
                self.stats.cut += 1
            else:
                self._submit(index, [whole_unit(index, capture)])

    def _submit(self, index: int, units: list) -> None:
        futures = [self.client.submit(replay_task, unit, self.name, priority=-index,
                                      key=f"scap-unit-{self.token}-{index}-{unit.part}")
                   for unit in units]
        self.slots[index] = futures
        self.sizes.update((f.key, u.end - u.start) for f, u in zip(futures, units))
        self.pending.update(futures)
        self.stats.units += len(futures)

    def finish(self, held) -> None:
        self._write_ready(held)
        for future in self.pending:
            planned = self.plans.pop(future.key, None)
            if planned is not None:
                self._planned(planned[0], future)
            else:
                self.done += 1
            self._write_ready(held)
            self._show()
        if self.progress:
            self.progress.write("\r\033[K")
            self.progress.flush()

    def _planned(self, index: int, future) -> None:
        try:
            units = future.result()
        except Exception:  # noqa: BLE001 - the capture is read whole: a fault shows there
            units = [whole_unit(index, self.captures[index])]
        self._submit(index, units)

    def _write_ready(self, held) -> None:
        """Write every unit whose turn has come and whose task has ended. The results of
        the finished units next in turn are fetched together (one round trip)."""
        while True:
            run = self._finished_run()
            if not run:
                if self._failed_at_cursor():
                    continue
                return
            begin = time.perf_counter()
            results = self.client.gather([future for _, future in run])
            self.stats.fetch_seconds += time.perf_counter() - begin
            for (index, _), result in zip(run, results):
                if self.cursor[0] == index:  # else the capture ended at an earlier fault
                    self._take(result, held)

    def _finished_run(self, limit: int = 32, budget: int = FETCH_BYTES) -> list:
        """``(capture, future)`` of the units from the cursor on whose tasks have finished,
        in order, up to the first one that has not: at most ``limit`` units, and units of
        at most ``budget`` capture bytes after the first (their alerts are fewer)."""
        run, (index, part) = [], self._at_cursor()
        while len(run) < limit and index < len(self.slots) and self.slots[index] is not None:
            futures = self.slots[index]
            if part >= len(futures):
                index, part = index + 1, 0
                continue
            budget -= self.sizes.get(futures[part].key, 0)
            if futures[part].status != "finished" or (run and budget < 0):
                break
            run.append((index, futures[part]))
            part += 1
        return run

    def _at_cursor(self) -> list:
        """The cursor, moved past the captures whose units are all written."""
        while self.cursor[0] < len(self.slots) and self.slots[self.cursor[0]] is not None \
                and self.cursor[1] >= len(self.slots[self.cursor[0]]):
            self.cursor = [self.cursor[0] + 1, 0]
        return self.cursor

    def _take(self, result, held) -> None:
        """Write the unit at the cursor and move on (to the next capture after a fault)."""
        index, part = self._at_cursor()
        self.slots[index][part] = _DONE
        self.stats.fetched_bytes += len(result.text)
        if result.text:
            with held():
                write_whole(self.out, result.text)
        self.stats.count(result)
        if result.error is None:
            self.cursor = [index, part + 1]
        else:
            self._end_capture(result.error)

    def _failed_at_cursor(self) -> bool:
        """Whether the unit at the cursor ended without a result (its task failed, e.g. on
        too many dead workers, or was cancelled): then its capture ends with that error."""
        index, part = self._at_cursor()
        if index >= len(self.slots) or self.slots[index] is None:
            return False
        future = self.slots[index][part]
        if not future.done():
            return False
        try:
            future.result()
            return False  # finished meanwhile: the next run takes it
        except Exception as exc:  # noqa: BLE001 - KilledWorker, CancelledError, ...
            self.slots[index][part] = _DONE
            self._end_capture(f"{self.captures[index].name}: the cluster could not replay "
                              f"it: {type(exc).__name__}: {exc}")
        return True

    def _end_capture(self, error: str) -> None:
        """The capture at the cursor stops at ``error``: its later units are cancelled."""
        index, part = self.cursor
        self.stats.errors.append(error)
        self.client.cancel([f for f in self.slots[index][part + 1:] if f is not _DONE])
        self.cursor = [index + 1, 0]

    def _show(self) -> None:
        if self.progress:
            width, total = 24, max(self.stats.units, 1)
            bar = "#" * (width * self.done // total)
            self.progress.write(f"\r[{bar:<{width}}] units {self.done}/{self.stats.units}, "
                                f"{self.stats.events:,} events replayed")
            self.progress.flush()

    def cancel(self) -> None:
        """Cancel every task not written yet (Ctrl-C, an error in the client)."""
        left = [f for futures in self.slots if futures for f in futures if f is not _DONE]
        left += [future for _, future in self.plans.values()]
        if left:
            self.client.cancel(left)


def write_whole(out, text: str) -> None:
    """Write all of ``text`` to the text stream ``out`` and flush it. A signal handled
    while a write to a full pipe waits makes a buffered write return short, the rest
    neither written nor kept, so the bytes are written again until all are out."""
    binary = getattr(out, "buffer", None)
    if binary is None:
        out.write(text)
        out.flush()
        return
    out.flush()
    data = memoryview(text.encode(out.encoding, out.errors or "strict"))
    while data:
        data = data[binary.write(data):]
    binary.flush()


@contextmanager
def _held_interrupts():
    """Ctrl-C is held back while a unit's text is written (no half-written line), then
    raised; ``held()`` marks such a section. Only the main thread handles signals."""
    state = {"writing": False, "pending": False}

    def handler(signum, frame):
        if state["writing"]:
            state["pending"] = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def held():
        state["writing"] = True
        try:
            yield
        finally:
            state["writing"] = False
            if state["pending"]:
                raise KeyboardInterrupt
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)
