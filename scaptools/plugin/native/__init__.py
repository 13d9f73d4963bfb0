"""Falco plugins compiled as shared libraries, loaded through their C ABI with ctypes.

A loaded library becomes an ordinary ``SourcePlugin``/``ExtractorPlugin``, so the
registry, the engine and ``scap replay`` treat it like a Python plugin. Two
Falco plugin ABIs are served, picked by the API version the library requires
(docs/plugin-api.md §1):

* ``legacy``: API 0.x, the ABI sysdig 0.29 loads (§3); the framework declares 0.3.0;
* ``api3``: API 3.x, Falco 0.35 and later (§2); the framework declares 3.12.0.
  Its C structs, symbol signatures and host callbacks are in ``api3_abi``, its
  field declarations and extraction in ``api3_extract``.

``library`` opens the shared object and types its symbols for one ABI.
"""
from __future__ import annotations

from scaptools.errors import PluginError
from scaptools.plugin.native import api3, api3_abi, legacy
from scaptools.plugin.native.library import REQUIRED_API_SIGNATURE, Library, c_text
from scaptools.plugin.versions import compatible, parse_library_version, version_text

SERVED = f"{version_text(api3_abi.FRAMEWORK_API)} and {version_text(legacy.LEGACY_API)}"


def load_native_plugin(path: str, name: str = ""):
    """Load the Falco plugin at ``path``; a ``SourcePlugin``/``ExtractorPlugin`` instance."""
    label = name or path
    lib = Library(path, label)
    lib.declare(REQUIRED_API_SIGNATURE)
    lib.require(["plugin_get_required_api_version"], label)
    required = parse_library_version(c_text(lib.get_required_api_version()), label)
    provided = api3_abi.FRAMEWORK_API if required[0] == 3 else legacy.LEGACY_API
    if not compatible(provided, required):
        raise PluginError(f"{path}: plugin requires API {version_text(required)}, but the "
                          f"framework provides {SERVED}", label)
    if required[0] == 3:
        lib.declare(api3_abi.SIGNATURES)
        return api3.load_api3(lib, label, required)
    return legacy.load_legacy(lib, label)


__all__ = ["load_native_plugin"]
