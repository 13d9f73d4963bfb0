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

CHUNK = 1 << 20  # inflated bytes handed over at a time
PIECE = 4 << 20  # text collected before a piece is cut and decoded
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
    """Put the inflated text in ``chunks``, then None; _FAILED on any problem."""
    try:
        rest = data
        while rest.startswith(L.GZIP_MAGIC):
            d = L._inflate_lib.decompressobj(47)
            while not d.eof:
                part = d.decompress(rest, CHUNK)
                rest = d.unconsumed_tail
                if stop.is_set() or not (part or rest):  # stopped, or truncated
                    chunks.put(_FAILED)
                    return
                if part:
                    chunks.put(part)
            rest = d.unused_data
        chunks.put(_FAILED if rest.strip(b"\0") else None)
    except Exception:  # bad gzip: decode_log reports it
        chunks.put(_FAILED)


def _decode(chunks):
    """(raws, heads, newline inside) of the text coming through ``chunks``, or None."""
    raws, heads, newline = [], [], False
    buf, started, cutting = bytearray(), False, True
    while True:
        part = chunks.get()
        if part is _FAILED:
            return None
        if part is None:
            break
        buf += part
        if not started:
            if len(buf) < len(_START):
                continue
            if not buf.startswith(_START):
                return None
            del buf[:len(_START) - 1]  # keep the "["
            started = True
        if cutting and len(buf) >= PIECE:
            cut = _cut(buf)
            if cut > 0:
                rest = _piece(buf, cut, raws, heads)
                if rest is _FAILED:
                    return None
                if rest is None:
                    cutting = False  # the cut fell inside a record: no more cuts
                    continue
                newline = newline or buf.find(b"\n", 0, cut) >= 0
                buf = rest
    end = _last_piece(buf, raws, heads) if started else -1
    if end < 0:
        return None
    return raws, heads, newline or buf.find(b"\n", 0, end) >= 0


def _last_piece(buf: bytearray, raws: list, heads: list) -> int:
    """Decode the text after the last cut up to its closing ``]}``; the end of that
    ``]``, or -1 when it fails."""
    end = len(buf)
    while end and buf[end - 1] in _SPACE:
        end -= 1
    if buf[end - 2:end] != b"]}":
        return -1
    view = memoryview(buf)[:end - 1]
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


def _piece(buf: bytearray, cut: int, raws: list, heads: list):
    """Decode ``buf[:cut]`` + "]"; the text after the cut (from a new "["), None when the
    cut is not between two records, _FAILED when a record does not fit the typed heads."""
    buf[cut] = 0x5D  # "]": the piece is a whole array
    view = memoryview(buf)[:cut + 1]
    try:
        got = _RAWS.decode(view)
    except msgspec.DecodeError:
        view.release()
        buf[cut] = 0x2C
        return None
    try:
        heads += _HEADS.decode(view)
    except msgspec.DecodeError:
        return _FAILED
    raws += got  # the Raw views keep ``buf`` (never changed again) alive
    rest = bytearray(b"[")
    rest += memoryview(buf)[cut + 1:]
    return rest
