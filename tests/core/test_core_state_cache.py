"""The core's per-event cache and containers (``StateWalk.cache()``, ``containers()``,
``container_values()``; core/src/state/cache.rs, containers.rs) against the Python
``State`` on made events: container events of the three versions (with and without a
thread, JSON of every odd shape), threads whose cgroups name a container in each way
the Python pattern finds one (and ways it does not), a thread whose container id was
read before its cgroups changed, and an event whose own thread leaves the full thread
table while it runs. ``run_both`` (test_core_state.py) compares the cache and the
containers after every event; the captures of test_core_state*.py are compared the
same way."""
from __future__ import annotations

import json
from pathlib import Path

from scaptools.events.table import EVENTS
from scaptools.events.event import Event
from scaptools.format.writer import event_block, section_header

from .coreutil import sibling


MADE = sibling("test_core_state_made")
STATE = MADE.STATE
ev, NO_TID = MADE.ev, MADE.NO_TID
A, B, C, D, E = (c * 64 for c in "abcde")
F = "0123456789abcdef" * 4


def container(etype: int, tid: int, ts: int, /, count: int | None = None, **values):
    """A container event of type ``etype`` (228: id/type/name/image, 272/324: json)."""
    params = [MADE.encode(p["type"], values.get(p["name"])) for p in EVENTS[etype]["params"]]
    return Event.from_params(etype, params[:count], ts=ts, tid=tid)


def doc(**info) -> str:
    return json.dumps({"container": info})


def clone(res: int, cgroups: bytes, ts: int):
    return ev("clone", "exit", 100, ts, res=res, flags=0, exe="/bin/app", args=b"app\0",
              tid=100, pid=100, ptid=1, cwd="/", fdlimit=10, comm="app", cgroups=cgroups,
              uid=0, gid=0)


def container_events() -> list:
    t = iter(range(10, 100000, 10))
    groups = {300: f"cpu=/docker/{A}\0memory=/docker/{A}\0",
              301: f"cpuset=/kubepods/pod1/cri-containerd-{B}.scope\0",
              302: f"cpu=/system.slice/{C}.scope/sub\0",
              303: "cpu=/user.slice\0",
              304: f"nocgroupname/docker/{A}\0",
              305: f"cpu=/docker/{D}\n\0",
              306: f"cpu=/docker/{E}.scopex\0cpu=/x/{A}0\0name=systemd:/lxc/{F}\0"}
    events = [ev("read", "enter", 100, next(t), fd=0, size=1)]
    events += [clone(tid, text.encode(), next(t)) for tid, text in groups.items()]
    events += [
        container(272, 300, next(t), json=doc(id=A, name="web", image="nginx:1.25",
                                              imageid="sha256:1", imagerepo="nginx",
                                              imagetag="1.25", imagedigest="sha256:d",
                                              privileged=False, type=0)),
        ev("read", "enter", 303, next(t), fd=0, size=1),  # read as host before its execve
        container(324, NO_TID, next(t), json=doc(id=B, name="db", image="registry:5000/pg",
                                                 type=7, privileged=True)),
        container(228, 0, next(t), id=C, type=12, name="old", image="busybox"),
        container(228, 100, next(t), id=D, type=1, name="skipped"),  # a known thread's: skipped
        container(272, 301, next(t), json="{not json"),
        container(272, 301, next(t), json="[1, 2]"),
        container(272, 301, next(t), json=json.dumps({"container": None})),
        container(272, 301, next(t), json=doc(id=5)),
        container(272, 301, next(t), json=doc(id="")),
        container(272, 301, next(t)),  # an empty json parameter
        container(272, 301, next(t), count=0),  # no parameters
        container(324, 302, next(t), json=doc(id=D + "tail", type="custom-text", imagerepo="",
                                              image="", name={"nested": [1, 2.5, None]})),
        container(324, 305, next(t), json=doc(id=E, type=99, imagerepo=0, image="plain",
                                              privileged=None, name="\u00e9t\u00e9")),
        container(324, 306, next(t), json=doc(id=F, type=True, image="repo:tag:x")),
        container(272, 300, next(t), json=doc(id=A, name="web2", type=2.5)),  # replaced
        ev("execve", "exit", 303, next(t), res=0, exe="/bin/cat", args=b"", tid=303, pid=303,
           ptid=100, cwd="/", fdlimit=1, comm="cat", cgroups=f"cpu=/docker/{A}\0".encode()),
        ev("read", "enter", 304, next(t), fd=0, size=1),
    ]
    events += [ev("read", "enter", tid, next(t), fd=0, size=1) for tid in groups]
    return events


