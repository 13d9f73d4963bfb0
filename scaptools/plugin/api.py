"""The Python plugin API: source and extractor plugins, their registry, Falco's plugin config.

A *source plugin* produces events (``open()`` yields ``PluginEvent``s and, after
each durable unit of work, a ``Checkpoint``); an *extractor plugin* exports
fields computed from plugin events. One class may be both (the bundled
``cloudtrail`` plugin is). Plugins are found through the entry-point group
``scaptools.plugins`` and validated when they are registered; every problem is a
``PluginError`` naming the plugin (docs/plugin-api.md §2.7, §2.9; docs/rules-language.md §11).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Callable, Iterator

from scaptools.errors import FieldError, PluginError
from scaptools.fields.base import FIELD_TYPES, FieldInfo, FieldSet

ENTRY_POINT_GROUP = "scaptools.plugins"
API_VERSION = "1.0.0"  # version of this Python plugin API
SYSCALL_SOURCE = "syscall"
CONTAINER_COMPAT = "0.4.0"  # container.* fields built into the syscall field set
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class PluginEvent:
    """One event produced by a source plugin: timestamp in ns since the epoch, opaque payload."""
    ts: int
    payload: bytes


@dataclass(frozen=True)
class Checkpoint:
    """End of one unit of work (an SQS message, an S3 object).

    The consumer makes every event yielded before it durable and only then calls ``ack()``.
    ``info`` names the unit (empty: an idle point, no unit). A recorder with a
    resume state keeps ``(info, version)`` of each unit it committed and hands
    them back to the source's ``resume(seen)`` on a restart. ``keep``: the source
    may give the unit again after its ``ack`` (a file, an S3 object), so its name
    and version are kept for good; False when the acknowledged unit is gone (a
    deleted SQS message), so the name is kept only until the ack succeeded.
    """
    ack: Callable[[], None] = field(default=lambda: None)
    info: str = ""
    version: str = ""
    keep: bool = True


class Plugin:
    """Attributes common to every plugin."""

    name: str = ""
    version: str = "0.0.0"
    desc: str = ""
    required_api_version: str = API_VERSION

    def init(self, config: str) -> None:
        """Configure the plugin from its init-config text (JSON; empty means ``{}``)."""


class SourcePlugin(Plugin):
    """A plugin that produces events of one event source, under a registered numeric id."""

    id: int = 0
    event_source: str = ""

    def open(self, params: str) -> Iterator[PluginEvent | Checkpoint]:
        """Start producing events; raise ``PluginError`` when the source cannot be opened."""
        raise PluginError("this plugin cannot open event streams", self.name)

    def close(self) -> None:
        """Release what ``open`` acquired."""
    def event_to_string(self, event) -> str:
        """One line describing an event (``evt.plugininfo``)."""
        payload = event.payload or b""
        return payload.decode("utf-8", "replace")


class ExtractorPlugin(Plugin):
    """A plugin that exports fields computed from the events of some sources.

    ``extract_sources`` empty means every plugin source (docs/plugin-api.md §2.9; the
    ``syscall`` source is never offered, a deviation docs/json-plugin.md §1.1 allows).
    """

    fields: list[FieldInfo] = []
    extract_sources: list[str] = []

    def extract(self, event, field: str, arg: str | None):
        """The value of ``field[arg]`` for ``event``, or ``None`` when it has none."""
        raise NotImplementedError

    def extractor(self, field: str, arg: str | None) -> Callable[[object], object]:
        """A callable ``fn(event) -> value | None`` for one field and argument.

        Plugins override this to return fast closures; raise ``FieldError`` for a
        bad argument (it becomes a load error of the rule that uses it).
        """
        extract = self.extract
        return lambda event: extract(event, field, arg)


def is_source(plugin) -> bool:
    return isinstance(plugin, SourcePlugin)


def is_extractor(plugin) -> bool:
    return isinstance(plugin, ExtractorPlugin)


def parse_version(text: str, plugin: str, what: str = "version") -> tuple[int, int, int]:
    """``"x.y.z"`` -> a tuple; anything else is a ``PluginError``."""
    m = _SEMVER.match(str(text))
    if not m:
        raise PluginError(f"invalid {what} '{text}' (expected x.y.z)", plugin)
    return int(m[1]), int(m[2]), int(m[3])


def extract_sources_of(plugin) -> set[str] | None:
    """The sources an extractor accepts; ``None`` means every plugin source (§2.9)."""
    sources = {s for s in (getattr(plugin, "extract_sources", None) or []) if s}
    if is_source(plugin) and plugin.event_source:
        sources.add(plugin.event_source)
    return sources or None


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
                raise PluginError(f"field '{info.name}' has unknown type '{info.type}'", plugin.name)
            if info.name in names or info.name in GENERIC_NAMES:
                raise PluginError(f"field '{info.name}' is declared twice", plugin.name)
            names.add(info.name)
        mine = extract_sources_of(plugin)
        for other in self.extractors():
            theirs = extract_sources_of(other)
            common = _common_sources(mine, theirs)
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
        """Known event sources: ``syscall`` plus every loaded source plugin's (docs/rules-language.md §11)."""
        return [SYSCALL_SOURCE] + sorted({p.event_source for p in self.by_id.values()})

    def source_of(self, plugin_id: int) -> str | None:
        """The event source of plugin events with this id; ``None`` when no such plugin is loaded."""
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
            out["container"] = CONTAINER_COMPAT
        return out

    def fieldset(self, source: str) -> FieldSet | None:
        """Generic ``evt.*`` fields plus every compatible extractor's fields; ``None`` if unknown.

        For ``syscall`` the events engineer's syscall field set is used when it
        exists; otherwise only the generic fields are known, so rules using
        syscall fields fail the way Falco reports unknown fields.
        """
        if source not in self._fieldsets:
            self._fieldsets[source] = self._build_fieldset(source)
        return self._fieldsets[source]

    def _build_fieldset(self, source: str) -> FieldSet | None:
        from scaptools.fields.generic import add_generic_fields
        if source == SYSCALL_SOURCE:
            return _syscall_fieldset(self)
        if source not in self.sources():
            return None
        fs = FieldSet(source)
        add_generic_fields(fs, self, source)
        for plugin in self.extractors():
            accepted = extract_sources_of(plugin)
            if accepted is not None and source not in accepted:
                continue
            for info in plugin.fields:
                fs.add(_with_provider(info, plugin.name), _factory(plugin, info.name, source))
                if "index" in info.tags:  # the engine indexes rules by this field's values
                    fs.index_field = info.name
        return fs


