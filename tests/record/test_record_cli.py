"""``scap record`` as users run it: captures read by sysdig and tshark, rotation, limits,
and a run stopped by SIGTERM resumed with ``--state`` (SIGKILL: test_record_crash.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

SCAP = [sys.executable, "-c", "from scaptools.cli.main import main; main()"]


def scap(*args, env=None, check=True):
    proc = subprocess.run(SCAP + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=120)
    if check and proc.returncode != 0:
        pytest.fail(f"scap {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


@pytest.fixture
def logdir(logset, tmp_path):
    root = tmp_path / "logs"
    logset.copy_to(root)
    return root


@pytest.mark.parametrize("which", ["logset", "shared_logset"])
def test_record_cli_directory_read_by_sysdig_and_tshark(request, which, helpers, sysdig_bin,
                                                        tshark_bin, tmp_path):
    """Made logs, and the real third-party ones (skipped without the reference folder)."""
    logset = request.getfixturevalue(which)
    logdir = tmp_path / "logs"
    logset.copy_to(logdir)
    out = tmp_path / "all.scap"
    proc = scap("record", "-w", out, "--plugin", "cloudtrail", "--open", logdir)
    helpers.same(helpers.read_events(out), logset.records())
    n = len(logset.records())
    assert helpers.sysdig_count(sysdig_bin, out) == n
    assert helpers.tshark_count(tshark_bin, out) == n
    # the record without a usable eventTime is reported: given the time of its neighbour,
    # or not recorded when no record of its file has a time (the reference logs)
    assert f"recorded {n} events" in proc.stderr and "redacted" in proc.stderr
    assert "1 without eventTime" in proc.stderr or "1 skipped (bad)" in proc.stderr


def test_record_cli_gzip_rotation_naming(logdir, logset, helpers, sysdig_bin, tmp_path):
    out = tmp_path / "rot.scap.gz"
    scap("record", "-w", out, "--open", logdir, "-z", "--rotate-events", 1000)
    files = sorted(tmp_path.glob("rot.scap.gz.*"))
    assert [f.name for f in files] == [f"rot.scap.gz.{i}" for i in range(4)]
    assert not out.exists()
    counts = [helpers.sysdig_count(sysdig_bin, f) for f in files]
    assert counts == [1000, 1000, 1000, len(logset.records()) - 3000]
    helpers.same([e for f in files for e in helpers.read_events(f)], logset.records())


def test_record_cli_max_events_sort_and_falco_config(logset, helpers, tmp_path):
    path = max(logset.files, key=lambda p: len(logset.files[p][1]))
    records = logset.records([path])
    assert [ts for _, ts in records] != sorted(ts for _, ts in records)  # input is unordered
    config = tmp_path / "falco.yaml"
    config.write_text(f"plugins:\n  - name: cloudtrail\n    library_path: libcloudtrail.so\n"
                      f"    init_config: {{}}\n    open_params: {json.dumps(str(path))}\n")
    out = tmp_path / "sorted.scap"
    scap("record", "-w", out, "-c", config, "--sort")
    events = helpers.read_events(out)
    assert [ts for ts, _ in events] == sorted(ts for _, ts in records)
    helpers.same(events, records)
    scap("record", "-w", out, "--open", path, "--max-events", 7)
    assert [json.loads(p) for _, p in helpers.read_events(out)] == [r for r, _ in records[:7]]


def test_record_cli_bad_config_is_one_line_error(tmp_path):
    proc = scap("record", "-w", tmp_path / "x.scap", "--open", tmp_path,
                "--init-config", '{"s3DownloadConcurrency": "many"}', check=False)
    assert proc.returncode == 1
    assert "cloudtrail" in proc.stderr and "Traceback" not in proc.stderr


def committed_events(state) -> int:
    """Events named by the last commit of a ``--state`` journal (0 before the first)."""
    if not state.exists():
        return 0
    lines = [json.loads(line) for line in state.read_text().splitlines()[1:]
             if line.endswith("}")]
    return max([line["events"] for line in lines if "events" in line], default=0)


def wait_for(predicate, proc, what: str, timeout: float = 60) -> None:
    """Poll ``predicate`` until true; fail when the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"scap record ended before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"scap record: no {what} within {timeout} s")
        time.sleep(0.02)


