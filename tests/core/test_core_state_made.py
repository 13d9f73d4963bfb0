"""The core's syscall state against the Python ``State`` on captures made here: process
lists of every version (1 to 9, both V9 tail layouts, a cut tail), fd lists v1 and v2
with every fd type, user lists v1 and v2, in both byte orders; then events for every
parser the state has (clone, execve, chdir, fchdir, setuid, setgid, open, openat with a
directory fd, dup, pipe, the one-type fds, sockets with bind, connect, accept and
datagrams, close, procexit, users and groups of no thread), including exits that
leave their parameters to the enter event (older event versions). See
test_core_state.py for what is compared."""
from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

import pytest

from construct import GreedyBytes, Int8ub, Int64sl, Int64ul, Pass, Struct, Switch, this

from scaptools.events.params import NUMERIC
from scaptools.events.table import EVENTS
from scaptools.format import schema
from scaptools.format.writer import event_block, frame, section_header
from scaptools.events.event import Event

from .coreutil import sibling

NO_TID = 0xFFFFFFFFFFFFFFFF
LAST = {(e["name"], e["direction"]): e for e in EVENTS}  # the current version of each


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


def ev(call: str, direction: str, tid: int, ts: int, /, count: int | None = None, **values):
    """An event of the table's current version of ``call``; parameters left out are empty,
    and only the first ``count`` are written when given (an older producer)."""
    info = LAST[(call, direction)]
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
                                                           "name": b"/var/v2"}},
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


def interface_block(v2: bool) -> bytes:
    """An interface list (§7): IPv4 and IPv6, with and without link speed."""
    v4 = struct.pack("<HH", 1, 2) + socket.inet_aton("10.0.0.1") + bytes(8) + \
        struct.pack("<Q", 1000) + b"e0"
    v6 = struct.pack("<HH", 2, 0) + ipaddress.ip_address("fe80::1").packed + bytes(32) + \
        struct.pack("<Q", 1000)
    v4_plain = struct.pack("<HH", 3, 1) + socket.inet_aton("127.0.0.1") + bytes(8) + b"l"
    v6_plain = struct.pack("<HH", 4, 0) + ipaddress.ip_address("::1").packed + bytes(32)
    entries = [v4, v6, v4_plain, v6_plain]
    if not v2:
        body = b"".join(entries)
        return frame(0x205, body + bytes(-len(body) % 4))
    return frame(0x219, b"".join(struct.pack("<I", len(e)) + e for e in entries))


def tail(current: bool, cut: int = 0) -> bytes:
    """A V9 tail (§5): the old 29-byte layout or the current one, maybe cut short."""
    old = struct.pack("<IBQQQ", 1000, 1, 0x11, 0x22, 0x33)
    if not current:
        return old[:len(old) - cut]
    new = struct.pack("<BQQQBBq", 1, 2, 3, 4, 0, 0, 77)
    data = struct.pack("<QI", 123456, 34816) + old + new
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
    out += interface_block(False) + interface_block(True)
    return out


def capture(events: list) -> bytes:
    data = section_header() + metadata()
    for num, event in enumerate(events, 1):
        event.num = num
        data += event_block(event)
    return data


def check(core, tmp_path, data: bytes, name: str, max_threads: int = 131072) -> int:
    for order, blob in (("little", data), ("big", to_big_endian(data))):
        out = tmp_path / f"{name}_{order}.scap"
        out.write_bytes(blob)
        count, error = STATE.run_both(core, out, max_threads)
        assert error is None, (order, error)
    return count


def test_metadata_of_every_version(core, tmp_path):
    events = [ev("read", "enter", 100, 1, fd=0, size=1)]
    assert check(core, tmp_path, capture(events), "metadata") == 1


