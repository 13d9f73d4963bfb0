"""Falco's plugin configuration (``-c falco.yaml``: ``plugins:`` and ``load_plugins:``).

``registry_from_config`` builds the registry such a file asks for: Python plugins
found by name among the installed entry points, other entries loaded from their
``library_path`` through the Falco plugin C ABI (``scaptools.plugin.native``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import entry_points

from scaptools.errors import PluginError
from scaptools.plugin.api import ENTRY_POINT_GROUP, Plugin
from scaptools.plugin.registry import Registry


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
    through the Falco plugin C ABI (``scaptools.plugin.native``).
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
            from scaptools.plugin.native import load_native_plugin
        except ImportError:
            raise PluginError(f"cannot load {entry.library_path}: native (C ABI) plugins are "
                              "not supported in this build", entry.name) from None
        return load_native_plugin(entry.library_path, entry.name)
    raise PluginError(f"no Python plugin of this name is installed and library_path "
                      f"'{entry.library_path}' is not a file", entry.name)
