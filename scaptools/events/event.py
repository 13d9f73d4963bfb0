"""The one ``Event`` type shared by every path (reader, writer, engine, export).

``raw`` always holds the event in the v2 layout (26-byte header, parameter
length array, parameter data), whatever block version it was read from, so the
writer can copy it and the decoders need only one layout (docs/format.md §9).
Parameters are split and decoded only when somebody asks for them; a parameter
length that runs past the end of its event raises ``DamagedEvent`` then
(``check_params``), naming the event and its offset.
"""
from __future__ import annotations

import re
import struct

from ..errors import DamagedEvent
from ..format.constants import NO_TID
from ..format.layout import (EVENT_HEADER, EVENT_HEADER_SIZE, LARGE_PAYLOAD_TYPES,
                             PARAM_LENGTHS_AT, PLUGINEVENT, lengths_struct, param_data_at)
from .table import EVENTS, EVENT_NAMES, EVENT_DIRECTIONS

__all__ = ["Event", "NO_TID", "PLUGINEVENT", "split_params", "param_fault", "params_fit",
           "check_params", "raise_damaged", "damaged_error", "parse_json"]

_U32 = struct.Struct("<I")  # the plugin id parameter (docs/format.md §10.3)
_TWO_LENGTHS = lengths_struct(2, large=True)  # a plugin event's two parameter lengths
_ID_AT = PARAM_LENGTHS_AT + _TWO_LENGTHS.size  # its plugin id, when both parameters fit
# a member name with white space before its colon: not counted by ``first_wins``
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')


class Event:
    """One event of a capture.

    Attributes: ``num`` (1-based position among the events of the capture),
    ``ts`` (ns since the epoch), ``cpu``, ``tid`` (``NO_TID`` for none), ``type``
    (event id), ``nparams``, ``flags`` (dump flags, 0 unless stored),
    ``raw`` (bytes of the whole v2 event), ``offset`` (of its block in the capture,
    ``None`` unless read from one). Derived lazily: ``name``, ``direction``,
    ``param_bytes``, ``params``, ``plugin_id``, ``payload``, ``json``.
    """

    # The lazy slots (flags, param bytes, params, json, cache) start unset so that
    # building an event costs as little as possible: the reader builds millions.
    __slots__ = ("num", "ts", "cpu", "tid", "type", "nparams", "raw", "_offset",
                 "_flags", "_pbytes", "_params", "_json", "_cache")

    def __init__(self, num: int, ts: int, cpu: int, tid: int, type: int, nparams: int,
                 raw: bytes, flags: int = 0):
        self.num = num
        self.ts = ts
        self.cpu = cpu
        self.tid = tid
        self.type = type
        self.nparams = nparams
        self.raw = raw
        if flags:
            self._flags = flags

    @property
    def flags(self) -> int:
        """Dump flags (§9.1): 0 unless the event came from a flags-word block."""
        try:
            return self._flags
        except AttributeError:
            return 0

    @flags.setter
    def flags(self, value: int) -> None:
        self._flags = value

    @property
    def offset(self) -> int | None:
        """Byte offset of the event's block in its capture (set by the reader)."""
        try:
            return self._offset
        except AttributeError:
            return None

    @offset.setter
    def offset(self, value: int | None) -> None:
        self._offset = value

    @property
    def cache(self):
        """A free per-event slot for extractors (e.g. a dict); ``None`` until set."""
        try:
            return self._cache
        except AttributeError:
            return None

    @cache.setter
    def cache(self, value) -> None:
        self._cache = value

    # -- construction -----------------------------------------------------
    @classmethod
    def from_params(cls, type: int, params: list[bytes], ts: int = 0, tid: int = NO_TID,
                    cpu: int = 0, num: int = 0, flags: int = 0) -> "Event":
        """Build an event from already encoded parameter values."""
        lens = lengths_struct(len(params), type in LARGE_PAYLOAD_TYPES).pack(
            *(len(p) for p in params))
        total = EVENT_HEADER_SIZE + len(lens) + sum(len(p) for p in params)
        raw = EVENT_HEADER.pack(ts, tid, total, type, len(params)) + lens + b"".join(params)
        return cls(num, ts, cpu, tid, type, len(params), raw, flags)

    @classmethod
    def plugin(cls, ts: int, plugin_id: int, payload: bytes, num: int = 0) -> "Event":
        """A ``pluginevent`` (322): tid -1, cpu 0, params plugin_id and payload."""
        return cls.from_params(PLUGINEVENT, [_U32.pack(plugin_id), bytes(payload)], ts=ts,
                               num=num)

    # -- schema-derived ---------------------------------------------------
    @property
    def name(self) -> str:
        return EVENT_NAMES[self.type] if self.type < len(EVENT_NAMES) else "unknown"

    @property
    def direction(self) -> str:
        """``>`` for enter events, ``<`` for exit events (sysdig's notation)."""
        return EVENT_DIRECTIONS[self.type] if self.type < len(EVENT_DIRECTIONS) else ">"

    @property
    def is_plugin(self) -> bool:
        return self.type == PLUGINEVENT

    @property
    def param_bytes(self) -> list[bytes]:
        """The stored parameter values, undecoded, in order (``DamagedEvent`` if a
        length runs past the end of the event)."""
        try:
            return self._pbytes
        except AttributeError:
            pbytes = split_params(self.raw, self.type, self.nparams)
            if pbytes is None:
                raise_damaged(self)
            self._pbytes = pbytes
            return pbytes

    @property
    def params(self) -> dict:
        """Parameter name -> decoded value, as sysdig shows it (decoded once)."""
        try:
            return self._params
        except AttributeError:
            from .params import decode_params
            self._params = decode_params(self)
            return self._params

    # -- plugin events ----------------------------------------------------
    @property
    def plugin_id(self) -> int | None:
        if self.type != PLUGINEVENT or self.nparams < 1:
            return None
        raw = self.raw
        if self.nparams == 2 and len(raw) >= _ID_AT + _U32.size:  # the common case, read
            first, second = _TWO_LENGTHS.unpack_from(raw, PARAM_LENGTHS_AT)  # in place
            if first == _U32.size and _ID_AT + first + second <= len(raw):
                return _U32.unpack_from(raw, _ID_AT)[0]
        pb = self.param_bytes[0]
        return _U32.unpack(pb)[0] if len(pb) == 4 else None

    @property
    def payload(self) -> bytes | None:
        if self.type != PLUGINEVENT or self.nparams < 2:
            return None
        return self.param_bytes[1]

    @property
    def json(self):
        """The payload parsed as JSON, once per event; ``None`` if it is not JSON."""
        try:
            return self._json
        except AttributeError:
            self._json = parse_json(self.payload)
            return self._json

    @json.setter
    def json(self, value) -> None:
        """Store a payload already parsed by a faster route (shared by every extractor)."""
        self._json = value

    def __repr__(self) -> str:
        return (f"Event(num={self.num}, ts={self.ts}, cpu={self.cpu}, tid={self.tid}, "
                f"type={self.type} {self.name}{self.direction}, nparams={self.nparams})")


