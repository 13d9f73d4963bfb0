"""The core's plugin-event fields give exactly what the Python extractors give.

For every one of the 73 cloudtrail fields (``ec2.imageids`` with and without an index),
every form of the json plugin's fields and the generic ``evt.*`` fields, the compiled
core (``scaptools._core.Fields``) and the Python field set of ``aws_cloudtrail`` must
return the same value, of the same type, on: the real records of ../shared/cloudtrail
(skipped when absent), the plugin events of the repository's captures and of the
shared libscap capture, and timestamps read in several time zones.
test_core_fields_generated.py adds hypothesis-built and damaged payloads.

The Python event is parsed before its fields are read (``event.json``): the plain
string fields of the Python path skip their bytes test then, so they read the parsed
record, as the core does (the bytes test would only differ for keys written with
``\\u`` escapes).
"""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from scaptools.events.event import Event
from scaptools.fields.generic import hostname
from scaptools.format.reader import open_capture
from scaptools.plugin.registry import Registry
from scaptools_plugins.cloudtrail.fields import ORDER

from ..conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]

POINTERS = [
    "", "/", "eventName", "/eventName", "/eventName/x", "/userIdentity", "/userIdentity/type",
    "/userIdentity/sessionContext/sessionIssuer/userName", "/requestParameters",
    "/requestParameters/PublicAccessBlockConfiguration/BlockPublicAcls",
    "/responseElements/ConsoleLogin", "/responseElements/instancesSet/items/0/imageId",
    "/additionalEventData/MFAUsed", "/additionalEventData/bytesTransferredIn", "/resources",
    "/resources/0", "/resources/1/ARN", "/resources/-0", "/resources/+1", "/resources/01",
    "/resources/-1", "/resources/x", "/readOnly", "/errorCode", "/a~1b", "/m~0n/x", "/0", "/1",
    "/nothere", "/tlsDetails/tlsVersion", "/k", "/k/k", "/k/0",
]
GENERIC = [
    "evt.num", "evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.datetime.s",
    "evt.rawtime", "evt.rawtime.s", "evt.rawtime.ns", "evt.reltime", "evt.reltime.s",
    "evt.reltime.ns", "evt.source", "evt.type", "evt.is_async", "evt.asynctype",
    "evt.hostname", "evt.pluginname", "evt.plugininfo",
]
CLOUDTRAIL = ([(name, None) for name in ORDER]
              + [("ec2.imageids", index) for index in ("0", "1", "2", "9", "18446744073709551616")])
SPECS = (CLOUDTRAIL
         + [("json.value", pointer) for pointer in POINTERS]
         + [("jevt.value", "/eventName"), ("jevt.value", "")]
         + [(name, None) for name in ("json.obj", "jevt.obj", "json.rawtime", "jevt.rawtime")]
         + [(name, None) for name in GENERIC])
# for the 3,273 real records: every field once (the aliases and the pointers into
# made-up members are for the generated records)
REAL_SPECS = (CLOUDTRAIL
              + [("json.value", pointer) for pointer in POINTERS[:25]]
              + [(name, None) for name in ("json.obj", "json.rawtime")]
              + [(name, None) for name in GENERIC])


def core_module():
    """``scaptools._core`` itself (also under SCAPTOOLS_PURE: these tests compare both
    paths); skip when it is not built, fail when CI is set."""
    try:
        from scaptools import _core
    except ImportError:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("the compiled core is not built (CI is set)", pytrace=False)
        pytest.skip("the compiled core is not built here (CI=true makes this a failure)")
    return _core


class Paths:
    """The same fields through both paths, with the state ``evt.reltime`` keeps."""

    def __init__(self, specs=SPECS):
        self.specs = list(specs)
        self.registry = Registry.from_entry_points()
        fieldset = self.registry.fieldset("aws_cloudtrail")
        self.python = [fieldset.extractor(name, arg) for name, arg in self.specs]
        self.core = core_module().Fields(self.specs, source="aws_cloudtrail",
                                         plugin="cloudtrail", hostname=hostname())

    def restart(self) -> None:
        """A new run: ``evt.reltime`` counts from the next event again."""
        self.registry.first_ts = None
        self.core.first_ts = None

    def python_values(self, payload: bytes, ts: int, num: int) -> list:
        event = Event.plugin(ts, 2, payload, num=num)
        event.json  # parsed first (module docstring)
        return [extract(event) for extract in self.python]

    def differences(self, payload: bytes, ts: int = 1_600_000_000_000_000_000,
                    num: int = 1) -> list:
        """``(field, python value, core value)`` for every field where they differ."""
        python = self.python_values(payload, ts, num)
        core = self.core.extract(payload, ts, num)
        return [(spec, a, b) for spec, a, b in zip(self.specs, python, core) if not same(a, b)]


def same(a, b) -> bool:
    """Equal and of the same type (``False`` is not ``0``), lists item by item."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def paths() -> Paths:
    return Paths()


def split_records(text: bytes) -> list[bytes]:
    """The raw bytes of every object directly inside the log's top-level object (the
    cloudtrail source's brace scan, docs/cloudtrail-plugin.md §3.4 step 2)."""
    out, depth, start, in_string, escaped = [], 0, 0, False, False
    for i, byte in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:
            depth += 1
            start = i if depth == 2 else start
        elif byte == 0x7D:
            if depth == 2:
                out.append(text[start:i + 1])
            depth -= 1
    return out


