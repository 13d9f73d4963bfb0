"""Plugins: the contract a plugin author implements, the registry, Falco plugin libraries.

* ``api``: the author's contract (``PluginEvent``, ``Checkpoint``, ``SourcePlugin``,
  ``ExtractorPlugin``, ``API_VERSION``, ...);
* ``registry``: the loaded plugins, validated when registered, found by name, id, source;
* ``fieldsets``: the field set of each event source, assembled from the extractors;
* ``falco_config``: Falco's ``plugins:``/``load_plugins:`` configuration;
* ``native``: Falco plugin libraries loaded through their C ABI.

The public names are importable from here.
"""
from .api import (API_VERSION, ENTRY_POINT_GROUP, SYSCALL_SOURCE, Checkpoint, ExtractorPlugin,
                  Plugin, PluginEvent, SourcePlugin, is_extractor, is_source)
from .falco_config import PluginConfig, plugin_configs, read_falco_config, registry_from_config
from .registry import Registry

__all__ = ["API_VERSION", "ENTRY_POINT_GROUP", "SYSCALL_SOURCE", "Checkpoint", "ExtractorPlugin",
           "Plugin", "PluginConfig", "PluginEvent", "Registry", "SourcePlugin", "is_extractor",
           "is_source", "plugin_configs", "read_falco_config", "registry_from_config"]
