"""Wireshark export: layout A of docs/wireshark-export.md (a ``.pcapng`` for Wireshark only).

* SHB version 1.0 with comments naming the source file and the event counts (§2.2 SHB).
* Syscall events stay sysdig event blocks: ``0x216``, or ``0x221`` for large-payload
  types; flags-word and v1 blocks arrive as v2 ``Event`` objects and are written
  without the flags word (§0 rule 3, §2.1).
* Each plugin event (322) becomes an EPB at the same timestamp on one exported-PDU
  interface (LINKTYPE 252) per plugin id, tagged for the ``json`` dissector with the
  event source as protocol column (§2.2). Payloads over 262144 bytes are cut, with a
  comment (§0 rule 4).
* Output is in timestamp order: a bounded reorder window absorbs the small backward
  steps real captures have (§1.5); an event later than the window is written where
  it is and counted in ``WiresharkStats.out_of_order``.

The result is not readable by libscap (§2.4); the canonical ``.scap`` stays the
format for Falco and sysdig.
"""
from __future__ import annotations

import heapq
import os
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable

from ..events.event import PLUGINEVENT
from .pcapng import (EPB_MAX_CAPLEN, enhanced_packet, exported_pdu_info, exported_pdu_tags,
                     interface_description, section_header, sysdig_event)
from .sources import SourceNames
from .stats import ExportStats

DEFAULT_WINDOW = 4096        # events held back to restore timestamp order
WINDOW_BYTES = 64 << 20      # ... but never more than this many event bytes
COUNTS_RESERVED = 240        # bytes reserved in the SHB for the counts comment
APPLICATION = "scaptools {version} wireshark export"


@dataclass
class WiresharkStats(ExportStats):
    """What a Wireshark export wrote."""

    truncated: int = 0
    out_of_order: int = 0

    def notes(self) -> list[str]:
        notes = []
        if self.truncated:
            notes.append(f"{self.truncated} payloads truncated")
        if self.out_of_order:
            notes.append(f"{self.out_of_order} out of timestamp order")
        return notes


class WiresharkWriter:
    """Writes events to a binary file object as a layout-A pcapng stream.

    Use as a context manager or call ``close()``; ``close()`` flushes the reorder
    window and, when the output is seekable, rewrites the section comment with
    the final event counts (the SHB keeps its size, §2.2 SHB options).
    """

    def __init__(self, out: BinaryIO, *, source: str = "",
                 sources: Callable[[int], str] | None = None, window: int = DEFAULT_WINDOW):
        self.out = out
        self.source = source
        self.sources = sources or SourceNames()
        self.window = max(1, window)
        self.stats = WiresharkStats()
        self._heap: list = []
        self._seq = 0
        self._held = 0  # bytes of the events in the window
        self._last_ts = -1
        self._interfaces: dict[int | None, _PluginInterface] = {}
        self._start = _tell(out)
        self._shb_len = 0
        self._write_header(final=False)

    # -- public -----------------------------------------------------------
    def write(self, event) -> None:
        """Queue one event; the oldest queued event is written once the window is full."""
        heapq.heappush(self._heap, (event.ts, self._seq, event))
        self._seq += 1
        self._held += len(event.raw)
        while len(self._heap) > self.window or self._held > WINDOW_BYTES:
            self._pop()

    def _pop(self) -> None:
        event = heapq.heappop(self._heap)[2]
        self._held -= len(event.raw)
        self._emit(event)

    def close(self) -> WiresharkStats:
        while self._heap:
            self._pop()
        by_source: dict[str, int] = {}
        for plugin in self._interfaces.values():  # two ids may share one source name
            by_source[plugin.name] = by_source.get(plugin.name, 0) + plugin.count
        self.stats.by_source = by_source
        self._write_header(final=True)
        self.out.flush()
        return self.stats

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- blocks -----------------------------------------------------------
    def _emit(self, event) -> None:
        if event.ts < self._last_ts:
            self.stats.out_of_order += 1
        else:
            self._last_ts = event.ts
        if event.type == PLUGINEVENT:
            self._emit_plugin(event)
        else:
            self.out.write(sysdig_event(event.cpu, event.raw, event.type))
            self.stats.syscall += 1

    def _emit_plugin(self, event) -> None:
        plugin = self._plugin(event.plugin_id)
        payload = event.payload or b""
        parsed = event.json
        dissector = "json" if parsed is not None else _text_dissector(payload)
        tags = plugin.tags(dissector, info_text(parsed))
        comments = [f"pluginevent num={event.num} plugin_id={plugin.id} source={plugin.name} "
                    f"cpu={event.cpu} tid={event.tid}"]
        data = tags + payload
        if len(data) > EPB_MAX_CAPLEN:
            comments.append(f"payload truncated: {EPB_MAX_CAPLEN - len(tags)} of "
                            f"{len(payload)} bytes kept (Wireshark 4.0 reads at most "
                            f"{EPB_MAX_CAPLEN} bytes per packet)")
        blk, truncated = enhanced_packet(plugin.interface, event.ts, data, comments)
        self.out.write(blk)
        self.stats.truncated += truncated
        self.stats.plugin += 1
        plugin.count += 1

    def _plugin(self, plugin_id: int | None) -> "_PluginInterface":
        """The interface of a plugin id, writing its IDB before its first EPB (§2.1)."""
        plugin = self._interfaces.get(plugin_id)
        if plugin is None:
            plugin = _PluginInterface(plugin_id, self.sources(plugin_id), len(self._interfaces))
            self._interfaces[plugin_id] = plugin
            self.out.write(interface_description(
                plugin.name, f"Falco plugin events, plugin id {plugin_id}"))
        return plugin

    def _write_header(self, final: bool) -> None:
        counts = self.stats.summary() if final else "event counts not known (output not seekable)"
        # NUL padding keeps the SHB size fixed; Wireshark shows text up to the first NUL
        counts = counts.encode("utf-8")[:COUNTS_RESERVED].ljust(COUNTS_RESERVED, b"\0")
        comments = [f"exported from {self.source or 'a capture'} by scaptools (layout for "
                    "Wireshark; Falco and sysdig cannot read this file)", counts]
        shb = section_header(comments, APPLICATION.format(version=_version()))
        if not final:
            self._shb_len = len(shb)
            self.out.write(shb)
            return
        if self._start is None or len(shb) != self._shb_len:
            return
        end = self.out.tell()
        self.out.seek(self._start)
        self.out.write(shb)
        self.out.seek(end)


