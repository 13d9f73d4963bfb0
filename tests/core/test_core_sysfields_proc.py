"""The core's proc, thread, user, group, container and k8s fields (core/src/sysfields/
proc*) give, after every event, the value and the Python type of the Python extractors
(scaptools/fields/syscall/proc.py, container.py): on the repo's syscall capture, on the
syscall captures of ../shared, and on captures made here for the edge cases (threads,
ancestors that loop, parents that are threads, made-up <NA> threads, ids no user or
group list names, sessions, process groups, cgroups and capabilities, CPU time, container
events of both kinds and threads in, out of and near containers).

Every field of these classes is compared, with the arguments worth testing; the test
holds the exact set the core leaves to Python, so losing a field fails it."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from construct import GreedyBytes, Struct

from scaptools.events.event import Event
from scaptools.fields.syscall import syscall_fieldset
from scaptools.format import schema
from scaptools.format.writer import event_block, frame, section_header

from .coreutil import sibling


HARNESS = sibling("sysfield_compare")
MADE = sibling("test_core_state_made")
to_big_endian = sibling("test_core_walk").to_big_endian
ev, process, user_block, fd_block = MADE.ev, MADE.process, MADE.user_block, MADE.fd_block
NO_TID = MADE.NO_TID

CLASSES = ("proc", "thread", "user", "group", "container", "k8s")
ARGUMENTS = ["proc.aname[0]", "proc.aname[1]", "proc.aname[2]", "proc.aname[3]",
             "proc.aname[4]", "proc.aname[5]", "proc.aname[6]", "proc.aname[]",
             "proc.aname[x]", "proc.aname[-1]", "proc.aname[007]", "proc.apid[0]",
             "proc.apid[1]", "proc.apid[2]", "proc.aexe[2]", "proc.aexepath[3]",
             "proc.aexepath[0]", "proc.aname[70]", "proc.apid[131]", "proc.aname[\u0663]",
             "thread.cgroup[cpu]", "thread.cgroup[blkio]", "thread.cgroup[io]",
             "thread.cgroup[]", "thread.cgroup[memory]",
             # refused by Python: the core must refuse them too
             "thread.cgroup", "proc.name[1]", "user.name[0]", "group.gid[]",
             "container.id[x]", "k8s.ns.name[1]", "thread.tid[1]"]
# what the core leaves to Python, and why: thread.cpu* are doubles with a memory per
# thread; a non-ASCII digit is read by Python's str.isdigit/int only
TO_PYTHON = {"thread.cpu", "thread.cpu.user", "thread.cpu.system", "proc.aname[\u0663]"}


def class_fields() -> list[str]:
    return [info.name for info in syscall_fieldset() if info.name.split(".")[0] in CLASSES
            and info.name != "thread.cgroup"]


SPECS = class_fields() + ARGUMENTS


def check(core, path: Path, monkeypatch) -> int:
    missing, count = HARNESS.compare(core, path, SPECS, monkeypatch)
    assert set(missing) == TO_PYTHON, f"{path.name}: the core leaves {sorted(missing)} to Python"
    return count


def test_every_class_field_is_listed():
    names = set(class_fields())
    assert {"proc.name", "proc.aname", "thread.tid", "user.loginname", "group.name",
            "container.id", "k8s.pod.name"} <= names
    assert len(names) > 70


@pytest.mark.parametrize("path", HARNESS.REPO_SYSCALL, ids=lambda p: p.name)
def test_repo_capture(core, path, monkeypatch):
    assert check(core, path, monkeypatch) > 0


def test_shared_captures(core, shared, monkeypatch):
    for path in HARNESS.shared_syscall(shared):
        assert check(core, path, monkeypatch) > 0, path.name


# -- made captures ------------------------------------------------------------------

def tail(loginuid: int = 0xFFFFFFFF, tty: int = 0, caps=(0, 0, 0), writable: int = 0) -> bytes:
    """A V9 tail in the current layout (§5): pidns start, tty, loginuid, caps, ..."""
    return (struct.pack("<QI", 0, tty) + struct.pack("<IBQQQ", loginuid, writable, *caps)
            + struct.pack("<BQQQBBq", 0, 0, 0, 0, 0, 0, 0))


def proc(tid: int, pid: int, ptid: int, comm: str, **more) -> dict:
    values = dict(ptid=ptid, comm=comm.encode(), exe=f"/bin/{comm}".encode(),
                  exepath=f"/usr/bin/{comm}".encode(), sid=more.pop("sid", 1),
                  vpgid=more.pop("vpgid", pid), vtid=tid, vpid=pid)
    values.update(more)
    return process(tid, pid, **values)


DOCKER, CRI, UNSEEN, ODD = "a" * 64, "b" * 64, "c" * 64, "d" * 64
TABLE = [  # (entry, tail)
    (proc(1, 1, 0, "systemd", sid=1, args=b""), tail()),
    (proc(10, 10, 1, "sshd", sid=10), tail(loginuid=0)),
    (proc(20, 20, 10, "bash", sid=20, uid=1000, gid=1000, fdlimit=4),
     tail(loginuid=1000, tty=34816, caps=(1, 0x3FF, 1 << 21 | 1 << 40), writable=1)),
    (proc(21, 20, 10, "bash", sid=20), tail(loginuid=1000)),  # a thread of 20
    (proc(30, 30, 21, "python3", sid=20, vpgid=20, uid=4242, gid=4242, fdlimit=3600,
          cgroups=f"cpu=/x\0io=/docker/{DOCKER}\0memory=/m\0".encode()),
     tail(loginuid=0x80000000)),  # parent is a thread; no user, group or login user
    (proc(31, 30, 30, "python3", sid=20, vtid=-1, vpid=-1), tail()),
    (proc(40, 40, 41, "loopa", sid=5), tail()),  # 40 and 41 are each other's parents
    (proc(41, 41, 40, "loopb", sid=5), tail()),
    (proc(42, 42, 42, "self", sid=5, args=b"", env=b""), tail()),  # its own parent
    (proc(43, 43, 40, "sh", sid=5), tail()),
    (proc(44, 44, 43, "bash", sid=5), tail()),
    (proc(50, 50, 1, "groupless", vpgid=999, fdlimit=0), tail()),
    (proc(51, 52, 50, "orphan"), tail()),  # its main thread (52) is unknown
    (proc(81, 81, 1, "second", vpid=77, vpgid=77), tail()),  # two leaders of group 77
    (proc(80, 80, 1, "first", vpid=77, vpgid=77, fdlimit=-1), tail()),
    (proc(82, 82, 80, "member", vpgid=77, cgroups=b""), tail()),
    (proc(83, 83, 1, "cri", cgroups=f"cpu=/kubepods/cri-containerd-{CRI}.scope\0".encode()),
     tail()),
    (proc(84, 84, 1, "unseen", cgroups=f"memory=/docker/{UNSEEN}/x\0".encode()), tail()),
    (proc(85, 85, 1, "odd", cgroups=f"cpu=/{ODD}.scope\0".encode()), tail()),
    (proc(86, 86, 1, "short", cgroups=f"cpu=/docker/{ODD[:63]}\0".encode()), tail()),
]


def container_json(cid: str, **info) -> Event:
    """A container event with JSON (the current type, 324)."""
    body = json.dumps({"container": {"id": cid, **info}}).encode() + b"\0"
    return Event.from_params(324, [body], ts=0, tid=NO_TID)


def container_old(cid: str, ctype: int, name: str, image: str) -> Event:
    """The oldest container event (228): id, type, name, image."""
    params = [cid.encode() + b"\0", struct.pack("<I", ctype), name.encode() + b"\0",
              image.encode() + b"\0"]
    return Event.from_params(228, params, ts=0, tid=NO_TID)


def container_events() -> list:
    """Containers of threads 30 (docker), 83 (cri), 85 (odd members); 84's is never seen."""
    return [
        container_json(DOCKER, name="web", image="repo/x:1.2", imagerepo="", imagetag="1.2",
                       imagedigest="sha256:00", imageid="f00d", privileged=True, type=0),
        container_old(CRI, 7, "old", "registry:5000/img"),
        container_json(ODD, name="", image="", imagerepo="r", type=99, privileged=1,
                       imagetag=None),
        container_json("", name="no id"),
    ]


