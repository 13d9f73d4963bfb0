"""Fixtures for plugin tests: CloudTrail records as raw bytes, from the repository's
captures (always there) and from the shared folder (skipped when absent)."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from scaptools.events.event import Event
from scaptools.format.reader import open_capture

from ..conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]


def split_records(text: bytes) -> list[bytes]:
    """Every object directly inside the top-level object
    (docs/cloudtrail-plugin.md §3.4 step 2)."""
    out, depth, start, in_str, esc = [], 0, 0, False, False
    for i, b in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b == 0x7B:
            depth += 1
            if depth == 2:
                start = i
        elif b == 0x7D:
            if depth == 2:
                out.append(text[start:i + 1])
            depth -= 1
    return out


def read_log(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return split_records(data)


@pytest.fixture(scope="session")
def ct_files(shared) -> dict[str, list[bytes]]:
    """``relative file name -> raw records`` for every log file of shared/cloudtrail."""
    root = shared / "cloudtrail"
    files = sorted(p for p in root.rglob("*") if p.name.endswith((".json", ".json.gz"))
                   and p.parent != root)
    return {str(p.relative_to(root)): read_log(p) for p in files}


@pytest.fixture(scope="session")
def ct_records(ct_files) -> list[bytes]:
    return [rec for recs in ct_files.values() for rec in recs]


def plugin_event(payload: bytes, ts: int = 1_600_000_000_000_000_000, num: int = 1) -> Event:
    return Event.plugin(ts, 2, payload, num=num)


@pytest.fixture
def make_event():
    return plugin_event


@pytest.fixture(scope="session")
def shipped_payloads() -> dict[str, bytes]:
    """``eventID -> payload`` of every plugin event of the repository's ``captures/*.scap``
    (recorded from ``captures/logs/*.json``), as the captures store them."""
    import orjson
    out: dict[str, bytes] = {}
    for path in sorted((ROOT / "captures").glob("*.scap")):
        with open_capture(path) as reader:
            for ev in reader:
                if ev.type == 322:
                    payload = bytes(ev.payload)
                    out[orjson.loads(payload)["eventID"]] = payload
    assert len(out) >= 200
    return out


@pytest.fixture(scope="session")
def all_records(shipped_payloads, request) -> list[bytes]:
    """The repository's records, then those of ../shared/cloudtrail when it is there
    (so the tests that use them run on a clone without it too)."""
    records = list(shipped_payloads.values())
    if (SHARED / "cloudtrail").is_dir():
        records += request.getfixturevalue("ct_records")
    return records
