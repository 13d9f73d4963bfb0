"""The core's ``fd.*`` and ``fdlist.*`` fields (core/src/sysfields/fd.rs) against the
Python extractors (``scaptools/fields/syscall/fd.py``), after every event: on the repo's
syscall capture, on ../shared's libs-e2e captures (IPv4 and IPv6 connections), and on
made captures for what those lack (every fd type of the fd lists, placeholders of
fd-creating calls, failed opens, fds the capture never described, unix sockets, pipes,
directories, device numbers, poll fd lists, server sides found from the interface
list), in both byte orders.

The fields the core leaves to Python are listed exactly (``PYTHON_ONLY``): losing one
more fails these tests."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from scaptools.fields.syscall import syscall_fieldset

from .coreutil import sibling


HARNESS = sibling("sysfield_compare")
MADE = sibling("test_core_state_made")
ev = MADE.ev
NAMES = sorted(name for name in syscall_fieldset()._infos
               if name.startswith(("fd.", "fdlist.")))
# either end of a socket (tag "sides") and the ipnet fields only filters compare; the
# order of fd.types is the order fds entered the table, which the core does not keep
PYTHON_ONLY = {"fd.ip", "fd.port", "fd.net", "fd.proto", "fd.cnet", "fd.snet", "fd.lnet",
               "fd.rnet", "fd.types"}
# arguments the Python field set refuses: the core must refuse them too
REFUSED = ["fd.name[1]", "fd.num[x]", "fdlist.names[0]", "fd.types[0]", "fd.ip[1]"]
SPECS = NAMES + REFUSED


def check(core, path: Path, monkeypatch) -> int:
    missing, count = HARNESS.compare(core, path, SPECS, monkeypatch)
    assert set(missing) == PYTHON_ONLY, missing
    return count


def test_every_field_is_known_to_python():
    """The list of fields left to Python names only fields of these classes."""
    assert PYTHON_ONLY <= set(NAMES)
    assert len(NAMES) == 50


def test_types_are_the_python_types(core):
    """Each compiled field has the value type the Python field set gives it."""
    fields = core.SysFields([(name, None) for name in NAMES], HARNESS.HOST)
    infos = syscall_fieldset()._infos
    got = {name: kind for name, kind in zip(NAMES, fields.types) if kind is not None}
    assert got == {name: infos[name].type for name in NAMES if name not in PYTHON_ONLY}


@pytest.mark.parametrize("path", HARNESS.REPO_SYSCALL, ids=lambda p: p.name)
def test_repo_capture(core, path, monkeypatch):
    assert check(core, path, monkeypatch) > 0


def test_shared_captures(core, shared, monkeypatch):
    for path in HARNESS.shared_syscall(shared):
        assert check(core, path, monkeypatch) > 0, path.name


# -- made captures --------------------------------------------------------------------

def fdlist(*nums: int, count: int | None = None, cut: int = 0) -> bytes:
    """A PT_FDLIST: u16 count, then (i64 fd, u16 flags) per fd; cut short by ``cut``."""
    data = struct.pack("<H", len(nums) if count is None else count)
    data += b"".join(struct.pack("<qH", num, 1) for num in nums)
    return data[:len(data) - cut]


def listed_fd_events(tid: int) -> list:
    """Reads on every fd of the fd lists (every type, also unknown ones) and on fds the
    capture never described, each as enter and exit."""
    t = iter(range(600000, 700000, 10))
    out = []
    for num in (0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22, 999):
        out += [ev("read", "enter", tid, next(t), fd=num, size=8),
                ev("read", "exit", tid, next(t), res=8, data=b"x" * 8)]
    return out


def placeholder_events(tid: int) -> list:
    """Enter events of fd-creating calls, failed opens, exits with no fd."""
    t = iter(range(700000, 800000, 10))
    return [
        ev("open", "enter", tid, next(t), name="/etc/passwd", flags=1),
        ev("open", "exit", tid, next(t), fd=-2, name="/etc/none", flags=1),
        ev("open", "enter", tid, next(t), name="rel/x", flags=1),
        ev("open", "exit", tid, next(t), fd=-13, name="rel/x", flags=1),
        ev("open", "exit", tid, next(t), fd=-2),  # no name: nothing to show
        ev("openat", "enter", tid, next(t), dirfd=-100, name="f", flags=1),
        ev("openat", "exit", tid, next(t), fd=-2, dirfd=-100, name="f", flags=1),
        ev("socket", "enter", tid, next(t), domain=2, type=1, proto=0),
        ev("socket", "exit", tid, next(t), fd=-1, domain=2, type=1, proto=0),
        ev("pipe", "enter", tid, next(t)),
        ev("pipe", "exit", tid, next(t), res=0, fd1=70, fd2=71, ino=7),
        ev("eventfd", "enter", tid, next(t), initval=0, flags=0),
        ev("eventfd", "exit", tid, next(t), res=72),
        ev("inotify_init", "enter", tid, next(t), flags=0),
        ev("memfd_create", "enter", tid, next(t)),
        ev("memfd_create", "exit", tid, next(t), fd=73, name="m", flags=0),
        ev("accept4", "enter", tid, next(t), flags=0),
        ev("accept4", "exit", tid, next(t), fd=-11),
        ev("read", "enter", tid, next(t), size=1),  # the enter stores no fd
        ev("read", "exit", tid, next(t), res=0),
        ev("read", "exit", tid, next(t), res=0),  # not paired
        ev("read", "enter", tid, next(t), fd=-1, size=1),
        ev("read", "exit", tid, next(t), res=-9),
        # a file with a device number (major 8, minor 3), a directory, odd paths
        ev("openat", "exit", tid, next(t), fd=80, dirfd=-100, name="/dev/sda3", flags=1,
           dev=(8 << 20) | 3, ino=12),
        ev("openat", "exit", tid, next(t), fd=81, dirfd=-100, name="/", flags=1 << 10),
        ev("openat", "exit", tid, next(t), fd=82, dirfd=-100, name="//top", flags=1),
        ev("openat", "exit", tid, next(t), fd=83, dirfd=-100, name="/var/", flags=1),
        ev("fstat", "enter", tid, next(t), fd=81),
        ev("fstat", "exit", tid, next(t), res=0),
    ]


def socket_role_events(tid: int) -> list:
    """Server sides from the interface list (10.0.0.1, fe80::1/64, 127.0.0.1, ::1),
    connect enters that only ask for an address, IPv6, unix socket pairs, poll lists."""
    t = iter(range(800000, 900000, 10))
    v6 = MADE.tup("fe80::1", 9000, "fe80::2", 22)
    return [
        ev("socket", "exit", tid, next(t), fd=90, domain=2, type=1, proto=0),
        ev("connect", "enter", tid, next(t), fd=90, addr=MADE.inet("10.0.0.1", 80)),
        ev("socket", "exit", tid, next(t), fd=91, domain=10, type=1, proto=0),
        ev("write", "enter", tid, next(t), fd=91, size=1),  # unset: :: is in ::1's /64
        ev("connect", "enter", tid, next(t), fd=91, addr=MADE.inet("fe80::7", 22)),
        ev("connect", "exit", tid, next(t), res=0, fd=91, tuple=v6),
        ev("socket", "exit", tid, next(t), fd=92, domain=10, type=2, proto=17),
        ev("connect", "enter", tid, next(t), fd=92, addr=MADE.inet("2001:db8::1", 53)),
        ev("connect", "exit", tid, next(t), res=0, fd=92,
           tuple=MADE.tup("2001:db8::2", 4000, "2001:db8::1", 53)),
        ev("socket", "exit", tid, next(t), fd=93, domain=2, type=2, proto=0),
        ev("write", "enter", tid, next(t), fd=93, size=1),  # 0.0.0.0 is no interface
        ev("accept", "exit", tid, next(t), fd=94,
           tuple=MADE.tup("10.0.0.9", 5555, "10.0.0.1", 80)),
        ev("socketpair", "exit", tid, next(t), res=0, fd1=95, fd2=96, source=1, peer=2,
           domain=1, type=1, proto=0),
        ev("shutdown", "enter", tid, next(t), fd=95, how=0),
        ev("shutdown", "exit", tid, next(t), res=0),
        ev("poll", "enter", tid, next(t), fds=fdlist(0, 2, 3, 4, 6, 90, 91, 999), timeout=5),
        ev("poll", "exit", tid, next(t), res=1, fds=fdlist(2, 91), timeout=5),
        ev("poll", "exit", tid, next(t), res=1, fds=fdlist(999, 998), timeout=5),
        ev("poll", "exit", tid, next(t), res=0, fds=fdlist(), timeout=5),
        ev("poll", "exit", tid, next(t), res=0, timeout=5),  # no fds parameter
        ev("poll", "exit", tid, next(t), count=1, res=0),  # an older producer
        ev("ppoll", "enter", tid, next(t), fds=fdlist(1, 7, 20, count=5), timeout=1),
        ev("ppoll", "enter", tid, next(t), fds=fdlist(3, 4, cut=3), timeout=1),
        ev("ppoll", "enter", tid, next(t), fds=b"\x01", timeout=1),
        ev("poll", "enter", 4242, next(t), fds=fdlist(0, 1), timeout=5),  # a new thread
    ]


def made_events() -> list:
    tid = 100
    return (listed_fd_events(tid) + MADE.fd_events(tid) + MADE.socket_events(tid)
            + placeholder_events(tid) + socket_role_events(tid) + MADE.process_events()
            + listed_fd_events(1000))


def test_made_captures(core, tmp_path, monkeypatch):
    events = made_events()
    data = MADE.capture(events)
    for order, blob in (("little", data), ("big", MADE.to_big_endian(data))):
        path = tmp_path / f"fd_{order}.scap"
        path.write_bytes(blob)
        assert check(core, path, monkeypatch) == len(events), order
