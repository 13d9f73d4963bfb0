"""The source plugin a recording reads: found by name among the installed plugins, or
loaded from the ``library_path`` of its entry in a Falco configuration."""
from __future__ import annotations

from scaptools.errors import PluginError, RecordError


def source_plugin(name: str, open_params: str | None = None, init_config: str | None = None,
                  config_path: str | None = None) -> tuple[object, str]:
    """The initialised source plugin ``name`` and its open params.

    ``open_params``/``init_config`` default to those of the plugin's entry in the
    Falco configuration ``config_path``. Raises PluginError when there is no
    such plugin (or entry), RecordError when there is nothing to open.
    """
    from scaptools.plugin.falco_config import plugin_configs, read_falco_config
    from scaptools.plugin.registry import Registry
    entry = None
    if config_path:
        entries = [e for e in plugin_configs(read_falco_config(config_path)) if e.name == name]
        if not entries:
            raise PluginError(f"{config_path}: no plugins entry for this plugin", name)
        entry = entries[0]
    registry = Registry.from_entry_points([name])
    plugin = registry.by_name.get(name)
    if plugin is None and entry is not None and entry.library_path:  # a Falco plugin library
        from scaptools.plugin.native import load_native_plugin
        plugin = load_native_plugin(entry.library_path, name)
    if plugin is None or not hasattr(plugin, "open"):
        raise PluginError("no source plugin of this name is installed", name)
    if init_config is None and entry is not None:
        init_config = entry.init_config
    plugin.init(init_config or "")
    params = open_params if open_params is not None else (entry.open_params if entry else "")
    if not params:
        raise RecordError("nothing to record: give --open PARAMS (or open_params in -c)")
    return plugin, params
