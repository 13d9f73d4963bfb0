"""The time of a CloudTrail record (docs/cloudtrail-plugin.md §3.4 step 3), and the rule
for a record whose ``eventTime`` is missing or is not a time.

``eventTime`` accepts CloudTrail's own form ``YYYY-MM-DDThh:mm:ssZ`` (fast: the
minute is cached, only the seconds are converted), a space instead of ``T``, a
fraction and a numeric zone or none (read as UTC).

A record without a time is never stored at 0 (1970): it takes the time of the
record before it in its log file; records at the start of a file take the time
of the first record after them that has one; in a file where no record has a
time, the delivery time in the file's name (``..._YYYYMMDDThhmmZ_...``); a
record for which none of these exists is not recorded. Each is reported
(``record N: no eventTime`` or ``record N: eventTime 'x' is not a time``, with
the time it was given or why it was left out) and counted.
"""
from __future__ import annotations

import calendar
import re
from operator import add, itemgetter
from typing import Any

_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                   r"(?:([Zz])|([+-])(\d\d):?(\d\d))?")
_NAME_TIME = re.compile(r"_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)Z_")
_SECONDS = {f"{s:02d}Z": s * 1_000_000_000 for s in range(61)}  # "ssZ" -> ns (60: leap)
_MINUTE_OF, _SECOND_OF = itemgetter(slice(0, 17)), itemgetter(slice(17, None))
GIVEN = "; given the time of "  # in the problem of every record given a neighbour's time


def parse_event_time(text: Any) -> int | None:
    """``eventTime`` -> ns since the epoch, or None when it is not a time (§3.4 step 3).

    Many records go through ``stamps_of`` instead, which converts each minute once.
    """
    if text.__class__ is str and len(text) == 20 and text[16] == ":":
        base = _minute_base(text[:17])
        secs = _SECONDS.get(text[17:])
        if base is not None and secs is not None:
            return base + secs
    return _parse_full(text) if isinstance(text, str) else None


def _minute_base(prefix: str) -> int | None:
    """ns of the minute ``YYYY-MM-DDThh:mm:`` (what ``_parse_full`` gives for it + ``00Z``).

    ASCII digits take the day's midnight plus the hour and minute; anything else
    goes to ``_parse_full``.
    """
    hh, mm = prefix[11:13], prefix[14:16]
    if (prefix[13:14] == ":" == prefix[16:17] and prefix[10:11] in ("T", "t", " ")
            and (hh + mm).isascii() and (hh + mm).isdigit() and int(hh) < 24 and int(mm) < 60):
        base = _parse_full(prefix[:10] + "T00:00:00Z")
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
        ns = calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) * 1_000_000_000
    except (ValueError, OverflowError):
        return None
    return ns if ns > 0 else None


def stamps_of(times: list) -> list | None:
    """ns of every ``eventTime`` when all have CloudTrail's own form, else None."""
    try:
        return _canonical_times(times)
    except (KeyError, TypeError):  # some eventTime is not YYYY-MM-DDThh:mm:ssZ
        return None


def _canonical_times(times: list) -> list:
    """ns for every ``YYYY-MM-DDThh:mm:ssZ`` (CloudTrail's own form, §3.4 step 3).

    A time is its minute ``YYYY-MM-DDThh:mm:`` (each distinct minute of the batch
    converted once) plus ``ssZ`` looked up in ``_SECONDS``: both lookups succeed only
    for that exact form; any other string (or None) raises KeyError/TypeError.
    """
    minutes = {}  # "YYYY-MM-DDThh:mm:" -> ns (C-level maps: no bytecode per record)
    for prefix in set(map(_MINUTE_OF, times)):
        base = _minute_base(prefix) if len(prefix) == 17 else None
        if base is None:
            raise KeyError(prefix)
        minutes[prefix] = base
    return list(map(add, map(minutes.__getitem__, map(_MINUTE_OF, times)),
                    map(_SECONDS.__getitem__, map(_SECOND_OF, times))))


def fill_times(log, stamps: list, texts: list, first: int = 0, last_ts: int | None = None,
               whole: bool = True, numbers: list | None = None) -> list | None:
    """Give every record of ``stamps`` (ns, or None where the cache had none) a time by
    the rule of the module doc; ``texts``: their ``eventTime`` values.

    ``first``: the number of the first record in its file (or ``numbers``: the number
    of each); ``last_ts``: the time of the record before it (a part of a file). Reports into ``log.problems`` and counts
    ``log.untimed``. Returns the positions of the records to leave out, or None for
    a part (``whole`` False) that cannot tell a time from what it holds.
    """
    for k, ts in enumerate(stamps):
        if ts is None:
            stamps[k] = parse_event_time(texts[k])
    if None not in stamps:
        return []
    after = next((ts for ts in stamps if ts is not None), None)
    if last_ts is None and after is None and not whole:
        return None
    fallback = name_time(log.name) if after is None else None
    drop, before = [], last_ts
    for k, ts in enumerate(stamps):
        if ts is not None:
            before = ts
            continue
        number = numbers[k] if numbers is not None else first + k
        head = f"{log.name}: record {number}: " + (
            "no eventTime" if texts[k] is None else f"eventTime {texts[k]!r} is not a time")
        if before is not None or after is not None or fallback:
            given, whose = ((before, "the record before it") if before is not None else
                            (after, "the next record with one") if after is not None else
                            (fallback, "its file name"))
            stamps[k] = given
            log.untimed += 1
            log.problems.append(head + GIVEN + whose)
        else:
            drop.append(k)
            log.problems.append(head + "; not recorded: no record of its file has a time")
    return drop
