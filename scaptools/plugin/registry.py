"""The registry of loaded plugins: validation when a plugin is registered, lookups by name,
id and event source, and the field set of each source (built by ``fieldsets.py``).

Installed plugins are found through the entry-point group ``scaptools.plugins``;
a plugin that breaks a rule of docs/plugin-api.md §2.7, §2.9 or §2.13 is refused
with a ``PluginError`` naming it.
"""
from __future__ import annotations

from importlib.metadata import entry_points

from scaptools.errors import PluginError
from scaptools.fields.base import FIELD_TYPES, FieldInfo, FieldSet
from scaptools.plugin.api import (API_VERSION, ENTRY_POINT_GROUP, SYSCALL_SOURCE, ExtractorPlugin,
                                  Plugin, SourcePlugin, extract_sources_of, is_extractor,
                                  is_source)
from scaptools.plugin.container import ContainerPlugin
from scaptools.plugin.fieldsets import build_fieldset, common_sources
from scaptools.plugin.versions import compatible, parse_version

class Registry:
    """The loaded plugins, by name and by id, and the field sets they make up."""

    def __init__(self):
        self.by_name: dict[str, Plugin] = {}
        self.by_id: dict[int, SourcePlugin] = {}
        self._fieldsets: dict[str, FieldSet | None] = {}
        self.first_ts: int | None = None  # first event seen, for evt.reltime

    # -- loading ----------------------------------------------------------
    @classmethod
    def from_entry_points(cls, names=None) -> "Registry":
        """A registry with the installed plugins (only ``names`` when given)."""
        registry = cls()
        registry.load_entry_points(names)
        return registry

    def load_entry_points(self, names=None) -> None:
        """Instantiate and register the plugins of the ``scaptools.plugins`` group."""
        wanted = set(names) if names is not None else None
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if wanted is not None and ep.name not in wanted:
                continue
            try:
                plugin = ep.load()()
            except Exception as exc:  # a broken third-party plugin must name itself
                raise PluginError(f"cannot load entry point {ep.value}: {exc}", ep.name) from exc
            self.register(plugin)

    def register(self, plugin: Plugin) -> Plugin:
        """Validate ``plugin`` against the API and the plugins already loaded, then add it."""
        name = getattr(plugin, "name", "")
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {type(plugin).__name__} has no name", repr(plugin))
        if not (is_source(plugin) or is_extractor(plugin)):
            raise PluginError("is neither a SourcePlugin nor an ExtractorPlugin", name)
        if name in self.by_name:
            raise PluginError("a plugin with this name is already loaded", name)
        parse_version(plugin.version, name)
        _check_api_version(plugin)
        if is_source(plugin):
            self._check_source(plugin)
        if is_extractor(plugin):
            self._check_extractor(plugin)
        self.by_name[name] = plugin
        if is_source(plugin):
            self.by_id[plugin.id] = plugin
        self._fieldsets.clear()
        return plugin

    def _check_source(self, plugin: SourcePlugin) -> None:
        pid, src = plugin.id, plugin.event_source
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**32:
            raise PluginError(f"invalid plugin id {pid!r} (must be 1..2^32-1)", plugin.name)
        if pid in self.by_id:
            raise PluginError(f"plugin id {pid} is already used by plugin "
                              f"'{self.by_id[pid].name}'", plugin.name)
        if not isinstance(src, str) or not src or src == SYSCALL_SOURCE:
            raise PluginError(f"invalid event source {src!r}", plugin.name)

    def _check_extractor(self, plugin: ExtractorPlugin) -> None:
        from scaptools.fields.generic import GENERIC_NAMES
        names = set()
        if not plugin.fields:
            raise PluginError("an extractor plugin must export at least one field", plugin.name)
        for info in plugin.fields:
            if not isinstance(info, FieldInfo) or not info.name:
                raise PluginError(f"invalid field declaration {info!r}", plugin.name)
            if info.type not in FIELD_TYPES:
                raise PluginError(f"field '{info.name}' has unknown type '{info.type}'",
                                  plugin.name)
            if info.name in names or info.name in GENERIC_NAMES:
                raise PluginError(f"field '{info.name}' is declared twice", plugin.name)
            names.add(info.name)
        mine = extract_sources_of(plugin)
        for other in self.extractors():
            theirs = extract_sources_of(other)
            common = common_sources(mine, theirs)
            clash = names & {f.name for f in other.fields}
            if common and clash:
                raise PluginError(
                    f"supports extraction of field '{sorted(clash)[0]}' that is overlapping for "
                    f"source '{sorted(common)[0]}' (also exported by plugin '{other.name}')",
                    plugin.name)

    # -- queries ----------------------------------------------------------
    def extractors(self) -> list[ExtractorPlugin]:
        return [p for p in self.by_name.values() if is_extractor(p)]

    def sources(self) -> list[str]:
        """Known event sources: ``syscall`` plus every loaded source plugin's
        (docs/rules-language.md §11)."""
        return [SYSCALL_SOURCE] + sorted({p.event_source for p in self.by_id.values()})

    def source_of(self, plugin_id: int) -> str | None:
        """The event source of plugin events with this id; ``None`` without such a plugin."""
        return getattr(self.by_id.get(plugin_id), "event_source", None)

    def source_plugin(self, source: str) -> SourcePlugin | None:
        return next((p for p in self.by_id.values() if p.event_source == source), None)

    def versions(self) -> dict[str, str]:
        """Plugin name -> version, for ``required_plugin_versions`` checks.

        The syscall field set has the ``container.*`` fields that Falco gets from
        its ``container`` plugin, so that plugin counts as loaded (docs/rules-language.md §2.2).
        """
        out = {name: p.version for name, p in self.by_name.items()}
        syscall = self.fieldset(SYSCALL_SOURCE)
        if "container" not in out and syscall is not None and "container.id" in syscall:
            out["container"] = ContainerPlugin.version
        return out

    def fieldset(self, source: str) -> FieldSet | None:
        """Generic ``evt.*`` fields plus every compatible extractor's fields; ``None`` if unknown
        (built once per source by ``fieldsets.build_fieldset``)."""
        if source not in self._fieldsets:
            self._fieldsets[source] = build_fieldset(self, source)
        return self._fieldsets[source]


def _check_api_version(plugin: Plugin) -> None:
    """The plugin's required API must have our major and not exceed our minor.patch
    (docs/plugin-api.md §2.13)."""
    want = parse_version(plugin.required_api_version, plugin.name, "required API version")
    have = parse_version(API_VERSION, "scaptools")
    if not compatible(have, want):
        raise PluginError(f"requires plugin API {plugin.required_api_version}, "
                          f"but scaptools provides {API_VERSION}", plugin.name)
