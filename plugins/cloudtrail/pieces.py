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
does not decode (a damaged file, or a record that does not fit the typed heads),
ends the parts with None: the caller decodes the file as a whole (``decode_log``)
and keeps its records after those of the parts it already has. The parts
together are the LogFile ``decode_log`` gives (a cut that fell inside a record
is taken back, and an earlier one tried).
"""
from __future__ import annotations

import msgspec

from . import logfile as L
from .inflate import FAILED as _FAILED
from .inflate import Feed

CHUNK = 1 << 16  # compressed bytes inflated at a time (about 10 times that comes out;
#                  the decoder holds the GIL while a piece decodes: pieces stay small)
PIECE = 1 << 20  # text collected before a piece is cut and decoded
CUT_TRIES = 4  # cuts tried (from the last) before more text is awaited
_START = b'{"Records":['
_NEXT = b'{"eventVersion":'  # how a CloudTrail record starts
_SPACE = b" \t\r\n"
_INSIDE = object()
_RAWS = msgspec.json.Decoder(list[msgspec.Raw])
_HEADS = msgspec.json.Decoder(list[L._TypedHead])


def decode_parts(source, name: str, helper=None):
    """The records of a clean log file (gzip or plain; bytes or a spool.Body) as LogFile
    parts, piece by piece.

    A None part ends the parts: the file is not clean (see the module doc). Each
    part numbers its records (in problems) from the file's first record.
    ``helper``: one already started on this very ``source`` (heads.py), else one
    is started here where it pays.
    """
    if helper is None:
        from . import heads as H
        helper = H.start(source)
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
                loose = L._is_loose(bytes(raws[0]))
            part = L.LogFile(name)
            L.fill_columns(part, raws, stamps, times, ids, loose, newline, first, last_ts)
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
        from . import heads as H
        try:
            for found in helper.pieces():
                if found is H.BROKEN:
                    break
                yield found
                if found is None:
                    return
                given += len(found[0])
            else:
                return
        finally:
            helper.close()
    feed = Feed(source, CHUNK)
    try:
        for found in _own_heads(_pieces(feed.get, _RAWS.decode)):
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
            heads = _HEADS.decode(view)
        except msgspec.DecodeError:
            yield None
            return
        times = [h.eventTime for h in heads]
        yield raws, L.stamps_of(times), times, [h.eventID for h in heads], newline


def decode_streamed(data: bytes, name: str) -> L.LogFile | None:
    """The LogFile of a clean gzip log file (its parts joined), or None."""
    log = L.LogFile(name)
    for part in decode_parts(data, name):
        if part is None:
            return None
        log.times += part.times
        log.payloads += part.payloads
        log.ids += part.ids
        log.problems += part.problems
        log.untimed += part.untimed
    return log


def after(log: L.LogFile, done: int) -> L.LogFile:
    """``log`` without its first ``done`` records (given already by parts).

    Those records were whole objects with typed heads, so they are the first
    ``done`` records of the whole-file decoding too; their problems are dropped.
    """
    if not done:
        return log
    rest = L.LogFile(log.name, log.times[done:], log.payloads[done:], log.ids[done:])
    rest.bad_records = log.bad_records
    rest.untimed = log.untimed
    for message in log.problems:
        at = _record_index(message, log.name)
        if at is not None and at < done:
            rest.untimed -= "is not a time" in message
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


def _pieces(get, decode):
    """(decoded, view, newline inside) of each piece of the text that ``get()`` returns
    part by part; None (and the end) when the text is not a clean log file.

    ``decode`` decodes a piece (a view of ``[record,...]``); a piece whose text
    is not JSON means the cut fell inside a record: the cut before it is tried
    (``CUT_TRIES`` in all), then more text awaited; a record that does not fit
    ``decode``'s type ends the pieces with None. The parts are joined once per
    piece (into a bytearray whose cut comma becomes the closing ``]``); the text
    after the cut waits for the next piece.
    """
    pending, size, start, want = [], 0, -1, PIECE  # start: the "[" of the piece
    while True:
        part = get()
        if part is _FAILED:
            yield None
            return
        if part is None:
            break
        pending.append(part)
        size += len(part)
        if start < 0:  # the file must open with {"Records":[
            if size < len(_START):
                continue
            head = b"".join(pending)
            if not head.startswith(_START):
                yield None
                return
            pending, start = [head], len(_START) - 1
        if size < want:
            continue
        text = bytearray().join(pending)
        found, cut = _INSIDE, len(text)
        for _ in range(CUT_TRIES):
            cut = _cut(text, cut)
            if cut <= start:
                break
            found = _piece(text, start, cut, decode)
            if found is not _INSIDE:
                break
        if found is None:
            yield None
            return
        if found is _INSIDE:  # no cut between two records yet
            pending, want = [text], size + PIECE
            continue
        yield found, memoryview(text)[start:cut + 1], text.find(b"\n", start, cut) >= 0
        pending, size, start, want = [b"[", memoryview(text)[cut + 1:]], len(text) - cut, 0, PIECE
    if start < 0:
        yield None
        return
    yield _last_piece(bytearray().join(pending), start, decode)


def _last_piece(buf: bytearray, start: int, decode):
    """The text after the last cut up to its closing ``]}``, decoded as a piece; None
    when it fails."""
    end = len(buf)
    while end and buf[end - 1] in _SPACE:
        end -= 1
    if end - 2 < start or buf[end - 2:end] != b"]}":
        return None
    view = memoryview(buf)[start:end - 1]
    try:
        return decode(view), view, buf.find(b"\n", start, end) >= 0
    except msgspec.DecodeError:
        return None


def _cut(buf: bytearray, end: int) -> int:
    """Index of the comma before the last record start in ``buf[:end]``, or -1."""
    at = buf.rfind(_NEXT, 0, end)
    while at > 1:
        i = at - 1
        while i > 0 and buf[i] in _SPACE:
            i -= 1
        if buf[i] == 0x2C:  # ","
            j = i - 1
            while j > 0 and buf[j] in _SPACE:
                j -= 1
            if buf[j] == 0x7D:  # "}"
                return i
        at = buf.rfind(_NEXT, 0, at)
    return -1


def _piece(buf: bytearray, start: int, cut: int, decode):
    """``decode(buf[start:cut] + "]")``; the comma at ``cut`` becomes the "]" and stays.
    None when a record does not fit ``decode``'s type; _INSIDE (the comma put back)
    when the text is not JSON, i.e. the cut is not between two records."""
    buf[cut] = 0x5D  # "]": the piece is a whole array
    view = memoryview(buf)[start:cut + 1]
    try:
        return decode(view)  # Raw views keep ``buf`` (never resized) alive
    except msgspec.ValidationError:
        return None
    except msgspec.DecodeError:
        view.release()
        buf[cut] = 0x2C
        return _INSIDE
