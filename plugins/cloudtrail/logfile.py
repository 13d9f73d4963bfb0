"""Turn the bytes of one CloudTrail log file into records (docs/cloudtrail-plugin.md §3.4).

A log file is ``{"Records":[{...},{...}]}``, plain or gzip-compressed (detected
by the gzip magic, not by the name). Each record becomes ``(ts, payload, event_id)``:
``ts`` is ``eventTime`` in ns since the epoch (UTC), ``payload`` the record's own
JSON bytes with its key order kept.

Differences from the upstream reader, chosen so that nothing is lost silently:

* every problem (bad gzip, not JSON, no ``Records``, a record that is not an
  object) is returned as a message naming the file, instead of being skipped;
* a file that is not valid JSON as a whole is still split with the §3.4 brace
  scanner, so the complete records before (and after) the damage are kept;
* ``eventTime`` also accepts a space instead of ``T`` and a missing zone (read
  as UTC); a record whose ``eventTime`` is missing or no time at all takes the
  time of a record beside it (times.py gives the rule), and is reported;
* the problems of the file itself (bad gzip, not JSON, no ``Records``) are one
  message, which says how many records were saved; fragments of a damaged file
  that are not records are counted in it, not reported one by one;
* records with ``eventType == "AwsCloudTrailInsight"`` are kept.

Payloads are the record's exact bytes when the file is compact (CloudTrail's
own format); records written with layout whitespace (pretty-printed, or
``": "`` separators) are re-serialised compactly.
"""
from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .times import fill_times, parse_event_time, stamps_of

try:  # ISA-L inflates about twice as fast as zlib; optional (pip install isal)
    from isal import isal_zlib as _inflate_lib
except ImportError:  # pragma: no cover - depends on the installation
    _inflate_lib = zlib
crc32 = getattr(_inflate_lib, "crc32", zlib.crc32)  # the same CRC-32, faster with ISA-L

GZIP_MAGIC = b"\x1f\x8b"
# other compressions, named in the problem of a file that uses one (only gzip is read)
_OTHER_MAGIC = ((b"\xfd7zXZ\x00", "xz"), (b"BZh", "bzip2"), (b"\x28\xb5\x2f\xfd", "zstd"),
                (b"PK\x03\x04", "zip"), (b"\x04\x22\x4d\x18", "lz4"))
_STEP = 4096  # compressed bytes inflated at a time (what a damaged gzip loses)
STREAM_MIN = 1 << 20  # compressed size from which a file is decoded while it inflates
PLAIN_STREAM_MIN = 8 << 20  # the same for a plain (not gzip) log file


class _Envelope(msgspec.Struct):
    Records: list[msgspec.Raw]


class _Head(msgspec.Struct):
    eventTime: Any = None
    eventID: Any = None


class _TypedHead(msgspec.Struct, gc=False):  # str or None fields: never in a cycle
    eventTime: str | None = None
    eventID: str | None = None


class _Heads(msgspec.Struct):  # the fast path; any odd record sends a file to the slow one
    Records: list[_TypedHead]


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_HEADS = msgspec.json.Decoder(_Heads)
_HEAD = msgspec.json.Decoder(_Head)


@dataclass
class LogFile:
    """What one log file gave: records, problems and counters."""

    name: str
    times: list = field(default_factory=list)  # per record: ts in ns,
    payloads: list = field(default_factory=list)  # its JSON bytes,
    ids: list = field(default_factory=list)  # its eventID (None when not a string)
    problems: list = field(default_factory=list)  # one message per problem
    bad_records: int = 0  # records dropped (not a JSON object, or no time to give them)
    untimed: int = 0  # records kept with a substitute timestamp
    fragments: int = 0  # pieces of a damaged file that are not records (dropped)

    @property
    def records(self) -> list:
        """``(ts, payload bytes, event_id)`` per record."""
        return [(t, bytes(p), e) for t, p, e in zip(self.times, self.payloads, self.ids)]

    @property
    def malformed(self) -> bool:
        return bool(self.problems)


