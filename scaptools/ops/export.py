"""A capture file to a Wireshark pcapng or JSON lines file (``scap export``).

``--format wireshark`` writes layout A of docs/wireshark-export.md (a ``.pcapng``
that Wireshark/tshark 4.0 dissect, not readable by Falco or sysdig); ``jsonl``
writes one JSON object per event, with process and fd state rebuilt as
``scap print`` does.
"""
from __future__ import annotations

import sys
from typing import Callable, Iterable

from scaptools.errors import ScapError
from scaptools.export.jsonl import export_jsonl
from scaptools.export.wireshark import export_wireshark
from scaptools.format.reader import open_capture
from scaptools.state import State

FORMATS = ("wireshark", "jsonl")


def guess_format(out: str) -> str:
    """The export format implied by the output file name."""
    return "jsonl" if out.lower().endswith((".jsonl", ".json", ".ndjson")) else "wireshark"


def export_file(file: str, out: str, fmt: str, window: int = 4096,
                progress: Callable[[Iterable], Iterable] | None = None):
    """Read capture ``file`` and write ``out`` in ``fmt`` (``-`` is stdin / stdout).

    ``progress`` wraps the stream of items read (e.g. to show a count). Returns
    the exporter's stats. Raises ``ScapError`` for a bad capture (after writing
    every event before the fault) and when the output cannot be written.
    """
    source = sys.stdin.buffer if file == "-" else file
    passed = progress or (lambda items: items)
    try:
        sink = sys.stdout.buffer if out == "-" else open(out, "wb")
    except OSError as exc:
        raise ScapError(f"{out}: cannot write: {exc.strerror}") from exc
    try:
        with open_capture(source, path="<stdin>" if file == "-" else None) as reader:
            if fmt == "jsonl":
                items = (item for _, item in reader.blocks())
                return export_jsonl(passed(items), sink, state=State())
            return export_wireshark(passed(reader), sink, source=reader.path or "",
                                    window=window)
    except BrokenPipeError:
        raise
    except OSError as exc:  # reading errors are ScapErrors already; this is the output
        raise ScapError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    finally:
        if sink is not sys.stdout.buffer:
            try:
                sink.close()
            except OSError:
                pass
