"""The captures of a run and their units of work.

Captures are named as files, folders (every ``.scap``/``.scap.gz`` below, sorted by
path), globs (``'logs/**/*.scap'``, sorted) and ``s3://bucket/prefix/`` (every
``.scap``/``.scap.gz`` object under the prefix, by key), in the order given: the
order one process would replay them in.

A **unit** is a capture and a byte range of it. A plain capture of one and a half
unit sizes or more (:func:`unit_size`: about four units per worker thread, 64 to 512 MiB)
is cut by the planner of ``scap replay -j`` (``replay.parallel.plan``: ranges at
event-block boundaries, each with the count of events before it, so ``evt.num``
stays right) when the rules keep no state; every other capture (gzip, S3 objects,
smaller files, syscall rules) is one unit, read whole.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import NamedTuple

from scaptools.errors import ScapError
from scaptools.format.constants import GZIP_MAGIC

from .s3 import SUFFIXES, S3Object, is_s3, list_captures

SMALLEST, LARGEST = 64 << 20, 512 << 20  # bounds of a unit's size when captures are cut:
# the walk that cuts costs about a tenth of the replay; a unit's alerts are held whole
SHARE = 4  # units per worker thread the cutting aims at


class Capture(NamedTuple):
    """One capture of the run: its name as one process would print it, where a worker
    opens it (an absolute path, or the S3 object), its size (None: unknown)."""

    name: str
    location: str
    size: int | None
    s3: S3Object | None = None


class Unit(NamedTuple):
    """Bytes ``[start, end)`` of capture number ``capture`` after its head ``[0, head)``
    (section header and metadata), ``before`` events before ``start``; ``first_ts``
    is the capture's first event time (for ``evt.reltime``). ``whole`` units read
    the capture from its start to its end."""

    capture: int
    part: int
    name: str
    location: str
    whole: bool
    head: int = 0
    start: int = 0
    end: int = 0
    before: int = 0
    first_ts: int | None = None
    s3: S3Object | None = None


def expand_captures(args, s3_client=None) -> list[Capture]:
    """The captures named by ``args`` (see the module's docstring), in run order.

    ``s3_client()`` gives the S3 client used to list ``s3://`` arguments."""
    out: list[Capture] = []
    for arg in map(str, args):
        if arg == "-":
            raise ScapError("a cluster cannot read standard input: name capture files "
                            "or s3:// prefixes")
        if is_s3(arg):
            objects = list_captures(arg, s3_client())
            if not objects:
                raise ScapError(f"{arg}: no .scap or .scap.gz object under this prefix")
            out += [Capture(o.url, o.url, o.size, o) for o in objects]
        elif os.path.isdir(arg):
            found = sorted(p for p in Path(arg).rglob("*")
                           if p.name.endswith(SUFFIXES) and p.is_file())
            if not found:
                raise ScapError(f"{arg}: no .scap or .scap.gz file in this folder")
            out += [_local(str(p)) for p in found]
        elif any(c in arg for c in "*?[") and not os.path.exists(arg):
            found = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            if not found:
                raise ScapError(f"{arg}: no capture matches this pattern")
            out += [_local(p) for p in found]
        else:
            out.append(_local(arg))  # a missing file is reported by the worker opening it
    return out


def _local(path: str) -> Capture:
    try:
        size = os.path.getsize(path)
    except OSError:
        size = None
    return Capture(path, os.path.abspath(path), size)


def whole_unit(index: int, capture: Capture) -> Unit:
    return Unit(index, 0, capture.name, capture.location, True, end=capture.size or 0,
                s3=capture.s3)


def unit_size(captures: list[Capture], threads: int) -> int:
    """The size of a unit when captures are cut: their bytes shared into ``SHARE`` units
    per worker thread, within ``SMALLEST``..``LARGEST``. Many captures for few workers
    then need no cutting at all (cutting costs a walk over the capture's blocks)."""
    total = sum(c.size or 0 for c in captures)
    return min(max(total // max(SHARE * threads, 1), SMALLEST), LARGEST)


def pieces(capture: Capture, split: bool, unit_bytes: int) -> int:
    """How many units to cut ``capture`` into (1: read whole, no planning)."""
    count = (2 * (capture.size or 0) + unit_bytes) // (2 * unit_bytes)  # the nearest count
    if not split or capture.s3 is not None or count < 2:
        return 1
    try:
        with open(capture.location, "rb") as fh:
            if fh.read(2) == GZIP_MAGIC:
                return 1
    except OSError:
        return 1
    return count


def plan_units(index: int, capture: Capture, count: int) -> list[Unit]:
    """Cut ``capture`` into ``count`` units with the planner of ``-j`` (a worker runs
    this: it walks the block headers); one whole unit when it cannot be cut."""
    from scaptools.replay.parallel import plan
    share = plan(capture.location, count)
    if not share.ranges:
        return [whole_unit(index, capture)]
    first = _first_ts(capture.location, share.head, share.ranges[0].end)
    return [Unit(index, part, capture.name, capture.location, False, share.head, start, end,
                 before, first)
            for part, (start, end, before) in enumerate(share.ranges)]


def _first_ts(location: str, head: int, end: int) -> int | None:
    """The time of the first event of a capture (in its first range)."""
    from scaptools.format.reader import open_capture
    from scaptools.replay.parallel import RangeFile
    stream = RangeFile(location, head, head, end)
    try:
        with open_capture(stream, path=location) as reader:
            return next((ev.ts for ev in reader), None)
    finally:
        stream.close()
