"""Captures made by the tests of scap info, merge and slice: syscall captures with machine
info and process, fd and user tables, and CloudTrail-like plugin captures in any order."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.events.event import Event
from scaptools.format import constants
from scaptools.format.blocks import Block
from scaptools.format.reader import open_capture
from scaptools.format.schema import machine_info
from scaptools.format.writer import CaptureWriter
from scaptools.state import State
from scaptools.state.dump import state_blocks

BASE = 1_700_000_000_000_000_000  # ns: 2023-11-14T22:13:20Z
HOST = {"hostname": "ubuntu", "num_cpus": 4, "memory_size_bytes": 8 << 30, "max_pid": 4194304,
        "boot_ts_epoch": BASE - 3600 * 10**9}


def machine_block(**fields) -> Block:
    values = dict(HOST, **fields)
    body = machine_info("<").build(dict(
        values, hostname=values["hostname"].encode().ljust(128, b"\0"), flags=0,
        reserved3=0, reserved4=0, rest=b""))
    return Block(constants.BLOCK_MI, body)


def tables(processes: dict, files: dict, users: dict) -> list[Block]:
    """Process, fd and user list blocks: ``processes`` tid -> name, ``files`` tid ->
    {fd: path}, ``users`` uid -> name (every process runs as uid 0)."""
    state = State()
    for tid, name in processes.items():
        state.add_thread({"tid": tid, "pid": tid, "ptid": 1, "comm": name, "exe": name,
                          "exepath": f"/usr/bin/{name}", "args": b"", "cwd": "/",
                          "uid": 0, "gid": 0})
    for tid, fds in files.items():
        state.add_fds(tid, [{"fd": num, "ino": 0, "type": 1, "name": path}
                            for num, path in fds.items()])
    for uid, name in users.items():
        state.add_user(uid, uid, name, f"/home/{name}", "/bin/sh")
    return state_blocks(state)


def read_pair(tid: int, fd: int, ts: int) -> list[Event]:
    """A read of 3 bytes from ``fd``: enter at ``ts``, exit 1 µs later."""
    i64, u32 = (lambda v: struct.pack("<q", v)), (lambda v: struct.pack("<I", v))
    return [Event.from_params(6, [i64(fd), u32(3)], ts=ts, tid=tid),
            Event.from_params(7, [i64(3), b"abc", i64(fd), u32(3)], ts=ts + 1000, tid=tid)]


def write_capture(path: Path, events, metadata=()) -> Path:
    with CaptureWriter(str(path), metadata=list(metadata)) as writer:
        for event in events:
            writer.write(event)
    return path


def cloudtrail_event(i: int, ts: int) -> Event:
    payload = json.dumps({"eventVersion": "1.08", "eventID": f"id-{i:07d}", "eventName":
                          "GetObject", "eventSource": "s3.amazonaws.com"},
                         separators=(",", ":")).encode()
    return Event.plugin(ts, 2, payload)


def events_of(path) -> list[Event]:
    with open_capture(str(path)) as reader:
        return list(reader)


def keys(events) -> list[tuple]:
    return [(e.ts, e.tid, e.type, bytes(e.raw)) for e in events]


def steps_back(events) -> int:
    return sum(1 for a, b in zip(events, events[1:]) if b.ts < a.ts)


def scap(*args):
    """``scap ARGS`` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(__import__("scaptools.cli.main", fromlist=["cli"]).cli,
                                [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def helpers():
    from types import SimpleNamespace
    return SimpleNamespace(machine_block=machine_block, tables=tables, read_pair=read_pair,
                           write_capture=write_capture, cloudtrail_event=cloudtrail_event,
                           events_of=events_of, keys=keys, steps_back=steps_back, scap=scap,
                           BASE=BASE, HOST=HOST)
