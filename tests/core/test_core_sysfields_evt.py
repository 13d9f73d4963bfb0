"""The core's ``evt.*`` syscall fields (core/src/sysfields/evt*) against the Python
extractors, after every event (tests/core/sysfield_compare.py): every ``evt.*`` field
of the syscall field set, ``evt.arg``/``evt.rawarg`` by every parameter name of the
event table and by position, ``evt.type.is`` with a few types; on the repo's syscall
capture, the ../shared ones, and made captures with events of every type of the event
table whose parameters cover each way sysdig renders one (empty, too short, every
number format, flags, fds with their type letter, errno names, paths against the cwd
and a directory fd, sockets, fd lists, dynamic parameters, long and binary buffers).
"""
from __future__ import annotations

import random
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.events.event import Event
from scaptools.events.params import DYNAMIC_TABLES, NUMERIC
from scaptools.events.table import EVENTS, TABLE
from scaptools.fields.syscall import syscall_fieldset
from scaptools.format.reader import open_capture

from .coreutil import sibling


HARNESS = sibling("sysfield_compare")
MADE = sibling("test_core_state_made")

# what the core leaves to the Python path, and why (docs: core/src/sysfields/evt.rs)
LEFT_TO_PYTHON = {
    "evt.buffer",  # bytes
    "evt.deltatime", "evt.deltatime.s", "evt.deltatime.ns",  # the printer's last shown event
}
PARAM_NAMES = sorted({p["name"] for e in EVENTS for p in e["params"]})


def evt_fields() -> list[str]:
    """Every evt.* and syscall.* field of the syscall field set that takes no argument."""
    return [info.name for info in syscall_fieldset()
            if info.name.startswith(("evt.", "syscall.")) and info.arg == "none"]


def all_specs(names: list[str] | None = None) -> list[str]:
    names = PARAM_NAMES if names is None else names
    by_name = [f"evt.{kind}.{name}" for kind in ("arg", "rawarg") for name in names]
    by_index = [f"evt.{kind}[{i}]" for kind in ("arg", "rawarg") for i in range(8)]
    types = [f"evt.type.is[{t}]" for t in ("open", "openat", "read", "unknown", "<unknown>",
                                          "execve", "")]
    return evt_fields() + by_name + by_index + types + ["evt.arg[fd]", "evt.rawarg[res]"]


def check(core, path: Path, monkeypatch, specs: list[str] | None = None) -> int:
    missing, count = HARNESS.compare(core, path, specs or all_specs(), monkeypatch)
    assert set(missing) == LEFT_TO_PYTHON & set(specs or all_specs()), missing
    return count


# -- made events: one of every type of the table per variant, each parameter made from
# its table type so that every rendering case comes up (empty and too-short values, the
# extremes of numbers, flags with unknown bits, fds the thread has and has not, AT_FDCWD,
# errno numbers with and without a name, known and unknown pids, users and groups,
# relative and odd paths, sockets of every family, fd lists, dynamic parameters inside
# and outside their table, buffers around the 80-character cut, non-UTF-8 and control
# bytes). Threads 100 and 1000 of test_core_state_made.metadata have fds 0-8 (and 20-22
# for 100) and cwd /home/u. Deterministic: one seeded generator per variant.

VARIANTS = 4
NO_TID = 0xFFFFFFFFFFFFFFFF
FDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 21, 22, 999, -100, -2, -9, -4095]
PIDS = [100, 1000, 555, 1, -1, 0, 424242]
IDS = [1000, 0, 5555, 0xFFFFFFFF, 2000]
ERRNOS = [0, -2, -13, -9999, 5, 0x7F0000001000, -1, -115]
RELTIMES = [0, 1, 999, 1_500_000_000, 123_456_789_012_345, (1 << 64) - 1, 10**15 + 1, 5 * 10**9]
SYSCALLS = [0, 1, 2, 59, 328, 329, 4000]
TEXTS = [b"hello\0", b"\0", b"\xff\xfe\x01ab\0", b"no-nul", "caf\u00e9\0".encode(),
         b"tab\there\0", b"<NA>\0", b"\xe2\x82\0", b"\xed\xa0\x80x\0", b"\xf0\x9f\x98",
         b"a\xc0\xafb\0", "\U0001f600\0".encode()]  # cut, surrogate, overlong UTF-8
