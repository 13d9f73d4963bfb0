"""Damaged events never raise outside ScapError (issue: a ``switch`` event whose parameter
length runs past its end crashed ``scap print -D`` and ``scap replay`` with a traceback).

Captures are built with the project's writer; a damaged event gets a parameter length
that runs past its end. Every command either succeeds or exits 1 with exactly one error
line naming the file and the byte offset of the event, after the events before it.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.cli.main import cli
from scaptools.errors import DamagedEvent
from scaptools.events.event import Event, param_fault
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.state import State, tracked_events
from scaptools.state.dump import state_blocks

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "captures" / "rules" / "syscall_rules.yaml"
SHADOW_ALERT = "Shadow file opened (process=cat"
SHADOW_EXIT = 18  # the number of the event that raises it: cat's openat exit on /etc/shadow

q = lambda v: struct.pack("<q", v)  # noqa: E731
u32 = lambda v: struct.pack("<I", v)  # noqa: E731
u64 = lambda v: struct.pack("<Q", v)  # noqa: E731
text = lambda s: s.encode() + b"\0"  # noqa: E731
MEMORY = [u64(1), u64(2), u32(300), u32(200), u32(0)]  # pgft_maj/min, vm_size/rss/swap


def session() -> list[Event]:
    """A shell (tid 100) that opens, reads, dups and closes a file, is switched out, clones
    a child (tid 101) that execs cat, opens /etc/shadow (a syscall rule fires) and exits."""
    bash, cat = 100, 101
    clone = [text("/bin/bash"), b"", q(bash), q(bash), q(1), text("/root"), q(1024)] + MEMORY \
        + [text("bash"), b"", u32(0), u32(0), u32(0), q(bash), q(bash), u64(0)]
    calls = [
        (bash, 2, [text("/etc/passwd"), u32(1), u32(0)]),                  # open >
        (bash, 3, [q(3), text("/etc/passwd"), u32(1), u32(0), u32(0), u64(7)]),  # open <
        (bash, 6, [q(3), u32(64)]),                                        # read >
        (bash, 7, [q(5), b"root:", q(3), u32(64)]),                        # read <
        (bash, 152, [q(cat)] + MEMORY),                                    # switch
        (bash, 366, [q(3)]),                                               # dup >
        (bash, 367, [q(4), q(3)]),                                         # dup <
        (bash, 4, [q(4)]),                                                 # close >
        (bash, 5, [q(0), q(4)]),                                           # close <
        (bash, 222, []),                                                   # clone >
        (bash, 223, [q(cat)] + clone),                                     # clone < parent
        (cat, 223, [q(0)] + clone),                                        # clone < child
        (cat, 230, []),                                                    # execve >
        (cat, 231, [q(0), text("/bin/cat"), text("/etc/shadow"), q(cat), q(cat), q(bash),
                    text("/root"), q(1024)] + MEMORY + [text("cat"), b"", b""]),  # execve <
        (cat, 158, [u64(0)]),                                              # brk >
        (cat, 159, [u64(4096), u32(400), u32(250), u32(0), u64(0)]),       # brk <
        (cat, 306, [q(-100), text("/etc/shadow"), u32(1), u32(0)]),        # openat >
        (cat, 307, [q(3), q(-100), text("/etc/shadow"), u32(1), u32(0), u32(0), u64(9)]),
        (cat, 6, [q(3), u32(64)]),                                         # read >
        (cat, 7, [q(4), b"x:!:", q(3), u32(64)]),                          # read <
        (cat, 186, [q(0), q(0), b"\0", b"\0", q(bash)]),                   # procexit
        (bash, 152, [q(1)] + MEMORY),                                      # switch
        (bash, 4, [q(3)]),                                                 # close >
        (bash, 5, [q(0), q(3)]),                                           # close <
    ]
    return [Event.from_params(etype, params, ts=1_000 + i, tid=tid, cpu=i % 2, num=i + 1)
            for i, (tid, etype, params) in enumerate(calls)]


def metadata() -> list:
    """The process, fd and user lists of the shell, written as scap slice writes them."""
    state = State()
    state.add_thread({"tid": 100, "pid": 100, "ptid": 1, "comm": "bash", "exe": "/bin/bash",
                      "exepath": "/bin/bash", "cwd": "/root", "uid": 0, "gid": 0})
    state.add_fds(100, [{"fd": 0, "ino": 1, "type": 1, "name": "/dev/pts/0"}])
    state.add_user(0, 0, "root", "/root", "/bin/bash")
    state.add_group(0, "root")
    return state_blocks(state)


def with_length(event: Event, index: int, length: int) -> Event:
    """``event`` with the stored length of parameter ``index`` replaced (u16 array)."""
    raw = bytearray(event.raw)
    struct.pack_into("<H", raw, 26 + 2 * index, length)
    return Event(event.num, event.ts, event.cpu, event.tid, event.type, event.nparams,
                 bytes(raw))


def write(path: Path, events) -> dict[int, int]:
    """Write a capture; returns event number -> offset of its block."""
    with CaptureWriter(path, metadata=metadata()) as writer:
        for event in events:
            writer.write(event)
    with open_capture(path) as reader:
        return {ev.num: ev.offset for ev in reader}


def damaged_capture(path: Path, num: int, index: int) -> int:
    """The session with parameter ``index`` of event ``num`` 200 bytes too long; returns
    the offset of that event."""
    events = session()
    old = struct.unpack_from("<H", events[num - 1].raw, 26 + 2 * index)[0]
    events[num - 1] = with_length(events[num - 1], index, old + 200)
    return write(path, events)[num]


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert isinstance(result.exception, (SystemExit, type(None))), result.exc_info  # no crash
    return result


def assert_one_error_line(result, path: Path, offset: int | None = None) -> str:
    """Exit 1 and exactly one line on stderr, naming the file and an offset."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    line = lines[0]
    assert line.startswith(f"Error: {path}: offset 0x"), line
    if offset is not None:
        assert f": offset {offset:#x}: " in line, (line, hex(offset))
    return line


