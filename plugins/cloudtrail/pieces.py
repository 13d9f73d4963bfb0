"""Decode a large log file while it is still being inflated (docs/cloudtrail-plugin.md §3.4).

Inflating releases the GIL, so a thread inflates (inflate.py) while the text
already out is decoded a piece at a time: a piece ends at the comma between two
records (the last ``,{"eventVersion":`` that arrived). Each piece is decoded on
its own, as ``[record,...]``, by the same two decoders ``decode_log`` uses on the
whole text, and given at once as a part of the file (``decode_parts``), so the
recorder writes the first records while the rest still inflates. The file is
read from disk a chunk at a time (spool.py) and the inflating thread waits
while a few parts wait to be decoded, so only a few pieces of the text are in
memory at a time, however large the file.

The second decoder (``eventTime``/``eventID`` of every record) holds the GIL as
long as the first; where the machine has a second core a forked helper process
(heads.py) inflates, cuts and decodes the heads, and sends each piece with its
heads: this process then only decodes the records of each piece. Should the
helper break down (die, stall, send nonsense), the pieces go on from here after
the records it gave.

Only a clean file takes this path: one that inflates without a problem, starts
with ``{"Records":[`` and ends with ``]}``. Everything else, and any piece that
does not decode (a damaged file, or a record that does not fit the typed heads)
or holds no time for a record without one (times.py), ends the parts with None: the caller decodes the file as a whole (``decode_log``)
and keeps its records after those of the parts it already has. The parts
together are the LogFile ``decode_log`` gives (a cut that fell inside a record
is taken back, and an earlier one tried).
"""
from __future__ import annotations

import msgspec

from . import cutting, heads, logfile, times
from .inflate import Feed

def decode_parts(source, name: str, helper=None):
    """The records of a clean log file (gzip or plain; bytes or a spool.Body) as LogFile
    parts, piece by piece.

    A None part ends the parts: the file is not clean (see the module doc). Each
    part numbers its records (in problems) from the file's first record.
    ``helper``: one already started on this very ``source`` (heads.py), else one
    is started here where it pays.
    """
    if helper is None:
        helper = heads.start(source)
    first, last_ts, loose = 0, None, None
    found_pieces = _found_pieces(source, helper)
    try:
        for found in found_pieces:
            if found is None:
                yield None
                return
            raws, stamps, times, ids, newline = found
            if not raws:
                continue
            if loose is None:  # the file's first record tells its serializer's layout
                loose = logfile._is_loose(bytes(raws[0]))
            part = logfile.LogFile(name)
            if not logfile.fill_columns(part, raws, stamps, times, ids, loose, newline, first,
                                        last_ts, whole=False):
                yield None  # no time for a record from what the parts hold: decode whole
                return
            first, last_ts = first + len(raws), part.times[-1]
            yield part
    finally:
        found_pieces.close()


def _found_pieces(source, helper):
    """(raws, stamps, times, ids, newline) of each piece, from ``helper`` (if any) or
    decoded here; None when the file is not clean. When the helper breaks down the
    pieces go on from here, without the records it gave."""
    given = 0
    if helper is not None:
        try:
            for found in helper.pieces():
                if found is heads.BROKEN:
                    break
                yield found
                if found is None:
                    return
                given += len(found[0])
            else:
                return
        finally:
            helper.close()
    feed = Feed(source, cutting.CHUNK)
    try:
        for found in _own_heads(cutting.cut_pieces(feed.get, cutting.RAWS.decode)):
            if given and found is not None:
                found, given = _without(found, given)
            yield found
    finally:
        feed.close()


def _without(found, n: int):
    """``found`` without its first ``n`` records; and how many of ``n`` are left."""
    raws, stamps, times, ids, newline = found
    k = min(n, len(raws))
    return (raws[k:], None if stamps is None else stamps[k:], times[k:], ids[k:],
            newline), n - k


def _own_heads(found_pieces):
    """(raws, stamps, times, ids, newline) of each piece, its heads decoded here."""
    for found in found_pieces:
        if found is None:
            yield None
            return
        raws, view, newline = found
        try:
            heads = cutting.HEADS.decode(view)
        except msgspec.DecodeError:
            yield None
            return
        times = [h.eventTime for h in heads]
        yield raws, logfile.stamps_of(times), times, [h.eventID for h in heads], newline


def decode(data: bytes, name: str) -> logfile.LogFile:
    """A log file decoded piece by piece while it inflates when it is large and clean,
    else as a whole (``logfile.decode_log``)."""
    if logfile.streamable(data):
        log = decode_streamed(data, name)
        if log is not None:
            return log
    return logfile.decode_log(data, name)


def decode_streamed(data: bytes, name: str) -> logfile.LogFile | None:
    """The LogFile of a clean gzip log file (its parts joined), or None."""
    log = logfile.LogFile(name)
    for part in decode_parts(data, name):
        if part is None:
            return None
        log.times += part.times
        log.payloads += part.payloads
        log.ids += part.ids
        log.problems += part.problems
        log.untimed += part.untimed
    return log


def after(log: logfile.LogFile, done: int) -> logfile.LogFile:
    """``log`` without its first ``done`` records (given already by parts).

    Those records were whole objects with typed heads, so they are the first
    ``done`` records of the whole-file decoding too; their problems are dropped.
    """
    if not done:
        return log
    rest = logfile.LogFile(log.name, log.times[done:], log.payloads[done:], log.ids[done:])
    rest.bad_records = log.bad_records
    rest.untimed = log.untimed
    for message in log.problems:
        at = _record_index(message, log.name)
        if at is not None and at < done:
            rest.untimed -= times.GIVEN in message
        else:
            rest.problems.append(message)
    return rest


def _record_index(message: str, name: str) -> int | None:
    """The record number of a ``NAME: record I: ...`` problem, else None."""
    head = f"{name}: record "
    if not message.startswith(head):
        return None
    number = message[len(head):].split(":", 1)[0]
    return int(number) if number.isdigit() else None
