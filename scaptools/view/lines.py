"""sysdig's default one-line and ``-j`` renderings of an event (``scap print``).

Syscall events: ``NUM HH:MM:SS.nnnnnnnnn CPU PROC (TID) DIR TYPE ARGS`` with
``evt.args`` followed by a space per argument (the way sysdig 0.29.3 prints it).
Plugin events: ``NUM YYYY-MM-DD HH:MM:SS [PLUGIN] INFO`` where INFO is the
source plugin's ``event_to_string`` (``<NA>`` without a plugin for the id).
Times are local (set ``TZ`` to choose), as in sysdig.
"""
from __future__ import annotations

import time

import orjson

from scaptools.events.render import event_info, event_type_name
from scaptools.events.table import EVENTS

_NS = 1_000_000_000
INTERNAL = frozenset(e["id"] for e in EVENTS if "EC_INTERNAL" in e["category_bits"])
# container metadata events feed the state; sysdig never prints them (docs/format.md §10.3)
STATE_ONLY = frozenset(e["id"] for e in EVENTS if e["name"] == "container")


def is_internal(event) -> bool:
    """Events sysdig hides unless ``-D`` is given (procinfo, scapevent: EC_INTERNAL)."""
    return event.type in INTERNAL


def is_state_only(event) -> bool:
    """Events sysdig uses for its state and never prints (container metadata)."""
    return event.type in STATE_ONLY


def output_time(ts: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts // _NS)) + f".{ts % _NS:09d}"


def datetime_s(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts // _NS))


def thread_name(event) -> str | None:
    """``proc.name`` through the state's cache (``None`` = no thread, ``<NA>``)."""
    cache = event.cache
    thread = cache.get("thread") if cache else None
    return thread.comm if thread is not None else None


class PluginText:
    """Plugin name and ``event_to_string`` text of plugin events, by plugin id."""

    def __init__(self, registry=None):
        self.registry = registry

    def name_and_info(self, event) -> tuple[str | None, str | None]:
        plugin = self.registry.by_id.get(event.plugin_id) if self.registry else None
        if plugin is None:
            return None, None
        try:
            return plugin.name, plugin.event_to_string(event)
        except Exception:  # a plugin that cannot render: sysdig shows <NA>
            return plugin.name, None


def default_line(event, resolver=None, plugins: PluginText | None = None) -> str:
    """sysdig's default text line for ``event``."""
    if event.is_plugin:
        name, info = (plugins or PluginText()).name_and_info(event)
        return (f"{event.num} {datetime_s(event.ts)} [{name or '<NA>'}] "
                f"{info if info is not None else '<NA>'}")
    proc = thread_name(event)
    tid = event.tid if event.tid < 1 << 63 else event.tid - (1 << 64)
    return (f"{event.num} {output_time(event.ts)} {event.cpu} {proc or '<NA>'} ({tid}) "
            f"{event.direction} {event_type_name(event)} {event_info(event, resolver)}")


def json_line(event, resolver=None, plugins: PluginText | None = None) -> str:
    """sysdig's ``-j`` object for ``event`` (keys sorted, as sysdig prints them)."""
    if event.is_plugin:
        name, info = (plugins or PluginText()).name_and_info(event)
        obj = {"evt.datetime.s": event.ts, "evt.num": event.num, "evt.plugininfo": info,
               "evt.pluginname": name}
    else:
        tid = event.tid if event.tid < 1 << 63 else event.tid - (1 << 64)
        obj = {"evt.cpu": event.cpu, "evt.dir": event.direction,
               "evt.info": event_info(event, resolver, None), "evt.num": event.num,
               "evt.outputtime": event.ts, "evt.type": event_type_name(event),
               "proc.name": thread_name(event), "thread.tid": tid}
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