class _PluginInterface:
    """One exported-PDU interface: a plugin id, its source name and IDB index."""

    def __init__(self, plugin_id: int | None, name: str, interface: int):
        self.id = plugin_id
        self.name = name
        self.interface = interface
        self.count = 0
        self._prefix: dict[str, bytes] = {}

    def tags(self, dissector: str, info: str) -> bytes:
        """The exported-PDU tags (§2.2); the dissector and protocol tags are cached."""
        prefix = self._prefix.get(dissector)
        if prefix is None:
            # the tags without their 4-byte end tag, which exported_pdu_info adds
            prefix = exported_pdu_tags(dissector, self.name)[:-4]
            self._prefix[dissector] = prefix
        return prefix + exported_pdu_info(info)


def info_text(record) -> str:
    """Info-column text for a CloudTrail-style record, ended by ``" | "`` (§2.2 tag 36)."""
    if not isinstance(record, dict) or "eventName" not in record:
        return ""
    text = str(record["eventName"])
    if record.get("eventSource"):
        text += f" ({record['eventSource']})"
    user = _user_of(record.get("userIdentity"))
    if user:
        text += f" by {user}"
    return text + " | "


def _user_of(identity) -> str:
    if not isinstance(identity, dict):
        return ""
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    for value in (identity.get("userName"), issuer.get("userName"),
                  identity.get("invokedBy"), identity.get("type")):
        if isinstance(value, str) and value:
            return value
    return ""


def _text_dissector(payload: bytes) -> str:
    """Dissector for a payload that is not JSON: text lines if UTF-8, else raw data."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "data"
    return "data-text-lines"


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("scaptools")
    except Exception:  # running from a source tree that is not installed
        return "(unknown version)"


def _tell(out) -> int | None:
    try:
        if out.seekable():
            return out.tell()
    except (AttributeError, OSError):
        pass
    return None


def export_wireshark(events: Iterable, out: BinaryIO, *, source: str = "",
                     sources: Callable[[int], str] | None = None,
                     window: int = DEFAULT_WINDOW) -> WiresharkStats:
    """Write ``events`` to ``out`` as a Wireshark pcapng (layout A); return the counts."""
    writer = WiresharkWriter(out, source=os.path.basename(source) if source else "",
                             sources=sources, window=window)
    try:
        for event in events:
            writer.write(event)
    except BaseException:  # a truncated capture still gives a valid export of what was read
        try:
            writer.close()
        except OSError:
            pass  # the output is broken too; report the first error
        raise
    return writer.close()