def fd_events(tid: int) -> list:
    """Files, directories, dup, pipes, the one-type fds, chdir/fchdir, close."""
    t = iter(range(1000, 100000, 10))
    return [
        ev("chdir", "exit", tid, next(t), res=0, path="../u/./data/"),
        ev("chdir", "exit", tid, next(t), res=-2, path="/nowhere"),
        ev("openat", "enter", tid, next(t), dirfd=-100, name="sub", flags=1 << 10),
        ev("openat", "exit", tid, next(t), fd=30, dirfd=-100, name="sub", flags=1 << 10),
        ev("openat", "exit", tid, next(t), fd=31, dirfd=30, name="x/../y.txt", flags=1,
           dev=8, ino=77),
        ev("openat", "exit", tid, next(t), fd=32, dirfd=999, name="rel", flags=1),
        ev("openat", "exit", tid, next(t), fd=33, dirfd=30, name="/abs//p/", flags=1),
        ev("openat", "enter", tid, next(t), dirfd=30, name="from_enter", flags=2),
        ev("openat", "exit", tid, next(t), count=1, fd=34),  # name, flags, dirfd from the enter
        ev("open", "enter", tid, next(t), name="old.txt", flags=1),
        ev("open", "exit", tid, next(t), count=1, fd=35),
        ev("open", "exit", tid, next(t), fd=-2, name="/missing"),
        ev("fchdir", "enter", tid, next(t), fd=30),
        ev("fchdir", "exit", tid, next(t), res=0, count=1),
        ev("dup", "enter", tid, next(t), fd=31),
        ev("dup", "exit", tid, next(t), res=36, count=1),
        ev("dup2", "exit", tid, next(t), res=37, oldfd=0, newfd=37),
        ev("dup3", "exit", tid, next(t), res=38, oldfd=999, newfd=38),
        ev("dup", "exit", tid, next(t), res=-9, oldfd=0),
        ev("pipe2", "exit", tid, next(t), res=0, fd1=40, fd2=41, ino=4242),
        ev("pipe2", "exit", tid, next(t), res=-24, fd1=42, fd2=43),
        ev("eventfd2", "exit", tid, next(t), res=44),
        ev("signalfd4", "exit", tid, next(t), res=45),
        ev("timerfd_create", "exit", tid, next(t), res=46),
        ev("inotify_init1", "exit", tid, next(t), res=47),
        ev("epoll_create1", "exit", tid, next(t), res=48),
        ev("epoll_create1", "exit", tid, next(t), res=-1),
        ev("close", "enter", tid, next(t), fd=36),
        ev("close", "exit", tid, next(t), res=0, count=1),
        ev("close", "exit", tid, next(t), res=0, fd=37),
        ev("close", "exit", tid, next(t), res=-9, fd=38),
        ev("read", "enter", tid, next(t), fd=36, size=1),  # closed: gone now
    ]


def socket_events(tid: int) -> list:
    t = iter(range(200000, 300000, 10))
    return [
        ev("socket", "exit", tid, next(t), fd=50, domain=2, type=1, proto=0),
        ev("connect", "enter", tid, next(t), fd=50, addr=inet("1.2.3.4", 80)),
        ev("connect", "exit", tid, next(t), res=-115, fd=50,
           tuple=tup("10.0.0.1", 40000, "1.2.3.4", 80)),
        ev("connect", "exit", tid, next(t), res=0, fd=50,
           tuple=tup("10.0.0.1", 40001, "1.2.3.5", 81)),  # keeps its first tuple
        ev("socket", "enter", tid, next(t), domain=10, type=2, proto=17),
        ev("socket", "exit", tid, next(t), count=1, fd=51),
        ev("sendto", "exit", tid, next(t), res=3, fd=51,
           tuple=tup("::", 5353, "::ffff:8.8.8.8", 53)),
        ev("socket", "exit", tid, next(t), fd=52, domain=1, type=1, proto=0),
        ev("connect", "exit", tid, next(t), res=-2, fd=52,
           tuple=unix_tuple(0xAB, 0xCD, "/run/a.sock")),
        ev("connect", "exit", tid, next(t), res=0, fd=52,
           tuple=unix_tuple(0xAB, 0xCD, "/run/a.sock")),
        ev("socket", "exit", tid, next(t), fd=53, domain=2, type=1, proto=6),
        ev("bind", "exit", tid, next(t), res=0, fd=53, addr=inet("0.0.0.0", 8080)),
        ev("socket", "exit", tid, next(t), fd=54, domain=10, type=1, proto=0),
        ev("bind", "exit", tid, next(t), res=0, fd=54, addr=inet("::1", 0)),
        ev("socket", "exit", tid, next(t), fd=55, domain=1, type=1, proto=0),
        ev("bind", "exit", tid, next(t), res=0, fd=55, addr=b"\x01/run/b.sock\0"),
        ev("accept4", "exit", tid, next(t), fd=56, tuple=tup("9.9.9.9", 1234, "10.0.0.1", 8080)),
        ev("accept4", "exit", tid, next(t), fd=57),
        ev("socket", "exit", tid, next(t), fd=58, domain=2, type=2, proto=0),
        ev("recvmsg", "enter", tid, next(t), fd=58),
        ev("recvmsg", "exit", tid, next(t), res=4, count=4,
           tuple=tup("7.7.7.7", 53, "10.0.0.1", 3333)),
        ev("socket", "exit", tid, next(t), fd=59, domain=2, type=3, proto=1),
        ev("socket", "exit", tid, next(t), fd=60, domain=16, type=3, proto=0),
        ev("socket", "exit", tid, next(t), fd=61, domain=99, type=5, proto=200),
    ]


