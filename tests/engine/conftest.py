"""Fixtures for the rule-engine tests: tiny FieldSets over plain JSON events.

``FakeEvent`` carries ``.json`` (a dict), ``.ts``, ``.num``; the field sets
extract values by JSON path with the missing-value convention of
fields/base.py (None = no value).
"""
from __future__ import annotations

import json

import pytest

from scaptools.fields.base import ARG_OPTIONAL, ARG_REQUIRED, FieldInfo, FieldSet

# cloudtrail-plugin.md §7.2 names and types (paths simplified for tests)
CT_PATHS = {
    "ct.id": "eventID", "ct.error": "errorCode", "ct.errormessage": "errorMessage",
    "ct.time": "eventTime", "ct.src": "eventSource", "ct.shortsrc": "eventSource",
    "ct.name": "eventName", "ct.user.accountid": "userIdentity.accountId",
    "ct.user.identitytype": "userIdentity.type", "ct.user.principalid": "userIdentity.principalId",
    "ct.user.arn": "userIdentity.arn", "ct.region": "awsRegion",
    "ct.response.subnetid": "responseElements.subnetId",
    "ct.response.reservationid": "responseElements.reservationId",
    "ct.request.availabilityzone": "requestParameters.availabilityZone",
    "ct.request.cluster": "requestParameters.cluster",
    "ct.request.functionname": "requestParameters.functionName",
    "ct.request.groupname": "requestParameters.groupName",
    "ct.request.host": "requestParameters.Host", "ct.request.name": "requestParameters.name",
    "ct.request.policy": "requestParameters.policy", "ct.request.reason": "requestParameters.reason",
    "ct.request.target": "requestParameters.target",
    "ct.request.documentname": "requestParameters.documentName_never",
    "ct.request.serialnumber": "requestParameters.serialNumber",
    "ct.request.servicename": "requestParameters.serviceName",
    "ct.request.subnetid": "requestParameters.subnetId",
    "ct.request.taskdefinition": "requestParameters.taskDefinition",
    "ct.request.username": "requestParameters.userName", "ct.srcip": "sourceIPAddress",
    "ct.useragent": "userAgent", "ct.managementevent": "managementEvent",
    "ct.readonly": "readOnly", "ct.requestid": "requestID", "ct.eventtype": "eventType",
    "ct.apiversion": "apiVersion", "ct.recipientaccountid": "recipientAccountId",
    "ct.sharedeventid": "sharedEventID", "ct.vpcendpointid": "vpcEndpointId",
    "ct.eventcategory": "eventCategory", "s3.bucket": "requestParameters.bucketName",
    "s3.key": "requestParameters.key", "ecr.repository": "requestParameters.repositoryName",
    "ecr.imagetag": "requestParameters.imageTag", "iam.role": "requestParameters.roleName",
    "iam.policy": "requestParameters.policyName",
}


class FakeEvent:
    """An event with a parsed JSON record, a timestamp and a number."""

    __slots__ = ("json", "ts", "num", "cache", "type")

    def __init__(self, record, ts: int = 1632360600 * 10**9, num: int = 1):
        self.json = record
        self.ts = ts
        self.num = num
        self.cache = None
        self.type = 322


def path_get(record, path: str):
    cur = record
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def string_field(path: str):
    def factory(arg):
        def get(ev):
            rec = ev.json
            if rec is None:
                return None
            cur = path_get(rec, path) if "." in path else rec.get(path, None) if isinstance(
                rec, dict) else None
            if cur is None and not _has(rec, path):
                return None
            return cur if isinstance(cur, str) else ""
        return get
    return factory


def _has(record, path: str) -> bool:
    cur = record
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False
        cur = cur[part]
    return True


def ct_user(arg):
    def get(ev):
        ident = (ev.json or {}).get("userIdentity")
        if not isinstance(ident, dict) or not isinstance(ident.get("type"), str):
            return None
        t = ident["type"]
        if t in ("Root", "IAMUser"):
            v = ident.get("userName")
            return None if "userName" not in ident else v if isinstance(v, str) else ""
        if t == "AssumedRole":
            v = path_get(ident, "sessionContext.sessionIssuer.userName")
            return v if isinstance(v, str) else "AssumedRole"
        return t if t in ("AWSAccount", "FederatedUser") else None
    return get


