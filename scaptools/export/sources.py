"""Event source names of plugin ids, for the exports.

``SourceNames`` asks the loaded plugins first; ``KNOWN_SOURCES`` holds the ids
of the official Falco plugin registry (docs/wireshark-export.md §3), used when
no loaded plugin claims an id.
"""
from __future__ import annotations

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
