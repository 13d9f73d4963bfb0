"""The .scap capture format: schema, streaming reader, canonical writer.

``open_capture`` / ``CaptureReader`` read (reader.py), ``CaptureWriter`` writes
(writer.py), ``Block`` is a non-event block, ``schema`` holds the construct
definitions of every block (docs/format.md).
"""
from __future__ import annotations

__all__ = ["Block", "CaptureReader", "Section", "open_capture", "CaptureWriter"]
_HOMES = {"Block": "blocks", "CaptureReader": "reader", "Section": "reader",
          "open_capture": "reader", "CaptureWriter": "writer"}


def __getattr__(name):
    """Imported when first used: writing a capture needs neither the reader nor construct."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(name)
    from importlib import import_module
    return getattr(import_module(f"{__name__}.{home}"), name)
