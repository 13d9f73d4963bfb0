"""One Falco plugin shared library opened with ctypes: its symbols, typed per ABI.

Both ABIs (docs/plugin-api.md §2 and §3) share the symbol names, the return
codes and the C string convention, not the signatures: each ABI module
declares its own with ``Library.declare`` before any call (§4.2).
"""
from __future__ import annotations

from ctypes import CDLL, c_char_p

from scaptools.errors import PluginError

RC_SUCCESS, RC_FAILURE, RC_TIMEOUT, RC_EOF = 0, 1, -1, 2  # §2.1
REQUIRED_API_SIGNATURE = {"plugin_get_required_api_version": (c_char_p, [])}  # §1


def c_text(raw) -> str:
    """A returned C string, decoded (``None``, a NULL, is empty) (§4.3)."""
    return raw.decode("utf-8", "replace") if raw is not None else ""


class Library:
    """The symbols of one shared object; ``lib.get_name`` is ``plugin_get_name`` (or ``None``)."""

    def __init__(self, path: str, plugin: str = ""):
        try:
            self.lib = CDLL(path)  # RTLD_NOW | RTLD_LOCAL, never RTLD_GLOBAL (§4.1)
        except OSError as exc:  # libsinsp's words, then dlerror()'s
            raise PluginError(f"can't load plugin dynamic library: {exc}", plugin) from exc
        self.path = path

    def declare(self, signatures: dict) -> None:
        """Type the symbols of one ABI: name -> (restype, argtypes)."""
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(self.lib, name, None)
            if fn is not None:
                fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name[len("plugin_"):], fn)

    def require(self, names, plugin: str) -> None:
        """A ``PluginError`` naming the first of ``names`` the library lacks."""
        for name in names:
            if getattr(self, name[len("plugin_"):]) is None:
                raise PluginError(f"{self.path}: dynamic library symbol {name} not present",
                                  plugin)
