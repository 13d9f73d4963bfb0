"""Regenerate the project's captures in captures/ from the CloudTrail logs in captures/logs/.

    python tools/make_captures.py            # every captures/logs/*.json -> captures/<name>.scap
    python tools/make_captures.py NAME...    # only these logs

Each log is recorded with ``scap record --plugin cloudtrail --open <log>``
(the same path users take). When the ``record`` command is not available
(early development), the log is split into records the way the cloudtrail
plugin does (docs/cloudtrail-plugin.md §3.4) and written with ``CaptureWriter`` as
plugin events of plugin id 2.

Also writes captures/syscall_shell.scap, a small syscall capture built
event by event with the writer (see make_syscall_capture).
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
LOGS = CAPTURES / "logs"
CLOUDTRAIL_ID = 2  # plugin id of the cloudtrail plugin (docs/cloudtrail-plugin.md §1)


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in LOGS.glob("*.json"))
    use_record = importlib.util.find_spec("scaptools.cli.record") is not None
    for name in names:
        log, out = LOGS / f"{name}.json", CAPTURES / f"{name}.scap"
        if use_record:
            record_with_cli(log, out)
        else:
            record_with_writer(log, out)
        print(f"{out.relative_to(ROOT)}  <- {log.relative_to(ROOT)}"
              f"{'' if use_record else '  (writer fallback)'}")
    if not argv:
        make_syscall_capture(CAPTURES / "syscall_shell.scap")
    return 0


def record_with_cli(log: Path, out: Path) -> None:
    """``scap record -w OUT --plugin cloudtrail --open LOG``."""
    cmd = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "record",
           "-w", str(out), "--plugin", "cloudtrail", "--open", str(log)]
    subprocess.run(cmd, check=True, cwd=ROOT)


def record_with_writer(log: Path, out: Path) -> None:
    """Fallback: one plugin event per record, payload = the record's bytes as in the file."""
    import orjson

    from scaptools.events.event import Event
    from scaptools.format.writer import CaptureWriter
    with CaptureWriter(str(out)) as writer:
        for payload in split_records(log.read_bytes()):
            record = orjson.loads(payload)
            stamp = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
            ts = int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
            writer.write(Event.plugin(ts, CLOUDTRAIL_ID, payload))


def split_records(data: bytes):
    """The depth-1 objects of a CloudTrail file, byte-exact (docs/cloudtrail-plugin.md §3.4)."""
    depth, start, in_str, escaped = 0, -1, False, False
    for pos, byte in enumerate(data):
        if in_str:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_str = False
        elif byte == 0x22:
            in_str = True
        elif byte == 0x7B:  # {
            depth += 1
            if depth == 2:
                start = pos
        elif byte == 0x7D:  # }
            if depth == 2 and start >= 0:
                yield data[start:pos + 1]
                start = -1
            depth -= 1


def make_syscall_capture(out: Path) -> None:
    """A few syscall events: ``cat`` and ``python`` open /etc/shadow, ``sshd`` too.

    The process list (PL_V9, docs/format.md §5) names the three processes;
    the events are openat (2nd version, ids 306/307), open (3) and close (4/5)
    enter/exit pairs with parameters encoded as in the event table.
    """
    from scaptools.format import constants
    from scaptools.format.blocks import Block
    from scaptools.format.writer import CaptureWriter
    from scaptools.state.dump import process_entry
    from scaptools.state.threads import ThreadInfo

    procs = [ThreadInfo(812, pid=812, ptid=1, comm="sshd", exe="/usr/sbin/sshd",
                        exepath="/usr/sbin/sshd", args=["-D"], cwd="/", uid=0),
             ThreadInfo(2001, pid=2001, ptid=1990, comm="cat", exe="cat", exepath="/usr/bin/cat",
                        args=["/etc/shadow"], cwd="/root/", uid=0),
             ThreadInfo(3100, pid=3100, ptid=1990, comm="python3", exe="python3",
                        exepath="/usr/bin/python3.11", args=["dump.py"], cwd="/home/dev/", uid=1000)]
    ts = 1_710_400_000_000_000_000  # 2024-03-14T07:06:40Z
    with CaptureWriter(str(out)) as writer:
        writer.write_metadata(Block(constants.BLOCK_PL_V9, b"".join(process_entry(t) for t in procs)))
        for step, (tid, call, path, res) in enumerate(SYSCALL_STORY):
            for event in syscall_pair(tid, call, path, res, ts + step * 1_000_000):
                writer.write(event)


# (tid, call, path, result): one enter/exit pair each
SYSCALL_STORY = [
    (2001, "openat", "/etc/hosts", 3), (2001, "close", "", 0),
    (2001, "openat", "/etc/shadow", 3), (2001, "close", "", 0),      # alert: cat
    (812, "openat", "/etc/shadow", 5), (812, "close", "", 0),        # sshd may
    (3100, "openat", "/etc/shadow", -13),                            # EACCES: no alert
    (3100, "open", "/etc/shadow", 4), (3100, "close", "", 0),        # alert: python3
]


def syscall_pair(tid: int, call: str, path: str, res: int, ts: int):
    """Enter and exit events of one syscall (parameter layouts: event_table.json)."""
    import struct

    from scaptools.events.event import Event
    i64, u32, u64 = (lambda v: struct.pack("<q", v)), (lambda v: struct.pack("<I", v)), \
        (lambda v: struct.pack("<Q", v))
    name = path.encode() + b"\0"
    if call == "openat":  # PPME_SYSCALL_OPENAT_2_E / _X
        enter = [i64(-100), name, u32(1), u32(0)]
        leave = [i64(res), i64(-100), name, u32(1), u32(0), u32(0x803), u64(0x1234)]
        types = (306, 307)
    elif call == "open":  # PPME_SYSCALL_OPEN_E / _X
        enter = [name, u32(1), u32(0)]
        leave = [i64(res), name, u32(1), u32(0), u32(0x803), u64(0x1234)]
        types = (2, 3)
    else:  # close of the fd opened just before
        fd = i64(_LAST_FD.get(tid, -1))
        enter, leave, types = [fd], [i64(res), fd], (4, 5)
    if call != "close" and res >= 0:
        _LAST_FD[tid] = res
    yield Event.from_params(types[0], enter, ts=ts, tid=tid)
    yield Event.from_params(types[1], leave, ts=ts + 20_000, tid=tid)


_LAST_FD: dict[int, int] = {}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
