"""Exporters: a Wireshark-readable pcapng file and JSON lines.

``export_wireshark`` writes layout A of docs/wireshark-export.md; ``export_jsonl``
writes one JSON object per event. Both stream: events are read, converted and
written one by one (with a small reorder window for the Wireshark export).
``lua_path()`` is where the bundled Lua postdissector is, for opening native
``.scap`` files in Wireshark.
"""
from __future__ import annotations

from importlib import resources

from .jsonl import export_jsonl
from .sources import KNOWN_SOURCES, SourceNames
from .stats import ExportStats
from .wireshark import export_wireshark

__all__ = ["KNOWN_SOURCES", "SourceNames", "ExportStats", "export_wireshark", "export_jsonl",
           "lua_path"]


def lua_path() -> str:
    """Filesystem path of the bundled ``falcoplugin.lua``."""
    return str(resources.files(__name__).joinpath("falcoplugin.lua"))