def shared_records() -> list[bytes]:
    root = SHARED / "cloudtrail"
    if not root.is_dir():
        pytest.skip("../shared/cloudtrail is absent (fresh clone without the reference data)")
    records = []
    for path in sorted(p for p in root.rglob("*") if p.parent != root
                       and p.name.endswith((".json", ".json.gz"))):
        data = path.read_bytes()
        records += split_records(gzip.decompress(data) if path.name.endswith(".gz") else data)
    return records


def capture_events(path: Path) -> list[tuple[bytes, int, int]]:
    with open_capture(path) as reader:
        return [(bytes(ev.payload), ev.ts, ev.num) for ev in reader if ev.type == 322]


def assert_same(paths: Paths, events) -> int:
    """Compare every event of a run (``evt.reltime`` from its first event); returns how
    many were compared."""
    paths.restart()
    differences = []
    for payload, ts, num in events:
        differences += [(num, *d) for d in paths.differences(payload, ts, num)]
    assert not differences, differences[:10]
    return len(events)


@pytest.fixture(scope="module")
def real_events() -> list[tuple[bytes, int, int]]:
    records = shared_records()
    assert len(records) == 3273
    step = 1_000_000_123  # a little over a second between events, so the times move
    return [(rec, 1_688_989_320_000_000_000 + i * step, i + 1) for i, rec in enumerate(records)]


@pytest.fixture(scope="module")
def real_paths() -> Paths:
    return Paths(REAL_SPECS)


PARTS = 4


@pytest.mark.parametrize("part", range(PARTS))
def test_the_real_cloudtrail_records(real_paths, real_events, part):
    """All 3,273 records, in four parts (each part's evt.reltime counts from its first)."""
    size = -(-len(real_events) // PARTS)
    events = real_events[part * size:(part + 1) * size]
    assert assert_same(real_paths, events) == len(events) > 800


def test_the_repository_captures(paths):
    captures = sorted((ROOT / "captures").glob("*.scap"))
    counted = sum(assert_same(paths, capture_events(path)) for path in captures)
    assert counted >= 200


def test_the_shared_libscap_capture(paths):
    path = SHARED / "captures" / "libscap-plugin" / "cloudtrail_small.scap"
    if not path.is_file():
        pytest.skip("../shared/captures is absent (fresh clone without the reference data)")
    assert assert_same(paths, capture_events(path)) > 0


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_times_in_time_zones(paths, monkeypatch, zone):
    """The local-time fields follow TZ in both paths (the C library's localtime)."""
    if not Path("/usr/share/zoneinfo", zone).exists():
        pytest.skip(f"the time zone {zone} is not installed")
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        times = [paths.specs.index((name, None)) for name in GENERIC[1:6]]
        payload = b'{"eventName":"ConsoleLogin"}'
        # around the 2023 changes of daylight time in the zones above, the epoch, the
        # end of 2099, and the last second a u64 of ns reaches
        stamps = [0, 999_999_999, 1_678_604_399_999_999_999, 1_678_604_400_000_000_000,
                  1_680_361_199_500_000_000, 1_680_361_200_000_000_001,
                  1_699_164_000_000_000_000, 4_102_444_799_999_999_999, 2 ** 64 - 1]
        paths.restart()
        for num, ts in enumerate(stamps, 1):
            assert paths.differences(payload, ts, num) == []
            values = paths.core.extract(payload, ts, num)
            assert all(isinstance(values[i], str) for i in times)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_reltime_counts_from_the_first_event_asked(paths):
    """evt.reltime starts at the first event it is asked for; an earlier event later
    gives a negative time in both paths."""
    paths.restart()
    payload = b"{}"
    for num, ts in enumerate([5_000_000_000, 7_500_000_001, 1_000_000_000, 0], 1):
        assert paths.differences(payload, ts, num) == []
    assert paths.core.first_ts == paths.registry.first_ts == 5_000_000_000
    rel = [paths.specs.index((f"evt.reltime{s}", None)) for s in ("", ".s", ".ns")]
    values = paths.core.extract(payload, 1_000_000_000, 3)
    assert [values[i] for i in rel] == [-4_000_000_000, -4, 0]


def test_compile_errors_follow_the_field_set():
    """An unknown field is a KeyError (the rule stays on the Python path); a bad
    argument a ValueError with the Python field set's text."""
    core = core_module()
    for name in ("proc.name", "ct.nosuch", "json.nosuch", "evt.arg.fd", "k8s.pod.name"):
        with pytest.raises(KeyError):
            core.Fields([(name, None)])
    fieldset = Registry.from_entry_points().fieldset("aws_cloudtrail")
    for spec in [("ec2.imageids", "01"), ("ec2.imageids", "x"), ("ec2.imageids", "-1"),
                 ("ct.user", "0"), ("json.value", None), ("json.obj", "x")]:
        with pytest.raises(ValueError):
            core.Fields([spec])
        with pytest.raises(Exception):
            fieldset.extractor(*spec)
    message = "filter ec2.imageids: invalid index argument '01'"
    with pytest.raises(ValueError, match=message):
        core.Fields([("ec2.imageids", "01")])
