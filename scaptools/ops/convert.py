"""Rewrite any capture in the canonical layout (``scap convert``).

The output is what ``CaptureWriter`` writes (docs/format.md §11): little-endian,
section header 1.2, metadata carried over before the first event, v2 event
blocks. Old v1 events come out as v2 events with the same parameters. If the
input is truncated, the output still holds every complete event and the error
is raised.
"""
from __future__ import annotations

import warnings

from scaptools.format.blocks import Block
from scaptools.format.constants import BLOCK_SHB
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter


def convert(src, dst, *, gzip: bool = False, src_path: str | None = None) -> int:
    """Copy every metadata block and event of ``src`` into a canonical capture ``dst``.

    ``src`` and ``dst`` are paths or binary file objects; ``src_path`` names a file
    object in errors. Returns the number of events written. Raises ScapError for
    a bad input (the output is closed as a valid capture first). A metadata block
    after the first event is dropped with a warning.
    """
    with open_capture(src, path=src_path) as reader, CaptureWriter(dst, gzip=gzip) as writer:
        for _, item in reader.blocks():
            if not isinstance(item, Block):
                writer.write(item)
            elif item.known and writer.events_written == 0:
                writer.write_metadata(item)
            elif item.known and item.type != BLOCK_SHB:
                warnings.warn(f"{reader.path}: offset {item.offset:#x}: metadata block after "
                              f"events dropped (the canonical layout has one section)",
                              stacklevel=2)
        return writer.events_written
