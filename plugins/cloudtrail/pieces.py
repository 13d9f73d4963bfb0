"""Decode a large gzip log file while it is still being inflated (cloudtrail-plugin.md §3.4).

Inflating releases the GIL, so a thread inflates while the text already out is
decoded a piece at a time: a piece ends at the comma between two records (the
last ``,{"eventVersion":`` that arrived). Each piece is decoded on its own, as
``[record,...]``, by the same two decoders ``decode_log`` uses on the whole text.

Only a clean file takes this path: one that inflates without a problem, starts
with ``{"Records":[`` and ends with ``]}``. Everything else, and any piece that
does not decode (a damaged file, or a cut that fell inside a record), makes
``decode_streamed`` return None and ``decode_log`` decode the file as a whole,
so both paths give the same LogFile.
"""
from __future__ import annotations

import queue
import threading

import msgspec

from . import logfile as L

CHUNK = 1 << 18  # compressed bytes inflated at a time (about 10 times that comes out;
#                  the decoder holds the GIL while a piece decodes: pieces stay small)
PIECE = 1 << 20  # text collected before a piece is cut and decoded
_START = b'{"Records":['
_NEXT = b'{"eventVersion":'  # how a CloudTrail record starts
_SPACE = b" \t\r\n"
_FAILED = object()
_RAWS = msgspec.json.Decoder(list[msgspec.Raw])
_HEADS = msgspec.json.Decoder(list[L._TypedHead])


def decode_streamed(data: bytes, name: str) -> L.LogFile | None:
    """The LogFile of a clean gzip log file, or None (see the module doc)."""
    chunks: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    worker = threading.Thread(target=_inflate, args=(data, chunks, stop), daemon=True)
    worker.start()
    try:
        found = _decode(chunks)
    finally:
        stop.set()
    if found is None:
        return None
    raws, heads, newline = found
    log = L.LogFile(name)
    if raws:
        L._collect(log, raws, heads, L._is_loose(bytes(raws[0])), newline)
    return log


def _inflate(data: bytes, chunks, stop) -> None:
    """Put the inflated text in ``chunks``, then None; _FAILED on any problem.

    The input is fed ``CHUNK`` compressed bytes at a time (views, no copies):
    limiting the output instead would copy the rest of the input at every call.
    """
    try:
        view, pos, end = memoryview(data), 0, len(data)
        while data.startswith(L.GZIP_MAGIC, pos):
            d = L._inflate_lib.decompressobj(47)
            while not d.eof:
                if stop.is_set() or pos >= end:  # stopped, or truncated
                    chunks.put(_FAILED)
                    return
                part = d.decompress(view[pos:pos + CHUNK])
                pos += CHUNK
                if part:
                    chunks.put(part)
            pos = min(pos, end) - len(d.unused_data)  # the next member starts here
        chunks.put(_FAILED if data[pos:].strip(b"\0") else None)
    except Exception:  # bad gzip: decode_log reports it
        chunks.put(_FAILED)


def _decode(chunks):
    """(raws, heads, newline inside) of the text coming through ``chunks``, or None.

    The parts are joined once per piece (into a bytearray whose cut comma becomes
    the closing ``]``); the text after the cut waits for the next piece.
    """
    raws, heads, newline = [], [], False
    pending, size, start, cutting = [], 0, -1, True  # start: the "[" of the piece
    while True:
        part = chunks.get()
        if part is _FAILED:
            return None
        if part is None:
            break
        pending.append(part)
        size += len(part)
        if start < 0:  # the file must open with {"Records":[
            if size < len(_START):
                continue
            head = b"".join(pending)
            if not head.startswith(_START):
                return None
            pending, start = [head], len(_START) - 1
        if not cutting or size < PIECE:
            continue
        text = bytearray().join(pending)
        cut = _cut(text)
        if cut <= start:
            pending = [text]
            continue
        if not _piece(text, start, cut, raws, heads):
            return None
        if text[cut] != 0x5D:  # the cut fell inside a record: no more cuts
            pending, cutting = [text], False
            continue
        newline = newline or text.find(b"\n", start, cut) >= 0
        pending, size, start = [b"[", memoryview(text)[cut + 1:]], len(text) - cut, 0
    if start < 0:
        return None
    text = bytearray().join(pending)
    end = _last_piece(text, start, raws, heads)
    if end < 0:
        return None
    return raws, heads, newline or text.find(b"\n", start, end) >= 0


def _last_piece(buf: bytearray, start: int, raws: list, heads: list) -> int:
    """Decode the text after the last cut up to its closing ``]}``; the end of that
    ``]``, or -1 when it fails."""
    end = len(buf)
    while end and buf[end - 1] in _SPACE:
        end -= 1
    if end - 2 < start or buf[end - 2:end] != b"]}":
        return -1
    view = memoryview(buf)[start:end - 1]
    try:
        raws += _RAWS.decode(view)
        heads += _HEADS.decode(view)
    except msgspec.DecodeError:
        return -1
    return end - 1


def _cut(buf: bytearray) -> int:
    """Index of the comma before the last record start in ``buf``, or -1."""
    at = buf.rfind(_NEXT)
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


def _piece(buf: bytearray, start: int, cut: int, raws: list, heads: list) -> bool:
    """Decode ``buf[start:cut]`` + "]" (the comma at ``cut`` becomes the "]", which stays
    when the piece decodes). False when a record does not fit the typed heads; when
    the cut is not between two records the comma is put back."""
    buf[cut] = 0x5D  # "]": the piece is a whole array
    view = memoryview(buf)[start:cut + 1]
    try:
        got = _RAWS.decode(view)
    except msgspec.DecodeError:
        view.release()
        buf[cut] = 0x2C
        return True
    try:
        heads += _HEADS.decode(view)
    except msgspec.DecodeError:
        return False
    raws += got  # the Raw views keep ``buf`` (never resized) alive
    return True
