"""JSON lines export: one JSON object per event, in file order (for jq and data tools).

Every object has ``num``, ``ts`` (ns since the epoch), ``time`` (ISO 8601 UTC with
ns), ``cpu``, ``tid`` (-1 when the event has no thread), ``type`` (event id) and
``name``. Then:

* syscall events: ``dir`` (``>`` enter, ``<`` exit) and ``params``, the decoded
  parameters (docs/format.md §10.2) as JSON values: numbers, text, socket
  addresses as objects, byte buffers as text (invalid UTF-8 escaped as ``\\xNN``);
  ``null`` for an empty parameter. If the parameters cannot be decoded, ``params_hex``
  holds the stored values in hex instead.
* plugin events: ``plugin_id``, ``source`` and ``payload``, the payload parsed as
  JSON; a payload that is not JSON goes to ``payload_text`` (UTF-8) or ``payload_hex``.

With a ``scaptools.state.State`` (rebuilt from the capture's process/fd lists and
events, as ``scap print`` does), syscall events also get ``proc`` (``pid``, ``name``,
``exe``, ``args``, ``cwd``), ``user`` and, when the event works on a file
descriptor, ``fd`` (``num``, ``type``, ``name``).
"""
from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

import orjson

from ..events.event import NO_TID, PLUGINEVENT
from .sources import SourceNames
from .stats import ExportStats


@dataclass
class JsonlStats(ExportStats):
    """What a JSON lines export wrote."""

    undecoded: int = 0

    def notes(self) -> list[str]:
        return [f"{self.undecoded} with undecoded parameters"] if self.undecoded else []


class IsoTime:
    """``ts -> "2022-03-16T08:00:00.000000000Z"`` (UTC), the date and time of each
    second formatted once: an export's events mostly share their second."""

    __slots__ = ("_second", "_text")

    def __init__(self):
        self._second = None
        self._text = ""

    def __call__(self, ts: int) -> str:
        seconds, nanos = divmod(ts, 1_000_000_000)
        if seconds != self._second:
            self._second = seconds
            self._text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        return f"{self._text}.{nanos:09d}Z"


def iso_time(ts: int) -> str:
    """``2022-03-16T08:00:00.000000000Z`` for a ns timestamp (UTC)."""
    return IsoTime()(ts)


def event_object(event, sources: Callable[[int], str], stats: JsonlStats | None = None,
                 state=None, iso: Callable[[int], str] = iso_time) -> dict:
    """The JSON object of one event (see the module docstring); ``iso`` formats its time."""
    obj = {"num": event.num, "ts": event.ts, "time": iso(event.ts), "cpu": event.cpu,
           "tid": -1 if event.tid == NO_TID else event.tid, "type": event.type,
           "name": event.name}
    if event.type == PLUGINEVENT:
        _add_plugin(obj, event, sources, stats)
    else:
        _add_syscall(obj, event, stats)
        if state is not None:
            _add_state(obj, event, state)
    return obj


def _add_state(obj: dict, event, state) -> None:
    """Process, user and fd of a syscall event from the state tables."""
    thread = state.update(event)
    if thread is None or getattr(thread, "_dummy", False):
        return
    obj["proc"] = {"pid": thread.pid, "name": thread.comm, "exe": thread.exe,
                   "args": list(thread.args), "cwd": thread.cwd}
    user = state.user_name(thread.uid)
    if user is not None:
        obj["user"] = user
    fd = (event.cache or {}).get("fd")
    if fd is not None and fd.num >= 0:
        obj["fd"] = {"num": fd.num, "type": fd.type_name, "name": fd.name}


def _add_plugin(obj: dict, event, sources, stats) -> None:
    obj["plugin_id"] = event.plugin_id
    obj["source"] = name = sources(event.plugin_id)
    payload = event.payload or b""
    parsed = event.json
    if parsed is not None:
        obj["payload"] = parsed
    else:
        try:
            obj["payload_text"] = payload.decode("utf-8")
        except UnicodeDecodeError:
            obj["payload_hex"] = payload.hex()
    if stats is not None:
        stats.plugin += 1
        stats.by_source[name] = stats.by_source.get(name, 0) + 1


def _add_syscall(obj: dict, event, stats) -> None:
    obj["dir"] = event.direction
    try:
        obj["params"] = {name: jsonable(value) for name, value in event.params.items()}
    except Exception:  # unknown event type or a value that does not decode
        obj["params_hex"] = [p.hex() for p in event.param_bytes]
        if stats is not None:
            stats.undecoded += 1
    if stats is not None:
        stats.syscall += 1


def jsonable(value):
    """Turn a decoded parameter value into plain JSON data."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if hasattr(value, "_asdict"):  # SockAddr / SockTuple
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    return str(value)


def export_jsonl(events: Iterable, out: BinaryIO, *, sources: Callable[[int], str] | None = None,
                 state=None) -> JsonlStats:
    """Write one JSON object per line to the binary file ``out``; return the counts.

    ``events`` may also carry the capture's metadata blocks (``reader.blocks()``
    items): with a ``state`` they seed it, otherwise they are skipped.
    """
    sources = sources or SourceNames()
    stats = JsonlStats()
    dumps, write, iso = orjson.dumps, out.write, IsoTime()
    try:
        for event in events:
            if not hasattr(event, "ts"):  # a metadata block
                if state is not None:
                    state.seed(event)
                continue
            write(dumps(event_object(event, sources, stats, state, iso)) + b"\n")
    finally:  # a truncated capture still gives every complete event
        out.flush()
    return stats
