"""Falco's plugin configuration (``-c falco.yaml``: ``plugins:`` and ``load_plugins:``).

``registry_from_config`` builds the registry such a file asks for. An entry's
``library_path`` is loaded as Falco loads it, through the Falco plugin C ABI
(``scaptools.plugin.native``): an absolute path as it is, a relative one inside
Falco's plugins folder, and a library that cannot be opened stops the run. The
value ``scaptools:NAME`` asks for the installed Python plugin ``NAME`` instead
(docs/plugin-api.md §1).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

from scaptools.errors import PluginError
from scaptools.plugin.api import ENTRY_POINT_GROUP, Plugin
from scaptools.plugin.registry import Registry

PLUGINS_DIR = "/usr/share/falco/plugins/"  # where Falco looks for a relative library_path
PYTHON_PREFIX = "scaptools:"  # library_path of an installed Python plugin


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
    loaded as ``plugin_from_entry`` says and initialised with their ``init_config``.
    """
    entries = plugin_configs(config or {})
    if not entries:
        return Registry.from_entry_points()
    wanted = (config or {}).get("load_plugins")
    if wanted is not None and not isinstance(wanted, list):
        raise PluginError("configuration key 'load_plugins' must be a list")
    for name in wanted or []:
        if name not in {e.name for e in entries}:
            raise PluginError("listed in load_plugins but has no plugins entry", name)
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    registry = Registry()
    for entry in entries:
        if wanted is not None and entry.name not in wanted:
            continue
        plugin = plugin_from_entry(entry, installed)
        plugin.init(entry.init_config)
        registry.register(plugin)
    return registry


def library_of(entry: PluginConfig) -> str:
    """The file Falco opens for an entry: ``library_path`` as it is when absolute, else
    inside Falco's plugins folder."""
    path = entry.library_path
    return path if path.startswith("/") else PLUGINS_DIR + path


def plugin_from_entry(entry: PluginConfig, installed: dict | None = None) -> Plugin:
    """The plugin of one ``plugins:`` entry, loaded as Falco loads it: the shared library at
    ``library_path`` (a relative path is inside Falco's plugins folder; a library that cannot
    be opened is an error, as it stops Falco); ``library_path: scaptools:NAME`` (or just
    ``scaptools:`` for the entry's name) asks for the installed Python plugin NAME."""
    path = entry.library_path
    if path.startswith(PYTHON_PREFIX):
        name = path[len(PYTHON_PREFIX):] or entry.name
        if installed is None:
            installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        if name not in installed:
            raise PluginError(f"library_path '{path}': no Python plugin '{name}' is installed",
                              entry.name)
        try:
            return installed[name].load()()
        except Exception as exc:  # a broken third-party plugin must name itself
            raise PluginError(f"cannot load entry point: {exc}", name) from exc
    if not path:
        raise PluginError("no library_path: give a Falco plugin library, or "
                          f"'{PYTHON_PREFIX}{entry.name}' for the installed Python plugin",
                          entry.name)
    try:
        from scaptools.plugin.native import load_native_plugin
    except ImportError:
        raise PluginError(f"cannot load {path}: native (C ABI) plugins are not supported in "
                          "this build", entry.name) from None
    return load_native_plugin(library_of(entry), entry.name)
