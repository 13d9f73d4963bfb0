"""The core's plugin-event fields against the Python extractors on made-up payloads.

Hypothesis starts from a record (the plugin events of the repository's captures, and
hand-written records that hold what the computed fields read: users of every kind,
EC2 tags and image ids, S3 transfers, public access blocks) and edits it: members
removed, added or duplicated, values replaced by odd ones (numbers, null, arrays and
objects where strings are expected, huge and odd numbers), unicode, keys and strings
written with ``\\u`` escapes or ``\\/``, whitespace, top-level values that are not
objects, NUL bytes around the payload. It then damages payloads (truncation, bytes
inserted, replaced or removed) and tries random bytes. The core must give exactly the
Python path's values, and never crash.

Duplicate keys: the core takes the first, as upstream does, and so does the Python
path. Where the Python path still differs on records with duplicates (``check``
names the cases), a field may differ there only, and must then equal what Python
gives for the same record without the later duplicates.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_core_fields import ROOT, SPECS, Paths, capture_events, core_module, same

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

# Records that hold what the computed fields read (docs/cloudtrail-plugin.md §7.3-7.5).
HAND = [
    {"eventName": "RunInstances", "eventSource": "ec2.amazonaws.com", "awsRegion": "us-east-1",
     "sourceIPAddress": "1.2.3.4", "readOnly": False, "errorCode": None,
     "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "1"},
     "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-r"}]},
                           "tagSpecificationSet": {"items": [
                               {"resourceType": "instance", "tags": [
                                   {"key": "x", "value": "y"}, {"key": "Name", "value": "web"}]},
                               {"resourceType": "volume", "tags": [{"key": "Name", "value": "v"}]},
                               {"resourceType": "instance", "tags": [{"key": "Name", "value": "db"}]}]}},
     "responseElements": {"instancesSet": {"items": [
         {"imageId": "ami-1", "instanceId": "i-1"}, {"imageId": ""}, {"imageId": "ami-3"}]}}},
    {"eventName": "AssumeRole", "eventSource": "sts.amazonaws.com", "awsRegion": "eu-west-1",
     "sourceIPAddress": "sts.amazonaws.com",
     "userIdentity": {"type": "AssumedRole", "principalId": "AROA:sess-p",
                      "arn": "arn:aws:sts::1:assumed-role/role/sess-a",
                      "sessionContext": {"sessionIssuer": {"userName": "role", "type": "Role"}}},
     "resources": [{"ARN": "arn:aws:iam::1:role/role", "accountId": "1", "type": "AWS::IAM::Role"},
                   {"ARN": "arn:aws:kms::1:key/k"}],
     "tlsDetails": {"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE", "clientProvidedHostHeader": "h"}},
    {"eventName": "GetObject", "eventSource": "s3.amazonaws.com", "awsRegion": "us-west-2",
     "sourceIPAddress": "10.0.0.1", "readOnly": True, "managementEvent": False,
     "userIdentity": {"type": "AWSService", "invokedBy": "10.0.0.1"},
     "requestParameters": {"bucketName": "b", "key": "dir/k.txt", "Host": "b.s3.amazonaws.com"},
     "additionalEventData": {"bytesTransferredIn": 0, "bytesTransferredOut": 1024.5}},
    {"eventName": "PutBucketPublicAccessBlock", "eventSource": "s3.amazonaws.com",
     "awsRegion": "us-east-1", "sourceIPAddress": "1.1.1.1", "BlockPublicAcls": True,
     "userIdentity": {"type": "Root", "accountId": "1"},
     "requestParameters": {"PublicAccessBlockConfiguration": {
         "BlockPublicAcls": True, "IgnorePublicAcls": False}, "bucketName": "b"}},
    {"eventName": "DescribeFastLaunchImages", "eventSource": "ec2.amazonaws.com",
     "awsRegion": "ap-south-1", "sourceIPAddress": "2.2.2.2",
     "userIdentity": {"type": "FederatedUser", "userName": "fed", "principalId": "1:fed"},
     "requestParameters": {"DescribeFastLaunchImagesRequest": {"ImageId": {"content": "ami-f"}},
                           "launchSpecification": {"imageId": "ami-l"}}},
    {"eventName": "RequestSpotInstances", "eventSource": "ec2.amazonaws.com", "awsRegion": "x",
     "sourceIPAddress": "3.3.3.3", "userIdentity": {"type": "AWSAccount", "accountId": "2"},
     "recipientAccountId": "3", "sessionCredentialFromConsole": "true",
     "requestParameters": {"launchSpecification": {"imageId": "ami-l"}},
     "addendum": {"reason": "r", "updatedFields": "f", "originalRequestID": "q",
                  "originalEventID": "e"}},
    {"eventName": "PutObject", "eventID": "id", "eventTime": "2023-01-01T00:00:00Z",
     "errorMessage": "m", "userAgent": "ua", "requestID": "r", "eventType": "AwsApiCall",
     "apiVersion": "v", "serviceEventDetails": {"a": 1}, "sharedEventID": "s",
     "vpcEndpointId": "vpce", "eventCategory": "Management", "edgeDeviceDetails": "e",
     "userIdentity": {"type": "IAMUser", "arn": "a/b/c", "principalId": "p:q"},
     "requestParameters": {name: name.upper() for name in (
         "availabilityZone", "cluster", "functionName", "groupName", "Host", "name", "policy",
         "reason", "target", "documentName", "serialNumber", "serviceName", "subnetId",
         "taskDefinition", "userName", "bucketName", "key", "repositoryName", "imageTag",
         "roleName", "policyName", "imageId")},
     "responseElements": {"subnetId": "sn", "reservationId": "r-1", "ConsoleLogin": "Success"},
     "additionalEventData": {"MFAUsed": "No", "bytesTransferredIn": "12"},
     "a/b": {"m~n": [1, 2.5]}, "m~n": {"x": None}, "k": {"k": [True]}},
]

STRINGS = st.one_of(st.sampled_from([
    "", "x", "Name", "instance", "true", "false", "null", "GetObject", "PutObject",
    "PutBucketPublicAccessBlock", "Root", "IAMUser", "AWSService", "AssumedRole",
    "AWSAccount", "FederatedUser", "a/b/c", "arn:aws:sts::1:assumed-role/r/sess", "AID:sess",
    "a:b:c", "s3.amazonaws.com", ".amazonaws.com", "amazonaws.com", "1.2.3.4", "ami-1",
    "caf\u00e9", "\U0001f600", "q\"uote", "back\\slash", "tab\there", "nul\x00", "\u2028",
    "~0~1/", "\"eventName\":"]),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8))
NUMBERS = st.one_of(
    st.sampled_from(["0", "-0", "2.50", "1e3", "1E+2", "-5.5", "33.0", "1e19", "-1",
                     "18446744073709551615", "18446744073709551616", "-9223372036854775808",
                     "-9223372036854775809", "123456789012345678901234567890", "1.5e300",
                     "2.5e-400", "0.0", "-0.0", "1.7976931348623157e308", "4e-320"]),
    st.integers(-(2 ** 70), 2 ** 70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr))
KEYS = st.sampled_from([
    "eventName", "eventSource", "eventID", "errorCode", "awsRegion", "sourceIPAddress",
    "readOnly", "userIdentity", "type", "userName", "invokedBy", "arn", "principalId",
    "accountId", "recipientAccountId", "sessionContext", "sessionIssuer", "requestParameters",
    "responseElements", "bucketName", "key", "Host", "imageId", "items", "instancesSet",
    "tagSpecificationSet", "resourceType", "tags", "value", "Name", "additionalEventData",
    "bytesTransferredIn", "bytesTransferredOut", "PublicAccessBlockConfiguration",
    "BlockPublicAcls", "resources", "x", ""])


def string():
    return st.builds(lambda text, style: ["str", text, style], STRINGS, st.integers(0, 5))


SCALARS = st.one_of(string(), NUMBERS.map(lambda text: ["num", text]),
                    st.sampled_from(["true", "false", "null"]).map(lambda w: ["lit", w]))
ODD = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(lambda items: ["arr", items]),
    st.lists(st.tuples(KEYS, inner, st.integers(0, 6)).map(list), max_size=3)
    .map(lambda pairs: ["obj", pairs])), max_leaves=5)
SPACES = st.sampled_from(["", " ", "\n  ", "\t", "\r\n"])


def tree(value):
    """A parsed record as a document: ``["obj", [[key, node, escaped], ...]]``,
    ``["arr", [node, ...]]``, ``["str", text, style]``, ``["num", text]``, ``["lit", word]``."""
    if isinstance(value, dict):
        return ["obj", [[key, tree(v), 0] for key, v in value.items()]]
    if isinstance(value, list):
        return ["arr", [tree(v) for v in value]]
    if isinstance(value, str):
        return ["str", value, 0]
    if value is None or isinstance(value, bool):
        return ["lit", json.dumps(value)]
    return ["num", json.dumps(value)]


def write_string(text: str, style: int) -> str:
    """0, 4, 5: as json writes it; 1: non-ASCII as ``\\u``; 2: every character as
    ``\\u``; 3: ``/`` as ``\\/``."""
    if style == 2:
        units = text.encode("utf-16-le")
        return '"' + "".join(f"\\u{units[i] | units[i + 1] << 8:04x}"
                             for i in range(0, len(units), 2)) + '"'
    out = json.dumps(text, ensure_ascii=style == 1)
    return out.replace("/", "\\/") if style == 3 else out


def write(node, space: str, first_only: bool = False, strings=None, keys=False) -> str:
    """The JSON text of `node`; `first_only` leaves out the later of duplicate keys;
    `strings` writes every string in that style, `keys` every key with ``\\u``."""
    kind = node[0]
    if kind == "str":
        return write_string(node[1], node[2] if strings is None else strings)
    if kind in ("num", "lit"):
        return node[1]
    if kind == "arr":
        return "[" + ("," + space).join(write(n, space, first_only, strings, keys)
                                       for n in node[1]) + "]"
    seen, parts = set(), []
    for key, child, escaped in node[1]:
        if first_only and key in seen:
            continue
        seen.add(key)
        parts.append(write_string(key, 2 if escaped == 1 or keys else 0) + space + ":" + space
                     + write(child, space, first_only, strings, keys))
    return "{" + space + ("," + space).join(parts) + space + "}"


def has_duplicates(node) -> bool:
    if node[0] == "arr":
        return any(has_duplicates(n) for n in node[1])
    if node[0] != "obj":
        return False
    keys = [key for key, _, _ in node[1]]
    return len(keys) != len(set(keys)) or any(has_duplicates(c) for _, c, _ in node[1])


def edit(draw, root):
    """One edit somewhere in the document; returns the (maybe new) root."""
    node, slot = root, None  # slot: (list holding the node, index, 1 for an object member)
    while node[0] in ("obj", "arr") and node[1] and draw(st.integers(0, 3)):
        i = draw(st.integers(0, len(node[1]) - 1))
        slot = (node[1], i, 1 if node[0] == "obj" else None)
        node = node[1][i][1] if node[0] == "obj" else node[1][i]
    op = draw(st.sampled_from(["odd", "string", "number", "delete", "duplicate", "add",
                               "escape", "restyle"]))
    new = None
    if op == "odd":
        new = draw(ODD)
    elif op == "string":
        new = draw(string())
    elif op == "number":
        new = ["num", draw(NUMBERS)]
    elif op == "add" and node[0] == "obj":
        node[1].insert(draw(st.integers(0, len(node[1]))),
                       [draw(KEYS), draw(st.one_of(ODD, string())), draw(st.integers(0, 6))])
    elif op == "restyle" and node[0] == "str":
        node[2] = draw(st.integers(0, 5))
    elif slot is not None:
        items, i, at = slot
        if op == "delete":
            del items[i]
        elif op == "duplicate" and at is not None:
            items.insert(draw(st.integers(i + 1, len(items))),
                         [items[i][0], draw(st.one_of(ODD, string())), draw(st.integers(0, 6))])
        elif op == "escape" and at is not None:
            items[i][2] = 1
    if new is None:
        return root
    if slot is None:
        return new
    items, i, at = slot
    if at is None:
        items[i] = new
    else:
        items[i][at] = new
    return root


@pytest.fixture(scope="module")
def paths() -> Paths:
    core_module()
    return Paths(SPECS)


@pytest.fixture(scope="module")
def templates() -> list:
    payloads = [payload for path in sorted((ROOT / "captures").glob("*.scap"))
                for payload, _, _ in capture_events(Path(path))]
    return [tree(orjson.loads(p)) for p in payloads] + [tree(record) for record in HAND]


@st.composite
def payloads(draw, templates, edits=6):
    """``(payload, the same without later duplicate keys, whether it has duplicates)``."""
    hand = len(templates) - len(HAND)
    index = draw(st.one_of(st.integers(0, len(templates) - 1),
                          st.integers(hand, len(templates) - 1)))
    doc = copy.deepcopy(templates[index])
    for _ in range(draw(st.integers(0, edits))):
        doc = edit(draw, doc)
    space = draw(SPACES)
    strings = draw(st.sampled_from([None, None, None, 1, 2, 3]))
    keys = draw(st.sampled_from([False] * 5 + [True]))
    around = draw(st.sampled_from(["", "", "", " ", "\n", "\x00", "\x00\x00"]))
    tail = draw(st.sampled_from(["", "", "", " ", "\n", "\x00"]))

    def text(first_only):
        return (around + write(doc, space, first_only, strings, keys) + tail).encode("utf-8")
    return text(False), text(True), has_duplicates(doc)


def check(paths: Paths, payload: bytes, first_only: bytes | None = None,
          ts: int = 1_650_000_000_123_456_789) -> None:
    """Every field equal in both paths. With `first_only` (the record has duplicate
    keys) a field may instead equal Python's value for the record without its later
    duplicates: an expected difference while the Python path still differs on records
    with duplicates in two ways (NUL bytes around the payload: its second parse keeps
    the last duplicate; a number beyond 64 bits: the parse that keeps the first
    duplicate reads it as an exact integer where orjson reads a double)."""
    paths.restart()
    differences = paths.differences(payload, ts, 3)
    if differences and first_only is not None:
        paths.restart()
        reference = dict(zip(paths.specs, paths.python_values(first_only, ts, 3)))
        differences = [(spec, python, core) for spec, python, core in differences
                       if not same(reference[spec], core)]
    assert differences == [], payload


@SETTINGS
@given(data=st.data())
def test_generated_records(paths, templates, data):
    payload, first_only, duplicates = data.draw(payloads(templates))
    check(paths, payload, first_only if duplicates else None)


MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["cut", "insert", "replace", "remove"]),
    st.floats(0, 1),
    st.sampled_from([b"\x00", b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b" ", b"\xff",
                     b"\xc3", b"\xed\xa0\x80", b"\\u", b"\\ud800", b"\x01", b"e", b"-", b"0",
                     b"\n", b"\"eventName\":", b'"x"'])), min_size=1, max_size=3)


def damage(payload: bytes, mutations) -> bytes:
    data = bytearray(payload)
    for op, where, piece in mutations:
        at = int(where * len(data))
        if op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = piece
        elif op == "replace":
            data[at:at + len(piece)] = piece
        else:
            del data[at:at + len(piece)]
    return bytes(data)


@SETTINGS
@given(data=st.data(), mutations=MUTATIONS)
def test_damaged_records(paths, templates, data, mutations):
    payload, first_only, duplicates = data.draw(payloads(templates, edits=2))
    check(paths, damage(payload, mutations),
          damage(first_only, mutations) if duplicates else None)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=64))
def test_random_bytes(paths, payload):
    check(paths, payload)
