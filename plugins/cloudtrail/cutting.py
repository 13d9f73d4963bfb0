"""Cut the text of a log file into pieces at record boundaries (docs/cloudtrail-plugin.md §3.4).

A piece ends at the comma between two records (the last ``,{"eventVersion":``
that arrived) and is decoded on its own as ``[record,...]``. Used by pieces.py
in this process and by the heads helper (heads.py) in its own.
"""
from __future__ import annotations

import msgspec

from . import logfile
from .inflate import FAILED

CHUNK = 1 << 16  # compressed bytes inflated at a time (about 10 times that comes out;
#                  the decoder holds the GIL while a piece decodes: pieces stay small)
PIECE = 1 << 20  # text collected before a piece is cut and decoded
CUT_TRIES = 4  # cuts tried (from the last) before more text is awaited
_START = b'{"Records":['
_NEXT = b'{"eventVersion":'  # how a CloudTrail record starts
_SPACE = b" \t\r\n"
_INSIDE = object()
RAWS = msgspec.json.Decoder(list[msgspec.Raw])
HEADS = msgspec.json.Decoder(list[logfile._TypedHead])


def cut_pieces(get, decode):
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
        if part is FAILED:
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