def process_block() -> bytes:
    """The table as one process list V9 block (length-prefixed entries with tails)."""
    inner = Struct(*schema.process_fields("<", 9), "extra" / GreedyBytes)
    body = b""
    for entry, extra in TABLE:
        data = inner.build({**entry, "extra": extra})
        body += struct.pack("<I", len(data) + 4) + data
    return frame(0x215, body)


def metadata() -> bytes:
    return (process_block() + fd_block(20, v2=True)
            + fd_block(30, v2=False) + user_block(False))


def events() -> list:
    t = iter(range(10_000, 10_000_000, 10))
    out = [ev("read", "enter", e["tid"], next(t), fd=0, size=1) for e, _ in TABLE]
    for event in container_events():
        event.ts = next(t)
        out.append(event)
    out += [ev("read", "enter", e["tid"], next(t), fd=0, size=1) for e, _ in TABLE]
    clone = dict(exe="/bin/bash", args=b"-c\0x\0", tid=20, pid=20, ptid=10, cwd="/w",
                 fdlimit=64, comm="bash", cgroups=b"cpu=/\0", uid=1000, gid=1000)
    out += [
        ev("clone", "exit", 20, next(t), res=90, flags=0, vtid=90, vpid=90, **clone),
        ev("read", "enter", 90, next(t), fd=0, size=1),
        ev("clone", "exit", 90, next(t), res=91, flags=8192 | 1, **{**clone, "tid": 90,
                                                                     "pid": 90}),
        ev("read", "enter", 91, next(t), fd=0, size=1),
        ev("clone", "exit", 90, next(t), res=92, flags=0, **{**clone, "tid": 90, "pid": 90}),
        ev("read", "enter", 92, next(t), fd=0, size=1),
        ev("execve", "exit", 90, next(t), res=0, exe="/usr/bin/env", args=b"A=1\0top\0",
           tid=90, pid=90, ptid=20, cwd="/", fdlimit=1024, comm="env", env=b"X=1\0",
           tty=34817, vpgid=20, loginuid=1000, uid=0, gid=0, pgid=20,
           cap_effective=(1 << 41) - 1, trusted_exepath="/usr/bin/env"),
        ev("read", "enter", 91, next(t), fd=0, size=1),
        ev("read", "enter", 777, next(t), fd=0, size=1),  # unknown: a made-up <NA> thread
        ev("read", "exit", 777, next(t), res=1, data=b"x"),
        ev("switch", "enter", 20, next(t), next=30, pgft_maj=1, pgft_min=2, vm_size=3,
           vm_rss=4, vm_swap=5),
        ev("switch", "enter", 30, next(t), next=20, pgft_maj=6, pgft_min=7, vm_size=8,
           vm_rss=9, vm_swap=10),
        ev("switch", "enter", 21, next(t), next=20),
        ev("switch", "enter", 778, next(t), next=0),  # never makes its thread
        ev("useradded", "enter", NO_TID, next(t), uid=4242, gid=4242, name="late",
           home="/home/late", shell="/bin/zsh"),
        ev("groupadded", "enter", NO_TID, next(t), gid=4242, name="lategroup"),
        ev("read", "enter", 30, next(t), fd=0, size=1),
        ev("read", "enter", 0, next(t), fd=0, size=1),  # tid 0: no thread
        ev("read", "enter", (1 << 63) + 5, next(t), fd=0, size=1),  # a negative tid
        ev("close", "exit", 20, next(t), res=0, fd=0),
        ev("read", "enter", 21, next(t), fd=0, size=1),
        ev("procexit", "enter", 21, next(t)),
        ev("read", "enter", 20, next(t), fd=0, size=1),
        ev("procexit", "enter", 10, next(t)),
        ev("read", "enter", 30, next(t), fd=0, size=1),
    ]
    return out


