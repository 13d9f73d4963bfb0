"""scaptools: read, write, record, replay and export Falco/sysdig .scap captures.

Public API: ``open_capture``, ``CaptureWriter``, ``Event``, ``load_rules``,
``Engine`` and the error classes of ``scaptools.errors``.
"""
from __future__ import annotations

from .errors import FormatError, PluginError, RuleError, ScapError, TruncatedCapture
from .events import Event

__all__ = ["open_capture", "CaptureWriter", "Event", "load_rules", "Engine", "ScapError",
           "FormatError", "TruncatedCapture", "RuleError", "PluginError"]


def __getattr__(name):  # lazy: importing scaptools stays cheap
    if name == "open_capture":
        from .format.reader import open_capture
        return open_capture
    if name == "CaptureWriter":
        from .format.writer import CaptureWriter
        return CaptureWriter
    if name in ("load_rules", "Engine"):
        from . import engine
        return getattr(engine, name)
    raise AttributeError(f"module 'scaptools' has no attribute {name!r}")
