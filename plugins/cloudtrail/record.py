"""Access to the CloudTrail record of an event (docs/cloudtrail-plugin.md §7.1).

The record is ``Event.json`` (parsed once per event, shared by all extractors);
a payload wrapped in NUL bytes is trimmed and parsed once more. ``MISSING``
marks an absent member: JSON ``null`` is a present value (``None``).

A member named twice in one object keeps its first value, as upstream's parser
does (``Event.json`` and ``json.fast.parsed`` parse it so); values rendered as JSON
text (``ct.request``, ``json.value``) show the first occurrence as written,
duplicates inside it included.
"""
from __future__ import annotations

import orjson

from scaptools_plugins.json.shared import compact, resolve

MISSING = object()
_NUL = b"\x00"


def record(event):
    """The parsed record, or ``None`` when the payload is not JSON (every field is then absent)."""
    rec = event.json
    if rec is None:
        payload = event.payload
        if payload and (payload[:1] == _NUL or payload[-1:] == _NUL):
            try:
                return orjson.loads(payload.strip(_NUL))
            except orjson.JSONDecodeError:
                return None
    return rec


def raw_payload(event) -> bytes:
    """The payload bytes as the raw-JSON helpers want them (NULs trimmed)."""
    payload = event.payload or b""
    return payload.strip(_NUL) if payload[:1] == _NUL or payload[-1:] == _NUL else payload


def get(rec, path: tuple):
    """The value at ``path`` (member names; numeric segments index arrays) or ``MISSING``."""
    value = rec
    for key in path:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
            if value is MISSING:
                return MISSING
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value


def as_string(value):
    """The general string rule: absent stays absent, a JSON string is itself, anything
    else ``""``."""
    if value is MISSING:
        return None
    return value if isinstance(value, str) else ""


def string_at(rec, path: tuple):
    if rec is None:
        return None
    return as_string(get(rec, path))


def json_text(event, path: tuple):
    """The value at ``path`` as compact JSON text with its original literals, or ``None``."""
    doc = raw_payload(event)
    span = resolve(doc, list(path))
    if span is None:
        return None
    return compact(doc[span[0]:span[1]]).decode("utf-8", "replace")


def num(value) -> int:
    """Upstream's number reading: unsigned integer, else float truncated, non-numbers 0 (§7.2)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return 0
        value = int(value)
    return value % (1 << 64)
