"""``scap replay -j N``: replay over forked worker processes (docs/design.md §8: processes first).

A plain capture is cut into ``N`` byte ranges at event-block boundaries
(docs/format.md §2: every block starts with its type and total length, so the
blocks can be walked without decoding them). Worker ``k`` reads the section
header and metadata that precede the first event, then only its own range, and
numbers its events from the count of events before the range: each worker
reads and evaluates a share of the events, and the alerts of the ranges are
concatenated in order. A capture that cannot be cut safely (gzip, a second
section, big-endian, a bad block before a cut) is shared the slow way: every
worker reads it whole and evaluates the events whose number is ``k`` modulo
``N``; those alerts are merged by event number. Rule sets with state (the
``syscall`` source) must not use either (``can_split``): the CLI falls back to one
process. With the compiled core, each worker runs its share in the core's loop.
"""
from __future__ import annotations

import heapq
import os
import pickle
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

from scaptools.errors import FormatError, RuleError
from scaptools.format.constants import BLOCK_SHB, EVENT_BLOCKS, GZIP_MAGIC
from scaptools.format.layout import SHB_MIN_SIZE
from scaptools.format.ranges import section_order, walk_blocks
from scaptools.plugin.api import SYSCALL_SOURCE
from scaptools.replay.loop import (AlertWriter, KeyedWriter, native_loop, replay_events,
                                   replay_native)
from scaptools.replay.stats import ReplayStats

_COPY = 1 << 20


def open_capture(*args, **kwargs):  # the reader is imported when used (start-up)
    from scaptools.format.reader import open_capture as open_reader
    return open_reader(*args, **kwargs)


class Range(NamedTuple):
    """Worker ``k``'s bytes ``[start, end)`` of a capture, and the events before ``start``."""

    start: int
    end: int
    before: int


@dataclass
class Share:
    """What worker ``k`` reads of one capture: ``ranges[k]`` (the prefix ``[0, head)``,
    section header and metadata, is read by every worker), or ``ranges`` None for
    the modulo share."""

    path: str
    head: int = 0
    ranges: list[Range] | None = None


def can_split(paths, sources) -> bool:
    """Whether ``-j`` can share the replay of ``paths`` through rules of ``sources``:
    capture files (standard input cannot be read twice) and no syscall rules (thread
    state is rebuilt event by event, in order)."""
    return "-" not in paths and SYSCALL_SOURCE not in sources


def plan(path: str, jobs: int) -> Share:
    """Cut ``path`` into ``jobs`` ranges of about equal size (or plan the modulo share)."""
    share = Share(str(path))
    if not os.path.isfile(path):  # a pipe cannot be read twice
        return share
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            cuts = None if fh.read(2) == GZIP_MAGIC else _cuts(fh, size, jobs)
    except OSError:  # unreadable: the readers report it
        return share
    if cuts is None:
        return share
    head, points = cuts
    starts = [head] + [p[0] for p in points]
    counts = [0] + [p[1] for p in points]
    ends = starts[1:] + [size]
    share.head, share.ranges = head, list(map(Range, starts, ends, counts))
    return share