PATHS = [b"/etc/passwd\0", b"rel/../x\0", b"<NA>\0", b"\0", b"a//b/./c/\0", b"\x01ctl\xffp\0",
         b"../../up\0", b"/\0", b".", b"/a/./b\0", b"//two\0", b"sub/file\0"]
ARRAYS = [b"a\0b c\0", b"\0", b"x" * 100 + b"\0", b"\x01\x02\0"]


def inet(family: int, ip: bytes, port: int) -> bytes:
    return bytes([family]) + ip + struct.pack("<H", port)


def tup(family: int, sip: bytes, sport: int, dip: bytes, dport: int) -> bytes:
    return bytes([family]) + sip + struct.pack("<H", sport) + dip + struct.pack("<H", dport)


V4, V4B = bytes([10, 0, 0, 1]), bytes([1, 2, 3, 4])
V6, MAPPED = bytes(15) + b"\x01", bytes(10) + b"\xff\xff" + V4B
SOCKADDRS = [inet(2, V4B, 80), inet(10, V6, 0), inet(10, MAPPED, 9), b"\x01/run/s\0",
             b"\x01", b"\x02\x01\x02", b"\x63abc", b"\x0a" + bytes(5), b"\x01\xffodd\x01\0",
             inet(10, bytes(16), 443)]
TUPLES = [tup(2, V4, 40000, V4B, 443), tup(10, V6, 1, MAPPED, 53), tup(10, MAPPED, 2, V6, 3),
          b"\x01" + struct.pack("<QQ", 0xAB, 0xFFFF888812345678) + b"/run/a.sock\0",
          b"\x02" + bytes(5), b"\x01" + bytes(10), b"\x00", b"\x0a" + bytes(30),
          b"\x01" + struct.pack("<QQ", 1, 2) + b"\x7fctl\0"]


def fdlist(items, count=None) -> bytes:
    body = b"".join(struct.pack("<qH", fd, flags) for fd, flags in items)
    return struct.pack("<H", len(items) if count is None else count) + body


FDLISTS = [fdlist([(0, 1), (3, 0x19), (999, 4), (-1, 0)]), fdlist([(2, 5)], count=4),
           b"\x01", fdlist([]), fdlist([(7, 0xFFFF)]) + b"\x01\x02"]


def bounds(fmt: str) -> tuple[int, int]:
    bits = 8 * struct.calcsize(fmt)
    if fmt[-1].islower():
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def flag_value(param, rng) -> int:
    table = TABLE["flag_tables"].get(param.get("flags_table", ""), [])
    values = [e["value"] for e in table]
    pick = rng.randrange(5)
    if not values or pick == 0:
        return rng.choice([0, rng.getrandbits(32)])
    if pick == 1:
        return rng.choice(values)
    combo = 0
    for value in rng.sample(values, min(len(values), rng.randrange(1, 4))):
        combo |= value
    return combo | (rng.getrandbits(32) if pick == 4 else 0)


def number(ptype: str, param, variant: int, rng) -> int:
    low, high = bounds(NUMERIC[ptype])
    if ptype in ("PT_FD", "PT_FD32"):
        value = rng.choice(FDS)
    elif ptype in ("PT_PID", "PT_PID32"):
        value = rng.choice(PIDS)
    elif ptype in ("PT_UID", "PT_GID"):
        value = rng.choice(IDS)
    elif ptype.startswith(("PT_FLAGS", "PT_ENUMFLAGS")) or ptype == "PT_MODE":
        value = flag_value(param, rng)
    elif ptype == "PT_ERRNO":
        value = rng.choice(ERRNOS)
    elif ptype == "PT_RELTIME":
        value = rng.choice(RELTIMES)
    elif ptype == "PT_SYSCALLID":
        value = rng.choice(SYSCALLS)
    elif ptype == "PT_SIGTYPE":
        value = rng.randrange(0, 40)
    elif variant == 3:
        value = rng.choice([low, high, -1, 0, 1])
    else:
        value = rng.randint(low, high) if rng.random() < 0.5 else rng.randint(0, 5000)
    return min(max(value, low), high)


