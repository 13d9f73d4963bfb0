"""Exporters: a Wireshark-readable pcapng file and JSON lines.

``export_wireshark`` writes layout A of docs/wireshark-export.md; ``export_jsonl``
writes one JSON object per event. Both stream: events are read, converted and
written one by one (with a small reorder window for the Wireshark export).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Event source names of the plugin ids in the official Falco plugin registry
# (docs/wireshark-export.md §3); used when no loaded plugin claims an id.
KNOWN_SOURCES = {1: "k8s_audit", 2: "aws_cloudtrail", 7: "okta", 8: "github",
                 12: "gcp_auditlog"}


class SourceNames:
    """Maps a plugin id to its event source name, asking the plugin registry first.

    The registry (``scaptools.plugin.Registry``) is loaded lazily and only once;
    if it is missing or fails, the ids of ``KNOWN_SOURCES`` are used, and any
    other id is shown as ``plugin_<id>``.
    """

    def __init__(self, registry=None):
        self._registry = registry
        self._loaded = registry is not None
        self._cache: dict[int, str] = {}

    def __call__(self, plugin_id: int | None) -> str:
        if plugin_id is None:
            return "plugin_unknown"
        name = self._cache.get(plugin_id)
        if name is None:
            name = self._lookup(plugin_id) or KNOWN_SOURCES.get(plugin_id) \
                or f"plugin_{plugin_id}"
            self._cache[plugin_id] = name
        return name

    def _lookup(self, plugin_id: int) -> str | None:
        registry = self._get_registry()
        if registry is None:
            return None
        try:
            return registry.source_of(plugin_id)
        except Exception:  # a registry that does not know the id: fall back
            return None

    def _get_registry(self):
        if not self._loaded:
            self._loaded = True
            try:
                from scaptools.plugin.registry import Registry
                self._registry = Registry.from_entry_points()
            except Exception:  # no plugin module, or a plugin failed to load
                self._registry = None
        return self._registry


def export_wireshark(*args, **kwargs):
    """See ``scaptools.export.wireshark.export_wireshark``."""
    from .wireshark import export_wireshark as run
    return run(*args, **kwargs)


def export_jsonl(*args, **kwargs):
    """See ``scaptools.export.jsonl.export_jsonl``."""
    from .jsonl import export_jsonl as run
    return run(*args, **kwargs)


__all__ = ["KNOWN_SOURCES", "SourceNames", "export_wireshark", "export_jsonl"]


@dataclass
class ExportStats:
    """What an export wrote: events by kind and plugin events by source."""

    syscall: int = 0
    plugin: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.syscall + self.plugin

    def summary(self) -> str:
        """One line: ``events 574: 572 syscall, 2 plugin (aws_cloudtrail 2)`` plus notes."""
        text = f"events {self.total}: {self.syscall} syscall, {self.plugin} plugin"
        if self.by_source:
            text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.by_source.items())) + ")"
        return text + "".join(f", {note}" for note in self.notes())

    def notes(self) -> list[str]:
        """Extra remarks of one export kind (subclasses)."""
        return []