def _cuts(fh, size: int, jobs: int):
    """``(first event offset, [(cut offset, events before)])`` or None (§2-§3, §9.1).

    Walks the block headers up to the last cut (``format.ranges.walk_blocks``): one
    little-endian section, every block's frame sane."""
    fh.seek(0)
    first = fh.read(SHB_MIN_SIZE)
    try:
        if len(first) < SHB_MIN_SIZE or section_order(first) != "<":
            return None
    except FormatError:
        return None
    targets = [size * k // jobs for k in range(1, jobs)]
    points, head, num = [], None, 0
    try:
        with closing(walk_blocks(fh, size, path=fh.name)) as blocks:
            for block in blocks:
                if block.type == BLOCK_SHB and block.offset:
                    return None  # a second section: byte order and metadata may change
                if block.type in EVENT_BLOCKS:
                    if head is None:
                        head = block.offset
                    else:  # the same block may also be the next cut's
                        while targets and block.offset >= targets[0]:
                            points.append((block.offset, num))
                            del targets[0]
                    num += 1
                if not targets:
                    break
    except FormatError:
        return None
    if targets or head is None or len({p[0] for p in points}) != len(points):
        return None  # too few events to give every worker its own range
    return head, points


class RangeFile:
    """A read-only file of ``[0, head)`` followed by ``[start, end)`` of ``path``. ``end``
    may be unknown (None) at first: bytes before ``until`` are read freely, and ``wait()``
    gives the end when the reader gets there."""

    def __init__(self, path: str, head: int, start: int, end: int | None, *, until: int = 0,
                 wait: Callable | None = None):
        self.name = path
        self._fh = open(path, "rb")
        self._parts = [[0, head], [start, end]] if start > head else [[0, end]]
        self._shift = (head, start - head) if start > head else None
        self._until, self._wait = until, wait

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            pos, end = self._parts[0]
            if end is None and pos >= self._until:
                end = self._parts[0][1] = self._wait()
            stop = self._until if end is None else end
            if pos >= stop:
                del self._parts[0]
                continue
            want = stop - pos if size < 0 else min(size, stop - pos)
            self._fh.seek(pos)
            data = self._fh.read(want)
            if not data:
                self._parts.clear()
                return b""
            self._parts[0][0] = pos + len(data)
            return data
        return b""

    def close(self) -> None:
        self._fh.close()

    def file_offset(self, offset: int) -> int:
        """The offset in the real file of ``offset`` in this stream."""
        if self._shift is None or offset is None or offset < self._shift[0]:
            return offset
        return offset + self._shift[1]


def replay_parallel(paths: list, jobs: int, build: Callable, write: Callable):
    """Replay with ``jobs`` forked workers; alerts are written in event order.
    ``build()`` runs in each worker and returns ``(engine, registry, formatter)``. Workers
    stream their lines to files; the parent then copies the ranges' files in order, or
    merges the modulo shares by event number, so memory stays flat. Returns the summed
    ``ReplayStats``."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")  # workers inherit the loaded engine
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scap-replay-") as tmp:
        folder = Path(tmp)
        shares, workers = _run_workers(paths, jobs, build, folder, ctx)
        total = _collect(shares, workers, folder, write)
    total.seconds = time.perf_counter() - start
    return total


def _run_workers(paths: list, jobs: int, build: Callable, folder: Path, ctx) -> tuple[list, list]:
    """Plan every capture and run the workers to their end; returns the shares and the
    (ended) worker processes. Worker 0 starts on the first capture while the rest is
    planned, when it can (``_early``)."""
    early, workers = _early(paths, jobs, ctx), []
    if early is not None:
        workers.append(ctx.Process(target=_worker, args=(build, None, 0, jobs, folder, early)))
        workers[0].start()
    shares = [plan(path, jobs) if str(path) != "-" else Share(str(path)) for path in paths]
    if early is not None:
        if not shares[0].ranges:  # cannot be cut after all: worker 0 reads it whole
            size = os.path.getsize(shares[0].path)
            shares[0].ranges = [Range(0, size, 0)] + [Range(size, size, 0)] * (jobs - 1)
        early.queue.put(shares)
    workers += [ctx.Process(target=_worker, args=(build, shares, k, jobs, folder))
                for k in range(len(workers), jobs)]
    for proc in workers[1 if early is not None else 0:]:
        proc.start()
    for proc in workers:
        proc.join()
    return shares, workers


def _collect(shares: list, workers: list, folder: Path, write: Callable) -> ReplayStats:
    """Write the workers' alerts in event order and sum their statistics; raise a bad
    capture's error as one process would, or a worker's error."""
    jobs = len(workers)
    outs = [[folder / f"{index}-{k}.txt" for k in range(jobs)] for index in range(len(shares))]
    faults = [folder / f"{k}.fault" for k in range(jobs)]
    if any(p.exists() for p in faults):
        _fail_like_one_process(shares, outs, faults, write)
    errors = [folder / f"{k}.err" for k in range(jobs)]
    stats = [folder / f"{k}.stats" for k in range(jobs)]
    if any(p.exitcode != 0 for p in workers) or not all(p.exists() for p in stats):
        error = next((e.read_text() for e in errors if e.exists()), "worker failed")
        raise RuleError(f"parallel replay: {error}", code="LOAD_ERR_VALIDATE")
    for share, files in zip(shares, outs):
        (_concatenate if share.ranges else _merge)(files, write)
    total = ReplayStats()
    for part in stats:
        total.add(pickle.loads(part.read_bytes()))
    return total


class Early(NamedTuple):
    """Worker 0's early start: the capture, its bytes before the first cut, the plan's queue."""

    path: str
    until: int
    queue: object


def _early(paths: list, jobs: int, ctx) -> Early | None:
    """An ``Early`` start when the first capture is a plain file that worker 0 can
    start on before it is planned (bytes before the first cut target are its own)."""
    path = str(paths[0]) if paths else "-"
    if path == "-" or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as fh:
            if fh.read(2) == GZIP_MAGIC:
                return None
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    return Early(path, size // jobs, ctx.Queue())


def _fail_like_one_process(shares: list, outs: list, faults: list, write: Callable) -> None:
    """A capture is bad: write the alerts one process would have written before the
    fault (every capture before it, the ranges up to the faulty one), then raise
    the reader's error as one process would."""
    found = {k: pickle.loads(p.read_bytes()) for k, p in enumerate(faults) if p.exists()}
    k, (index, error) = min(found.items(), key=lambda item: (item[1][0], item[0]))
    for share, files in zip(shares[:index], outs[:index]):
        (_concatenate if share.ranges else _merge)(files, write)
    if shares[index].ranges:
        _concatenate(outs[index][:k + 1], write)
    else:  # every worker read the capture up to the fault
        _merge(outs[index], write)
    cls, args = error
    raise cls(*args)


def _concatenate(outs: list, write: Callable) -> None:
    for out in outs:
        with out.open(encoding="utf-8", newline="") as fh:
            while chunk := fh.read(_COPY):
                write(chunk)


def _merge(outs: list, write: Callable) -> None:
    """Lines are ``<num:12><seq:4> <line>``: merged by event number, then order of alert."""
    files = [out.open(encoding="utf-8", newline="") for out in outs]
    try:
        for line in heapq.merge(*files, key=lambda text: text[:16]):
            write(line[17:])
    finally:
        for fh in files:
            fh.close()


def _worker(build, shares, k: int, jobs: int, folder: Path, early=None) -> None:
    """Worker ``k``: its range (or modulo share) of every capture, one output file each.
    Worker 0 may start ``early`` (``_early``; not with the compiled loop)."""
    index = 0
    try:
        engine, registry, fmt = build()
        stats = ReplayStats()
        stats.paths = engine.paths() if hasattr(engine, "paths") else {}
        loop = native_loop(engine, registry)
        if early is not None and loop is not None:  # wait for the plan
            shares, early = early.queue.get(), None
        if early is not None:
            with (folder / "0-0.txt").open("w", encoding="utf-8", newline="") as fh:
                shares = _replay_early(early, engine, registry, fmt, fh, stats)
        for index, share in enumerate(shares):
            if early is not None and index == 0:
                continue
            with (folder / f"{index}-{k}.txt").open("w", encoding="utf-8", newline="") as fh:
                if share.ranges:
                    _replay_range(share, k, engine, registry, fmt, fh, stats, loop)
                else:
                    _replay_modulo(share, k, jobs, engine, registry, fmt, fh, stats, loop)
        (folder / f"{k}.stats").write_bytes(pickle.dumps(stats))
    except FormatError as exc:  # a bad capture: the parent fails as one process would
        args = (exc.message, exc.path, exc.offset, exc.block_type)
        (folder / f"{k}.fault").write_bytes(pickle.dumps((index, (type(exc), args))))
        raise SystemExit(1) from None
    except Exception as exc:  # reported by the parent with the worker's message
        (folder / f"{k}.err").write_text(str(exc))
        raise SystemExit(1) from None


def _replay_early(early: Early, engine, registry, fmt, fh, stats) -> list:
    """Worker 0 on the first capture from its start; returns the plan of every capture."""
    path, until, queue = early
    plans = []

    def wait() -> int:
        plans.append(queue.get())
        return plans[0][0].ranges[0].end
    stream = RangeFile(path, 0, 0, None, until=until, wait=wait)
    registry.first_ts = None  # set from this capture's first event
    try:
        with open_capture(stream, path=path) as reader:
            replay_events(reader, engine, registry,
                          lambda alert: fh.write(fmt(alert) + "\n"), stats)
    finally:
        stream.close()
    return plans[0] if plans else queue.get()


def _replay_range(share: Share, k: int, engine, registry, fmt, fh, stats, loop=None) -> None:
    start, end, before = share.ranges[k]
    if start >= end:
        return  # the capture is read whole by worker 0
    stream = RangeFile(share.path, share.head, start, end)
    try:
        registry.first_ts = _first_ts(share)  # evt.reltime counts from the capture's event 1
        if loop is not None:
            replay_native(*loop, share.path, engine, registry, AlertWriter(fmt, fh.write), stats,
                          window=(share.head, start, end), num_base=before)
            return
        with open_capture(stream, path=share.path) as reader:
            events = _renumbered(reader, before) if before else reader
            replay_events(events, engine, registry,
                          lambda alert: fh.write(fmt(alert) + "\n"), stats)
    except FormatError as exc:  # name the offset in the real file
        exc.offset = stream.file_offset(exc.offset)
        raise type(exc)(exc.message, exc.path, exc.offset, exc.block_type) from None
    finally:
        stream.close()


def _renumbered(events, before: int):
    for ev in events:
        ev.num += before
        yield ev


def _first_ts(share: Share) -> int | None:
    stream = RangeFile(share.path, share.head, share.head, share.ranges[0].end)
    try:
        with open_capture(stream, path=share.path) as reader:
            return next((ev.ts for ev in reader), None)
    finally:
        stream.close()


def _replay_modulo(share: Share, k: int, jobs: int, engine, registry, fmt, fh, stats,
                   loop=None) -> None:
    registry.first_ts = None
    current = [0, 0]

    def mine(events):
        for ev in events:
            if registry.first_ts is None:
                registry.first_ts = ev.ts  # evt.reltime counts from event 1
            if ev.num % jobs == k:
                current[0], current[1] = ev.num, 0
                yield ev

    def emit(alert):
        current[1] += 1
        fh.write(f"{current[0]:012d}{current[1]:04d} {fmt(alert)}\n")
    if loop is not None:  # the core writes its lines with the key; Python's go to emit
        replay_native(*loop, share.path, engine, registry,
                      KeyedWriter(AlertWriter(fmt, fh.write), emit), stats, modulo=(jobs, k),
                      before=lambda num: current.__setitem__(slice(None), [num, 0]))
        return
    with open_capture(share.path) as reader:
        replay_events(mine(reader), engine, registry, emit, stats)

