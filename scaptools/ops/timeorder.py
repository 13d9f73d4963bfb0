"""Time order with bounded memory: an external merge sort of events (``scap merge``,
``scap record --sort``).

Items are gathered in memory up to ``RUN_BUDGET`` bytes, sorted by timestamp
(a stable sort: equal times keep the order they were given in) and written to
a temporary capture, a *run*; at the end the runs are merged, at most
``FAN_IN`` at a time (more runs are first merged in groups into longer runs).
A stretch that is already in time order (a sorted input, the ordered start of
one) is not copied: it is given as a *stream* that reads it again when the runs
are merged. Runs live in a private folder under ``TMPDIR`` (or the folder
given) that is removed at the end, also after an error.

The items are events (``EVENTS``: the merge) or ``(ts, payload)`` pairs of one
plugin (``plugin_items``: the recorder); an ``ItemKind`` says how to sort,
measure, write and read them back.
"""
from __future__ import annotations

import heapq
import os
import shutil
import tempfile
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Callable

from scaptools.errors import FormatError
from scaptools.format.reader import open_capture
from scaptools.format.writer import event_block, plugin_blocks, section_header

RUN_BUDGET = 64 << 20  # bytes of items held before a run is written
ITEM_OVERHEAD = 200  # bytes of Python objects per held item, beside its event bytes
FAN_IN = 16  # runs read at once while merging (each reader holds a chunk of its file)
_WRITE_EVERY = 4 << 20  # bytes of blocks gathered before a write to a run


@dataclass(frozen=True)
class ItemKind:
    """How to handle one kind of item: ``key`` (its time), ``size`` (bytes held),
    ``encode`` (items -> event blocks) and ``decode`` (an event read back -> item)."""

    key: Callable
    size: Callable
    encode: Callable
    decode: Callable


def _event_blocks(events) -> bytes:
    return b"".join(map(event_block, events))


EVENTS = ItemKind(attrgetter("ts"), lambda e: len(e.raw) + ITEM_OVERHEAD, _event_blocks,
                  lambda e: e)


def plugin_items(plugin_id: int) -> ItemKind:
    """``(ts, payload)`` pairs written as ``pluginevent``s of ``plugin_id``."""
    return ItemKind(itemgetter(0), lambda item: len(item[1]) + ITEM_OVERHEAD,
                    lambda items: plugin_blocks(plugin_id, items),
                    lambda e: (e.ts, e.payload))


class RunStore:
    """Temporary run captures in a private folder, created on the first run and removed
    by ``close``."""

    def __init__(self, parent: str | None = None):
        self.parent = parent
        self.folder: str | None = None
        self.runs = 0

    def write(self, parts, kind: ItemKind) -> str:
        """A new run capture of the items of ``parts`` (lists, in order); returns its path."""
        if self.folder is None:
            try:
                self.folder = tempfile.mkdtemp(prefix="scap-sort-", dir=self.parent)
            except OSError as exc:
                raise FormatError(f"cannot create a temporary folder: {exc.strerror or exc}",
                                  self.parent or tempfile.gettempdir()) from None
        self.runs += 1
        path = os.path.join(self.folder, f"run{self.runs}.scap")
        try:
            with open(path, "wb") as f:
                f.write(section_header())
                for part in parts:
                    f.write(kind.encode(part))
        except OSError as exc:
            raise FormatError(f"cannot write a temporary run: {exc.strerror or exc}",
                              path) from None
        return path

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parts(items, kind: ItemKind):
    """The items of an iterable in lists of about ``_WRITE_EVERY`` bytes."""
    part, size, measure = [], 0, kind.size
    for item in items:
        part.append(item)
        size += measure(item)
        if size >= _WRITE_EVERY:
            yield part
            part, size = [], 0
    if part:
        yield part


def read_run(path: str, kind: ItemKind):
    """The items of a run capture, in order."""
    decode = kind.decode
    with open_capture(path) as reader:
        for event in reader:
            yield decode(event)


class SortedRuns:
    """Streams and runs in the order they were given; ``merged()`` is all their items in
    time order, ties in that order (see the module doc)."""

    def __init__(self, store: RunStore, kind: ItemKind, budget: int | None = None):
        self.store = store
        self.kind = kind
        self.budget = budget or RUN_BUDGET
        self.streams: list[Callable] = []  # each: () -> iterator of items in time order
        self._held: list = []
        self._held_bytes = 0

    def add_stream(self, opener: Callable) -> None:
        """Items in time order that ``opener()`` gives again when the runs are merged."""
        self.spill()
        self.streams.append(opener)

    def add(self, item) -> None:
        self._held.append(item)
        self._held_bytes += self.kind.size(item)
        if self._held_bytes >= self.budget:
            self.spill()

    def extend(self, items) -> None:
        size, held = self.kind.size, self._held
        for item in items:
            held.append(item)
            self._held_bytes += size(item)
            if self._held_bytes >= self.budget:
                self.spill()
                held = self._held

    def spill(self) -> None:
        """Write the held items as a run (sorted first)."""
        if not self._held:
            return
        self._held.sort(key=self.kind.key)
        self.streams.append(self._run(self._held))
        self._held, self._held_bytes = [], 0

    def merged(self):
        """Every item, in time order; the items still held are merged from memory."""
        streams = list(self.streams)
        if self._held:
            held = self._held
            held.sort(key=self.kind.key)
            self._held, self._held_bytes = [], 0
            streams.append(lambda: iter(held))
        self.streams = []
        while len(streams) > FAN_IN:  # the first FAN_IN become one run: ties keep their order
            streams[:FAN_IN] = [self._run(self._merge(streams[:FAN_IN]))]
        return self._merge(streams)

    def _merge(self, streams: list):
        return heapq.merge(*(opener() for opener in streams), key=self.kind.key)

    def _run(self, items) -> Callable:
        """Write ``items`` (in order) as a run; returns the opener of the run."""
        path, kind = self.store.write(_parts(items, self.kind), self.kind), self.kind
        return lambda: read_run(path, kind)
