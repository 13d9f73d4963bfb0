"""The SQS route against a real (moto) SQS + S3 server, through the recorder (§4.4)."""
from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from scaptools.record.recorder import Recorder, RecordOptions
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config


@pytest.fixture
def logs(boto, unique, logset):
    """A bucket with the first 15 log files (keys with a space and a '+' included)."""
    s3 = boto("s3")
    bucket = unique("sqs-logs")
    s3.create_bucket(Bucket=bucket)
    keys = {}
    for i, path in enumerate(list(logset.files)[:15]):
        sub = "dir with space/" if i % 5 == 0 else "a+b/" if i == 3 else ""
        key = f"AWSLogs/{sub}{path.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=logset.files[path][0])
        keys[key] = path
    return bucket, keys


def sns(message: dict) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m", "Message": json.dumps(message),
                       "TopicArn": "arn:aws:sns:us-east-1:123456789012:trail"})


def cloudtrail_note(bucket, keys) -> str:
    return sns({"s3Bucket": bucket, "s3ObjectKey": list(keys)})


def s3_event_note(bucket, key) -> str:
    return sns({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": bucket},
                                    "object": {"key": quote_plus(key), "size": 1}}}]})


def queue_with(boto, unique, bodies):
    sqs = boto("sqs")
    name = unique("trail-q")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return sqs, name, url


def messages_left(sqs, url) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"])


def run(name, config, out, max_events):
    problems = []
    stream = open_source(parse_init_config(json.dumps(config)), f"sqs://{name}",
                         on_problem=problems.append)
    recorder = Recorder(stream, 2, RecordOptions(out=str(out), max_events=max_events,
                                                 duration=30), report=problems.append)
    return recorder.run(), stream, problems


@pytest.mark.parametrize("shape", ["cloudtrail", "s3event"])
def test_record_sqs_notifications(boto, unique, logs, logset, helpers, tmp_path, shape,
                                  sysdig_bin, tshark_bin):
    bucket, keys = logs
    key_list = sorted(keys)
    if shape == "cloudtrail":  # CloudTrail lists several keys per notification
        bodies = [cloudtrail_note(bucket, key_list[i:i + 4]) for i in range(0, len(key_list), 4)]
    else:
        bodies = [s3_event_note(bucket, k) for k in key_list]
    sqs, name, url = queue_with(boto, unique, bodies)
    expected = logset.records(list(keys.values()))
    summary, stream, problems = run(name, {"useS3SNS": shape == "s3event"},
                                    tmp_path / "q.scap", len(expected))
    helpers.same(helpers.read_events(tmp_path / "q.scap"), expected)
    assert helpers.sysdig_count(sysdig_bin, tmp_path / "q.scap") == len(expected)
    assert helpers.tshark_count(tshark_bin, tmp_path / "q.scap") == len(expected)
    assert summary.events == len(expected) and stream.stats.messages == len(bodies)
    assert messages_left(sqs, url) == 0  # each deleted once its events were committed
    assert not problems


def test_record_sqs_failed_messages_stay_and_duplicates_are_dropped(boto, unique, logs, logset,
                                                                    helpers, tmp_path):
    bucket, keys = logs
    key_list = sorted(keys)
    bodies = ["this is not JSON", cloudtrail_note(bucket, ["AWSLogs/missing.json"]),
              json.dumps({"Type": "SubscriptionConfirmation"}),
              cloudtrail_note(bucket, key_list[:8]), cloudtrail_note(bucket, key_list[:8]),
              cloudtrail_note(bucket, key_list[8:])]
    sqs, name, url = queue_with(boto, unique, bodies)
    expected = logset.records(list(keys.values()))
    summary, stream, problems = run(name, {}, tmp_path / "q.scap", len(expected))
    helpers.same(helpers.read_events(tmp_path / "q.scap"), expected)
    assert stream.stats.duplicates == len(logset.records([keys[k] for k in key_list[:8]]))
    assert messages_left(sqs, url) == 3  # the three that could not be processed
    assert len(problems) == 3 and all("left in the queue" in p for p in problems)
    assert any("missing.json" in p for p in problems)


def test_record_sqs_delete_false_keeps_messages(boto, unique, logs, logset, helpers, tmp_path):
    bucket, keys = logs
    sqs, name, url = queue_with(boto, unique, [cloudtrail_note(bucket, sorted(keys))])
    expected = logset.records(list(keys.values()))
    run(name, {"sqsDelete": False}, tmp_path / "q.scap", len(expected))
    helpers.same(helpers.read_events(tmp_path / "q.scap"), expected)
    assert messages_left(sqs, url) == 1


def test_record_sqs_owner_account_is_sent(aws_env, boto, unique, tmp_path):
    import boto3
    sqs, name, url = queue_with(boto, unique, [])
    session = boto3.Session(region_name="us-east-1")
    seen = []
    session.events.register("provide-client-params.sqs.GetQueueUrl",
                            lambda params, **kw: seen.append(dict(params)))
    stream = open_source(parse_init_config('{"sqsOwnerAccount": "123456789012"}'),
                         f"sqs://{name}", session=session)
    assert next(stream).info == ""  # an empty poll: the idle checkpoint
    stream.stop()
    assert list(stream) == []
    assert seen == [{"QueueName": name, "QueueOwnerAWSAccountId": "123456789012"}]