def inflate(data: bytes, faults: list) -> bytes:
    """Gunzip ``data`` when it starts with the gzip magic (every member).

    A damaged stream keeps what decompressed before the damage (fed ``_STEP`` bytes
    at a time, so only the step with the damage is lost); what went wrong is added
    to ``faults`` (without the file name).
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    parts, view, pos = [], memoryview(data), 0
    while True:  # one gzip member per turn
        d = _inflate_lib.decompressobj(47)
        try:
            while not d.eof and pos < len(data):
                step = view[pos:pos + _STEP]
                pos += len(step)
                parts.append(d.decompress(step))
        except (zlib.error, _inflate_lib.error) as exc:
            faults.append(f"bad gzip: {exc}")
            break
        if not d.eof:
            faults.append("bad gzip: stream is truncated")
            break
        pos -= len(d.unused_data)
        if not data.startswith(GZIP_MAGIC, pos):
            if data[pos:].strip(b"\0"):
                faults.append(f"bad gzip: {len(data) - pos} bytes of garbage after the "
                              "compressed data (ignored)")
            break
    return b"".join(parts)


def decode_log(data: bytes, name: str, typed_heads: bool = True) -> LogFile:
    """Split one log file into records, as a whole; never raises for bad content (see
    module doc). A large file is decoded while it inflates by pieces.py instead.

    ``typed_heads``: False takes the record-by-record path even for a sound file.
    """
    log, faults = LogFile(name), []
    text = inflate(data, faults)
    try:
        raws = _ENVELOPE.decode(text).Records
    except msgspec.DecodeError:
        raws = _salvage(text, faults)
    heads = None
    if raws and typed_heads:
        try:  # every record's eventTime/eventID in one call when all records are objects
            heads = _HEADS.decode(text).Records
        except msgspec.DecodeError:
            pass
    if raws:
        _collect(log, raws, heads, _is_loose(bytes(raws[0])), _inner_newline(text),
                 fragments=bool(faults))
    if faults:
        log.problems.insert(0, _file_problem(log, faults))
    return log


def _file_problem(log: LogFile, faults: list) -> str:
    """The one message for what is wrong with a file as a whole, and what it gave."""
    kept = len(log.times)
    if kept:
        saved = f"{kept} record{'s' * (kept != 1)} saved"
    else:
        saved = "nothing recorded"
    if log.fragments:
        saved += f", {log.fragments} fragment{'s' * (log.fragments != 1)} that are not " \
                 "records dropped"
    return f"{log.name}: {'; '.join(faults)}; {saved}"


def streamable(data: bytes) -> bool:
    """A log file large enough to be decoded piece by piece (pieces.py)."""
    if data.startswith(GZIP_MAGIC):
        return len(data) >= STREAM_MIN
    return len(data) >= PLAIN_STREAM_MIN and data.startswith(b'{"Records":[')


def _collect(log: LogFile, raws: list, heads: list | None, loose: bool,
             text_has_newline: bool = True, fragments: bool = False) -> None:
    """Fill ``log``'s columns for every record; report the ones that are not objects
    (count them as fragments when the file is damaged: ``fragments``).

    Payloads are bytes or ``msgspec.Raw`` views (both buffers: len, join, crc32).
    """
    if heads is None:
        _collect_slow(log, raws, loose, fragments)
        return
    times = [h.eventTime for h in heads]
    fill_columns(log, raws, stamps_of(times), times, [h.eventID for h in heads], loose,
                 text_has_newline, 0, None)


def fill_columns(log: LogFile, raws: list, stamps: list | None, times: list, ids: list,
                 loose: bool, text_has_newline: bool, first: int, last_ts: int | None,
                 whole: bool = True) -> bool:
    """Set ``log``'s columns from the records' views and heads (see ``_collect``).

    ``stamps``: ns per record, None for the file (or a record) whose time must be
    parsed from ``times`` (§3.4 step 3). ``first`` and ``last_ts``: for a part of a
    file (``whole`` False), the number of its first record and the time of the
    record before it (pieces.py). Returns False for a part that cannot tell the
    time of a record that has none (times.fill_times).
    """
    payloads = raws  # views into the file's text: no copy (msgspec.Raw is a buffer)
    fmt = msgspec.json.format
    if loose:
        payloads = [fmt(p, indent=-1) for p in payloads]
    elif text_has_newline:  # 512 records at a time, then one by one where one has it
        newline, join = _NEWLINE.search, b"".join
        for start in range(0, len(payloads), 512):
            if b"\n" in join(payloads[start:start + 512]):
                for i in range(start, min(start + 512, len(payloads))):
                    if newline(payloads[i]):
                        payloads[i] = fmt(payloads[i], indent=-1)
    if stamps is None:
        stamps = [None] * len(times)
    if None in stamps:
        drop = fill_times(log, stamps, times, first, last_ts, whole)
        if drop is None:
            return False
        if drop:
            stamps, payloads, ids = _without_rows(log, drop, stamps, payloads, ids)
    log.times, log.payloads, log.ids = stamps, payloads, ids
    return True


def _collect_slow(log: LogFile, raws: list, loose: bool, fragments: bool = False) -> None:
    """One record at a time: some record is not an object, or has odd field types.

    A record that is not an object is dropped: reported, or only counted as a
    fragment of a damaged file (``fragments``)."""
    name, numbers, payloads, times, ids = log.name, [], [], [], []
    for i, raw in enumerate(raws):
        payload = bytes(raw)
        try:
            head = _HEAD.decode(payload)
        except msgspec.DecodeError as exc:
            if fragments:
                log.fragments += 1
            else:
                log.bad_records += 1
                log.problems.append(f"{name}: record {i}: dropped: {exc}")
            continue
        if loose or b"\n" in payload:
            payload = msgspec.json.format(payload, indent=-1)
        eid = head.eventID
        numbers.append(i)
        payloads.append(payload)
        times.append(head.eventTime)
        ids.append(eid if eid.__class__ is str else None)
    stamps = stamps_of(times) or [parse_event_time(t) for t in times]
    if None in stamps:
        drop = fill_times(log, stamps, times, numbers=numbers)
        if drop:
            stamps, payloads, ids = _without_rows(log, drop, stamps, payloads, ids)
    log.times, log.payloads, log.ids = stamps, payloads, ids


def _without_rows(log: LogFile, drop: list, *columns: list) -> list:
    """``columns`` without the rows ``drop`` (records with no usable time), counted as bad."""
    log.bad_records += len(drop)
    dropped = set(drop)
    keep = [k for k in range(len(columns[0])) if k not in dropped]
    return [[column[k] for k in keep] for column in columns]


def _inner_newline(text: bytes) -> bool:
    """True when ``text`` has a newline other than leading or trailing whitespace."""
    start, end = 0, len(text)
    while end and text[end - 1] in b" \t\r\n":
        end -= 1
    while start < end and text[start] in b" \t\r\n":
        start += 1
    return text.find(b"\n", start, end) >= 0


def _is_loose(first: bytes) -> bool:
    """True when a file's serializer put layout whitespace into its records."""
    return b"\n" in first or b'": ' in first


