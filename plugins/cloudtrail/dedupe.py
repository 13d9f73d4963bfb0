"""The duplicate check of the cloudtrail source: which records a stream already gave.

A record is a duplicate of an earlier one when both have the same ``eventID`` and
the same bytes (length and CRC-32): it is written once. The same ``eventID``
with other bytes is another record. CloudTrail delivers a duplicate close to
its first copy (in the same or a following log file, or as a redelivered SQS
message), so keys are kept for a window only and memory does not grow with the
stream. The window is made of generations bounded by time and by count:

* a generation takes the keys of the records given while their ``eventTime``
  spans less than ``WINDOW_NS`` (one hour) and they are at most ``GENERATION``
  (16,384); then the next generation starts;
* the last ``GENERATIONS`` (16) generations are kept, older ones dropped.

So a duplicate is found when no more than 15 generations came between the two
copies: in a stream that moves on in time, at least the last 15 hours of
``eventTime``; in one denser than 16,384 records an hour, at least the last
245,760 records (what a busy trail logs in an hour or two). Keys of a
generation that was closed by the count before its hour was over are counted
in ``forgotten`` when they are dropped: duplicates that came later within
that hour were not found.

A scan that goes back in time (the next region of an S3 bucket) or moves
between days (SQS messages) just starts new generations. A key is one int: a
64-bit hash of the eventID beside the length and CRC-32 of the record's bytes
(about 90 bytes per key kept, at most some 25 MB); two records with different
eventIDs are taken for one only if both the hash and the length and CRC-32
agree (odds about 2**-96 per pair).
"""
from __future__ import annotations

from collections import deque
from itertools import repeat
from operator import lshift, or_

from .logfile import crc32

WINDOW_NS = 3600 * 10**9  # eventTime a generation spans less than
GENERATION = 1 << 14  # keys a generation holds at most
GENERATIONS = 16  # generations kept


class Generation:
    """Keys added one after the other, and the span of their records' eventTime (ns)."""

    __slots__ = ("keys", "first", "last", "full")

    def __init__(self, first: int, last: int):
        self.keys: list = []
        self.first, self.last = first, last
        self.full = False  # closed by the count, not by the time


class Seen:
    """The keys of the records given (see the module doc): ``duplicates`` checks and
    adds the records of one part."""

    def __init__(self, window_ns: int = WINDOW_NS, generation: int = GENERATION,
                 generations: int = GENERATIONS):
        self.window_ns, self.generation, self.most = window_ns, generation, generations
        self.keys: set = set()  # the keys of every generation kept
        self.generations: deque = deque()  # the oldest first; keys go into the last
        self.forgotten = 0  # keys dropped from generations closed by the count

    def __len__(self) -> int:
        return len(self.keys)

    def duplicates(self, ids: list, payloads: list, times: list) -> list[int]:
        """Add the records of one part (eventIDs, bytes, times in ns); the indexes of
        those given before (by an earlier part or earlier in this one), in order."""
        if not ids:
            return []
        keys = list(map(or_, map(lshift, map(hash, ids), repeat(64)),
                        map(or_, map(lshift, map(len, payloads), repeat(32)),
                            map(crc32, payloads))))
        fresh, seen = set(keys), self.keys
        if len(fresh) == len(keys) and seen.isdisjoint(fresh):
            self._add(keys, min(times), max(times))  # the usual case, checked in one go
            return []
        found, new, inside = [], [], set()
        for i, key in enumerate(keys):
            if key in seen or key in inside:
                found.append(i)
            else:
                inside.add(key)
                new.append(key)
        self._add(new, min(times), max(times))
        return found

    def _add(self, keys: list, first: int, last: int) -> None:
        gens = self.generations
        gen = gens[-1] if gens else None
        if gen is None or len(gen.keys) >= self.generation or \
                max(last, gen.last) - min(first, gen.first) >= self.window_ns:
            if gen is not None:
                gen.full = len(gen.keys) >= self.generation
            gen = Generation(first, last)
            gens.append(gen)
            if len(gens) > self.most:
                old = gens.popleft()
                self.keys.difference_update(old.keys)
                self.forgotten += len(old.keys) if old.full else 0
        gen.first, gen.last = min(first, gen.first), max(last, gen.last)
        gen.keys += keys
        self.keys.update(keys)
