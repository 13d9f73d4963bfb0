"""Fixtures for replay tests: an independent, plain-Python reading of the upstream CloudTrail rules.

``upstream_rules_for(record)`` says which rules of rules-upstream/aws_cloudtrail_rules.yaml
match one CloudTrail record, written directly from the rule conditions (not through
the engine), with Falco's missing-field semantics (docs/rules-language.md §6.1).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

RULE_ORDER = [
    "All Cloudtrail Events", "Console Login Through Assume Role", "Console Login Without MFA",
    "Console Root Login Without MFA", "Deactivate MFA for Root User", "Create AWS user",
    "Create Group", "Delete Group", "ECS Service Created", "ECS Task Run or Started",
    "Create Lambda Function", "Update Lambda Function Code",
    "Update Lambda Function Configuration", "Run Instances",
    "Run Instances in Non-approved Region", "Delete Bucket Encryption",
    "Delete Bucket Public Access Block", "List Buckets", "Put Bucket ACL", "Put Bucket Policy",
    "CloudTrail Trail Created", "CloudTrail Logging Disabled"]
DISABLED = {"All Cloudtrail Events", "List Buckets"}
_ABSENT = object()
SIMPLE = {  # rule -> event name, for the rules that are `ct.name=X and not ct.error exists`
    "Create AWS user": "CreateUser", "Create Group": "CreateGroup", "Delete Group": "DeleteGroup",
    "Create Lambda Function": "CreateFunction20150331",
    "Update Lambda Function Code": "UpdateFunctionCode20150331v2",
    "Update Lambda Function Configuration": "UpdateFunctionConfiguration20150331v2",
    "Run Instances": "RunInstances", "Delete Bucket Encryption": "DeleteBucketEncryption",
    "List Buckets": "ListBuckets", "Put Bucket ACL": "PutBucketAcl",
    "Put Bucket Policy": "PutBucketPolicy", "CloudTrail Trail Created": "CreateTrail",
    "CloudTrail Logging Disabled": "StopLogging"}


def _path(rec, *keys):
    for key in keys:
        if not isinstance(rec, dict) or key not in rec:
            return _ABSENT
        rec = rec[key]
    return rec


def _ct(rec, *keys):
    """A plain cloudtrail string field: absent, the string, or "" for other JSON types."""
    value = _path(rec, *keys)
    return value if value is _ABSENT or isinstance(value, str) else ""


def _jv(rec, *keys):
    """json.value: a string's content, JSON text otherwise (false -> "false", null -> "null")."""
    value = _path(rec, *keys)
    if value is _ABSENT or isinstance(value, str):
        return value
    return {True: "true", False: "false", None: "null"}.get(value, repr(value))


def upstream_rules_for(rec: dict) -> list[str]:
    """The upstream rules (in file order, disabled ones included) whose condition ``rec`` meets."""
    name, no_err = _ct(rec, "eventName"), "errorCode" not in rec
    itype = _ct(rec, "userIdentity", "type")
    login_ok = name == "ConsoleLogin" and no_err and \
        _jv(rec, "responseElements", "ConsoleLogin") == "Success"
    no_mfa = _jv(rec, "additionalEventData", "MFAUsed") == "No"
    not_assumed = itype is not _ABSENT and itype != "AssumedRole"  # != on a missing field is false
    src = _ct(rec, "eventSource")
    region = _ct(rec, "awsRegion")
    flags = [_jv(rec, "requestParameters", "PublicAccessBlockConfiguration", k) for k in
             ("RestrictPublicBuckets", "BlockPublicPolicy", "BlockPublicAcls", "IgnorePublicAcls")]
    match = {
        "All Cloudtrail Events": True,
        "Console Login Through Assume Role": login_ok and itype == "AssumedRole",
        "Console Login Without MFA": login_ok and not_assumed and no_mfa,
        "Console Root Login Without MFA": login_ok and no_mfa and not_assumed and itype == "Root",
        "Deactivate MFA for Root User": name == "DeactivateMFADevice" and no_err
        and itype == "Root" and _ct(rec, "requestParameters", "userName") == "AWS ROOT USER",
        "ECS Service Created": src == "ecs.amazonaws.com" and name == "CreateService" and no_err,
        "ECS Task Run or Started": src == "ecs.amazonaws.com"
        and name in ("RunTask", "StartTask") and no_err,
        "Run Instances in Non-approved Region": name == "RunInstances" and no_err
        and region != "us-east-0",  # `not ct.region in (...)` is true when region is absent
        "Delete Bucket Public Access Block": name == "PutBucketPublicAccessBlock" and no_err
        and _jv(rec, "requestParameters", "publicAccessBlock") == "" and "false" in flags,
    }
    for rule, event_name in SIMPLE.items():
        match[rule] = name == event_name and no_err
    return [rule for rule in RULE_ORDER if match[rule]]


def split_records(text: bytes) -> list[bytes]:
    """Objects directly inside the top-level object (docs/cloudtrail-plugin.md §3.4 step 2)."""
    out, depth, start, in_str, esc = [], 0, 0, False, False
    for i, b in enumerate(text):
        if in_str:
            esc, in_str = (False, True) if esc else (b == 0x5C, b != 0x22)
        elif b == 0x22:
            in_str = True
        elif b == 0x7B:
            depth += 1
            start = i if depth == 2 else start
        elif b == 0x7D:
            if depth == 2:
                out.append(text[start:i + 1])
            depth -= 1
    return out


@pytest.fixture(scope="session")
def labelled_files(shared) -> dict[str, list[bytes]]:
    root = shared / "cloudtrail"
    out = {}
    for p in sorted(root.rglob("*")):
        if p.name.endswith((".json", ".json.gz")) and p.parent != root:
            data = p.read_bytes()
            out[str(p.relative_to(root))] = split_records(
                gzip.decompress(data) if p.name.endswith(".gz") else data)
    return out


@pytest.fixture(scope="session")
def upstream_rules_file(shared) -> Path:
    return shared / "rules-upstream" / "aws_cloudtrail_rules.yaml"
