"""``scap record`` as users run it: captures read by sysdig and tshark, rotation, limits,
and interrupted runs (SIGKILL, SIGTERM) resumed with ``--state``."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

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
    for sub in ("invictus-ir_aws_dataset", "panther-analysis_tests"):
        shutil.copytree(logset.root / sub, root / sub)
    return root


def test_record_cli_directory_read_by_sysdig_and_tshark(logdir, logset, helpers, sysdig_bin,
                                                        tshark_bin, tmp_path):
    out = tmp_path / "all.scap"
    proc = scap("record", "-w", out, "--plugin", "cloudtrail", "--open", logdir)
    helpers.same(helpers.read_events(out), logset.records())
    n = len(logset.records())
    assert helpers.sysdig_count(sysdig_bin, out) == n
    assert helpers.tshark_count(tshark_bin, out) == n
    assert f"recorded {n} events" in proc.stderr and "1 without eventTime" in proc.stderr
    assert "redacted" in proc.stderr  # the record without a usable eventTime is reported


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


@pytest.fixture
def bucket_of_logs(boto, unique, logset):
    s3 = boto("s3")
    bucket = unique("kill")
    s3.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: s3.put_object(Bucket=bucket, Key=f"logs/{p.name}",
                                              Body=logset.files[p][0]), logset.files))
    return bucket


def test_record_cli_sigkill_then_resume_with_state(aws_env, bucket_of_logs, logset, helpers,
                                                   sysdig_bin, tmp_path):
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "s3.scap.gz", tmp_path / "state.json"
    args = SCAP + ["record", "-w", str(out), "-z", "--rotate-events", "700", "--state",
                   str(state), "--open", f"s3://{bucket_of_logs}/logs/",
                   "--init-config", '{"s3DownloadConcurrency": 1}']
    kills = 0
    for attempt in range(40):  # kill each run after it committed something, until one finishes
        before = state.stat().st_mtime_ns if state.exists() else None
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            if state.exists() and state.stat().st_mtime_ns != before:
                time.sleep(0.1 * (attempt % 5))  # mid-object, mid-commit or right after it
                proc.kill()  # SIGKILL: no chance to clean up
                kills += 1
                break
            time.sleep(0.005)
        if proc.wait() == 0:
            break
    else:
        pytest.fail("the recording never finished")
    assert kills >= 1
    files = sorted(tmp_path.glob("s3.scap.gz.*"), key=lambda p: int(p.suffix[1:]))
    events = [e for f in files for e in helpers.read_events(f)]
    helpers.same(events, logset.records())  # nothing lost, nothing twice
    assert sum(helpers.sysdig_count(sysdig_bin, f) for f in files) == len(events)


def test_record_cli_sigterm_finishes_the_object_and_closes(aws_env, bucket_of_logs, logset,
                                                           helpers, sysdig_bin, tmp_path):
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "t.scap", tmp_path / "state.json"
    args = ["record", "-w", out, "--state", state, "--open", f"s3://{bucket_of_logs}/logs/",
            "--init-config", '{"s3DownloadConcurrency": 1}']
    proc = subprocess.Popen(SCAP + [str(a) for a in args], env=env, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 30
    while not state.exists() and time.monotonic() < deadline:  # first commit done
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped: SIGTERM" in err
    first = helpers.read_events(out)  # a valid capture, ending at an object boundary
    assert 0 < len(first) < len(logset.records())
    assert helpers.sysdig_count(sysdig_bin, out) == len(first)
    assert json.loads(state.read_text())["events"] == len(first)
    scap(*args, env=env)  # the rest, appended as a second section
    helpers.same(helpers.read_events(out), logset.records())
    assert helpers.sysdig_count(sysdig_bin, out) == len(logset.records())


def test_record_cli_sigterm_stops_sqs_polling(aws_env, boto, unique, tmp_path):
    sqs = boto("sqs")
    name = unique("term-q")
    sqs.create_queue(QueueName=name)
    proc = subprocess.Popen(SCAP + ["record", "-w", str(tmp_path / "q.scap"), "--open",
                                    f"sqs://{name}"],
                            env=dict(os.environ, **aws_env), stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)  # polling an empty queue
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "recorded 0 events" in err and "stopped: SIGTERM" in err


def test_record_rotate_size_and_commit_acks(logdir, logset, helpers, tmp_path):
    from scaptools.plugin import Checkpoint
    from scaptools.record import Recorder, RecordOptions
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
    assert summary.files == [str(f) for f in files] and len(files) == 5
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