def printed_numbers(result) -> list[int]:
    return [int(line.split()[0]) for line in result.stdout.splitlines()]


def read_events(path: Path) -> list[Event]:
    with open_capture(path) as reader:
        return list(reader)


# -- the case: a switch event whose first length runs past its end -------------------

@pytest.mark.parametrize("num", [5, 22])  # the first switch, and the one after the alert
def test_damaged_switch(tmp_path, num):
    path = tmp_path / "switch.scap"
    offset = damaged_capture(path, num, 0)
    message = (f"Error: {path}: offset {offset:#x}: event {num} (switch >): damaged: "
               f"parameter 1 (next) has length 208 but only 36 of the event's 74 bytes are left")
    result = run("print", "-D", path)
    assert assert_one_error_line(result, path, offset) == message
    assert printed_numbers(result) == list(range(1, num))
    result = run("print", path, "fd.name contains /etc")
    assert_one_error_line(result, path, offset)
    assert printed_numbers(result) == [n for n in (2, 3, 4, 7, 8, 9, 18, 19, 20) if n < num]
    result = run("replay", path, "-r", RULES)
    assert assert_one_error_line(result, path, offset) == message
    assert (SHADOW_ALERT in result.stdout) == (num > SHADOW_EXIT)
    result = run("info", path)
    assert assert_one_error_line(result, path, offset) == message
    assert "events:         24" in result.stdout
    assert f"damaged:        1 event(s), the first at offset {offset:#x}" in result.stdout


def test_damaged_plugin_event(tmp_path):
    """A CloudTrail event whose payload length (u32) runs past its end: replay (one process
    or two) and print stop there with one line, after the output of the events before it."""
    example = ROOT / "captures" / "example.scap"
    offset = read_events(example)[6].offset
    data = bytearray(example.read_bytes())
    struct.pack_into("<I", data, offset + 10 + 30, 5000)  # block header, cpu, header, u32
    path = tmp_path / "trail.scap"
    path.write_bytes(bytes(data))
    rules = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
    full = run("replay", example, "-r", rules).stdout.splitlines()
    assert "IAM user created" in full[3]  # the alert of event 7 (whatever the local zone)
    before = full[:3]  # the alerts of events 1-6
    for jobs in ("1", "2"):
        result = run("replay", path, "-r", rules, "-j", jobs)
        assert ": event 7 (pluginevent >): damaged: parameter 2 (event_data) has length " \
            "5000" in assert_one_error_line(result, path, offset)
        assert result.stdout.splitlines() == before and len(before) == 3
    result = run("print", path)
    assert_one_error_line(result, path, offset)
    assert printed_numbers(result) == [1, 2, 3, 4, 5, 6]


