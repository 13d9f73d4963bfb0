"""The core's syscall state against the Python ``State`` on captures made here: process
lists of every version (1 to 9, both V9 tail layouts, a cut tail), fd lists v1 and v2
with every fd type, user lists v1 and v2, in both byte orders; then events for every
parser the state has (clone, execve, chdir, fchdir, setuid, setgid, open, openat with a
directory fd, dup, pipe, the one-type fds, sockets with bind, connect, accept and
datagrams, close, procexit, users and groups of no thread), including exits that
leave their parameters to the enter event (older event versions). See
test_core_state.py for what is compared."""
from __future__ import annotations

import importlib.util
import ipaddress
import socket
import struct
from pathlib import Path

from construct import GreedyBytes, Int8ub, Int64sl, Int64ul, Pass, Struct, Switch, this

from scaptools.events.params import NUMERIC
from scaptools.events.table import EVENTS
from scaptools.format import schema
from scaptools.format.writer import event_block, frame, section_header
from scaptools.events.event import Event

NO_TID = 0xFFFFFFFFFFFFFFFF
LAST = {(e["name"], e["direction"]): e for e in EVENTS}  # the current version of each


def sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"made_{name}", Path(__file__).with_name(
        f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STATE = sibling("test_core_state")
to_big_endian = sibling("test_core_walk").to_big_endian


def encode(ptype: str, value) -> bytes:
    if value is None:
        return b""
    if ptype in NUMERIC:
        return struct.pack(NUMERIC[ptype], value)
    if isinstance(value, str):
        return value.encode() + b"\0"
    return bytes(value)


def ev(name: str, direction: str, tid: int, ts: int, count: int | None = None, **values):
    """An event of the table's current version of ``name``; parameters left out are empty,
    and only the first ``count`` are written when given (an older producer)."""
    info = LAST[(name, direction)]
    params = [encode(p["type"], values.get(p["name"])) for p in info["params"]]
    return Event.from_params(info["id"], params[:count], ts=ts, tid=tid)


def inet(ip: str, port: int) -> bytes:
    addr = ipaddress.ip_address(ip)
    family = 2 if addr.version == 4 else 10
    return bytes([family]) + addr.packed + struct.pack("<H", port)


def tup(sip: str, sport: int, dip: str, dport: int) -> bytes:
    src, dst = ipaddress.ip_address(sip), ipaddress.ip_address(dip)
    family = 2 if src.version == 4 else 10
    return (bytes([family]) + src.packed + struct.pack("<H", sport) + dst.packed
            + struct.pack("<H", dport))


def unix_tuple(src: int, dst: int, path: str) -> bytes:
    return bytes([1]) + struct.pack("<QQ", src, dst) + path.encode() + b"\0"


# -- metadata blocks ----------------------------------------------------------------

PL_BLOCKS = {1: 0x202, 2: 0x207, 3: 0x209, 4: 0x210, 5: 0x211, 6: 0x212, 7: 0x213, 8: 0x214,
             9: 0x215}


def process(tid: int, pid: int, **more) -> dict:
    values = {"tid": tid, "pid": pid, "ptid": 1, "sid": 7, "vpgid": 8, "comm": b"app",
              "exe": b"/usr/bin/app", "exepath": b"/usr/bin/app", "args": b"-v\0x y\0",
              "cwd": b"/home/u", "fdlimit": 1024, "flags": 0, "uid": 1000, "gid": 1000,
              "vmsize_kb": 1, "vmrss_kb": 2, "vmswap_kb": 3, "pfmajor": 4, "pfminor": 5,
              "env": b"A=1\0B=2\0", "vtid": tid, "vpid": pid, "cgroups": b"cpu=/\0",
              "root": b"/"}
    values.update(more)
    return values


def process_block(version: int, entries: list[dict], tails=()) -> bytes:
    order = "<"
    if version < 9:
        body = schema.process_list(order, version).build({"entries": entries, "padding": b""})
        return frame(PL_BLOCKS[version], body)
    inner = Struct(*schema.process_fields(order, 9), "extra" / GreedyBytes)
    body = b""
    for entry, tail in zip(entries, tails):
        data = inner.build({**entry, "extra": tail})
        body += struct.pack("<I", len(data) + 4) + data
    return frame(0x215, body + b"\0\0")


def fd_entries() -> list[dict]:
    v4, v6 = socket.inet_aton("10.0.0.1"), ipaddress.ip_address("::ffff:10.0.0.2").packed
    return [
        {"fd": 0, "ino": 11, "type": 1, "info": {"name": b"/dev/pts/0"}},
        {"fd": 1, "ino": 0, "type": 2, "info": {"name": b"/home/u/dir"}},
        {"fd": 2, "ino": 0, "type": 3, "info": {"sip": v4, "dip": socket.inet_aton("1.2.3.4"),
                                                "sport": 40000, "dport": 443, "l4proto": 2}},
        {"fd": 3, "ino": 0, "type": 4, "info": {"sip": v6, "dip": bytes(15) + b"\1",
                                                "sport": 5, "dport": 6, "l4proto": 3}},
        {"fd": 4, "ino": 0, "type": 5, "info": {"ip": v4, "port": 80, "l4proto": 2}},
        {"fd": 5, "ino": 0, "type": 6, "info": {"ip": bytes(16), "port": 8080, "l4proto": 2}},
        {"fd": 6, "ino": 9, "type": 8, "info": {"source": 1, "destination": 2,
                                                "name": b"/run/s.sock"}},
        {"fd": 7, "ino": 0, "type": 7, "info": {"name": b"pipe:[99]"}},
        {"fd": 8, "ino": 0, "type": 12, "info": {"name": b"anon_inode:[eventpoll]"}},
    ]


def fd_block(tid: int, v2: bool) -> bytes:
    entries = fd_entries()
    if not v2:
        body = schema.fd_list("<", False).build({"tid": tid, "list": {"entries": entries,
                                                                       "padding": b""}})
        return frame(0x203, body)
    inner = Struct("fd" / Int64sl, "ino" / Int64ul, "type" / Int8ub,
                   "info" / Switch(this.type, schema.fd_payloads("<"), default=Pass),
                   "extra" / GreedyBytes)
    entries += [{"fd": 20, "ino": 1, "type": 16, "info": {"open_flags": 0x401,
                                                           "name": b"/tmp/v2"}},
                {"fd": 21, "ino": 0, "type": 0, "info": None},
                {"fd": 22, "ino": 0, "type": 40, "info": None}]
    body = struct.pack("<Q", tid)
    for entry in entries:
        data = inner.build({**entry, "extra": b"\0" * 8 if entry["type"] == 16 else b""})
        body += struct.pack("<I", len(data) + 4) + data
    return frame(0x218, body)


def user_block(v2: bool) -> bytes:
    entries = [{"kind": 0, "data": {"uid": 1000, "gid": 1000, "name": b"u", "homedir": b"/home/u",
                                    "shell": b"/bin/sh"}},
               {"kind": 1, "data": {"gid": 1000, "name": b"users"}}]
    if not v2:
        return frame(0x206, schema.user_list("<", False).build({"entries": entries,
                                                                "padding": b""}))
    body = b""
    for entry in entries:
        one = schema.user_list("<", False).build({"entries": [entry], "padding": b""})
        body += struct.pack("<I", len(one) + 4) + one
    return frame(0x220, body)


def tail(current: bool, cut: int = 0) -> bytes:
    """A V9 tail (§5): the old 29-byte layout or the current one, maybe cut short."""
    old = struct.pack("<IBQQQ", 1000, 1, 0x11, 0x22, 0x33)
    data = struct.pack("<QI", 123456, 34816) + old + struct.pack("<BQQQBBq", 1, 2, 3, 4, 0, 0, 77) \
        if current else old
    return data[:len(data) - cut]


def metadata(order_big: bool = False) -> bytes:
    """Process lists of every version (distinct tids), fd lists, user lists."""
    out = b""
    for version in range(1, 9):
        base = 1000 * version
        out += process_block(version, [process(base, base), process(base + 1, base)])
    tails = [tail(False), tail(True), tail(True, cut=5), tail(True, cut=40), b""]
    entries = [process(100, 100), process(101, 100, cwd=b"/"), process(102, 102, cwd=b""),
               process(103, 103, args=b""), process(104, 104, comm=b"\xff\xfebad")]
    out += process_block(9, entries, tails)
    out += fd_block(100, v2=True) + fd_block(1000, v2=False) + fd_block(555, v2=True)
    out += user_block(False) + user_block(True)
    return out


def capture(events: list) -> bytes:
    data = section_header() + metadata()
    for num, event in enumerate(events, 1):
        event.num = num
        data += event_block(event)
    return data


def check(core, tmp_path, data: bytes, name: str) -> int:
    for order, blob in (("little", data), ("big", to_big_endian(data))):
        out = tmp_path / f"{name}_{order}.scap"
        out.write_bytes(blob)
        count, error = STATE.run_both(core, out)
        assert error is None, (order, error)
    return count


def test_metadata_of_every_version(core, tmp_path):
    events = [ev("read", "enter", 100, 1, fd=0, size=1)]
    assert check(core, tmp_path, capture(events), "metadata") == 1
