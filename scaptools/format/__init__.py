"""The .scap capture format: schema, streaming reader, canonical writer."""
from __future__ import annotations

from .reader import CaptureReader, Section, open_capture

__all__ = ["CaptureReader", "Section", "open_capture", "CaptureWriter"]


def __getattr__(name):  # the writer is imported only when used
    if name == "CaptureWriter":
        from .writer import CaptureWriter
        return CaptureWriter
    raise AttributeError(name)