def test_record_cli_sigterm_ends_at_a_unit_and_resumes(aws_env, boto, unique, helpers,
                                                       sysdig_bin, tmp_path):
    """SIGTERM while recording from a queue (which never ends by itself) closes a valid
    capture at a unit boundary; the same command started again goes on from there."""
    make_logs, records_of, recorded = helpers.make_logs, helpers.records_of, helpers.recorded
    s3, sqs = boto("s3"), boto("sqs")
    bucket, qname = unique("term"), unique("term-q")
    s3.create_bucket(Bucket=bucket)
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    logs = make_logs(count=8, seed=7)

    def announce(keys):
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=logs[key])
            note = {"s3Bucket": bucket, "s3ObjectKey": [key]}
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
                {"Type": "Notification", "Message": json.dumps(note)}))
    keys = sorted(logs)
    announce(keys[:3])  # the first batch; the rest only once the first run has stopped
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "t.scap", tmp_path / "state"
    args = ["record", "-w", out, "--rotate-events", 1000, "--state", state, "--open",
            f"sqs://{qname}"]
    proc = subprocess.Popen(SCAP + [str(a) for a in args], env=env, stderr=subprocess.PIPE,
                            text=True)
    first = len(records_of({k: logs[k] for k in keys[:3]}))
    wait_for(lambda: committed_events(state) == first, proc, "commit of the first batch")
    proc.send_signal(signal.SIGTERM)  # it is polling an empty queue by now
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped: SIGTERM" in err and f"recorded {first} events" in err
    assert helpers.sysdig_count(sysdig_bin, f"{out}.0") == first  # a valid capture
    announce(keys[3:])
    rest = len(records_of(logs)) - first
    scap(*args, "--max-events", rest, env=env)  # the rest, appended as a second section
    assert sorted(recorded(out)) == records_of(logs)
    assert helpers.sysdig_count(sysdig_bin, f"{out}.0") == len(records_of(logs))


def test_record_rotate_size_and_commit_acks(logdir, logset, helpers, tmp_path):
    from scaptools.plugin.api import Checkpoint
    from scaptools.record.recorder import Recorder, RecordOptions
    from scaptools_plugins.cloudtrail.source import open_source, parse_init_config
    acked = []

    def on_disk() -> int:
        return sum(len(helpers.read_events(f)) for f in tmp_path.glob("size.scap.*"))

    def ack(info, yielded):
        assert on_disk() >= yielded  # the unit's events were flushed before its ack
        acked.append(info)

    class Acking:  # the real stream, with acks that look at the capture files
        def __init__(self, stream):
            self.stream, self.stats = stream, stream.stats

        def __iter__(self):
            n = 0
            for item in self.stream:
                if isinstance(item, Checkpoint):
                    item = Checkpoint(lambda info=item.info, n=n: ack(info, n), item.info)
                else:
                    n += 1
                yield item
    out = tmp_path / "size.scap"
    stream = Acking(open_source(parse_init_config(""), str(logdir)))
    summary = Recorder(stream, 2, RecordOptions(out=str(out), rotate_size=1_000_000)).run()
    files = [tmp_path / f"size.scap.{i}" for i in range(len(summary.files))]
    assert summary.files == [str(f) for f in files] and len(files) >= 3
    assert all(f.stat().st_size >= 1_000_000 for f in files[:-1])
    helpers.same([e for f in files for e in helpers.read_events(f)], logset.records())
    assert len(acked) == len(logset.files)  # every unit acknowledged once, at a commit


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_record_cli_full_disk_is_one_clear_error(tmp_path):
    """A write the disk refuses ends the run with one line naming the output (exit 1)
    instead of a traceback or a silent loss."""
    log = tmp_path / "one.json"
    log.write_text('{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventID":"a",'
                   '"eventName":"X"}]}')
    proc = scap("record", "-w", "/dev/full", "--plugin", "cloudtrail", "--open", log,
                check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: /dev/full: write failed: [Errno 28] No space left on device")