def value(ptype: str, param, variant: int, rng) -> bytes:
    """Bytes of one parameter of table type ``ptype``."""
    if variant == 1 and rng.random() < 0.3:
        return b""
    if ptype in NUMERIC and ptype != "PT_DOUBLE":
        fmt = NUMERIC[ptype]
        if variant == 2 and rng.random() < 0.3:
            return bytes(rng.randrange(0, struct.calcsize(fmt)))  # too short
        return struct.pack(fmt, number(ptype, param, variant, rng))
    if ptype == "PT_CHARBUF":
        return rng.choice(TEXTS)
    if ptype in ("PT_FSPATH", "PT_FSRELPATH"):
        return rng.choice(PATHS)
    if ptype == "PT_BYTEBUF":
        return rng.choice([b"GET / HTTP/1.1\r\n", bytes(range(256)), b"x" * 80, b"y" * 81,
                           b"z" * 79, rng.randbytes(100), b"\0"])
    if ptype == "PT_CHARBUFARRAY":
        return rng.choice(ARRAYS)
    if ptype == "PT_SOCKADDR":
        return rng.choice(SOCKADDRS)
    if ptype == "PT_SOCKTUPLE":
        return rng.choice(TUPLES)
    if ptype == "PT_FDLIST":
        return rng.choice(FDLISTS)
    if ptype == "PT_DYN":
        entries = DYNAMIC_TABLES.get(param.get("dynamic_table", ""), [])
        index = rng.randrange(len(entries) + 1)
        inner = entries[index]["type"] if index < len(entries) else "PT_BYTEBUF"
        return bytes([index]) + value(inner, param, variant, rng)
    if ptype == "PT_IPV4ADDR":
        return rng.choice([V4B, V4B[:2]])
    if ptype == "PT_IPV6ADDR":
        return rng.choice([MAPPED, V6, V6[:8]])
    return rng.choice([b"k\0v\0", b"\x01\x02", b"text"])


def tid_of(event, variant: int, rng) -> int:
    if event["name"] == "procexit":
        return 555  # thread 100 keeps its fds for the events after it
    if variant == 0:
        return 100
    return rng.choice([100, 100, 100, 1000, 555, 777, NO_TID, 0])


def every_type(variant: int) -> list:
    """One event of every type of the table (nothing for the plugin types)."""
    rng = random.Random(1500 + variant)
    out, ts = [], 10**18
    for event in EVENTS:
        if event["id"] in (322, 402):
            continue  # plugin and async events: not syscall fields' events
        params = [value(p["type"], p, variant, rng) for p in event["params"]]
        ts += rng.randrange(1, 3_000_000) if variant != 3 or rng.random() < 0.8 \
            else -rng.randrange(1, 10**6)
        out.append(Event.from_params(event["id"], params, ts=ts, tid=tid_of(event, variant, rng),
                                     cpu=rng.randrange(0, 8)))
    return out


def generic(code: int, tid: int, ts: int, exit_: bool, short: bool = False) -> Event:
    first = struct.pack("<H", code)[: 1 if short else 2]
    return Event.from_params(1 if exit_ else 0, [first, struct.pack("<H", 7)], ts=ts, tid=tid)


def odd_events() -> list:
    """Generic events, counts of parameters off the table, types past the table."""
    read_x = next(e for e in EVENTS if e["name"] == "read" and e["direction"] == "exit")
    open_e = next(e for e in EVENTS if e["name"] == "openat" and e["direction"] == "enter")
    out = [generic(59, 100, 5, False), generic(59, 100, 9, True), generic(4000, 100, 11, True),
           generic(2, 100, 12, False, short=True),
           Event.from_params(0, [], ts=13, tid=100),
           Event.from_params(read_x["id"], [struct.pack("<q", 5), b"data", b"extra", b"x"],
                             ts=14, tid=100),
           Event.from_params(read_x["id"], [struct.pack("<q", -11)], ts=15, tid=100),
           Event.from_params(open_e["id"], [struct.pack("<q", 1)], ts=3, tid=100),
           Event.from_params(open_e["id"] + 1, [struct.pack("<q", 3), struct.pack("<q", 1),
                                                b"sub\0", struct.pack("<I", 2)], ts=2, tid=100),
           Event.from_params(len(EVENTS) + 3, [b"abc"], ts=20, tid=100),
           Event.from_params(len(EVENTS), [], ts=21, tid=NO_TID),
           Event.from_params(read_x["id"], [struct.pack("<q", 2)], ts=22, tid=0)]
    return out


def test_repo_capture(core, monkeypatch):
    assert check(core, HARNESS.REPO_SYSCALL[0], monkeypatch) > 0


