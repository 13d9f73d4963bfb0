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
  as UTC); a record whose ``eventTime`` is no time at all is still recorded,
  with the time of its log file name (``..._YYYYMMDDThhmmZ_...``) or of the
  record before it, and reported;
* records with ``eventType == "AwsCloudTrailInsight"`` are kept.

Payloads are the record's exact bytes when the file is compact (CloudTrail's
own format); records written with layout whitespace (pretty-printed, or
``": "`` separators) are re-serialised compactly.
"""
from __future__ import annotations

import calendar
import json
import re
import zlib
from operator import add, itemgetter
from dataclasses import dataclass, field
from typing import Any

import msgspec

try:  # ISA-L inflates about twice as fast as zlib; optional (pip install isal)
    from isal import isal_zlib as _inflate_lib
except ImportError:  # pragma: no cover - depends on the installation
    _inflate_lib = zlib
crc32 = getattr(_inflate_lib, "crc32", zlib.crc32)  # the same CRC-32, faster with ISA-L

GZIP_MAGIC = b"\x1f\x8b"
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                   r"(?:([Zz])|([+-])(\d\d):?(\d\d))?")
_NAME_TIME = re.compile(r"_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)Z_")
_MINUTES: dict[str, int] = {}  # "YYYY-MM-DDThh:mm:" -> ns
_DAYS: dict[str, int | None] = {}  # "YYYY-MM-DD" -> ns of its midnight (None: not a day)
_SECONDS = {f"{s:02d}Z": s * 1_000_000_000 for s in range(61)}  # "ssZ" -> ns (60: leap)
_CACHE_MAX = 100_000
_MINUTE_OF, _SECOND_OF = itemgetter(slice(0, 17)), itemgetter(slice(17, None))
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
    bad_records: int = 0  # records dropped (not a JSON object)
    untimed: int = 0  # records kept with a substitute timestamp

    @property
    def records(self) -> list:
        """``(ts, payload bytes, event_id)`` per record."""
        return [(t, bytes(p), e) for t, p, e in zip(self.times, self.payloads, self.ids)]

    @property
    def malformed(self) -> bool:
        return bool(self.problems)


def parse_event_time(text: Any) -> int | None:
    """``eventTime`` -> ns since the epoch, or None when it is not a time (§3.4 step 3).

    Fast path for CloudTrail's own form ``YYYY-MM-DDThh:mm:ssZ``: the minute is
    looked up in a cache, only the seconds are converted.
    """
    if text.__class__ is str and len(text) == 20 and text[16] == ":":
        base = _MINUTES.get(text[:17])
        if base is None:
            base = _minute_base(text[:17])
            if base is not None:
                if len(_MINUTES) >= _CACHE_MAX:
                    _MINUTES.clear()
                _MINUTES[text[:17]] = base
        secs = _SECONDS.get(text[17:])
        if base is not None and secs is not None:
            return base + secs
    return _parse_full(text) if isinstance(text, str) else None


def _minute_base(prefix: str) -> int | None:
    """ns of the minute ``YYYY-MM-DDThh:mm:`` (what ``_parse_full`` gives for it + ``00Z``).

    ASCII digits take a day cache plus the hour and minute; anything else goes
    to ``_parse_full``.
    """
    hh, mm = prefix[11:13], prefix[14:16]
    if (prefix[13:14] == ":" == prefix[16:17] and prefix[10:11] in ("T", "t", " ")
            and (hh + mm).isascii() and (hh + mm).isdigit() and int(hh) < 24 and int(mm) < 60):
        day = prefix[:10]
        base = _DAYS.get(day)
        if base is None and day not in _DAYS:
            if len(_DAYS) >= _CACHE_MAX:
                _DAYS.clear()
            base = _DAYS[day] = _parse_full(day + "T00:00:00Z")
        if base is not None:
            return base + (int(hh) * 60 + int(mm)) * 60_000_000_000
        return None
    return _parse_full(prefix + "00Z")


def _parse_full(text: str) -> int | None:
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60
            and s < 61) or y < 1970:
        return None
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if m.group(9):  # numeric offset: local time = UTC + offset
        off = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        secs -= off if m.group(9) == "+" else -off
    return max(secs, 0) * 1_000_000_000 + int((m.group(7) or "").ljust(9, "0"))


def name_time(name: str) -> int | None:
    """The delivery time in a CloudTrail file name (``..._20230710T1145Z_...``), in ns."""
    m = _NAME_TIME.search(name)
    if m is None:
        return None
    y, mo, d, h, mi = (int(g) for g in m.groups())
    try:
        return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) * 1_000_000_000
    except (ValueError, OverflowError):
        return None


def inflate(data: bytes, log: LogFile) -> bytes:
    """Gunzip ``data`` when it starts with the gzip magic (every member).

    A damaged stream keeps what decompressed before the damage and adds a problem.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    parts = []
    rest = data
    try:
        while rest.startswith(GZIP_MAGIC):
            d = _inflate_lib.decompressobj(47)
            parts.append(d.decompress(rest))
            if not d.eof:
                log.problems.append(f"{log.name}: bad gzip: stream is truncated")
                break
            rest = d.unused_data
        if rest.strip(b"\0"):
            log.problems.append(f"{log.name}: bad gzip: {len(rest)} bytes of garbage after "
                                "the compressed data (ignored)")
    except (zlib.error, _inflate_lib.error) as exc:
        log.problems.append(f"{log.name}: bad gzip: {exc}")
        parts.append(d.flush() if not d.eof else b"")
    return b"".join(parts)


