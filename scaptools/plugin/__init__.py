"""Plugins: the contract a plugin author implements, the registry, Falco plugin libraries.

The public names (``SourcePlugin``, ``ExtractorPlugin``, ``PluginEvent``,
``Checkpoint``, ``Registry``, ...) are importable from here; ``native/`` loads
Falco plugin libraries through their C ABI.
"""
from .api import (API_VERSION, ENTRY_POINT_GROUP, SYSCALL_SOURCE, Checkpoint, ExtractorPlugin,
                  Plugin, PluginConfig, PluginEvent, Registry, SourcePlugin, is_extractor,
                  is_source, plugin_configs, read_falco_config, registry_from_config)

__all__ = ["API_VERSION", "ENTRY_POINT_GROUP", "SYSCALL_SOURCE", "Checkpoint", "ExtractorPlugin",
           "Plugin", "PluginConfig", "PluginEvent", "Registry", "SourcePlugin", "is_extractor",
           "is_source", "plugin_configs", "read_falco_config", "registry_from_config"]