def split_params(raw: bytes, type: int, nparams: int) -> list[bytes] | None:
    """Split the parameter data of a v2 event using its length array (§9.3).

    ``None`` when the length array or a parameter runs past the end of the event
    (``param_fault`` says which).
    """
    large = type in LARGE_PAYLOAD_TYPES
    pos = param_data_at(nparams, large)
    if nparams <= 0 or pos > len(raw):
        return [] if nparams <= 0 else None
    out = []
    for n in lengths_struct(nparams, large).unpack_from(raw, PARAM_LENGTHS_AT):
        out.append(raw[pos:pos + n])
        pos += n
    return out if pos <= len(raw) else None


def param_fault(raw: bytes, type: int, nparams: int) -> str | None:
    """What runs past the end of a v2 event (its length array or its first parameter
    that does not fit), or ``None`` when every parameter fits (§9.3)."""
    large = type in LARGE_PAYLOAD_TYPES
    pos, size = param_data_at(nparams, large), len(raw)
    if pos > size:
        return f"its {nparams} parameter lengths do not fit its {size} bytes"
    infos = EVENTS[type]["params"] if type < len(EVENTS) else []
    for index, n in enumerate(lengths_struct(nparams, large).unpack_from(raw, PARAM_LENGTHS_AT)):
        if pos + n > size:
            name = f" ({infos[index]['name']})" if index < len(infos) else ""
            return (f"parameter {index + 1}{name} has length {n} but only {size - pos} "
                    f"of the event's {size} bytes are left")
        pos += n
    return None


def params_fit(event) -> bool:
    """Whether every parameter of ``event`` fits inside it: ``param_fault`` is None
    (one unpack for the usual events)."""
    raw, nparams = event.raw, event.nparams
    if nparams <= 32 and event.type not in LARGE_PAYLOAD_TYPES:
        start = param_data_at(nparams)
        if start <= len(raw):
            return start + sum(_LENS[nparams].unpack_from(raw, PARAM_LENGTHS_AT)) <= len(raw)
    return param_fault(raw, event.type, nparams) is None


_LENS = [lengths_struct(n) for n in range(33)]


def check_params(event) -> None:
    """Raise ``DamagedEvent`` if a parameter length of ``event`` runs past its end."""
    if not params_fit(event):
        raise_damaged(event)


def raise_damaged(event):
    """Raise ``damaged_error(event)`` (the reader that yielded the event names the file)."""
    raise damaged_error(event)


def damaged_error(event, path: str = "<stream>") -> DamagedEvent:
    """The error of an event whose parameters do not fit it: the event number, type
    and offset, and what runs past its end."""
    fault = param_fault(event.raw, event.type, event.nparams) or "its parameters run past its end"
    return DamagedEvent(f"event {event.num} ({event.name} {event.direction}): damaged: {fault}",
                        path, event.offset)


def parse_json(payload):
    """A JSON payload parsed as Falco's plugins parse it: a member named twice in one
    object keeps its first value (``None`` if the payload is not JSON)."""
    if not payload:
        return None
    try:
        import orjson
        value = orjson.loads(payload)
    except Exception:  # not JSON: extractors give no value (docs/json-plugin.md §7)
        return None
    return first_wins(payload, value)


def first_wins(payload, value, marks: int | None = None):
    """``value`` (``payload`` parsed by orjson, which keeps the last of duplicate members),
    or the payload parsed again keeping the first when it has duplicates.

    Every member of a compact payload has one ``":`` (a quote inside a string is
    escaped, ``\\"``, in the payload and in orjson's output alike), so the payload has
    more of them than the parsed value written back only when members were dropped
    (``marks``: that count of the payload, when the caller has it). The count holds
    only without ``\\u`` escapes (``\\u0022:`` is written back as ``\\":``) and
    without white space before a colon (``"a" : 1``); such payloads are parsed again."""
    if not isinstance(value, (dict, list)):
        return value
    import orjson
    data = bytes(payload)
    if marks is None:
        marks = data.count(b'":')
    if (marks <= orjson.dumps(value).count(b'":') and b"\\u" not in data
            and _SPACED_COLON.search(data) is None):
        return value
    import json
    try:
        return json.loads(data, object_pairs_hook=_first_member)
    except ValueError:
        return value


def _first_member(pairs) -> dict:
    out = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out
