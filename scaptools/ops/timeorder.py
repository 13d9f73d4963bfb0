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

Runs are canonical captures (``format/writer.py``) read back here a block at a
time, a chunk of the file in memory per run: each event comes back as
``(ts, block)``, its block's bytes exactly as written. The items are either
such pairs (``BLOCKS``: the merge, whose output takes the blocks as they are) or
``(ts, payload)`` pairs of one plugin (``plugin_items``: the recorder); an
``ItemKind`` says how to write and read them back.
"""
from __future__ import annotations

import heapq
import os
import shutil
import tempfile
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable

from scaptools.errors import FormatError
from scaptools.format import layout
from scaptools.format.writer import plugin_blocks, section_header

RUN_BUDGET = 64 << 20  # bytes of items held before a run is written
ITEM_OVERHEAD = 140  # bytes of Python objects per held item, beside its event bytes
FAN_IN = 32  # runs read at once while merging (each holds a chunk of its file)
CHUNK = 1 << 20  # bytes of a run read at a time
_WRITE_EVERY = 4 << 20  # bytes of blocks gathered before a write to a run
_TS = itemgetter(0)
_HEAD = layout.EVENT_BLOCK_AND_HEADER  # block type and length, cpu, then ts, ...
_SHB_SIZE = len(section_header())
# a plugin event's payload inside its block, and its length inside the event
_PAYLOAD_AT = layout.EVENT_AT + layout.PLUGIN_HEAD_LEN
_EVENT_LEN_AT = layout.EVENT_AT + layout.EVENT_LEN_AT


@dataclass(frozen=True)
class ItemKind:
    """How to handle one kind of ``(ts, ...)`` item: ``encode`` (items -> event blocks)
    and ``decode`` (``(ts, block)`` read back -> item)."""

    encode: Callable
    decode: Callable


def _joined_blocks(items) -> bytes:
    return b"".join(block for _ts, block in items)


BLOCKS = ItemKind(_joined_blocks, lambda item: item)


def _payload(item):
    ts, block = item
    size = int.from_bytes(block[_EVENT_LEN_AT:_EVENT_LEN_AT + 4], "little")
    return ts, block[_PAYLOAD_AT:_PAYLOAD_AT + size - layout.PLUGIN_HEAD_LEN]


def plugin_items(plugin_id: int) -> ItemKind:
    """``(ts, payload)`` pairs written as ``pluginevent``s of ``plugin_id``."""
    return ItemKind(lambda items: plugin_blocks(plugin_id, items), _payload)


def item_size(item) -> int:
    return len(item[1]) + ITEM_OVERHEAD


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


def _parts(items):
    """The items of an iterable in lists of about ``_WRITE_EVERY`` bytes."""
    part, size = [], 0
    for item in items:
        part.append(item)
        size += len(item[1])
        if size >= _WRITE_EVERY:
            yield part
            part, size = [], 0
    if part:
        yield part


def read_run(path: str, kind: ItemKind):
    """The items of a run capture (written by ``RunStore.write``), in order."""
    decode = kind.decode
    for item in run_blocks(path):
        yield decode(item)


def run_blocks(path: str):
    """``(ts, block)`` of every event block of a run capture, ``CHUNK`` bytes read at a
    time. A run is this process's own canonical capture, so only its framing is read."""
    unpack = _HEAD.unpack_from
    with open(path, "rb") as f:
        buf, pos = f.read(CHUNK), _SHB_SIZE
        while True:
            end = len(buf)
            while pos + _HEAD.size <= end:
                _btype, total, _cpu, ts = unpack(buf, pos)[:4]
                if pos + total > end:
                    break
                yield ts, buf[pos:pos + total]
                pos += total
            more = f.read(max(CHUNK, _HEAD.size))
            if not more:
                if pos < end:
                    raise FormatError("temporary run cut short", path, pos)
                return
            buf, pos = buf[pos:] + more, 0
            if len(buf) >= _HEAD.size:  # a block longer than a chunk: read it whole
                total = unpack(buf, 0)[1]
                if total > len(buf):
                    buf += f.read(total - len(buf))


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

    def extend(self, items) -> None:
        held, budget, overhead = self._held, self.budget, ITEM_OVERHEAD
        for item in items:
            held.append(item)
            self._held_bytes += len(item[1]) + overhead
            if self._held_bytes >= budget:
                self.spill()
                held = self._held

    def spill(self) -> None:
        """Write the held items as a run (sorted first)."""
        if not self._held:
            return
        self._held.sort(key=_TS)
        self.streams.append(self._run(self._held))
        self._held, self._held_bytes = [], 0

    def merged(self):
        """Every item, in time order; the items still held are merged from memory."""
        streams = list(self.streams)
        if self._held:
            held = self._held
            held.sort(key=_TS)
            self._held, self._held_bytes = [], 0
            streams.append(lambda: iter(held))
        self.streams = []
        while len(streams) > FAN_IN:  # the first FAN_IN become one run: ties keep their order
            streams[:FAN_IN] = [self._run(self._merge(streams[:FAN_IN]))]
        return self._merge(streams)

    def _merge(self, streams: list):
        return heapq.merge(*(opener() for opener in streams), key=_TS)

    def _run(self, items) -> Callable:
        """Write ``items`` (in order) as a run; returns the opener of the run."""
        path, kind = self.store.write(_parts(items), self.kind), self.kind
        return lambda: read_run(path, kind)
