"""Generic ``evt.*`` fields that every event source has (docs/cloudtrail-plugin.md §6).

libsinsp offers these on plugin events whatever plugin produced them; the
syscall source uses them too until the syscall field set exists. Time strings
use the host's local time zone except ``evt.time.iso8601`` (UTC).

``FieldInfo.tags`` carry rendering hints for the output formatter:
``"time_string"`` (JSON outputs print the integer timestamp in ns instead of
the text, docs/rules-language.md §10.2) and ``"pad9"`` (text outputs pad the number
with zeros to at least 9 digits, docs/cloudtrail-plugin.md §6).
"""
from __future__ import annotations

import os
import socket
import time

from ..format.layout import ASYNCEVENT
from .base import FieldInfo, FieldSet

_NS = 1_000_000_000
TIME_STRING = "time_string"
PAD9 = "pad9"


_LAST_SECOND = [None, ""]  # consecutive events mostly share their second


def _hhmmss(ts: int) -> str:
    key = (ts // _NS, time.timezone)
    if _LAST_SECOND[0] != key:
        text = time.strftime("%H:%M:%S", time.localtime(key[0]))
        _LAST_SECOND[0], _LAST_SECOND[1] = key, text
    return _LAST_SECOND[1]


def evt_time(ev) -> str:
    """``HH:MM:SS.nnnnnnnnn`` in local time."""
    return f"{_hhmmss(ev.ts)}.{ev.ts % _NS:09d}"


def evt_time_s(ev) -> str:
    return _hhmmss(ev.ts)


def evt_time_iso8601(ev) -> str:
    """``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000`` in UTC."""
    day = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ev.ts // _NS))
    return f"{day}.{ev.ts % _NS:09d}+0000"


def evt_datetime(ev) -> str:
    day = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ev.ts // _NS))
    return f"{day}.{ev.ts % _NS:09d}"


def evt_datetime_s(ev) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ev.ts // _NS))


def hostname() -> str:
    """Falco's host name: ``FALCO_HOSTNAME`` when set, else the machine's name."""
    return os.environ.get("FALCO_HOSTNAME") or socket.gethostname()


def _simple(name, type_, desc, fn, tags=()):
    return FieldInfo(name, type_, desc=desc, provider="generic", tags=tuple(tags)), fn


def _time_fields():
    t = (TIME_STRING,)
    return [
        _simple("evt.num", "uint64", "event number", lambda ev: ev.num),
        _simple("evt.time", "string", "event time HH:MM:SS.nnnnnnnnn (local)", evt_time, t),
        _simple("evt.time.s", "string", "event time HH:MM:SS (local)", evt_time_s, t),
        _simple("evt.time.iso8601", "string", "event time in ISO 8601 (UTC)",
                evt_time_iso8601, t),
        _simple("evt.datetime", "string", "event date and time (local)", evt_datetime, t),
        _simple("evt.datetime.s", "string", "event date and time, seconds (local)",
                evt_datetime_s, t),
        _simple("evt.rawtime", "abstime", "event timestamp in ns since the epoch",
                lambda ev: ev.ts),
        _simple("evt.rawtime.s", "abstime", "seconds part of the timestamp",
                lambda ev: ev.ts // _NS),
        _simple("evt.rawtime.ns", "abstime", "nanoseconds part of the timestamp",
                lambda ev: ev.ts % _NS, (PAD9,)),
    ]


def _reltime_fields(registry):
    def rel(ev):
        first = registry.first_ts
        if first is None:
            first = registry.first_ts = ev.ts
        return ev.ts - first
    return [
        _simple("evt.reltime", "reltime", "ns since the first event", rel, (PAD9,)),
        _simple("evt.reltime.s", "reltime", "seconds since the first event",
                lambda ev: rel(ev) // _NS),
        _simple("evt.reltime.ns", "reltime", "ns part of the time since the first event",
                lambda ev: rel(ev) % _NS, (PAD9,)),
    ]


def _source_fields(registry, source):
    plugin = registry.source_plugin(source) if registry is not None else None
    host = hostname()
    out = [
        _simple("evt.source", "string", "event source name", lambda ev: source),
        _simple("evt.type", "string", "event type name", lambda ev: ev.name),
        _simple("evt.is_async", "bool", "whether the event is asynchronous",
                lambda ev: ev.type == ASYNCEVENT),
        _simple("evt.asynctype", "string", "asynchronous event name (async events only)",
                _asynctype),
        _simple("evt.hostname", "string", "host name of the machine running the engine",
                lambda ev: host),
    ]
    if plugin is not None:
        name, to_string = plugin.name, plugin.event_to_string
        out += [
            _simple("evt.pluginname", "string", "name of the plugin that produced the event",
                    lambda ev: name),
            _simple("evt.plugininfo", "string", "summary of the event given by its plugin",
                    to_string),
        ]
    return out


def _asynctype(ev):
    if ev.type != ASYNCEVENT:
        return None
    params = ev.params
    value = params.get("name")
    return value if isinstance(value, str) else None


def generic_fields(registry, source: str):
    """``(FieldInfo, extractor)`` pairs of the generic fields for ``source``."""
    return _time_fields() + _reltime_fields(registry) + _source_fields(registry, source)


GENERIC_NAMES = frozenset(
    [info.name for info, _ in _time_fields() + _reltime_fields(None)]
    + ["evt.source", "evt.type", "evt.is_async", "evt.asynctype", "evt.hostname",
       "evt.pluginname", "evt.plugininfo"])


def add_generic_fields(fs: FieldSet, registry, source: str) -> None:
    """Add every generic field for ``source`` to ``fs``."""
    for info, fn in generic_fields(registry, source):
        fs.add(info, _const_factory(fn))


def _const_factory(fn):
    return lambda arg: fn
