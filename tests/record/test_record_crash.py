"""``scap record --state`` killed (SIGKILL) at each step of a commit, then restarted.

Each kill point is exact: the N-th fsync (before or after it), or a boto3 call
boundary (botocore's before-call/after-call events), in a real recording
against a real moto S3/SQS server on 127.0.0.1 (crash_driver.py). After the
restarts every record is in the capture exactly once, and duplicates appear
only where a summary said it removed them. The logs are made here from the
records the repository ships, so these tests need no reference data.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("crash_driver.py")


def drive(env, out, state, params, kill="none", config="{}"):
    proc = subprocess.run([sys.executable, str(DRIVER), str(out), str(state), params, config,
                           kill], env=env, capture_output=True, text=True, timeout=120)
    return proc


def counts(stdout: str) -> dict[str, int]:
    line = stdout.strip().splitlines()[-1]
    return {k: int(v) for k, v in (part.split("=") for part in line.split())}


@pytest.fixture
def bucket(boto, unique):
    s3 = boto("s3")
    name = unique("crash")
    s3.create_bucket(Bucket=name)
    return s3, name


def put(s3, bucket: str, logs: dict[str, bytes]) -> None:
    for key, data in logs.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def assert_all_once(helpers, out: Path, logs) -> None:
    got = helpers.recorded(out)
    assert sorted(set(got)) == helpers.records_of(logs)  # nothing lost
    assert len(got) == len(set(got)), "a record was written twice"


@pytest.mark.parametrize("kill,out_name", [
    ("fsync-before:1", "s3.scap"), ("fsync-after:1", "s3.scap"), ("fsync-before:2", "s3.scap"),
    ("fsync-after:2", "s3.scap"), ("fsync-after:3", "s3.scap"), ("fsync-before:5", "s3.scap"),
    ("fsync-after:6", "s3.scap"), ("fsync-after:2", "s3.scap.gz"),
    ("fsync-before:3", "s3.scap.gz"), ("after-call:GetObject:7", "s3.scap.gz")])
def test_s3_killed_at_a_commit_then_resumed(aws_env, helpers, bucket, tmp_path, kill, out_name):
    s3, name = bucket
    logs = helpers.make_logs()
    put(s3, name, logs)
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / out_name, tmp_path / "state"
    params = f"s3://{name}/AWSLogs/"
    first = drive(env, out, state, params, kill)
    assert first.returncode == -9, first.stderr  # killed where asked
    again = drive(env, out, state, params)
    assert again.returncode == 0, again.stderr
    assert counts(again.stdout)["duplicates"] == 0
    assert_all_once(helpers, out, logs)


def test_s3_late_objects_before_and_after_the_last_key_are_recorded(aws_env, helpers, bucket, tmp_path):
    s3, name = bucket
    early, late = helpers.make_logs(seed=1), helpers.make_logs(count=4, seed=2)
    keys = sorted(early)
    # late objects: same minute with a lower and a higher suffix, another region, another account
    renamed = [keys[0].replace("_010000", "_000000"), keys[-1].replace("_01", "_99"),
               keys[3].replace("us-east-1", "eu-west-3"),
               keys[5].replace("111122223333", "444455556666")]
    late = dict(zip(renamed, late.values()))
    assert min(late) < max(early) < max(late)
    put(s3, name, early)
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "late.scap", tmp_path / "state"
    params = f"s3://{name}/AWSLogs/"
    assert drive(env, out, state, params).returncode == 0
    put(s3, name, late)
    again = drive(env, out, state, params)
    assert again.returncode == 0, again.stderr
    assert counts(again.stdout)["already"] == len(early)
    assert_all_once(helpers, out, {**early, **late})


def test_s3_changed_object_is_recorded_again_and_old_days_are_pruned(aws_env, helpers, bucket, tmp_path):
    """The state keeps key and ETag: an object rewritten with other records is read
    again; done objects named before the start of s3Interval leave the state."""
    s3, name = bucket
    logs = helpers.make_logs(count=3, seed=3)
    put(s3, name, logs)
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "etag.scap", tmp_path / "state"
    params = f"s3://{name}/AWSLogs/"
    assert drive(env, out, state, params).returncode == 0
    key = sorted(logs)[1]
    newer = helpers.make_logs(count=2, seed=4)
    s3.put_object(Bucket=name, Key=key, Body=newer[sorted(newer)[1]])
    again = drive(env, out, state, params)
    events = len(helpers.records_of({key: newer[sorted(newer)[1]]}))
    assert counts(again.stdout) == {"events": events, "duplicates": 0, "already": 2}
    lines = state.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    # a later interval: every object of 2024-03-12 is before it, so none is kept
    done = {}
    for line in lines[1:]:
        done.update(json.loads(line).get("done", {}))
    assert len(done) == 3 and done[f"s3://{name}/{key}"] != ""
    later = drive(env, out, state, params, config='{"s3Interval": "2024-03-13T00:00:00Z"}')
    assert later.returncode == 0, later.stderr
    assert counts(later.stdout) == {"events": 0, "duplicates": 0, "already": 0}
    assert json.loads(state.read_text().splitlines()[-1])["done"] == {}


@pytest.fixture
def queue(boto, unique, bucket, helpers):
    s3, name = bucket
    logs = helpers.make_logs(seed=5)
    put(s3, name, logs)
    sqs = boto("sqs")
    qname = unique("crash-q")
    url = sqs.create_queue(QueueName=qname, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    keys = sorted(logs)
    for i in range(0, len(keys), 3):  # CloudTrail names several objects per notification
        note = {"s3Bucket": name, "s3ObjectKey": keys[i:i + 3]}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
            {"Type": "Notification", "Message": json.dumps(note)}))
    return qname, logs


@pytest.mark.parametrize("kill", ["after-call:DeleteMessage:1", "before-call:DeleteMessage:1",
                                  "after-call:DeleteMessage:3", "fsync-before:1",
                                  "fsync-after:1", "fsync-after:2", "fsync-before:3",
                                  "fsync-after:4", "after-call:GetObject:5"])
def test_sqs_killed_at_a_commit_then_resumed(aws_env, helpers, queue, tmp_path, kill):
    qname, logs = queue
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "q.scap", tmp_path / "state"
    first = drive(env, out, state, f"sqs://{qname}", kill)
    assert first.returncode == -9, first.stderr
    again = drive(env, out, state, f"sqs://{qname}")
    assert again.returncode == 0, again.stderr
    assert counts(again.stdout)["duplicates"] == 0
    assert_all_once(helpers, out, logs)


def test_sqs_message_committed_but_not_deleted_is_deleted_without_a_second_copy(
        aws_env, helpers, queue, tmp_path):
    """Killed right after the journal line of the first commit, before its deletes:
    the messages come back, are known from the state, and are only deleted."""
    qname, logs = queue
    env = dict(os.environ, **aws_env)
    out, state = tmp_path / "q.scap", tmp_path / "state"
    first = drive(env, out, state, f"sqs://{qname}", "before-call:DeleteMessage:1")
    assert first.returncode == -9
    committed = len(helpers.recorded(out))
    assert committed > 0
    again = drive(env, out, state, f"sqs://{qname}")
    assert counts(again.stdout)["already"] >= 1
    assert counts(again.stdout)["events"] == len(helpers.records_of(logs)) - committed
    assert_all_once(helpers, out, logs)