def capture(items: list) -> bytes:
    data = section_header() + metadata()
    for num, event in enumerate(items, 1):
        event.num = num
        data += event_block(event)
    return data


def test_made_capture_both_orders(core, tmp_path, monkeypatch):
    items = events()
    data = capture(items)
    for order, blob in (("little", data), ("big", to_big_endian(data))):
        path = tmp_path / f"proc_{order}.scap"
        path.write_bytes(blob)
        assert check(core, path, monkeypatch) == len(items), order


def test_made_capture_values(core, tmp_path):
    """The made capture shows what it was made for (so the comparison above is not
    between two equally empty answers): the first value of each thread's events."""
    path = tmp_path / "proc_values.scap"
    path.write_bytes(capture(events()))
    specs = ["thread.tid", "proc.name", "proc.aname[2]", "proc.apid[131]", "proc.sname",
             "proc.loginshellid", "user.name", "user.loginuid", "proc.vpgid.name",
             "thread.cgroup[io]", "proc.fdusage", "proc.ppid.duration"]
    fields = core.SysFields([HARNESS.split(s) for s in specs], HARNESS.HOST)
    walk = core.StateWalk(str(path))
    seen = {}
    while walk.step() is not None:
        values = dict(zip(specs, fields.values(walk)))
        seen.setdefault(values["thread.tid"], values)
    assert [seen[20][s] for s in specs[1:]] == [
        "bash", "systemd", None, "bash", 20, "u", 1000, "bash", None, "300.0", None]
    assert [seen[30][s] for s in ("user.name", "user.loginuid", "thread.cgroup[io]",
                                  "proc.fdusage")] == [None, -(1 << 31), f"/docker/{DOCKER}",
                                                       "0.2"]
    assert seen[31]["proc.aname[2]"] == "sshd"  # the parent of 30 is a thread of 20
    assert seen[40]["proc.apid[131]"] == 41  # 131 steps round a loop of two
    assert seen[42]["proc.apid[131]"] == 42
    assert seen[44]["proc.loginshellid"] == 43 and seen[44]["proc.sname"] == "loopb"
    assert seen[50]["proc.fdusage"] is None
    assert seen[80]["proc.vpgid.name"] == "second"  # the first leader in table order
    assert seen[92]["proc.ppid.duration"] == 50
    assert seen[777]["proc.name"] == "<NA>" and seen[777]["user.name"] is None
    assert set(seen[-(1 << 63) + 5].values()) == {None, -(1 << 63) + 5}


def test_made_capture_containers(core, tmp_path):
    """The container fields of the made threads after the container events (the last
    value of each thread's events)."""
    path = tmp_path / "proc_containers.scap"
    path.write_bytes(capture(events()))
    specs = ["thread.tid", "container.id", "container.name", "container.image.repository",
             "container.type", "container.privileged"]
    fields = core.SysFields([HARNESS.split(s) for s in specs], HARNESS.HOST)
    walk = core.StateWalk(str(path))
    last = {}
    while walk.step() is not None:
        values = fields.values(walk)
        last[values[0]] = values[1:]
    assert last[30] == [DOCKER[:12], "web", "repo/x", "docker", True]
    assert last[83] == [CRI[:12], "old", "registry", "cri", None]
    assert last[84] == [UNSEEN[:12], None, None, None, None]  # no event for it
    assert last[85] == [ODD[:12], "", "r", "99", 1]
    assert last[86] == last[20] == ["host", "host", None, None, None]