def process_events() -> list:
    t = iter(range(400000, 500000, 10))
    clone = dict(exe="/usr/bin/app", args=b"app\0-x\0", tid=100, pid=100, ptid=1, cwd="/srv",
                 fdlimit=4096, comm="app", cgroups=b"cpu=/x\0", uid=1000, gid=1000)
    return [
        ev("setuid", "enter", 100, next(t), uid=0),
        ev("setuid", "exit", 100, next(t), res=0, count=1),
        ev("setgid", "exit", 100, next(t), res=0, gid=50),
        ev("setgid", "exit", 100, next(t), res=-1, gid=60),
        # a new process (fds copied), then its own exit of the clone
        ev("clone", "exit", 100, next(t), res=200, flags=0, vtid=200, vpid=200, **clone),
        ev("clone", "exit", 200, next(t), res=0, flags=0, vtid=1, vpid=1,
           **{**clone, "tid": 200, "pid": 200, "ptid": 100}),
        # a thread (fd table shared)
        ev("clone", "exit", 100, next(t), res=201, flags=8192 | 1, **clone),
        # the child's exit first: a thread seen first in its own clone exit
        ev("clone", "exit", 202, next(t), res=0, flags=1, vtid=202, vpid=202,
           **{**clone, "tid": 202, "pid": 202, "ptid": 100}),
        ev("clone", "exit", 100, next(t), res=202, flags=1, **clone),
        ev("clone", "exit", 203, next(t), res=0, flags=8192,
           **{**clone, "tid": 203, "pid": 203, "ptid": 999}),  # parent unknown
        ev("clone", "exit", 100, next(t), res=-11, flags=0, **clone),
        ev("execve", "enter", 200, next(t), filename="/bin/cat"),
        ev("execve", "exit", 200, next(t), res=0, exe="/bin/cat", args=b"/etc/passwd\0",
           tid=200, pid=200, ptid=100, cwd="/ignored", fdlimit=1024, comm="cat",
           env=b"X=1\0", tty=34816, vpgid=200, loginuid=1000, uid=0, gid=0, pgid=200,
           trusted_exepath="/usr/bin/cat"),
        ev("execve", "exit", 201, next(t), res=0, count=8, exe="/opt/tool/bin/a-very-long-name",
           args=b"x\0", tid=201, pid=100, ptid=1, cwd="/", fdlimit=1),  # no comm: from exe
        ev("execve", "exit", 202, next(t), res=0, count=8, exe="relative", args=b"",
           tid=202, pid=202, ptid=100, cwd="/", fdlimit=1),
        ev("execve", "exit", 203, next(t), res=-2, exe="/bin/no"),
        ev("read", "enter", 777, next(t), fd=0, size=1),  # an unknown thread: made up
        ev("switch", "enter", 778, next(t)),  # scheduler events never make their thread
        ev("useradded", "enter", NO_TID, next(t), uid=2000, gid=2000, name="new",
           home="/home/new", shell="/bin/bash"),
        ev("useradded", "enter", NO_TID, next(t), uid=3000, name="no-gid"),
        ev("groupadded", "enter", NO_TID, next(t), gid=2000, name="newgroup"),
        ev("groupadded", "enter", 100, next(t), gid=2001, name="from-thread"),
        # memory counters (not compared yet), read in place unless the event is damaged
        ev("switch", "enter", 100, next(t), next=0, pgft_maj=1, pgft_min=2, vm_size=3,
           vm_rss=4, vm_swap=5),
        ev("brk", "exit", 100, next(t), res=0, vm_size=10, vm_rss=20, vm_swap=30, addr=5),
        ev("mmap", "exit", 100, next(t), res=0, vm_size=10, vm_rss=20, vm_swap=30, fd=3),
        ev("procexit", "enter", 201, next(t)),
        ev("procexit", "enter", 200, next(t)),
        ev("read", "enter", 100, next(t), fd=0, size=1),  # 200 and 201 are purged now
    ]


def test_events_of_every_parser(core, tmp_path):
    events = fd_events(100) + socket_events(100) + process_events() + fd_events(1000)
    assert check(core, tmp_path, capture(events), "events") == len(events)


def test_every_event_compared_in_full(core, tmp_path, monkeypatch):
    """The same capture with every table compared after every event."""
    monkeypatch.setattr(STATE, "FULL_EVERY", 1)
    events = fd_events(100) + socket_events(100) + process_events()
    assert check(core, tmp_path, capture(events), "full") == len(events)


def test_each_made_event_damaged(core, tmp_path):
    """Each event of the made capture damaged in turn (its first parameter too long):
    both states stop at the same event, or neither does, with the same tables."""
    events = fd_events(100) + socket_events(100) + process_events()
    data = capture(events)
    outcomes = set()
    for index in range(len(events)):
        out = tmp_path / f"damaged{index}.scap"
        out.write_bytes(STATE.damaged_at(data, index))
        count, error = STATE.run_both(core, out)
        outcomes.add(error is None)
    assert outcomes == {True, False}


@pytest.mark.parametrize("max_threads", [2, 7, 23])
def test_events_with_a_bounded_thread_table(core, tmp_path, max_threads):
    """Clone children and made-up threads added to a full table (the event's own
    thread may go while its event runs)."""
    events = fd_events(100) + socket_events(100) + process_events()
    assert check(core, tmp_path, capture(events), f"bounded{max_threads}",
                 max_threads) == len(events)
