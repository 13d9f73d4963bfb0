"""The compiled core, ``scaptools._core`` (the Rust crate in ``core/``, docs/core.md).

Callers ask :func:`native` for it and take the pure-Python path when it returns
``None``: the extension was not built, or ``SCAPTOOLS_PURE=1`` asks for the
reference path. The variable is read at each call, so a test can switch modes.
"""
from __future__ import annotations

import importlib
import os


def native():
    """The extension module, or ``None`` (not built, or ``SCAPTOOLS_PURE`` set)."""
    if os.environ.get("SCAPTOOLS_PURE", "") not in ("", "0"):
        return None
    try:  # by name: the extension imports nothing of the package
        return importlib.import_module("scaptools._core")
    except ImportError:
        return None


def describe() -> str:
    """One line for ``scap --version``: which path runs."""
    if os.environ.get("SCAPTOOLS_PURE", "") not in ("", "0"):
        return "core: pure Python (SCAPTOOLS_PURE is set)"
    core = native()
    if core is None:
        return "core: pure Python (the compiled core is not built)"
    return f"core: compiled {core.VERSION}"