def json_value(arg):
    parts = [p for p in (arg or "").lstrip("/").split("/")]

    def get(ev):
        cur = ev.json
        if cur is None:
            return None
        for p in parts:
            if isinstance(cur, dict) and p in cur:
                cur = cur[p]
            elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
                cur = cur[int(p)]
            else:
                return None
        return cur if isinstance(cur, str) else json.dumps(cur, separators=(",", ":"))
    return get


def imageids(arg):
    def get(ev):
        items = path_get(ev.json or {}, "requestParameters.instancesSet.items") or []
        ids = [i["imageId"] for i in items if isinstance(i, dict) and "imageId" in i]
        if arg is not None:
            idx = int(arg)
            return ids[idx] if idx < len(ids) else None
        return ids
    return get


def bytes_in(arg):
    def get(ev):
        v = path_get(ev.json or {}, "additionalEventData.bytesTransferredIn")
        return None if v is None else int(v)
    return get


def make_cloudtrail_fieldset(with_index: bool = True) -> FieldSet:
    fs = FieldSet("aws_cloudtrail")
    for name, path in CT_PATHS.items():
        fs.add(FieldInfo(name, "string", provider="test"), string_field(path))
    fs.add(FieldInfo("ct.user", "string", provider="test"), ct_user)
    fs.add(FieldInfo("ct.info", "string", provider="test"), lambda a: lambda ev: "info")
    fs.add(FieldInfo("s3.bytes.in", "uint64", provider="test"), bytes_in)
    fs.add(FieldInfo("ec2.imageids", "string", is_list=True, arg=ARG_OPTIONAL,
                     arg_kind="index", provider="test"), imageids)
    fs.add(FieldInfo("json.value", "string", arg=ARG_REQUIRED, provider="test"), json_value)
    fs.add(FieldInfo("evt.num", "uint64", provider="test"), lambda a: lambda ev: ev.num)
    fs.add(FieldInfo("evt.time", "string", provider="test"), lambda a: lambda ev: "time")
    fs.add(FieldInfo("evt.time.iso8601", "string", provider="test"), lambda a: lambda ev: "iso")
    fs.add(FieldInfo("evt.plugininfo", "string", provider="test"), lambda a: lambda ev: "info")
    fs.add(FieldInfo("evt.is_async", "bool", provider="test"), lambda a: lambda ev: False)
    fs.add(FieldInfo("evt.rawtime", "abstime", provider="test"), lambda a: lambda ev: ev.ts)
    if with_index:
        fs.index_field = "ct.name"
    return fs


def make_typed_fieldset() -> FieldSet:
    """Fields of every type read from the top-level keys of the record: t.<key>."""
    fs = FieldSet("test")
    types = {"s": "string", "n": "uint64", "b": "bool", "ip": "ipaddr", "net": "ipnet",
             "buf": "bytebuf", "d": "double", "i": "int64"}
    for key, ftype in types.items():
        fs.add(FieldInfo(f"t.{key}", ftype, provider="test"), _raw(key, ftype))
    fs.add(FieldInfo("t.l", "string", is_list=True, provider="test"), _raw("l", "list"))
    fs.add(FieldInfo("t.s2", "string", provider="test"), _raw("s2", "string"))
    fs.add(FieldInfo("t.nl", "uint64", is_list=True, provider="test"), _raw("nl", "list"))
    fs.add(FieldInfo("t.args", "string", is_list=True, provider="test"), _raw("args", "list"))
    fs.add(FieldInfo("t.b64", "string", provider="test"), _raw("b64", "string"))
    return fs


def _raw(key: str, ftype: str):
    def factory(arg):
        def get(ev):
            v = ev.json.get(key)
            if v is not None and ftype == "bytebuf" and isinstance(v, str):
                return v.encode()
            return v
        return get
    return factory


@pytest.fixture
def ct_fieldset():
    return make_cloudtrail_fieldset()


@pytest.fixture
def ct_fieldsets():
    fs = make_cloudtrail_fieldset()
    return lambda source: fs if source == "aws_cloudtrail" else None


@pytest.fixture
def typed_fieldset():
    return make_typed_fieldset()


@pytest.fixture(scope="session")
def event():
    return FakeEvent


@pytest.fixture(scope="session")
def typed_fieldset_factory():
    return make_typed_fieldset
