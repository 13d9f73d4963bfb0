"""The core's syscall state (``scaptools._core.StateWalk``, core/src/state/) keeps the
thread, fd, user and group tables exactly as the Python ``State`` does: compared after
every event of every syscall capture of the repo and of ../shared, of slices made by
``scap slice``, of captures cut short, and of the made captures of every version and
byte order.

What is compared (docs/core.md "Syscall state"): every thread's identity, process
fields and memory counters, its fd table (every ``FdInfo`` field) and which threads
share one fd table, the users, the groups, the interface addresses and the first
event's time; after every event, the event's cache (``event.cache``: its thread, the
fd it works on or its placeholder with every field, ``fd_new``, the latency and CPU
time it shows) and the containers (the table, and the container fields of the event's
thread when there are containers). Not compared: field memory (the core has none).
"""
from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import pytest

from scaptools.format.reader import open_capture
from scaptools.state import State, tracked_events
from scaptools.state.containers import container_value

from .coreutil import sibling

ROOT = Path(__file__).resolve().parents[2]
THREAD_FIELDS = ("tid", "pid", "ptid", "sid", "vpgid", "pgid", "fdlimit", "flags", "uid",
                 "gid", "loginuid", "vtid", "vpid", "vmsize_kb", "vmrss_kb", "vmswap_kb",
                 "pfmajor", "pfminor", "tty", "exe_writable", "cap_inheritable",
                 "cap_permitted", "cap_effective", "clone_ts", "pidns_init_start_ts",
                 "lastexec_ts", "comm", "exe", "exepath", "cwd", "root", "args", "env",
                 "cgroups", "exited", "in_call", "lastevent_fd", "last_latency", "totexectime")
FD_FIELDS = ("num", "type", "l4proto", "sport", "dport", "flags", "ino", "dev", "pending_l4",
             "name", "sip", "dip", "pdip", "is_server", "client")
SYSCALL_CAPTURES = [ROOT / "captures" / "syscall_shell.scap"]


def python_thread(thread) -> dict:
    """One Python ``ThreadInfo`` in the shape ``StateWalk`` reads threads back."""
    one = {key: getattr(thread, key) for key in THREAD_FIELDS}
    one["dummy"] = thread._dummy
    one["fdtable"] = id(thread.fdtable)
    one["fds"] = {num: {key: getattr(fd, key) for key in FD_FIELDS}
                  for num, fd in thread.fdtable.items()}
    return one


def core_thread(one: dict | None) -> dict | None:
    if one is not None:
        one["fds"] = {num: {key: fd[key] for key in FD_FIELDS} for num, fd in one["fds"].items()}
    return one


def sharing(threads: dict) -> set:
    """Which threads share one fd table: the sets of tids per table."""
    groups: dict = {}
    for tid, one in threads.items():
        groups.setdefault(one.pop("fdtable"), set()).add(tid)
    return {frozenset(tids) for tids in groups.values()}


CONTAINER_KEYS = ("id", "name", "image", "image_id", "repository", "tag", "digest", "type",
                  "privileged")


def python_cache(state: State, event) -> dict:
    """The Python ``event.cache`` in the shape ``StateWalk.cache()`` gives it."""
    cache = event.cache or {}  # plugin events: tracked_events leaves them alone
    thread, fd = cache.get("thread"), cache.get("fd")
    one = None
    if fd is not None:
        one = {key: getattr(fd, key) for key in FD_FIELDS}
        one["pending"] = fd.pending
    return {"thread": thread.tid if thread is not None else None,
            "gone": thread is not None and state.threads.get(thread.tid) is not thread,
            "fd": one, "fd_new": cache.get("fd_new", False),
            "latency": cache.get("latency"), "exectime": cache.get("exectime")}


def assert_same_cache(state: State, walk, event, where: str) -> None:
    """The event's cache, and the containers when there are any."""
    assert python_cache(state, event) == walk.cache(), f"{where}: the event cache differs"
    if not state.containers and not walk.containers():
        return
    core = {cid: json.loads(text) for cid, text in walk.containers().items()}
    assert state.containers == core, f"{where}: containers differ"
    thread = (event.cache or {}).get("thread")
    if thread is not None and thread is state.threads.get(thread.tid):
        py = [container_value(state, thread, key) for key in CONTAINER_KEYS]
        assert py == walk.container_values(thread.tid, list(CONTAINER_KEYS)), \
            f"{where}: container fields differ"


def assert_same_threads(state: State, walk, tids, where: str) -> None:
    """Threads ``tids`` (all when None) are the same in both, and with all of them,
    which of them share an fd table, the users and the groups."""
    if tids is None:
        py = {tid: python_thread(t) for tid, t in state.threads.items()}
        core = {tid: core_thread(one) for tid, one in walk.threads().items()}
        assert sharing(py) == sharing(core), f"{where}: fd tables shared differently"
        assert (state.users, state.groups) == (walk.users(), walk.groups()), \
            f"{where}: users or groups differ"
        assert sorted(state.interfaces) == walk.interfaces(), f"{where}: interfaces differ"
        assert state.first_ts == walk.first_ts(), f"{where}: first_ts differs"
    else:
        py = {tid: python_thread(state.threads[tid]) for tid in tids if tid in state.threads}
        core = {tid: core_thread(walk.thread(tid)) for tid in py}
        for one in list(py.values()) + list(core.values()):
            one.pop("fdtable")
    assert py.keys() == core.keys(), f"{where}: thread ids differ"
    for tid in py:
        assert py[tid] == core[tid], f"{where}: thread {tid} differs"


