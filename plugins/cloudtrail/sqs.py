"""SQS queues of log-delivery notifications (docs/cloudtrail-plugin.md §3.3, §4.4).

A message body is an SNS notification envelope (``Type`` = ``Notification``,
keys matched case-insensitively) whose ``Message`` is either CloudTrail's own
notification ``{"s3Bucket": ..., "s3ObjectKey": [...]}`` or an S3 event
document ``{"Records": [{"s3": {"bucket": {"name"}, "object": {"key"}}}]}``.
Both inner shapes are recognised whatever ``useS3SNS`` says; with ``useS3SNS``
an S3 event document delivered straight to the queue (no SNS) is accepted too.
S3 events other than ``ObjectCreated:*`` announce nothing to read and are ignored.

Differences from upstream, chosen so that nothing is lost: a message is
deleted only after its events are durable (the recorder acks the checkpoint);
a message that cannot be processed is reported and left in the queue; S3 event
keys are URL-decoded and each record keeps its own bucket (§4.4 quirk).
"""
from __future__ import annotations

from urllib.parse import unquote_plus

import orjson

from scaptools.errors import PluginError

from .awsclient import describe

POLL_WAIT_SECONDS = 1  # long-poll wait: also how quickly a stop request is seen
MAX_MESSAGES = 10


class NotificationError(Exception):
    """A message that is not a notification this source understands."""


def queue_url(client, name: str, owner: str = "") -> str:
    """GetQueueUrl for ``sqs://<name>`` (``sqsOwnerAccount`` as queue owner when set)."""
    kwargs = {"QueueName": name}
    if owner:
        kwargs["QueueOwnerAWSAccountId"] = owner
    try:
        return client.get_queue_url(**kwargs)["QueueUrl"]
    except Exception as exc:  # botocore errors: name the queue, stop the stream
        raise PluginError(f"cloudtrail plugin error: cannot find queue {name!r}: "
                          f"{describe(exc)}", "cloudtrail") from exc


def receive(client, url: str) -> list[dict]:
    """One long poll; at most ``MAX_MESSAGES`` messages."""
    resp = client.receive_message(QueueUrl=url, MaxNumberOfMessages=MAX_MESSAGES,
                                  WaitTimeSeconds=POLL_WAIT_SECONDS,
                                  MessageAttributeNames=["All"])
    return resp.get("Messages", [])


def _loads(text, what: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise NotificationError(f"{what} is not JSON: {exc}") from None


def _member(obj: dict, name: str):
    """Go's case-insensitive JSON member match (exact match preferred)."""
    if name in obj:
        return obj[name]
    low = name.lower()
    for key, value in obj.items():
        if key.lower() == low:
            return value
    return None


def notified_objects(body: str, use_s3_sns: bool) -> list[tuple[str, str]]:
    """(bucket, key) of every log object a message announces.

    Raises NotificationError when the body is not a notification this source reads.
    """
    outer = _loads(body, "message body")
    if not isinstance(outer, dict):
        raise NotificationError("message body is not a JSON object")
    if use_s3_sns and _member(outer, "Type") is None and "Records" in outer:
        return _s3_event_objects(outer)
    if _member(outer, "Type") != "Notification":
        raise NotificationError("received SQS message that was not a SNS Notification")
    inner_text = _member(outer, "Message")
    if not isinstance(inner_text, str):
        raise NotificationError("SNS notification without a Message string")
    inner = _loads(inner_text, "SNS Message")
    if not isinstance(inner, dict):
        raise NotificationError("SNS Message is not a JSON object")
    if "s3Bucket" in inner or "s3ObjectKey" in inner:
        bucket, keys = inner.get("s3Bucket"), inner.get("s3ObjectKey")
        if not isinstance(bucket, str) or not isinstance(keys, list):
            raise NotificationError("CloudTrail notification without s3Bucket/s3ObjectKey")
        return [(bucket, k) for k in keys if isinstance(k, str)]
    return _s3_event_objects(inner)


def _s3_event_objects(doc: dict) -> list[tuple[str, str]]:
    """Objects of an S3 event document; an ``s3:TestEvent`` (no ``Records``) has none."""
    out = []
    for rec in doc.get("Records") or ():
        try:
            s3 = rec["s3"]
            bucket, key = s3["bucket"]["name"], s3["object"]["key"]
        except (KeyError, TypeError):
            raise NotificationError("S3 event record without s3.bucket.name/s3.object.key") \
                from None
        if not str(rec.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            continue  # a deletion announces nothing to read
        out.append((bucket, unquote_plus(key)))
    return out


def delete_message(client, url: str, receipt: str) -> None:
    client.delete_message(QueueUrl=url, ReceiptHandle=receipt)


def release_message(client, url: str, receipt: str) -> None:
    """Make a received but unprocessed message visible again (best effort)."""
    try:
        client.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt,
                                         VisibilityTimeout=0)
    except Exception:  # it becomes visible anyway when its visibility timeout ends
        pass
