"""One capture in time order from several, nothing dropped (``scap merge``).

Every event is copied with all its parameters (unlike mergecap, which cannot
keep the syscall metadata), and the output is in time order whatever the
order of the inputs: the part of an input before its first step back in time
is read again as it is, the rest is sorted with bounded memory (an external
merge sort, ``ops/timeorder.py``); events with equal times keep the order of
the inputs, then their order in the file.

Metadata: the machine and interface lists of the first input that carries
syscall state (process, fd or user lists) are written first. Two such inputs
must come from one host, told by every machine-info field that identifies it
(host name, CPU count, memory size, highest pid, boot time): inputs that differ,
or that cannot be told apart (no machine info, no boot time), are refused. The
process, fd and user tables of inputs of one host are joined (an entry of an
earlier input wins over the same thread, fd, user or group in a later one).
Plugin-only captures merge with anything.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from itertools import chain

from scaptools.errors import ScapError
from scaptools.format import constants
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter, event_block
from scaptools.ops.timeorder import BLOCKS, RunStore, SortedRuns
from scaptools.state import State
from scaptools.state.dump import state_blocks

_STATE_BLOCKS = constants.FDL_BLOCKS | frozenset(constants.PL_VERSIONS) | constants.UL_BLOCKS
HOST_FIELDS = ("hostname", "num_cpus", "memory_size_bytes", "max_pid", "boot_ts_epoch")


def merge(paths, out, compress: bool = False, *, budget: int | None = None,
          tmpdir: str | None = None) -> int:
    """Merge the captures ``paths`` into ``out`` in time order (see the module doc).

    Returns the number of events written. Raises ScapError for syscall state of
    two hosts and for an output that is one of the inputs, FormatError for a bad
    input (before anything is written). ``budget``: bytes of events held in memory
    (default ``timeorder.RUN_BUDGET``);
    ``tmpdir``: where the temporary runs go (default: TMPDIR).
    """
    paths = [os.fspath(p) for p in paths]
    _check_output(paths, os.fspath(out))
    metadata = merged_metadata(paths, [_metadata(p) for p in paths])
    with RunStore(tmpdir) as store:
        runs = SortedRuns(store, BLOCKS, budget)
        for path in paths:
            add_input(runs, path)
        with CaptureWriter(out, gzip=compress, metadata=metadata) as writer:
            write_blocks(writer, runs.merged())
            return writer.events_written


def write_blocks(writer: CaptureWriter, items, batch: int = 1024) -> None:
    """Write the blocks of ``(ts, block)`` items, ``batch`` at a time."""
    blocks = []
    for _ts, block in items:
        blocks.append(block)
        if len(blocks) == batch:
            writer.write_blocks(b"".join(blocks), batch)
            blocks = []
    if blocks:
        writer.write_blocks(b"".join(blocks), len(blocks))


def _check_output(paths: list, out: str) -> None:
    if not os.path.exists(out):
        return
    for path in paths:
        if os.path.samefile(path, out):
            raise ScapError(f"{out}: the output would overwrite the input {path}")


def add_input(runs: SortedRuns, path: str) -> None:
    """Give ``runs`` the events of one capture: its start in time order as a stream read
    again later, from its first step back on the events themselves."""
    with open_capture(path) as reader:
        events = iter(reader)
        ordered, last = 0, -1
        for event in events:
            if event.ts < last:
                runs.add_stream(lambda n=ordered: _first_events(path, n))
                runs.extend((e.ts, event_block(e)) for e in chain((event,), events))
                return
            last = event.ts
            ordered += 1
    if ordered:
        runs.add_stream(lambda: _first_events(path, ordered))


def _first_events(path: str, count: int):
    """``(ts, block)`` of the first ``count`` events of a capture."""
    with open_capture(path) as reader:
        for event in reader:
            yield event.ts, event_block(event)
            count -= 1
            if not count:
                return


def _metadata(path: str) -> list:
    """The blocks before the first event of a capture."""
    blocks = []
    with open_capture(path) as reader:
        for _offset, item in reader.blocks():
            if hasattr(item, "ts"):
                break
            blocks.append(item)
    return blocks


def _machine(metadata) -> dict | None:
    for block in metadata:
        if block.type in constants.MI_BLOCKS:
            parsed = block.parsed
            return {name: getattr(parsed, name) for name in HOST_FIELDS}
    return None


def merged_metadata(paths, heads) -> list:
    """The metadata blocks to write for inputs with metadata ``heads``; raises ScapError
    for syscall state of two hosts (see the module doc)."""
    with_state = [(path, meta) for path, meta in zip(paths, heads)
                  if any(b.type in _STATE_BLOCKS for b in meta)]
    if not with_state:
        return []
    first_path, first = with_state[0]
    for path, meta in with_state[1:]:
        check_same_host(first_path, _machine(first), path, _machine(meta))
    carried = [b for b in first if b.type != constants.BLOCK_SHB]
    if len(with_state) == 1:
        return carried
    kept = [b for b in carried if b.type in constants.MI_BLOCKS | constants.IL_BLOCKS]
    return kept + state_blocks(joined_state([meta for _path, meta in with_state]))


def check_same_host(path_a: str, a: dict | None, path_b: str, b: dict | None) -> None:
    """Raise ScapError (one line naming both files) unless both machine infos name one
    host with a known boot time."""
    if a is None or b is None:
        which = " and ".join(p for p, m in ((path_a, a), (path_b, b)) if m is None)
        raise ScapError(f"cannot merge the syscall state of {path_a} and {path_b}: no machine "
                        f"info in {which}, so their hosts cannot be told apart")
    if a != b:
        raise ScapError(f"cannot merge the syscall state of two hosts: {path_a} is "
                        f"{describe_host(a)}, {path_b} is {describe_host(b)}")
    if not a["boot_ts_epoch"]:
        raise ScapError(f"cannot merge the syscall state of {path_a} and {path_b}: their "
                        f"machine info has no boot time, so their hosts cannot be told apart")


def describe_host(machine: dict) -> str:
    name = bytes(machine["hostname"]).rstrip(b"\0").decode("utf-8", "replace")
    boot = machine["boot_ts_epoch"]
    when = (datetime.fromtimestamp(boot // 10**9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if boot else "unknown")
    return (f"host {name!r} ({machine['num_cpus']} cpus, {machine['memory_size_bytes']} bytes "
            f"memory, max pid {machine['max_pid']}, booted {when})")


def joined_state(heads) -> State:
    """One state with the process, fd, user and group entries of every input; an entry of
    an earlier input wins."""
    joined = None
    for metadata in heads:
        state = State()
        for block in metadata:
            state.seed(block)
        if joined is None:
            joined = state
            continue
        for tid, thread in state.threads.items():
            have = joined.threads.get(tid)
            if have is None:
                joined.add(thread)
            else:
                for num, fd in thread.fdtable.items():
                    have.fdtable.setdefault(num, fd)
        for uid, user in state.users.items():
            joined.users.setdefault(uid, user)
        for gid, name in state.groups.items():
            joined.groups.setdefault(gid, name)
    return joined
