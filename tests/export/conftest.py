"""Shared helpers of the export tests: shared captures, a mixed capture, tshark runs."""
from __future__ import annotations

import heapq
import json
import subprocess
from pathlib import Path

import pytest

from scaptools.events.event import PLUGINEVENT, Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter

SYSCALL_CAPTURES = ["curl_google.scap", "curl_google_comments.scap", "sample.scap",
                    "single_ipv6_conn.scap", "test_ipv6_client.scap"]
PLUGIN_CAPTURES = ["cloudtrail_small.scap", "cloudtrail_small.scap.gz"]


EXAMPLE = Path(__file__).resolve().parents[2] / "captures" / "example.scap"  # 13 records
EXAMPLE_LOG = EXAMPLE.parent / "logs" / "example.json"  # the records it was recorded from


def example_gz(folder: Path) -> Path:
    """captures/example.scap gzip-compressed into ``folder``."""
    import gzip
    out = folder / "example.scap.gz"
    out.write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    return out


def shared_capture(shared: Path, name: str) -> Path:
    folder = "libscap-plugin" if name.startswith("cloudtrail") else "libs-e2e"
    return shared / "captures" / folder / name


def read_events(path) -> list[Event]:
    with open_capture(path) as reader:
        return list(reader)


def split_counts(events) -> tuple[int, int]:
    """(syscall events, plugin events)."""
    plugin = sum(1 for e in events if e.type == PLUGINEVENT)
    return len(events) - plugin, plugin


def run_tshark(tshark: str, path, *args: str) -> str:
    """Run tshark on ``path``; fail the test on a non-zero exit or any real error text."""
    proc = subprocess.run([tshark, "-r", str(path), *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    errors = [line for line in proc.stderr.splitlines()
              if line and "Running as user" not in line]
    assert proc.returncode == 0 and not errors, proc.stderr
    return proc.stdout


def tshark_rows(tshark: str, path, fields: list[str], *args: str) -> list[list[str]]:
    """One list of field values per row (tab separated ``-T fields`` output)."""
    cmd = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\x1e"]
    for name in fields:
        cmd += ["-e", name]
    out = run_tshark(tshark, path, *cmd, *args)
    # not splitlines(): it would also split at the \x1e aggregator
    return [line.split("\t") for line in out.split("\n") if line]


def values(cell: str) -> list[str]:
    """The occurrences of one field in a ``tshark_rows`` cell."""
    return cell.split("\x1e") if cell else []


def epoch_ns(text: str) -> int:
    """``frame.time_epoch`` text (``1690557263.051207983``) as integer nanoseconds."""
    seconds, _, frac = text.partition(".")
    return int(seconds) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def retimed_plugin_events(plugin_path, start: int, end: int):
    """The plugin events of ``plugin_path`` with timestamps spread over [start, end].

    The shared plugin capture was recorded years apart from the syscall captures;
    spreading it over the syscall capture's span makes the two kinds interleave.
    """
    events = read_events(plugin_path)
    first, last = events[0].ts, events[-1].ts
    for e in events:
        ts = start + (e.ts - first) * (end - start) // max(1, last - first)
        yield Event.plugin(ts, e.plugin_id, e.payload)


@pytest.fixture(scope="session")
def mixed_scap(shared, tmp_path_factory) -> Path:
    """A native capture: sample.scap merged by timestamp with cloudtrail_small.scap.

    Built with the toolkit's own reader and writer (a streaming ``heapq.merge``).
    """
    syscall = shared_capture(shared, "sample.scap")
    stamps = [e.ts for e in read_events(syscall)]
    plugins = retimed_plugin_events(shared_capture(shared, "cloudtrail_small.scap"),
                                    min(stamps), max(stamps))
    out = tmp_path_factory.mktemp("mixed") / "mixed.scap"
    with open_capture(syscall) as reader, CaptureWriter(out) as writer:
        for event in heapq.merge(reader, plugins, key=lambda e: e.ts):
            writer.write(event)
    return out


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("exports")


def json_paths(payload: bytes) -> list[str]:
    """What Wireshark's JSON dissector gives as ``json.path_with_value`` for a document.

    Leaves in document order as ``/a/b:value``; array items add ``/[]``; numbers keep
    their text, and true/false/null are spelled as in JSON.
    """
    doc = json.loads(payload, parse_float=str, parse_int=str)
    out: list[str] = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}/{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}/[]")
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            out.append(f"{path}:{text}")

    walk(doc, "")
    return out


@pytest.fixture(scope="session")
def mixed_export(mixed_scap, export_dir) -> Path:
    """The Wireshark export of ``mixed_scap``."""
    from scaptools.export.wireshark import export_wireshark
    dst = export_dir / "mixed.pcapng"
    with open_capture(mixed_scap) as reader, open(dst, "wb") as out:
        export_wireshark(reader, out, source=str(mixed_scap))
    return dst