def _syscall_fieldset(registry: Registry) -> FieldSet:
    try:
        from scaptools.fields.syscall import syscall_fieldset  # owned by the events engineer
    except ImportError:
        syscall_fieldset = None
    if syscall_fieldset is not None:
        return syscall_fieldset()
    from scaptools.fields.generic import add_generic_fields
    fs = FieldSet(SYSCALL_SOURCE)
    add_generic_fields(fs, registry, SYSCALL_SOURCE)
    return fs


def _with_provider(info: FieldInfo, provider: str) -> FieldInfo:
    from dataclasses import replace
    return info if info.provider else replace(info, provider=provider)


def _factory(plugin: ExtractorPlugin, name: str, source: str):
    by_source = getattr(plugin, "extractor_for_source", None)  # C plugins want the source name

    def make(arg):
        try:
            return by_source(source, name, arg) if by_source else plugin.extractor(name, arg)
        except (FieldError, PluginError):
            raise
        except Exception as exc:
            raise PluginError(f"cannot extract field '{name}': {exc}", plugin.name) from exc
    return make


def _common_sources(a: set | None, b: set | None) -> set:
    if a is None or b is None:
        return (a or b) if (a or b) is not None else {"*"}
    return a & b


def _check_api_version(plugin: Plugin) -> None:
    """The plugin's required API must have our major and not exceed our minor (docs/plugin-api.md §2.13)."""
    want = parse_version(plugin.required_api_version, plugin.name, "required API version")
    have = parse_version(API_VERSION, "scaptools")
    if want[0] != have[0] or want[1:] > have[1:]:
        raise PluginError(f"requires plugin API {plugin.required_api_version}, "
                          f"but scaptools provides {API_VERSION}", plugin.name)



# -- Falco configuration (``-c falco.yaml``: ``plugins:`` and ``load_plugins:``) ------------
@dataclass(frozen=True)
class PluginConfig:
    """One ``plugins:`` entry of a Falco configuration file."""

    name: str
    library_path: str = ""
    init_config: str = ""
    open_params: str = ""


def read_falco_config(path) -> dict:
    """Read a Falco YAML configuration file into a dict (``PluginError`` when unreadable)."""
    import yaml
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise PluginError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PluginError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict | None):
        raise PluginError(f"{path}: configuration must be a YAML mapping")
    return data or {}


def plugin_configs(config: dict) -> list[PluginConfig]:
    """The ``plugins:`` entries; ``init_config`` maps are turned into JSON text as Falco does."""
    import json
    entries = config.get("plugins") or []
    if not isinstance(entries, list):
        raise PluginError("configuration key 'plugins' must be a list")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise PluginError(f"plugins entry without a name: {entry!r}")
        init = entry.get("init_config", "")
        if isinstance(init, (dict, list)):
            init = json.dumps(init, separators=(",", ":"))
        out.append(PluginConfig(entry["name"], str(entry.get("library_path") or ""),
                                "" if init is None else str(init),
                                str(entry.get("open_params") or "")))
    return out


def registry_from_config(config: dict | None) -> Registry:
    """The registry a Falco configuration asks for.

    Without ``plugins:`` every installed Python plugin is loaded. Otherwise the
    entries named in ``load_plugins:`` (every entry when that key is absent) are
    loaded and initialised with their ``init_config``: a Python plugin of that
    name when one is installed, else the shared library at ``library_path``
    through the Falco plugin C ABI (``scaptools.native``).
    """
    entries = plugin_configs(config or {})
    if not entries:
        return Registry.from_entry_points()
    wanted = (config or {}).get("load_plugins")
    if wanted is not None and not isinstance(wanted, list):
        raise PluginError("configuration key 'load_plugins' must be a list")
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    registry = Registry()
    for entry in entries:
        if wanted is not None and entry.name not in wanted:
            continue
        plugin = _instantiate(entry, installed)
        plugin.init(entry.init_config)
        registry.register(plugin)
    for name in wanted or []:
        if name not in registry.by_name:
            raise PluginError("listed in load_plugins but has no plugins entry", name)
    return registry


def _instantiate(entry: PluginConfig, installed: dict) -> Plugin:
    if entry.name in installed:
        try:
            return installed[entry.name].load()()
        except Exception as exc:  # a broken third-party plugin must name itself
            raise PluginError(f"cannot load entry point: {exc}", entry.name) from exc
    if entry.library_path and os.path.isfile(entry.library_path):
        try:
            from scaptools.plugin.native.legacy import load_native_plugin
        except ImportError:
            raise PluginError(f"cannot load {entry.library_path}: native (C ABI) plugins are "
                              "not supported in this build", entry.name) from None
        return load_native_plugin(entry.library_path, entry.name)
    raise PluginError(f"no Python plugin of this name is installed and library_path "
                      f"'{entry.library_path}' is not a file", entry.name)