def test_damaged_switch_in_a_real_process(tmp_path):
    """The installed command line, as a user runs it: no traceback, stdout flushed first."""
    path = tmp_path / "switch.scap"
    offset = damaged_capture(path, 22, 0)
    code = "from scaptools.cli.main import main;sys.argv=['scap']+sys.argv[1:];main()"
    for args, lines in ((["print", "-D"], 21), (["replay", "-r", str(RULES)], 1),
                        (["info"], None)):
        proc = subprocess.run([sys.executable, "-c", "import sys;" + code, args[0], str(path),
                               *args[1:]], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.splitlines() == [
            f"Error: {path}: offset {offset:#x}: event 22 (switch >): damaged: parameter 1 "
            f"(next) has length 208 but only 36 of the event's 74 bytes are left"], proc.stderr
        if lines is not None:
            assert len(proc.stdout.splitlines()) == lines


def test_info_counts_every_damaged_event(tmp_path):
    path = tmp_path / "two.scap"
    events = session()
    events[4] = with_length(events[4], 5, 900)   # switch: vm_swap
    events[10] = with_length(events[10], 1, 4000)  # clone exit: exe
    offsets = write(path, events)
    result = run("info", "--json", path)
    line = assert_one_error_line(result, path, offsets[5])
    assert line.endswith("parameter 6 (vm_swap) has length 900 but only 4 of the event's "
                         "74 bytes are left (2 damaged events in all)")
    report = json.loads(result.stdout)
    assert report["events"] == 24 and report["damaged_events"] == 2
    assert report["first_damaged_event"]["offset"] == offsets[5]
    assert report["error"] is None and not report["truncated"]
    assert report["events_by_type"]["152 switch"] == 2


# -- every stateful event, its first and its last length too long ----------------------------

STATEFUL = [(event.num, index) for event in session() if event.nparams
            for index in sorted({0, event.nparams - 1})]


@pytest.mark.parametrize("num,index", STATEFUL)
def test_each_stateful_event_damaged(tmp_path, num, index):
    path = tmp_path / "damaged.scap"
    offset = damaged_capture(path, num, index)
    result = run("print", "-D", path)  # prints every parameter: always finds the damage
    line = assert_one_error_line(result, path, offset)
    assert f": event {num} (" in line
    assert printed_numbers(result) == list(range(1, num))
    assert_one_error_line(run("info", path), path, offset)
    check_commands(tmp_path, path, num, offset)


def check_commands(tmp_path: Path, path: Path, num: int, offset: int,
                   damaged: bool = True) -> None:
    """replay, filtered print, slice and both exports: success, or one error line naming
    the damaged event's offset after the output of the events before it. A length made
    shorter (``damaged`` False) shifts the parameters: other values, never an error."""
    total = len(session())
    result = run("replay", path, "-r", RULES)
    if result.exit_code:
        assert_one_error_line(result, path, offset)
    if damaged:  # never read (exit 0: the state is whole), or read and reported
        assert (SHADOW_ALERT in result.stdout) == (result.exit_code == 0 or num > SHADOW_EXIT)
    else:
        assert result.exit_code == 0
    result = run("print", path, "evt.type in (open, openat, read) and fd.name contains /etc")
    if result.exit_code:
        assert_one_error_line(result, path, offset)
    if damaged:
        assert set(printed_numbers(result)) >= {n for n in (2, 3, 4, 18, 19, 20) if n < num}
    out = tmp_path / "slice.scap"
    result = run("slice", path, "-w", out)
    if result.exit_code:
        assert_one_error_line(result, path, offset)
    kept = len(read_events(out))  # the state may read an enter event's parameters at its exit
    assert kept == total if result.exit_code == 0 else num - 1 <= kept <= num
    out = tmp_path / "out.jsonl"
    result = run("export", path, "-w", out)
    if result.exit_code:
        assert_one_error_line(result, path, offset)
    numbers = [json.loads(line).get("num") for line in out.read_text().splitlines()]
    assert [n for n in numbers if n] == list(range(1, num if result.exit_code else total + 1))
    out = tmp_path / "out.pcapng"
    result = run("export", path, "-w", out)  # copies events whole: nothing to decode
    assert result.exit_code == 0 and out.stat().st_size > 0


# -- damaged process lists --------------------------------------------------------------------

def metadata_bytes(path: Path) -> tuple[bytes, int, int]:
    """The capture's bytes and the start and end of its process list block (0x215)."""
    data, pos = path.read_bytes(), 0
    while struct.unpack_from("<I", data, pos)[0] != 0x215:
        pos += struct.unpack_from("<I", data, pos + 4)[0]
    return data, pos, pos + struct.unpack_from("<I", data, pos + 4)[0]


def check_metadata_damage(tmp_path: Path, path: Path) -> None:
    """Every command: success, or exit 1 with one error line naming the file and an offset;
    a block whose type became unknown is skipped with a one-line warning."""
    commands = [["print", "-D", path], ["print", path, "proc.name = cat"],
                ["replay", path, "-r", RULES], ["info", path],
                ["slice", path, "-w", tmp_path / "slice.scap"],
                ["export", path, "-w", tmp_path / "out.jsonl"]]
    for args in commands:
        result = run(*args)
        lines = result.stderr.splitlines()
        warned = [line for line in lines if line.startswith("Warning: ")]
        assert all(line.startswith(f"Warning: {path}: offset 0x") for line in warned), lines
        others = [line for line in lines if line not in warned]
        if result.exit_code:
            assert result.exit_code == 1 and len(others) == 1, lines
            assert others[0].startswith(f"Error: {path}: offset 0x"), lines
        else:
            assert all(not line.startswith("Error") for line in others), lines


def test_damaged_process_list_gives_one_line(tmp_path):
    """The schema error of a process list spans two lines in construct's message."""
    path = tmp_path / "list.scap"
    write(path, session())
    data, start, _ = metadata_bytes(path)  # the first entry's length, past the block:
    path.write_bytes(data[:start + 8] + struct.pack("<I", 0xFFFFFF) + data[start + 12:])
    expected = f"Error: {path}: offset {start:#x}: block 0x215: malformed block body: "
    for args in (["print", "-D", path], ["replay", path, "-r", RULES], ["info", path],
                 ["slice", path, "-w", tmp_path / "out.scap"]):
        result = run(*args)
        assert assert_one_error_line(result, path, start).startswith(expected)
        assert result.stdout == "" or args[0] == "info"
    check_metadata_damage(tmp_path, path)


# -- random damage ----------------------------------------------------------------------------

SEEN = [(event.num, event.nparams) for event in session() if event.nparams]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEN), st.data(), st.integers(0, 0xFFFF))
def test_random_parameter_length(tmp_path_factory, seen, data, length):
    """Any length in any stateful event: shorter ones shift the parameters (garbage values,
    never an error), longer ones run past the end (one error line at the event's offset)."""
    num, nparams = seen
    index = data.draw(st.integers(0, nparams - 1))
    tmp_path = tmp_path_factory.mktemp("random")
    path = tmp_path / "random.scap"
    events = session()
    events[num - 1] = damaged = with_length(events[num - 1], index, length)
    offset = write(path, events)[num]
    fault = param_fault(damaged.raw, damaged.type, damaged.nparams)
    result = run("info", path)
    assert result.exit_code == (1 if fault else 0), result.stderr
    if fault:
        assert_one_error_line(result, path, offset)
    result = run("print", "-D", path)
    if fault:
        assert_one_error_line(result, path, offset)
        assert printed_numbers(result) == list(range(1, num))
    else:
        assert result.exit_code == 0 and printed_numbers(result) == list(range(1, 25))
    check_commands(tmp_path, path, num, offset, fault is not None)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1,
                max_size=4))
