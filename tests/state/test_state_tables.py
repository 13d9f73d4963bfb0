"""Thread and fd state: seeding from metadata blocks and updates from events."""
from __future__ import annotations

import struct

from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.state import State, tracked_events

q = lambda v: struct.pack("<q", v)  # noqa: E731
u32 = lambda v: struct.pack("<I", v)  # noqa: E731


def test_seeded_from_process_fd_and_user_lists(shared):
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    state = State()
    with open_capture(path) as reader:
        for event in tracked_events(reader, state):
            break  # metadata blocks come before the first event
    assert len(state.threads) == 94  # the process-list entries (docs/format.md, sample.scap)
    systemd = state.thread(1)
    assert systemd.comm == "systemd" and systemd.cwd == "/" and systemd.sid == 1
    assert state.user_name(0) == "root" and state.group_name(0) == "root"
    assert any(fd.name == "/dev/null" for fd in systemd.fdtable.values())


def test_clone_execve_close_and_exit():
    state = State()
    state.add_thread({"tid": 10, "pid": 10, "ptid": 1, "comm": "bash", "cwd": "/home/u",
                      "uid": 1000})
    state.add_fds(10, [{"fd": 0, "ino": 1, "type": 1, "name": "/dev/pts/0"}])
    # clone exit (id 223) in the parent: res = child tid; flags 0 = a new process
    params = [q(11), b"bash\0", b"", q(10), q(10), q(1), b"/home/u\0", q(1024), q(0), q(0),
              u32(0), u32(0), u32(0), b"bash\0", b"", u32(0), u32(1000), u32(1000)]
    state.update(Event.from_params(223, params, ts=1, tid=10))
    child = state.thread(11)
    assert child.pid == 11 and child.ptid == 10 and child.fd(0).name == "/dev/pts/0"
    assert child.fdtable is not state.thread(10).fdtable  # copied, not shared
    # execve exit (id 231) in the child
    exe = [q(0), b"/bin/cat\0", b"/etc/passwd\0", q(11), q(11), q(10), b"/home/u\0", q(1024),
           q(0), q(0), u32(0), u32(0), u32(0), b"cat\0", b"", b""]
    state.update(Event.from_params(231, exe, ts=2, tid=11))
    assert child.comm == "cat" and child.args == ["/etc/passwd"] and child.exepath == "/bin/cat"
    state.update(Event.from_params(4, [q(0)], ts=3, tid=11))  # close enter fd 0
    state.update(Event.from_params(5, [q(0)], ts=4, tid=11))  # close exit res 0
    assert child.fd(0) is not None  # the close event itself still sees it (as libsinsp)
    state.update(Event.from_params(186, [q(0)], ts=5, tid=11))  # procexit
    assert child.fd(0) is None and state.thread(10).fd(0) is not None
    assert state.thread(11) is not None  # still there for this event's fields
    state.update(Event.from_params(4, [q(1)], ts=6, tid=10))
    assert state.thread(11) is None  # purged on the next event


def test_threads_share_the_fd_table():
    state = State()
    state.add_thread({"tid": 20, "pid": 20, "comm": "app"})
    flags = 8192 | 1  # CLONE_THREAD | CLONE_FILES
    params = [q(21), b"app\0", b"", q(20), q(20), q(1), b"/\0", q(1024), q(0), q(0), u32(0),
              u32(0), u32(0), b"app\0", b"", u32(flags), u32(0), u32(0)]
    state.update(Event.from_params(223, params, tid=20))
    thread = state.thread(21)
    assert thread.pid == 20 and thread.fdtable is state.thread(20).fdtable
    state.update(Event.from_params(3, [q(5), b"/srv/x\0", u32(1), u32(0)], tid=21))
    assert state.thread(20).fd(5).name == "/srv/x"


def test_fd_list_of_an_unlisted_thread():
    state = State()
    state.add_fds(77, [{"fd": 3, "ino": 9, "type": 1, "name": "/var/log/x"}])
    assert state.thread(77).fd(3).name == "/var/log/x"


def test_memory_stays_bounded():
    state = State(max_threads=100)
    for tid in range(1, 1000):
        state.update(Event.from_params(4, [q(1)], tid=tid))
    assert len(state.threads) <= 100


def test_container_events_and_cgroups():
    from scaptools.fields.syscall import syscall_fieldset
    state = State()
    cid = "ab" * 32
    doc = ('{"container":{"id":"%s","name":"web","image":"nginx:1.25",'
           '"imagerepo":"nginx","imagetag":"1.25","type":0,"privileged":true}}' % cid)
    state.update(Event.from_params(324, [doc.encode() + b"\0"], tid=0))
    state.add_thread({"tid": 30, "pid": 30, "comm": "nginx",
                      "cgroups": f"cpu=/docker/{cid}\0memory=/docker/{cid}\0"})
    state.add_thread({"tid": 31, "pid": 31, "comm": "sshd", "cgroups": "cpu=/\0"})
    fs = syscall_fieldset()
    in_ct, on_host = Event.from_params(4, [q(1)], tid=30), Event.from_params(4, [q(1)], tid=31)
    state.update(in_ct)
    state.update(on_host)
    get = lambda name, ev: fs.extractor(name)(ev)  # noqa: E731
    assert get("container.id", in_ct) == cid[:12] and get("container.name", in_ct) == "web"
    assert get("container.image.repository", in_ct) == "nginx"
    assert get("container.privileged", in_ct) is True and get("container.type", in_ct) == "docker"
    assert get("container.id", on_host) == "host" and get("container.name", on_host) == "host"
    assert get("container.image.repository", on_host) is None


def test_abspath_of_at_calls():
    from scaptools.fields.syscall import syscall_fieldset
    state = State()
    state.add_thread({"tid": 5, "pid": 5, "comm": "rm", "cwd": "/home/u"})
    state.add_fds(5, [{"fd": 7, "ino": 1, "type": 2, "name": "/var/spool"}])
    abspath = syscall_fieldset().extractor("evt.abspath")
    # unlinkat exit (303): res, dirfd, name, flags
    in_dir = Event.from_params(303, [q(0), q(7), b"junk\0", u32(0)], tid=5)
    in_cwd = Event.from_params(303, [q(0), q(-100), b"../x\0", u32(0)], tid=5)
    for ev in (in_dir, in_cwd):
        state.update(ev)
    assert abspath(in_dir) == "/var/spool/junk" and abspath(in_cwd) == "/home/x"


def test_update_goes_on_after_a_damaged_event():
    """``state.update`` feeds the loop of ``tracked_events``; an event that raises ends
    that loop, and the next update starts a fresh one on the same tables."""
    import pytest

    from scaptools.errors import DamagedEvent
    from scaptools.format.layout import EVENT_HEADER, PARAM_LENGTHS_AT

    state = State()
    assert state.update(Event.from_params(4, [q(3)], ts=1, tid=10)).tid == 10  # close enter
    size = PARAM_LENGTHS_AT + 2 + 2  # one u16 length of 8, but only 2 bytes of it
    bad = Event(2, 2, 0, 10, 4, 1, EVENT_HEADER.pack(2, 10, size, 4, 1) + b"\x08\x00\x00\x00")
    with pytest.raises(DamagedEvent):
        state.update(bad)
    thread = state.update(Event.from_params(6, [q(3), u32(9)], ts=3, tid=10))  # read enter
    assert thread is state.thread(10) and thread.lastevent_fd == 3 and thread.in_call
    assert state.first_ts == 1
