"""Fixtures of the recording tests: a real moto S3/SQS server, CloudTrail log sets.

The server is moto's server in a subprocess on 127.0.0.1 (on a port it picks itself),
reached through boto3 with an endpoint URL and dummy credentials; ``fault_proxy``
puts a fault-injecting proxy between the two (faultproxy.py).
"""
from __future__ import annotations

import calendar
import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


_SERVER = ("import threading; from moto.server import ThreadedMotoServer; "
           "s = ThreadedMotoServer('127.0.0.1', 0, verbose=False); s.start(); "
           "print(s.get_host_and_port()[1], flush=True); threading.Event().wait()")


@pytest.fixture(scope="session")
def moto_endpoint():
    """URL of a moto server running for the whole session.

    The server binds port 0 and prints the port it got: no other process can
    take the port between choosing and binding it.
    """
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            pytest.fail(f"moto server did not start (exit {proc.wait(timeout=30)})")
        url = f"http://127.0.0.1:{int(line)}"
        urllib.request.urlopen(url + "/moto-api/", timeout=30).read()
        yield url
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def fault_proxy(moto_endpoint):
    """A FaultProxy (faultproxy.py) in front of the moto server, for one test."""
    spec = importlib.util.spec_from_file_location(
        "faultproxy", Path(__file__).with_name("faultproxy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.FaultProxy(moto_endpoint) as proxy:
        yield proxy


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch, tmp_path):
    """Dummy credentials and the moto endpoint in the environment (for boto3 and subprocesses)."""
    env = dict(CREDENTIALS, AWS_ENDPOINT_URL=moto_endpoint,
               AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return env


@pytest.fixture
def boto(aws_env):
    """``boto(service)`` -> a boto3 client of the moto server."""
    import boto3
    return lambda service: boto3.client(service, region_name="us-east-1",
                                        endpoint_url=aws_env["AWS_ENDPOINT_URL"])


@pytest.fixture
def unique():
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- CloudTrail logs made from the records the repository ships (no reference data needed) --
ROOT = Path(__file__).resolve().parents[2]
FILES, PER_FILE = 12, 7


def make_logs(count: int = FILES, per_file: int = PER_FILE, seed: int = 0) -> dict[str, bytes]:
    """``count`` CloudTrail log files (key -> gzip bytes), records with unique eventIDs."""
    templates = []
    for path in sorted((ROOT / "captures" / "logs").glob("*.json")):
        templates += json.loads(path.read_text())["Records"]
    logs = {}
    for f in range(count):
        records = []
        for r in range(per_file):
            rec = dict(templates[(f * per_file + r) % len(templates)])
            rec["eventID"] = str(uuid.UUID(int=seed << 64 | f << 16 | r))
            rec["eventTime"] = f"2024-03-12T{10 + f // 6:02d}:{f % 6 * 10:02d}:{r:02d}Z"
            records.append(rec)
        stamp = f"20240312T{10 + f // 6:02d}{f % 6 * 10:02d}Z"
        key = f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/12/" \
              f"111122223333_CloudTrail_us-east-1_{stamp}_{seed:02d}{f:04d}.json.gz"
        text = json.dumps({"Records": records}, separators=(",", ":"))  # as CloudTrail writes
        logs[key] = gzip.compress(text.encode())
    return logs


def records_of(logs: dict[str, bytes]) -> list[str]:
    return sorted(rec["eventID"] for data in logs.values()
                  for rec in json.loads(gzip.decompress(data))["Records"])


def recorded(out: Path) -> list[str]:
    """eventIDs of every event in OUT, or else OUT.0, OUT.1, ... (every section)."""
    from scaptools.format.reader import open_capture
    ids = []
    paths = [out] if out.exists() else sorted(out.parent.glob(out.name + ".*"),
                                              key=lambda p: int(p.suffix[1:]))
    for path in paths:
        with open_capture(str(path)) as reader:
            ids += [json.loads(ev.payload)["eventID"] for ev in reader if ev.type == 322]
    return ids



# -- CloudTrail log sets, read independently of the code under test ------------------------
_NAME = re.compile(r"_(\d{8}T\d{4})Z_")


def event_time_ns(event_time) -> int | None:
    """eventTime in ns (UTC), or None when it is not a time."""
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"):
        try:
            dt = datetime.strptime(event_time, fmt)
            return calendar.timegm(dt.timetuple()) * 10**9
        except (TypeError, ValueError):
            pass
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d+)", event_time or "")
    if m:
        dt = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
        return calendar.timegm(dt.timetuple()) * 10**9 + int(m.group(2).ljust(9, "0")[:9])
    return None


def expected_times(records: list, file_name: str) -> list:
    """The time of each record of one file: its eventTime; for a record without a usable
    one, the time of the record before it, else of the first later record with one,
    else the file name's time after 1970 (None: not recorded)."""
    times = [event_time_ns(r.get("eventTime")) for r in records]
    later = next((t for t in times if t is not None), None)
    if later is None:
        m = _NAME.search(file_name)
        later = calendar.timegm(datetime.strptime(m.group(1), "%Y%m%dT%H%M").timetuple()) \
            * 10**9 if m else None
        later = later or None  # 1970-01-01T0000 in a name is no time either
    out, before = [], None
    for t in times:
        before = t if t is not None else before
        out.append(t if t is not None else before if before is not None else later)
    return out


def expected_ts(event_time, file_name: str) -> int:
    """The time of a file's only record (see expected_times)."""
    return expected_times([{"eventTime": event_time}], file_name)[0]


class LogSet:
    """The log files of a folder's subfolders: path -> (file bytes, records)."""

    def __init__(self, root: Path):
        self.root = root
        self.files = {}
        for path in sorted(root.glob("*/*.json*")):
            data = path.read_bytes()
            text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            self.files[path] = (data, json.loads(text)["Records"])

    def copy_to(self, dest: Path) -> None:
        """The log folders (not the notes beside them) into ``dest``."""
        for sub in {path.parent for path in self.files}:
            shutil.copytree(sub, dest / sub.name)

    def records(self, paths=None):
        """[(record, expected ts)] of the given files (all by default), in file order."""
        out = []
        for path in paths if paths is not None else self.files:
            records = self.files[path][1]
            out.extend((r, ts) for r, ts in zip(records, expected_times(records, path.name))
                       if ts is not None)
        return out


ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "eu-west-1")