FULL_EVERY = 50  # all tables every so many events; the event's own thread at every event


def run_both(core, path: Path, max_threads: int = 131072) -> tuple:
    """Walk ``path`` with both states, comparing after every event: the thread ids, the
    event's thread and any new thread; all tables at the first event, every
    ``FULL_EVERY`` events and at the end. When the Python side stops with an error, the
    core must stop there too. Both keep at most ``max_threads`` threads. Returns (events
    seen, the Python error or None)."""
    walk, state = core.StateWalk(str(path), max_threads), State(max_threads=max_threads)
    count, known = 0, set()
    py_error = None
    try:
        with open_capture(path) as reader:
            for event in tracked_events(reader, state):
                step = walk.step()
                where = f"{path.name} event {event.num}"
                assert step == (event.num, event.type, event.tid), where
                tids = set(state.threads)
                assert tids == set(walk.tids()), f"{where}: thread ids differ"
                full = count % FULL_EVERY == 0
                assert_same_threads(state, walk, None if full else
                                    (tids - known) | {event.tid}, where)
                assert_same_cache(state, walk, event, where)
                known, count = tids, count + 1
    except AssertionError:
        raise
    except Exception as exc:  # the Python side stopped: the core must stop there too
        py_error = exc
    if py_error is None:
        assert walk.step() is None, f"{path.name}: the core has more events"
    else:  # the core fails at the same place: on its next step
        with pytest.raises(ValueError):
            walk.step()
    assert_same_threads(state, walk, None, f"{path.name} at the end")
    return count, py_error


@pytest.mark.parametrize("path", SYSCALL_CAPTURES, ids=lambda p: p.name)
def test_repo_syscall_captures(core, path):
    count, error = run_both(core, path)
    assert count > 10 and error is None


def shared_syscall(shared: Path) -> list[Path]:
    found = sorted((shared / "captures" / "libs-e2e").glob("*.scap"))
    if not found:
        pytest.skip("../shared has no syscall captures (captures/libs-e2e)")
    return found


def test_shared_syscall_captures(core, shared):
    """sample.scap has process, fd and user lists; the others are network traffic."""
    for path in shared_syscall(shared):
        count, error = run_both(core, path)
        assert count > 100 and error is None, (path.name, error)


def test_gzip_capture(core, shared, tmp_path):
    """Most ../shared captures are gzip already; sample.scap packed here."""
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    packed = tmp_path / "sample.scap.gz"
    packed.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    count, error = run_both(core, packed)
    assert count > 100 and error is None


def test_slices(core, shared, tmp_path):
    """``scap slice`` windows carry the state as process, fd and user lists (v9, v2)."""
    from scaptools.ops.slice import cut
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    for index, (start, end) in enumerate([("+0.05s", None), ("+0.2s", "+0.4s"),
                                          (None, "+0.1s")]):
        out = tmp_path / f"slice{index}.scap"
        cut(str(path), str(out), start=start, end=end, allow_empty=True)
        count, error = run_both(core, out)
        assert error is None


def test_cut_captures(core, shared, tmp_path):
    """A capture cut short: the tables agree up to the last whole event, then both fail."""
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    data = path.read_bytes()
    for end in sorted({100, 3000, len(data) // 3, len(data) // 2, len(data) - 5}):
        out = tmp_path / f"cut{end}.scap"
        out.write_bytes(data[:end])
        count, error = run_both(core, out)
        assert error is not None, end


@pytest.mark.parametrize("name", ["syscall", "big_endian", "v1", "v1_big_endian", "flags",
                                  "flags_big_endian", "sections"])
def test_made_captures(core, tmp_path, name):
    """Every event block kind and both byte orders (the walker's made captures)."""
    out = tmp_path / f"{name}.scap"
    out.write_bytes(sibling("test_core_walk").MADE[name])
    count, error = run_both(core, out)
    assert count > 10 and error is None


def damaged_at(data: bytes, index: int) -> bytes:
    """``data`` (little-endian v2 blocks) with the first parameter of its ``index``-th
    event block (0-based) 1000 bytes too long: damaged for whoever reads it."""
    out, pos, seen = bytearray(data), 0, 0
    while pos < len(data):
        btype, total = struct.unpack_from("<II", data, pos)
        if btype == 0x216:
            if seen == index and struct.unpack_from("<I", data, pos + 32)[0]:
                length = struct.unpack_from("<H", data, pos + 36)[0]
                struct.pack_into("<H", out, pos + 36, length + 1000)
                return bytes(out)
            seen += 1
        pos += total
    return bytes(out)


def test_damaged_events(core, tmp_path):
    """An event whose parameter runs past its end stops both states at that event when
    the state reads it (a parser's event, an enter event's fd), and neither otherwise."""
    data = SYSCALL_CAPTURES[0].read_bytes()
    stopped = set()
    for index in range(20):
        out = tmp_path / f"damaged{index}.scap"
        out.write_bytes(damaged_at(data, index))
        count, error = run_both(core, out)
        stopped.add(error is None)
    assert stopped == {True, False}


@pytest.mark.parametrize("max_threads", [1, 5, 16, 60])
def test_bounded_thread_table(core, shared, max_threads):
    """A full table drops its oldest quarter (seeding, made-up threads, clone children):
    the same threads go in both, sample.scap holding 94 threads and more."""
    path = shared / "captures" / "libs-e2e" / "sample.scap"
    if not path.exists():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    count, error = run_both(core, path, max_threads)
    assert error is None and count > 100
