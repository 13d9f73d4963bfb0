"""The parsed JSON payload of a plugin event, without copying the payload first.

``Event.json`` splits every parameter (two copies of the payload bytes) before
parsing; for a ``pluginevent`` (322) the payload's place is known from the
length array (docs/format.md §9.2: 26-byte header, then one u32 length per
parameter, 322 being a large-payload type), so orjson can read a memoryview of
it. The result is stored where ``Event.json`` keeps it, so every extractor of
the event shares the one parse (docs/json-plugin.md §4 step 2).
"""
from __future__ import annotations

import struct

import orjson

from scaptools.events.event import first_wins
from scaptools.format.layout import PARAM_LENGTHS_AT, PLUGIN_LENGTHS, PLUGINEVENT, param_data_at

_LENS = PLUGIN_LENGTHS
_loads = orjson.loads
UNSET = object()  # the event's payload has not been parsed yet


def payload_bounds(event):
    """``(raw, start, end)`` of the payload inside ``event.raw``, or ``None`` when the
    event is not a well-formed plugin event (callers then use ``event.payload``)."""
    nparams = event.nparams
    if event.type != PLUGINEVENT or nparams < 2:
        return None
    raw = event.raw
    try:
        first, size = _LENS.unpack_from(raw, PARAM_LENGTHS_AT)
    except struct.error:
        return None
    start = param_data_at(nparams, large=True) + first
    end = min(start + size, len(raw))
    if start > end:
        return None
    return raw, start, end


def parsed(event):
    """Exactly ``event.json`` (the payload parsed once; ``None`` if not JSON), cheaper."""
    rec = getattr(event, "_json", UNSET)  # cheaper than catching AttributeError
    if rec is not UNSET:
        return rec
    bounds = payload_bounds(event)
    if bounds is None:
        return event.json
    raw, start, end = bounds
    rec = None
    if end > start:
        view = memoryview(raw)[start:end]
        try:
            rec = first_wins(view, _loads(view), raw.count(b'":', start, end))  # as Event.json
        except Exception:  # not JSON: no value (docs/json-plugin.md §7), as Event.json
            rec = None
    try:
        event.json = rec
    except AttributeError:  # an event type without the slot: just do not keep it
        pass
    return rec