def names_in(path: Path) -> list[str]:
    """The parameter names of the event types ``path`` holds (the others are never set
    there; the made captures below try every name)."""
    with open_capture(path) as reader:
        types = {event.type for event in reader}
    return sorted({p["name"] for t in types if t < len(EVENTS) for p in EVENTS[t]["params"]})


def test_shared_captures(core, shared, monkeypatch):
    for path in HARNESS.shared_syscall(shared):
        assert check(core, path, monkeypatch, all_specs(names_in(path))) > 0, path


def test_local_times_follow_tz(core, monkeypatch):
    """evt.time/evt.datetime in another zone (both paths read the C library's zone)."""
    specs = ["evt.time", "evt.time.s", "evt.datetime", "evt.datetime.s", "evt.time.iso8601"]
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert check(core, HARNESS.REPO_SYSCALL[0], monkeypatch, specs) > 0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_state_made_events(core, tmp_path, monkeypatch):
    """The state tests' made capture: files, directories, sockets, pipes, processes."""
    events = MADE.fd_events(100) + MADE.socket_events(100) + MADE.process_events() \
        + MADE.fd_events(1000)
    out = tmp_path / "state_made.scap"
    out.write_bytes(MADE.capture(events))
    assert check(core, out, monkeypatch) == len(events)


@pytest.mark.parametrize("variant", range(VARIANTS))
def test_every_event_type_and_parameter_kind(core, tmp_path, monkeypatch, variant):
    """Every event type of the table with parameters made for each rendering case."""
    events = every_type(variant)
    out = tmp_path / f"types{variant}.scap"
    out.write_bytes(MADE.capture(events))
    assert check(core, out, monkeypatch) == len(events)


def test_odd_events(core, tmp_path, monkeypatch):
    """Generic events, parameters past the table, fewer parameters, unknown types,
    threads that are unknown or none, time going back."""
    events = odd_events()
    out = tmp_path / "odd.scap"
    out.write_bytes(MADE.capture(events))
    assert check(core, out, monkeypatch) == len(events)


RAW_SPECS = ["evt.info", "evt.res", "evt.rawres", "evt.type", "evt.category", "evt.abspath",
             "evt.abspath.dst", "evt.is_open_read", "evt.buflen"] + \
    [f"evt.{kind}[{i}]" for kind in ("arg", "rawarg") for i in range(6)]
SYSCALL_TYPES = [e["id"] for e in EVENTS if e["id"] not in (322, 402)]


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(SYSCALL_TYPES),
                          st.lists(st.binary(max_size=40), max_size=8),
                          st.sampled_from([100, 1000, 777])), min_size=1, max_size=12))
def test_arbitrary_parameter_bytes(core, tmp_path, monkeypatch, made):
    """Any bytes in the parameters of any event type (more or fewer than the table's)."""
    events = [Event.from_params(etype, params, ts=10**18 + i, tid=tid)
              for i, (etype, params, tid) in enumerate(made)]
    out = tmp_path / "arbitrary.scap"
    out.write_bytes(MADE.capture(events))
    assert check(core, out, monkeypatch, RAW_SPECS) == len(events)


def test_arguments_refused_as_python_refuses(core):
    """A missing or unexpected argument is refused with the Python field set's text; an
    argument Python takes is taken, or left to Python (evt.around)."""
    specs = ["evt.arg", "evt.rawarg", "evt.type.is", "evt.num[1]", "evt.info[x]",
             "evt.around", "evt.around[x1]", "evt.around[ 12]", "evt.buffer[1]",
             "evt.arg.", "evt.arg[]", "evt.rawarg.fd.x", "evt.deltatime[2]"]
    python = HARNESS.python_extractors(syscall_fieldset(), specs)
    fields = core.SysFields([HARNESS.split(s) for s in specs], HARNESS.HOST)
    why = dict(zip(specs, fields.unknown))
    for spec, py in zip(specs, python):
        if isinstance(py, Exception):
            assert why[spec] == py.message, (spec, why[spec], py)
        else:
            assert why[spec] is None or why[spec].startswith("unknown:"), (spec, why[spec])
    assert why["evt.arg"] == "filter evt.arg requires an argument"
    assert why["evt.num[1]"] == "filter evt.num does not support an argument"
    assert why["evt.around[x1]"] == "x1 is not a valid number"
    assert why["evt.around[ 12]"] == "unknown: evt.around"  # a window test: Python's
    assert why["evt.arg."] is None and why["evt.rawarg.fd.x"] is None