def write_logset(root: Path, seed: int = 42) -> Path:
    """A folder of CloudTrail log files made from the records the repository ships.

    Like a real trail: files named ``<account>_CloudTrail_<region>_<YYYYMMDDThhmm>Z_<id>``
    every 5 minutes over two days, for two accounts and two regions, in two
    subfolders, gzip and plain; 96 files of 20 to 48 records whose eventTimes are
    not in order; every eventID unique; and one record whose eventTime is
    ``redacted``, first in its file (it takes the time of the record after it).
    """
    import random
    rng = random.Random(seed)
    templates = []
    for path in sorted((ROOT / "captures" / "logs").glob("*.json")):
        templates += json.loads(path.read_text())["Records"]
    for i in range(96):
        acct, region = ACCOUNTS[i % 2], REGIONS[i // 2 % 2]
        day, minute = 12 + i // 48, (i % 48) * 5 + 600  # from 10:00, every 5 minutes
        stamp = f"202403{day:02d}T{minute // 60:02d}{minute % 60:02d}"
        records = []
        for r in range(rng.randint(20, 48)):
            rec = dict(rng.choice(templates), eventID=str(uuid.UUID(int=rng.getrandbits(128))))
            second = minute * 60 - rng.randint(0, 600)
            rec["eventTime"] = (f"2024-03-{day:02d}T{second // 3600:02d}:"
                                f"{second // 60 % 60:02d}:{second % 60:02d}Z")
            records.append(rec)
        name = f"{acct}_CloudTrail_{region}_{stamp}Z_{rng.getrandbits(40):010x}.json"
        text = json.dumps({"Records": records}, separators=(",", ":")).encode()
        sub = root / ("a" if i % 3 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        if i % 2:
            (sub / (name + ".gz")).write_bytes(gzip.compress(text))
        else:
            (sub / name).write_bytes(text)
    odd = dict(templates[0], eventID="redacted-record", eventTime="redacted")
    after = dict(templates[1], eventID="after-redacted", eventTime="2024-03-13T09:00:00Z")
    (root / "b" / "redacted_CloudTrail_redacted_19700101T0000Z_0000000000.json").write_text(
        json.dumps({"Records": [odd, after]}, separators=(",", ":")))
    return root


@pytest.fixture(scope="session")
def logset(tmp_path_factory) -> LogSet:
    """CloudTrail logs made here (write_logset): no reference data needed."""
    return LogSet(write_logset(tmp_path_factory.mktemp("cloudtrail")))


@pytest.fixture(scope="session")
def shared_logset(shared) -> LogSet:
    """The real third-party CloudTrail logs of the reference folder."""
    return LogSet(shared / "cloudtrail")


def read_events(path):
    """[(ts, payload)] of a capture through the project's reader (every section)."""
    from scaptools.format.reader import open_capture
    with open_capture(os.fspath(path)) as reader:
        return [(ev.ts, ev.payload) for ev in reader if ev.type == 322]


def assert_same_records(events, expected):
    """The events are exactly the expected records: same JSON, same count, ts == eventTime."""
    got = sorted((ts, json.dumps(json.loads(p), sort_keys=True)) for ts, p in events)
    want = sorted((ts, json.dumps(r, sort_keys=True)) for r, ts in expected)
    assert len(got) == len(want)
    assert got == want


def sysdig_count(sysdig_bin, path) -> int:
    out = subprocess.run([sysdig_bin, "-r", os.fspath(path)], capture_output=True, text=True,
                         check=True).stdout
    return len(out.splitlines())


def tshark_count(tshark_bin, path) -> int:
    out = subprocess.run([tshark_bin, "-r", os.fspath(path), "-T", "fields", "-e",
                          "frame.number"], capture_output=True, text=True, check=True).stdout
    return len(out.split())


@pytest.fixture
def helpers():
    """The helper functions above, for the test modules."""
    from types import SimpleNamespace
    return SimpleNamespace(read_events=read_events, same=assert_same_records,
                           make_logs=make_logs, records_of=records_of, recorded=recorded,
                           sysdig_count=sysdig_count, tshark_count=tshark_count,
                           expected_ts=expected_ts)
