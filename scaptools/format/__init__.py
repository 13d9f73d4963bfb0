"""The .scap capture format: schema, streaming reader, canonical writer.

``open_capture`` / ``CaptureReader`` read (reader.py), ``CaptureWriter`` writes
(writer.py), ``Block`` is a non-event block, ``schema`` holds the construct
definitions of every block (scap-format.md).
"""
from __future__ import annotations

from .blocks import Block
from .reader import CaptureReader, Section, open_capture

__all__ = ["Block", "CaptureReader", "Section", "open_capture", "CaptureWriter"]


def __getattr__(name):  # the writer is imported only when used
    if name == "CaptureWriter":
        from .writer import CaptureWriter
        return CaptureWriter
    raise AttributeError(name)
