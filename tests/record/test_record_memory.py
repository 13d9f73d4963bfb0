"""Recording memory does not grow with the log file (pieces, helper, spooling, dedupe window).

Large logs are generated here: CloudTrail-shaped records with unique eventIDs,
one second apart, gzip level 1. The recordings run through the CLI in a
subprocess; the peak memory of a run is the peak RSS (VmHWM, read from /proc
while it lives) of the recorder plus that of each helper process it forks. (Not
wait4's ru_maxrss: Linux keeps the high-water mark of the forked copy of the
test process across exec, so in a long test session it reports pytest's size.)
Sizes: 280,000 and 560,000 records, both past the duplicate check's key limit
(its memory is full in both runs), to keep the file within two minutes on two cores.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import signal
import string
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib

import pytest

from scaptools.format.reader import open_capture
from scaptools_plugins.cloudtrail import cutting, dedupe, heads, inflate, logfile, pieces, spool
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config

SCAP = [sys.executable, "-c", "from scaptools.cli.main import main; main()"]
SMALL, LARGE = 280_000, 560_000  # the smaller is past the duplicate check's key limit
TEMPLATE = (
    '{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA{key}:{user}",'
    '"arn":"arn:aws:sts::123456789012:assumed-role/{role}/{user}","accountId":"123456789012",'
    '"accessKeyId":"ASIA{key}","sessionContext":{{"sessionIssuer":{{"type":"Role",'
    '"principalId":"AROA{key}","arn":"arn:aws:iam::123456789012:role/{role}",'
    '"accountId":"123456789012","userName":"{role}"}},"webIdFederationData":{{}},'
    '"attributes":{{"creationDate":"{time}","mfaAuthenticated":"false"}}}}}},'
    '"eventTime":"{time}","eventSource":"{service}.amazonaws.com","eventName":"{name}",'
    '"awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"{agent}",'
    '"requestParameters":{{"instancesSet":{{}},"filterSet":{{}}}},"responseElements":null,'
    '"requestID":"{rid}","eventID":"{eid}","readOnly":true,"eventType":"AwsApiCall",'
    '"managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management",'
    '"tlsDetails":{{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256",'
    '"clientProvidedHostHeader":"{service}.{region}.amazonaws.com"}}}}')
NAMES = ["DescribeInstances", "GetObject", "AssumeRole", "ListBuckets", "ConsoleLogin",
         "PutObject", "CreateUser", "DescribeSecurityGroups"]
SERVICES = ["ec2", "s3", "sts", "iam", "signin", "kms"]
REGIONS = ["us-east-1", "us-east-2", "eu-west-1", "ap-southeast-2"]
AGENTS = ["aws-cli/2.9.1 Python/3.9.11 Linux/5.15.0 exe/x86_64.ubuntu.22",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/99.0.4844.51",
          "Boto3/1.26.0 Python/3.10.8 Linux/5.10.147 Botocore/1.29.0", "console.amazonaws.com"]
BASE = 1_678_000_000  # 2023-03-05T07:06:40Z


_FIELDS = [field for _, field, _, _ in string.Formatter().parse(TEMPLATE) if field]
_PERCENT = "".join(text.replace("%", "%%") + ("%s" if field else "")
                   for text, field, _, _ in string.Formatter().parse(TEMPLATE))


def records(count: int, first: int = 0, seed: int = 7):
    """``count`` compact CloudTrail records (bytes), ``first`` numbering the eventIDs."""
    rnd = random.Random(seed + first)
    days = {}
    for i in range(first, first + count):
        bits = rnd.getrandbits(128)
        day, second = divmod(BASE + i, 86400)
        if day not in days:
            days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        values = {
            "key": f"{bits & 0xFFFFFFFFFFFF:016X}", "user": f"user{bits % 97}",
            "role": f"role-{bits % 13}", "service": SERVICES[bits % 6],
            "time": f"{days[day]}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
            "name": NAMES[(bits >> 8) % 8], "region": REGIONS[(bits >> 16) % 4],
            "ip": f"198.51.{(bits >> 24) % 256}.{(bits >> 32) % 256}",
            "agent": AGENTS[(bits >> 40) % 4], "rid": f"{bits >> 64:016x}-{bits & 0xFFFF:04x}",
            "eid": f"{i:08x}-1111-4222-8333-{i:012x}"}
        yield (_PERCENT % tuple(map(values.__getitem__, _FIELDS))).encode()


def write_log(path, count: int, first: int = 0, level: int = 1) -> tuple[int, str]:
    """A gzip log file of ``count`` records; (count, sha256 of the payloads in order)."""
    digest = hashlib.sha256()
    comp = zlib.compressobj(level, zlib.DEFLATED, 31)
    with open(path, "wb") as fh:
        fh.write(comp.compress(b'{"Records":['))
        batch = []
        for n, rec in enumerate(records(count, first), 1):
            digest.update(rec)
            batch.append(rec)
            if len(batch) == 5000 or n == count:
                fh.write(comp.compress((b"," if n > len(batch) else b"") + b",".join(batch)))
                batch = []
        fh.write(comp.compress(b"]}") + comp.flush())
    return count, digest.hexdigest()


def capture_digest(path) -> tuple[int, str]:
    """(events, sha256 of their payloads in order) of a capture."""
    digest, n = hashlib.sha256(), 0
    with open_capture(os.fspath(path)) as reader:
        for ev in reader:
            if ev.type == 322:
                digest.update(ev.payload)
                n += 1
    return n, digest.hexdigest()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """The small and the large log: name -> (path, count, digest)."""
    root = tmp_path_factory.mktemp("memlogs")
    out = {}
    for name, count in (("small", SMALL), ("large", LARGE)):
        path = root / f"123456789012_CloudTrail_us-east-1_20230305T0700Z_{name}.json.gz"
        out[name] = (path, *write_log(path, count))
    return out


def children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                found += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return found


def peak_kb(pid: int) -> int:
    """VmHWM of a live process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def record_measured(log, out, on_start=None):
    """Run ``scap record`` of ``log``; (exit code, stderr, parent peak KB, helper peaks KB).

    ``on_start(pid, helpers, out)`` is called at each look while the run lasts.
    """
    proc = subprocess.Popen(SCAP + ["record", "-w", str(out), "--plugin", "cloudtrail",
                                    "--open", str(log)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    helpers: dict[int, int] = {}
    own = 0
    deadline = time.monotonic() + 300
    while True:  # look at the process tree every 20 ms until the run ends
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        own = max(own, peak_kb(proc.pid))
        for child in children(proc.pid):
            helpers[child] = max(helpers.get(child, 0), peak_kb(child))
        if on_start is not None:
            on_start(proc.pid, helpers, out)
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the recording did not end within 300 s")
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(30)
    return proc.returncode, (err[0] if err else b"").decode(), own, helpers


needs_two_cores = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2
    or not os.path.isdir("/proc/self/task"),
    reason="the heads helper runs only with two cores or more (and /proc to watch it)")


@needs_two_cores
def test_record_memory_stays_flat_and_every_record_is_recorded_once(logs, tmp_path):
    peaks = {}
    for name in ("small", "large"):
        path, count, digest = logs[name]
        out = tmp_path / f"{name}.scap"
        code, err, parent, helpers = record_measured(path, out)
        assert code == 0, err
        assert helpers, "no heads helper process was seen"
        assert f"recorded {count} events" in err and "0 duplicates dropped" in err
        assert capture_digest(out) == (count, digest)
        peaks[name] = parent + sum(helpers.values())
        out.unlink()
    assert peaks["large"] <= peaks["small"] * 1.2, peaks
    assert peaks["large"] < 250 << 10, peaks


@needs_two_cores
def test_record_memory_helper_killed_mid_file_loses_nothing(logs, tmp_path):
    path, count, digest = logs["small"]
    killed = []

    def kill_once_records_flow(pid, helpers, out):
        if killed or not helpers or not out.exists() or out.stat().st_size < 4 << 20:
            return
        helper = next(iter(helpers))
        os.kill(helper, signal.SIGKILL)  # mid-file: the helper runs only a few MB ahead
        killed.append(helper)

    out = tmp_path / "killed.scap"
    code, err, _, helpers = record_measured(path, out, kill_once_records_flow)
    assert code == 0, err
    assert killed, "the run ended before the helper could be killed"
    assert capture_digest(out) == (count, digest)
    assert "0 duplicates dropped" in err and "0 reported" in err


@pytest.fixture
def helper_always(monkeypatch):
    """A heads helper for any file, however small, and on any machine; a log file is
    decoded piece by piece whatever its size."""
    monkeypatch.setattr(heads, "HELPER_MIN", 0)
    monkeypatch.setattr(heads, "_cores", lambda: 2)
    monkeypatch.setattr(logfile, "STREAM_MIN", 0)


def test_record_memory_helper_that_stalls_is_dropped(monkeypatch, tmp_path, helper_always):
    """A helper that stops answering (SIGSTOP) counts as broken after STALL seconds: the
    parent decodes the rest itself, after the records the helper gave."""
    monkeypatch.setattr(heads, "STALL", 0.5)
    path = tmp_path / "stall.json.gz"
    count, digest = write_log(path, 6000)
    body = spool.open_body(str(path))
    helper = heads.start(body)
    os.kill(helper.pid, signal.SIGSTOP)
    got = hashlib.sha256()
    n = 0
    for part in pieces.decode_parts(body, str(path), helper):
        assert part is not None
        for payload in part.payloads:
            got.update(payload)
        n += len(part.payloads)
    assert (n, got.hexdigest()) == (count, digest)
    assert helper.pid == 0  # killed and reaped
    body.close()


def test_record_memory_waits_end_when_nobody_takes(tmp_path, helper_always):
    """An inflating thread and a helper's reading thread blocked on a full queue end once
    closed, though nobody takes from their queues."""
    path = tmp_path / "full.json.gz"
    write_log(path, 20000)
    body = spool.open_body(str(path))
    feed = inflate.Feed(body, cutting.CHUNK)
    helper = heads.start(body)
    deadline = time.monotonic() + 30
    while not (feed.queue.full() and helper.frames.full()):  # both wait on a full queue
        assert time.monotonic() < deadline, "the queues never filled"
        time.sleep(0.01)
    feed.close()
    helper.close()
    feed.thread.join(5)
    assert not feed.thread.is_alive() and not helper.reader.is_alive() and helper.pid == 0
    body.close()


@pytest.mark.parametrize("case", ["one member", "two members", "zero padding", "truncated",
                                  "garbage", "member after padding", "lone magic byte"])
def test_record_memory_inflating_in_bounded_parts(monkeypatch, case):
    monkeypatch.setattr(inflate, "PART_MAX", 1000)
    text = b"".join(records(300))
    data = gzip.compress(text[:20000]) + (gzip.compress(text[20000:]) if case != "one member"
                                          else b"")
    if case == "one member":
        data = gzip.compress(text)
    data += {"zero padding": b"\0" * 600, "garbage": b"xyz", "truncated": b"",
             "member after padding": b"\0" * 4 + gzip.compress(b"{}"),
             "lone magic byte": b"\x1f"}.get(case, b"")
    if case == "truncated":
        data = data[:-100]
    for chunk in (7, 64, 4096):
        parts = list(inflate.inflated(data, chunk))
        assert all(p is inflate.FAILED or p is None or len(p) <= 1000 for p in parts)
        if case in ("one member", "two members", "zero padding"):
            assert parts[-1] is None and b"".join(parts[:-1]) == text
        else:
            assert parts[-1] is inflate.FAILED and inflate.FAILED not in parts[:-1]


def dedupe_part(first: int, count: int, ts: int, *, changed=()):
    """ids, payloads, times of ``count`` records numbered from ``first``, all at ``ts`` (s);
    the records in ``changed`` get other bytes."""
    ids = [f"id-{i}" for i in range(first, first + count)]
    payloads = [b'{"eventID":"id-%d"%s}' % (i, b',"x":1' if i in changed else b"")
                for i in range(first, first + count)]
    return ids, payloads, [ts * 10**9] * count


HOUR = 3600


def test_record_memory_dedupe_drops_duplicates_within_the_window():
    seen = dedupe.Seen()
    assert seen.duplicates(*dedupe_part(0, 100, 1000)) == []
    # later: the same bytes are duplicates; the same eventID with other bytes is not
    ids, payloads, times = dedupe_part(50, 100, 1000 + 10 * HOUR, changed={60, 61})
    found = seen.duplicates(ids, payloads, times)
    assert [ids[i] for i in found] == [f"id-{i}" for i in range(50, 100) if i not in (60, 61)]
    # a copy inside one part: the second one goes
    ids, payloads, times = dedupe_part(500, 3, 2000)
    assert seen.duplicates(ids + ids[:1], payloads + payloads[:1], times + times[:1]) == [3]
    # a scan back in time or between days starts new generations, the old ones stay
    assert seen.duplicates(*dedupe_part(2000, 10, 1000 - 30 * 24 * HOUR)) == []
    assert seen.duplicates(*dedupe_part(0, 10, 1000)) == list(range(10))
    assert seen.forgotten == 0


def test_record_memory_dedupe_window_is_sixteen_hours_of_a_steady_stream():
    seen = dedupe.Seen()
    for hour in range(40):  # 100 records an hour, an hour a part
        assert seen.duplicates(*dedupe_part(hour * 100, 100, hour * HOUR)) == []
        assert len(seen) <= dedupe.GENERATIONS * 100
    for hour in range(40 - dedupe.GENERATIONS, 40):  # the last 16 hours are known
        assert len(seen.duplicates(*dedupe_part(hour * 100, 100, hour * HOUR))) == 100
    assert seen.duplicates(*dedupe_part(0, 100, 0)) == []  # the first hour is not
    assert seen.forgotten == 0


def test_record_memory_dedupe_keeps_a_bounded_number_of_keys():
    seen = dedupe.Seen(generation=1000, generations=8)
    for part in range(200):  # 200,000 records in the same second: only the count bounds
        seen.duplicates(*dedupe_part(part * 1000, 1000, 5000))
        assert len(seen) <= 8 * 1000
    assert seen.forgotten == 200_000 - 8000
    assert seen.duplicates(*dedupe_part(199_500, 10, 5000)) == list(range(10))  # recent: kept


def test_record_memory_dedupe_memory_does_not_grow():
    """The structure's memory after 4 times the records is the same (small bounds)."""
    seen = dedupe.Seen(generation=2000, generations=4)
    tracemalloc.start()
    try:
        sizes, n = [], 0
        for rounds in (30, 90):
            for _ in range(rounds):  # 500 records a part, ten a second
                seen.duplicates(*dedupe_part(n, 500, n // 10))
                n += 500
            sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert sizes[1] <= sizes[0] * 1.2, sizes
    assert len(seen) <= 4 * 2000


def test_record_memory_large_s3_object_is_spooled(boto, unique, aws_env, tmp_path, monkeypatch):
    """A large S3 object is streamed to an unlinked temporary file and decoded piece by
    piece; a small one is decoded from memory; the records are the same."""
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the spool would be named
    s3 = boto("s3")
    bucket = unique("spool")
    s3.create_bucket(Bucket=bucket)
    big, small = tmp_path / "big.json.gz", tmp_path / "small.json.gz"
    count, digest = write_log(big, 12000)
    write_log(small, 50, first=12000)
    plain = b'{"Records":[' + b",".join(records(9000, first=13000)) + b"]}"
    assert big.stat().st_size >= logfile.STREAM_MIN > small.stat().st_size
    assert len(plain) >= logfile.PLAIN_STREAM_MIN
    for key, body in (("a/1.json.gz", big.read_bytes()), ("a/2.json.gz", small.read_bytes()),
                      ("a/3.json", plain)):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    big.unlink()
    small.unlink()
    client = boto("s3")
    got = spool.s3_log(client, bucket, "a/1.json.gz", "s3://x/a/1.json.gz")
    assert isinstance(got, spool.Body) and os.listdir(tmp_path) == []  # no name on disk
    got.close()
    assert isinstance(spool.s3_log(client, bucket, "a/2.json.gz", "n"), logfile.LogFile)
    assert isinstance(spool.s3_log(client, bucket, "a/3.json", "n"), spool.Body)
    stream = open_source(parse_init_config('{"s3DownloadConcurrency": 2}'), f"s3://{bucket}/a/")
    payloads = [bytes(p) for item in stream.batches() if isinstance(item, list) for _, p in item]
    assert len(payloads) == count + 50 + 9000
    assert hashlib.sha256(b"".join(payloads[:count])).hexdigest() == digest
    assert payloads[count + 50:] == list(records(9000, first=13000))
    assert os.listdir(tmp_path) == []


def test_record_memory_local_large_plain_file_is_read_in_chunks(tmp_path):
    """A large plain log file is decoded piece by piece from disk, the same records."""
    path = tmp_path / "big.json"
    recs = list(records(9000))
    path.write_bytes(b'{"Records":[' + b",".join(recs) + b"]}")
    body = spool.open_body(str(path))
    assert isinstance(body, spool.Body)
    parts = list(pieces.decode_parts(body, str(path)))
    body.close()
    assert len(parts) > 1 and None not in parts
    assert [bytes(p) for part in parts for p in part.payloads] == recs
    assert json.loads(recs[0])["eventID"] == "00000000-1111-4222-8333-000000000000"


def test_record_memory_summary_names_dedupe_keys_dropped_early():
    from scaptools.record.summary import RecordSummary
    from scaptools_plugins.cloudtrail.source import SourceStats
    quiet = RecordSummary(events=1, stats=SourceStats()).lines()
    assert not any("duplicate check" in line for line in quiet)
    busy = RecordSummary(events=1, stats=SourceStats(dedupe_forgotten=16384)).lines()
    assert any("duplicate check: 16384 keys dropped within their hour" in line for line in busy)


def test_record_memory_helper_closed_twice_at_once_leaves_other_children(tmp_path, helper_always):
    """Two threads closing one helper together: it is killed and reaped once, and no
    other child of the process is waited for (a close that read the pid after the other
    had cleared it waited on pid 0, any child of the group, and took its exit status)."""
    path = tmp_path / "twice.json.gz"
    write_log(path, 2000)
    body = spool.open_body(str(path))
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    for _ in range(5):
        helper = heads.start(body)
        gate = threading.Barrier(2)

        def close(helper=helper, gate=gate):
            gate.wait()
            helper.close()
        threads = [threading.Thread(target=close) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert helper.pid == 0 and not any(t.is_alive() for t in threads)
    assert other.wait(30) == 3  # its status was still there for its own Popen
    body.close()
