"""The ``s3Interval`` time window (docs/cloudtrail-plugin.md §4.1).

``5d``, ``2023-04-05T06:00:00Z``, ``5d-2d``, ``2023-04-05T06:00:00Z-1d``: one
endpoint gives a start with no end, two give start and end. A duration means
"now (UTC) minus that long". Upstream splits on the last ``-`` that is followed
by a valid endpoint; so do we. Whitespace around the ``-`` is allowed (upstream
keeps it in the first endpoint and rejects it: a quirk we do not copy).
"""
from __future__ import annotations

import calendar
import re
import time

from scaptools.errors import PluginError

_DURATION = r"\d+[wdhms]"
_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
_ENDPOINT = re.compile(rf"{_DURATION}|{_STAMP}")
_SPLIT = re.compile(rf"(.*)-\s*({_DURATION}|{_STAMP})", re.S)
_UNIT = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_interval(text: str, now: float | None = None) -> tuple[int | None, int | None]:
    """``s3Interval`` -> (start, end) in seconds since the epoch (None = unbounded).

    Raises PluginError ``cloudtrail invalid interval: "<value>": <reason>`` or, when
    the end is before the start, ``cloudtrail start time ... must be less than end time ...``.
    """
    value = text.strip()
    if not value:
        return None, None
    now = time.time() if now is None else now
    m = _SPLIT.fullmatch(value)
    first, second = (m.group(1).rstrip(), m.group(2)) if m else (value, None)
    start = _endpoint(first, value, now)
    end = _endpoint(second, value, now) if second is not None else None
    if end is not None and end < start:
        raise PluginError(f"cloudtrail start time {format_stamp(start)} must be less than end "
                          f"time {format_stamp(end)}", "cloudtrail")
    return start, end


def _endpoint(text: str, whole: str, now: float) -> int:
    if not _ENDPOINT.fullmatch(text):
        raise PluginError(f'cloudtrail invalid interval: "{whole}": "{text}" is neither a '
                          'duration (e.g. 5d) nor a time (YYYY-MM-DDThh:mm:ssZ)', "cloudtrail")
    if text[-1] in _UNIT and not text.endswith("Z"):
        return int(now) - int(text[:-1]) * _UNIT[text[-1]]
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError as exc:
        raise PluginError(f'cloudtrail invalid interval: "{whole}": {exc}', "cloudtrail") from None


def format_stamp(secs: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))


def day_prefix(secs: int) -> str:
    """``YYYY/MM/DD/``: the S3 ``StartAfter`` suffix of a region job (§4.2 step 3)."""
    return time.strftime("%Y/%m/%d/", time.gmtime(secs))


def name_stamp(secs: int) -> str:
    """``YYYYMMDDThhmm``: the form compared with log file names (§4.2 step 4)."""
    return time.strftime("%Y%m%dT%H%M", time.gmtime(secs))