def decode_log(data: bytes, name: str) -> LogFile:
    """Split one log file into records, as a whole; never raises for bad content (see
    module doc). A large file is decoded while it inflates by pieces.py instead."""
    log = LogFile(name)
    text = inflate(data, log)
    try:
        raws = _ENVELOPE.decode(text).Records
    except msgspec.DecodeError as exc:
        raws = _salvage(text, log, exc)
    if not raws:  # an empty Records array is a valid file without records
        return log
    try:  # every record's eventTime/eventID in one call when all records are objects
        heads = _HEADS.decode(text).Records
    except msgspec.DecodeError:
        heads = None
    _collect(log, raws, heads, _is_loose(bytes(raws[0])), _inner_newline(text))
    return log


def streamable(data: bytes) -> bool:
    """A log file large enough to be decoded piece by piece (pieces.py)."""
    if data.startswith(GZIP_MAGIC):
        return len(data) >= STREAM_MIN
    return len(data) >= PLAIN_STREAM_MIN and data.startswith(b'{"Records":[')


def _collect(log: LogFile, raws: list, heads: list | None, loose: bool,
             text_has_newline: bool = True, first: int = 0, last_ts: int | None = None) -> None:
    """Fill ``log``'s columns for every record; report the ones that are not objects.

    Payloads are bytes or ``msgspec.Raw`` views (both buffers: len, join, crc32).
    ``first`` and ``last_ts``: for a part of a file, the index of its first record
    and the time of the record before it (pieces.py).
    """
    if heads is None:
        _collect_slow(log, raws, loose)
        return
    times = [h.eventTime for h in heads]
    fill_columns(log, raws, stamps_of(times), times, [h.eventID for h in heads], loose,
                 text_has_newline, first, last_ts)


def stamps_of(times: list) -> list | None:
    """ns of every ``eventTime`` when all have CloudTrail's own form, else None."""
    try:
        return _canonical_times(times)
    except (KeyError, TypeError):  # some eventTime is not YYYY-MM-DDThh:mm:ssZ
        return None


def fill_columns(log: LogFile, raws: list, stamps: list | None, times: list, ids: list,
                 loose: bool, text_has_newline: bool, first: int, last_ts: int | None) -> None:
    """Set ``log``'s columns from the records' views and heads (see ``_collect``).

    ``stamps``: ns per record, None for the file (or a record) whose time must be
    parsed from ``times`` (§3.4 step 3).
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
        _fill_times(log, stamps, times, first, last_ts)
    log.times, log.payloads, log.ids = stamps, payloads, ids


def _canonical_times(times: list) -> list:
    """ns for every ``YYYY-MM-DDThh:mm:ssZ`` (CloudTrail's own form, §3.4 step 3).

    A time is its cached minute ``YYYY-MM-DDThh:mm:`` plus ``ssZ`` looked up in
    ``_SECONDS``: both lookups succeed only for that exact form; any other string
    (or None) raises KeyError/TypeError.
    """
    minutes = _MINUTES  # (C-level maps: no bytecode per record)
    for prefix in set(map(_MINUTE_OF, times)) - minutes.keys():
        base = _minute_base(prefix) if len(prefix) == 17 else None
        if base is None:
            raise KeyError(prefix)
        if len(minutes) >= _CACHE_MAX:
            minutes.clear()
        minutes[prefix] = base
    return list(map(add, map(minutes.__getitem__, map(_MINUTE_OF, times)),
                    map(_SECONDS.__getitem__, map(_SECOND_OF, times))))


def _fill_times(log: LogFile, stamps: list, times: list, first: int = 0,
                last_ts: int | None = None) -> None:
    """Parse the times the cache did not know; a record without one takes the time
    of the record before it (or of the file name) and is reported (§3.4 step 3)."""
    if last_ts is None:
        last_ts = name_time(log.name)
    for i, ts in enumerate(stamps, first):
        if ts is None:
            ts = parse_event_time(times[i - first])
            if ts is None:
                ts = last_ts if last_ts is not None else 0
                log.untimed += 1
                log.problems.append(f"{log.name}: record {i}: eventTime {times[i - first]!r} "
                                    f"is not a time; recorded at {ts} ns")
            stamps[i - first] = ts
        last_ts = ts


def _collect_slow(log: LogFile, raws: list, loose: bool) -> None:
    """One record at a time: some record is not an object, or has odd field types."""
    name = log.name
    last_ts = name_time(name)
    for i, raw in enumerate(raws):
        payload = bytes(raw)
        try:
            head = _HEAD.decode(payload)
        except msgspec.DecodeError as exc:
            log.bad_records += 1
            log.problems.append(f"{name}: record {i}: dropped: {exc}")
            continue
        if loose or b"\n" in payload:
            payload = msgspec.json.format(payload, indent=-1)
        ts = parse_event_time(head.eventTime)
        if ts is None:
            ts = last_ts if last_ts is not None else 0
            log.untimed += 1
            log.problems.append(f"{name}: record {i}: eventTime {head.eventTime!r} is not a "
                                f"time; recorded at {ts} ns")
        last_ts = ts
        eid = head.eventID
        log.times.append(ts)
        log.payloads.append(payload)
        log.ids.append(eid if eid.__class__ is str else None)


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


def _salvage(text: bytes, log: LogFile, exc: Exception) -> list:
    """The file is not a ``{"Records":[...]}`` document: say why, keep what can be kept."""
    try:
        doc = msgspec.json.decode(text)
    except msgspec.DecodeError:
        log.problems.append(f"{log.name}: not JSON: {exc}")
        return split_records(text)
    if not isinstance(doc, dict) or "Records" not in doc:
        log.problems.append(f"{log.name}: no Records array in the file")
    else:
        log.problems.append(f"{log.name}: Records is not an array")
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
