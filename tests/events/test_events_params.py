"""Parameter decoding and sysdig-style rendering on hand-built events (docs/format.md §10.2)."""
from __future__ import annotations

import struct

from scaptools.events.event import Event
from scaptools.events.params import SockAddr, SockTuple, decode_params
from scaptools.events.render import event_type_name, render_args, render_param
from scaptools.state import State
from scaptools.state.fds import FD_FILE, FdInfo

q = lambda v: struct.pack("<q", v)  # noqa: E731
u32 = lambda v: struct.pack("<I", v)  # noqa: E731


def open_exit(fd=3, name=b"/etc/passwd\0", flags=4097, mode=0o644):
    # open exit (3): fd PT_FD, name PT_FSPATH, flags PT_FLAGS32, mode PT_UINT32 (PF_OCT)
    return Event.from_params(3, [q(fd), name, u32(flags), u32(mode)], tid=42)


def test_ints_strings_flags_and_octal_mode():
    ev = open_exit()
    assert decode_params(ev) == {"fd": 3, "name": "/etc/passwd", "flags": 4097, "mode": 0o644}
    assert render_param(ev, 2) == ("4097", "O_RDONLY|O_CLOEXEC")
    assert render_param(ev, 3) == ("0644", "")
    assert render_args(ev) == "fd=3 name=/etc/passwd flags=4097(O_RDONLY|O_CLOEXEC) mode=0644"


def test_errno_names_and_negative_fd():
    close_x = Event.from_params(5, [q(-9)], tid=1)  # close exit: res PT_ERRNO
    assert decode_params(close_x) == {"res": -9}
    assert render_args(close_x) == "res=-9(EBADF)"
    state = State()
    state.update(Event.from_params(4, [q(-1)], tid=1))  # creates thread 1
    ev = Event.from_params(4, [q(-2)], tid=1)  # close enter, fd -2
    assert render_args(ev, state) == "fd=-2(ENOENT)"


def test_fd_resolved_through_state():
    state = State()
    ev = open_exit()
    state.update(ev)
    assert render_args(ev, state).startswith("fd=3(<f>/etc/passwd) name=/etc/passwd")
    assert state.thread(42).fd(3).name == "/etc/passwd"


def test_relative_path_is_resolved_against_cwd():
    state = State()
    state.add_thread({"tid": 7, "pid": 7, "comm": "sh", "cwd": "/home/u/"})
    ev = Event.from_params(3, [q(4), b"notes.txt\0", u32(1), u32(0)], tid=7)
    state.update(ev)
    assert "name=notes.txt(/home/u/notes.txt)" in render_args(ev, state)
    assert state.thread(7).fd(4).name == "/home/u/notes.txt"


def test_sockaddr_and_socktuple():
    addr = bytes([2, 10, 0, 0, 1]) + struct.pack("<H", 8080)  # PPM_AF_INET, 10.0.0.1:8080
    bind_x = Event.from_params(21, [q(0), addr], tid=1)
    assert decode_params(bind_x)["addr"] == SockAddr(2, "10.0.0.1", 8080)
    tup = bytes([2, 10, 0, 0, 1]) + struct.pack("<H", 5000) + bytes([10, 0, 0, 2]) + \
        struct.pack("<H", 80)
    conn_x = Event.from_params(23, [q(0), tup], tid=1)
    assert decode_params(conn_x)["tuple"] == SockTuple(2, "10.0.0.1", 5000, "10.0.0.2", 80)
    assert render_args(conn_x) == "res=0 tuple=10.0.0.1:5000->10.0.0.2:80"
    unix = bytes([1]) + struct.pack("<QQ", 0, 0xFFFF88003C420800) + b"/run/x.sock\0"
    assert render_param(Event.from_params(23, [q(-2), unix], tid=1), 1)[0] == \
        "0->ffff88003c420800 /run/x.sock"


def test_empty_params_and_buffers():
    read_x = Event.from_params(7, [q(5), b"ab\x00\x01c"], tid=1)  # read exit: res, data
    assert decode_params(read_x) == {"res": 5, "data": b"ab\x00\x01c"}
    assert render_args(read_x) == "res=5 data=ab..c"
    long = Event.from_params(7, [q(200), b"x" * 200], tid=1)
    assert render_param(long, 1)[0] == "x" * 77 + "..."
    empty = Event.from_params(7, [b"", b""], tid=1)
    assert decode_params(empty) == {"res": None, "data": None}
    assert render_args(empty) == "res=NULL data="


def test_generic_syscall_name_and_fdlist():
    generic = Event.from_params(0, [struct.pack("<H", 75), struct.pack("<H", 10)], tid=1)
    assert event_type_name(generic) == "mprotect"
    poll_e = Event.from_params(80, [struct.pack("<H", 1) + struct.pack("<qH", 3, 1),
                                    q(1000)], tid=1)
    assert decode_params(poll_e)["fds"] == [(3, 1)]
    state = State()
    state.update(poll_e)
    state.thread(1).fdtable[3] = FdInfo(3, FD_FILE, "/x")
    assert render_param(poll_e, 0, state)[0] == "3:f1"


def test_more_params_than_the_table_are_ignored():
    ev = Event.from_params(5, [q(0), q(3), b"extra"], tid=1)
    assert decode_params(ev) == {"res": 0, "fd": 3}
