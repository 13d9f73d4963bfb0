"""S3 and SQS faults that cross the wire: a proxy on 127.0.0.1 between boto3 and moto
answers 503s and throttling, resets connections, sends slow and truncated bodies
(faultproxy.py). Recording goes on, nothing is lost or written twice, and a
failure that does not pass is reported, never silent."""
from __future__ import annotations

import json

import boto3
import pytest

from scaptools.record.recorder import Recorder, RecordOptions
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config


def session_via(proxy, monkeypatch) -> boto3.Session:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    return boto3.Session(region_name="us-east-1")


def record(params, session, out, config=None, **opts):
    problems = []
    stream = open_source(parse_init_config(json.dumps(config or {})), params, session=session,
                         on_problem=problems.append)
    summary = Recorder(stream, 2, RecordOptions(out=str(out), **opts),
                       report=problems.append).run()
    return summary, stream, problems


@pytest.fixture
def bucket(boto, unique, helpers):
    s3 = boto("s3")
    name = unique("faults")
    s3.create_bucket(Bucket=name)
    logs = helpers.make_logs(count=10, seed=11)
    for key, body in logs.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return name, logs


def test_s3_transient_faults_over_http_are_retried(aws_env, fault_proxy, monkeypatch, bucket,
                                                   helpers, tmp_path):
    name, logs = bucket
    for kind, count in (("503", 2), ("throttle", 1), ("reset", 2), ("truncate", 2),
                        ("slow", 2)):
        fault_proxy.fail("GetObject", kind, count)
    fault_proxy.fail("ListObjectsV2", "reset")
    fault_proxy.fail("ListObjectsV2", "503")
    out = tmp_path / "s3.scap"
    summary, stream, problems = record(f"s3://{name}/AWSLogs/",
                                       session_via(fault_proxy, monkeypatch), out,
                                       {"s3DownloadConcurrency": 2})
    assert len(fault_proxy.injected) == 11  # every fault reached the client
    got = helpers.recorded(out)
    assert sorted(got) == helpers.records_of(logs)  # nothing lost, nothing twice
    assert not stream.failed and not problems


def test_s3_permanent_fault_is_reported_and_the_rest_recorded(aws_env, fault_proxy, monkeypatch,
                                                              bucket, helpers, tmp_path):
    name, logs = bucket
    victim = sorted(logs)[4]
    fault_proxy.fail("GetObject", "denied", 1, path=victim.rsplit("/", 1)[1])
    out = tmp_path / "s3.scap"
    summary, stream, problems = record(f"s3://{name}/AWSLogs/",
                                       session_via(fault_proxy, monkeypatch), out)
    rest = {k: v for k, v in logs.items() if k != victim}
    assert sorted(helpers.recorded(out)) == helpers.records_of(rest)
    assert stream.failed == {f"s3://{name}/{victim}"} and stream.stats.objects_failed == 1
    assert len(problems) == 1 and victim in problems[0] and "AccessDenied" in problems[0]


@pytest.fixture
def queue(boto, unique, bucket):
    name, logs = bucket
    sqs = boto("sqs")
    qname = unique("faults-q")
    url = sqs.create_queue(QueueName=qname, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    keys = sorted(logs)
    for i in range(0, len(keys), 2):
        note = {"s3Bucket": name, "s3ObjectKey": keys[i:i + 2]}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
            {"Type": "Notification", "Message": json.dumps(note)}))
    return sqs, qname, url, logs


def messages_left(sqs, url) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"])


def test_sqs_transient_faults_over_http_are_retried(aws_env, fault_proxy, monkeypatch, queue,
                                                    helpers, tmp_path):
    sqs, qname, url, logs = queue
    fault_proxy.fail("ReceiveMessage", "throttle", 2)
    fault_proxy.fail("ReceiveMessage", "reset")
    fault_proxy.fail("DeleteMessage", "503", 2)
    fault_proxy.fail("DeleteMessage", "reset")
    fault_proxy.fail("GetObject", "truncate")
    fault_proxy.fail("GetObject", "slow")
    out = tmp_path / "q.scap"
    total = len(helpers.records_of(logs))
    summary, stream, problems = record(f"sqs://{qname}", session_via(fault_proxy, monkeypatch),
                                       out, max_events=total, duration=60)
    assert len(fault_proxy.injected) == 8
    assert sorted(helpers.recorded(out)) == helpers.records_of(logs)
    assert messages_left(sqs, url) == 0 and summary.ack_failures == 0 and not problems


def test_sqs_deletes_that_keep_failing_are_reported_and_done_by_the_next_run(
        aws_env, fault_proxy, monkeypatch, queue, helpers, tmp_path):
    """Every DeleteMessage fails: the run reports each failed acknowledgement and the
    messages stay; the next run with the same --state deletes them without a second copy."""
    sqs, qname, url, logs = queue
    fault_proxy.fail("DeleteMessage", "denied", 1000)
    out, state = tmp_path / "q.scap", tmp_path / "state"
    total = len(helpers.records_of(logs))
    session = session_via(fault_proxy, monkeypatch)
    summary, stream, problems = record(f"sqs://{qname}", session, out, max_events=total,
                                       duration=120, state_path=str(state))
    assert summary.ack_failures == 5 and len(problems) == 5
    assert all("cannot acknowledge" in p for p in problems)
    assert sorted(helpers.recorded(out)) == helpers.records_of(logs)
    assert messages_left(sqs, url) == 5
    fault_proxy.faults.clear()
    again = open_source(parse_init_config(""), f"sqs://{qname}", session=session)
    recorder = Recorder(again, 2, RecordOptions(out=str(out), duration=60,
                                                state_path=str(state)))

    def stop_when_drained(rec=recorder):  # progress hook: stop once every message is gone
        if messages_left(sqs, url) == 0:
            rec.request_stop("drained")
    recorder.opts.progress = stop_when_drained
    result = recorder.run()
    assert result.events == 0 and again.stats.already == 5
    assert sorted(helpers.recorded(out)) == helpers.records_of(logs)
    assert messages_left(sqs, url) == 0