def plain_capture(events: list) -> bytes:
    data = section_header()
    for num, event in enumerate(events, 1):
        event.num = num
        data += event_block(event)
    return data


def test_container_events(core, tmp_path):
    events = container_events()
    assert MADE.check(core, tmp_path, MADE.capture(events), "containers") == len(events)
    walk = core.StateWalk(str(tmp_path / "containers_little.scap"))
    while walk.step():
        walk.container_values(303, ["id"])  # read before its execve: kept as host
    assert sorted(walk.containers()) == sorted([A[:12], B[:12], C[:12], D[:12], E[:12],
                                                F[:12]])
    keys = ["id", "name", "repository", "type", "privileged"]
    assert walk.container_values(300, keys) == [A[:12], "web2", None, 2.5, None]
    assert walk.container_values(301, keys) == [B[:12], "db", "registry", "cri", True]
    assert walk.container_values(303, keys) == ["host", "host", None, None, None]


def test_container_member_not_an_object(core, tmp_path):
    """A ``container`` member that is true but no object stops both states there."""
    events = [clone(300, f"cpu=/docker/{A}\0".encode(), 10),
              container(272, 300, 20, json=json.dumps({"container": "text"})),
              ev("read", "enter", 300, 30, fd=0, size=1)]
    out = tmp_path / "bad_container.scap"
    out.write_bytes(MADE.capture(events))
    count, error = STATE.run_both(core, out)
    assert count == 1 and isinstance(error, AttributeError)


def test_thread_dropped_by_its_own_event(core, tmp_path):
    """A full table of one thread: the clone exit of thread 100 adds its child and drops
    100 itself; the event still shows 100 as its thread."""
    events = [ev("read", "enter", 100, 10, fd=0, size=1), clone(200, b"", 20),
              ev("read", "enter", 200, 30, fd=0, size=1)]
    out = tmp_path / "dropped.scap"
    out.write_bytes(plain_capture(events))
    count, error = STATE.run_both(core, out, max_threads=1)
    assert count == 3 and error is None
    walk = core.StateWalk(str(out), 1)
    walk.step()
    walk.step()
    assert (walk.cache()["thread"], walk.cache()["gone"], walk.tids()) == (100, True, [200])


def test_cache_kinds_are_met(core, tmp_path):
    """The made events of test_core_state_made.py give every kind of cached fd."""
    events = MADE.fd_events(100) + MADE.socket_events(100) + MADE.process_events()
    out = tmp_path / "kinds.scap"
    out.write_bytes(MADE.capture(events))
    walk, seen = core.StateWalk(str(out)), set()
    while walk.step():
        cache, fd = walk.cache(), walk.cache()["fd"]
        seen.add(("fd", None if fd is None else (fd["pending"], fd["num"] < 0, fd["type"])))
        seen.add(("new", cache["fd_new"]))
        seen.add(("latency", cache["latency"] is not None))
        seen.add(("exectime", cache["exectime"] is not None))
    assert {("fd", None), ("fd", (True, False, -2)), ("fd", (True, True, -2)),
            ("fd", (True, True, -1)), ("fd", (False, False, 1)), ("fd", (False, False, 8)),
            ("new", True), ("new", False), ("latency", True), ("exectime", True)} <= seen
    assert any(k == "fd" and v and v[2] <= -100 for k, v in seen)  # socket() enter