def test_random_process_list_damage(tmp_path_factory, edits):
    tmp_path = tmp_path_factory.mktemp("lists")
    path = tmp_path / "lists.scap"
    write(path, session())
    data, start, end = metadata_bytes(path)
    bad = bytearray(data)
    for pos, value in edits:  # inside the process list block, header and trailer included
        bad[start + pos % (end - start)] = value
    path.write_bytes(bytes(bad))
    check_metadata_damage(tmp_path, path)


# -- the library: both state paths raise DamagedEvent at the same event -----------------------
# (event, parameter, the event applied when the damage is found: an enter event's parameters
# are read at its exit; None: the state never reads the damaged parameter)
CASES = [(5, 0, 5), (5, 5, 5), (6, 0, 7), (9, 1, 9), (11, 7, 11), (14, 2, 14), (16, 1, 16),
         (18, 0, 18), (21, 4, 21), (23, 0, 24), (3, 0, None), (19, 1, None)]


@pytest.mark.parametrize("num,index,at", CASES)
def test_state_paths_raise_at_the_damaged_event(tmp_path, num, index, at):
    """``tracked_events`` (the fast loop) and ``State.update`` (the reference) agree."""
    path = tmp_path / "damaged.scap"
    offset = damaged_capture(path, num, index)
    events, state = read_events(path), State()
    for block in metadata():
        state.seed(block)
    for event in events[:(at or 25) - 1]:
        state.update(event)
    seen, error = [], None
    try:
        with open_capture(path) as reader:  # which names the file when the error leaves it
            for event in tracked_events(reader, State()):
                seen.append(event.num)
    except DamagedEvent as exc:
        error = exc
    if at is None:
        assert error is None and seen == list(range(1, 25))
        return
    assert seen == list(range(1, at))
    assert error.path == str(path) and error.offset == offset
    assert error.message.startswith(f"event {num} (")
    with pytest.raises(DamagedEvent) as reference:
        state.update(events[at - 1])
    assert reference.value.offset == offset and reference.value.message == error.message