def _salvage(text: bytes, faults: list) -> list:
    """The file is not a ``{"Records":[...]}`` document: say why, keep what can be kept."""
    for magic, kind in _OTHER_MAGIC:
        if text.startswith(magic):
            faults.append(f"not a CloudTrail log: {kind}-compressed (only gzip is read)")
            return []
    try:
        doc = msgspec.json.decode(text)
    except msgspec.DecodeError as not_json:
        faults.append(f"not JSON: {not_json}")
        return split_records(text)
    if not isinstance(doc, dict) or "Records" not in doc:
        faults.append("not a CloudTrail log: no Records array in the file")
    else:
        faults.append("not a CloudTrail log: Records is not an array")
    return []


_NEWLINE = re.compile(b"\n")
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[{}]', re.S)


def split_records(text: bytes) -> list[bytes]:
    """The §3.4 brace scanner: every object opened at depth 1, start to matching end.

    Used only for damaged files; an unterminated trailing record is dropped. Each
    object at depth 2 is first read whole by the C JSON scanner (on the text as
    Latin-1, so that character and byte offsets agree): a valid object ends
    exactly where the scanner's matching brace is. Only where that fails (the
    damage) are tokens walked one by one.
    """
    chars = text.decode("latin-1")
    out, depth, start, pos = [], 0, 0, 0
    search, skip = _TOKENS.search, _OBJECT.raw_decode
    while (m := search(text, pos)) is not None:
        tok, pos = m.group(), m.end()
        if tok == b"{":
            depth += 1
            if depth == 2:
                start = m.start()
                try:
                    end = skip(chars, start)[1]
                except ValueError:  # not a whole valid object: walk its tokens
                    continue
                out.append(text[start:end])
                depth, pos = 1, end
        elif tok == b"}":
            if depth == 2:
                out.append(text[start:pos])
            depth = max(depth - 1, 0)
    return out


_OBJECT = json.JSONDecoder()
