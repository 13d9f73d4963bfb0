"""One capture ordered by timestamp from several, nothing dropped (``scap merge``).

Every event is copied with all its parameters (unlike mergecap, which cannot
keep the syscall metadata). The metadata blocks (machine, process, fd, user and
interface lists) of the syscall capture are written first. Two inputs that both
carry syscall state from different machines cannot share one set of lists, so
they are refused; plugin-only captures merge with anything. Inputs are read
streaming, one event per input in memory at a time.
"""
from __future__ import annotations

import heapq
from contextlib import ExitStack

from scaptools.errors import FormatError
from scaptools.format import constants
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter

_STATE_BLOCKS = constants.FDL_BLOCKS | frozenset(constants.PL_VERSIONS) | constants.UL_BLOCKS


def merge(paths, out, compress: bool = False) -> int:
    """Merge the captures ``paths`` into ``out`` by timestamp (ties keep the input order).

    Returns the number of events written; raises FormatError for two different
    hosts' syscall state, and for a bad input.
    """
    with ExitStack() as stack:
        readers = [stack.enter_context(open_capture(str(p))) for p in paths]
        heads = [_head(r) for r in readers]
        metadata = choose_metadata(paths, heads)
        streams = [_events(first, blocks, i) for i, (_m, first, blocks) in enumerate(heads)]
        with CaptureWriter(out, gzip=compress, metadata=metadata) as writer:
            for _ts, _i, _seq, event in heapq.merge(*streams):
                writer.write(event)
            return writer.events_written


def _head(reader):
    """Read the metadata blocks; return (metadata, first event or None, the block iterator)."""
    blocks = reader.blocks()
    metadata = []
    for _offset, item in blocks:
        if hasattr(item, "ts"):
            return metadata, item, blocks
        metadata.append(item)
    return metadata, None, blocks


def _machine(metadata):
    for block in metadata:
        if block.type in constants.MI_BLOCKS:
            parsed = block.parsed
            return bytes(parsed.hostname).rstrip(b"\0"), parsed.boot_ts_epoch
    return None


def _events(first, blocks, index):
    """``(ts, input index, sequence, event)`` for the heap merge, in file order."""
    seq = 0
    event = first
    while event is not None:
        yield event.ts, index, seq, event
        seq += 1
        event = None
        for _offset, item in blocks:
            if hasattr(item, "ts"):
                event = item
                break


def choose_metadata(paths, heads) -> list:
    """The metadata to write; raises FormatError for two different hosts' syscall state."""
    chosen, chosen_path = [], None
    for path, (metadata, _first, _blocks) in zip(paths, heads):
        if not any(b.type in _STATE_BLOCKS for b in metadata):
            continue
        if chosen_path is None:
            chosen, chosen_path = metadata, path
        elif _machine(metadata) != _machine(chosen):
            raise FormatError(f"cannot merge syscall state of two machines: {chosen_path} and "
                              f"{path} have different machine info (host name or boot time)",
                              str(path))
    return [b for b in chosen if b.type != constants.BLOCK_SHB]
