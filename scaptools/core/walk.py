"""The compiled core's capture walk, as the reader opens it (docs/core.md, "The walker").

``open_walker`` gives a ``scaptools._core.Walker``: over the file itself for a path
(the core reads and inflates it), over the reader's Python byte source for a file
object or a pipe. The walker hands back batches of ``Event`` objects and the
non-event blocks between them; ``CaptureReader`` does the rest as on the pure path.
"""
from __future__ import annotations

import os
from collections import Counter

from ..errors import FormatError, TruncatedCapture
from ..events.event import Event
from ..format.streams import open_source

# events per call into the core: enough to spread the cost of the call, few enough that
# a batch stays in the CPU caches and young for the garbage collector (32 to 64 events
# iterate fastest; 4096 took three times as long)
BATCH = 32

TALLY_BATCH = 1 << 16  # events counted per call when no event objects are made

CLASSES = (Event, FormatError, TruncatedCapture)  # what the walker builds and raises


class Tally:
    """A capture's events counted by the core (``CaptureReader.tally()``): iterate
    :meth:`blocks` for the non-event blocks, then read ``events`` (type -> count),
    ``plugins`` (plugin id or None -> count, events whose parameters fit), ``first_ts``
    and ``last_ts`` (file order), ``earliest``, ``latest``, ``inversions`` (events
    earlier than the one before them), ``damaged`` (events whose parameters run past
    their end) and ``first_damaged`` (the first such ``Event``)."""

    def __init__(self, walk):
        self._walk = walk
        self.events, self.plugins = Counter(), Counter()
        self.first_ts = self.last_ts = self.earliest = self.latest = None
        self.inversions = self.damaged = 0
        self.first_damaged = None

    def blocks(self):
        return self._walk(self)

    def fill(self, counts: dict) -> None:
        self.events = Counter(dict(counts["events"]))
        self.plugins = Counter(dict(counts["plugins"]))
        for name in ("first_ts", "last_ts", "earliest", "latest", "inversions", "damaged"):
            setattr(self, name, counts[name])


def has_walker(core) -> bool:
    """Whether ``core`` (the extension, or None) offers the walk."""
    return core is not None and hasattr(core, "Walker")


def open_walker(core, path_or_file, path: str | None = None):
    """Open a capture for the core's walk; returns ``(walker, owned, path)``, ``owned``
    being what the reader closes (its file object, or the walker that opened the path).

    Raises FormatError (as :func:`scaptools.format.streams.open_source` does) when the
    capture cannot be opened.
    """
    if isinstance(path_or_file, (str, os.PathLike)):
        path = path or os.fspath(path_or_file)
        walker = core.Walker.open(os.fspath(path_or_file), path, CLASSES)
        return walker, walker, path  # the walker owns the file: closing it closes the file
    source, owned, path = open_source(path_or_file, path)
    return core.Walker.from_source(source, path, CLASSES), owned, path
