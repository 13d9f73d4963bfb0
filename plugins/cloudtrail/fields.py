"""The 73 fields of the cloudtrail plugin, in plugin order (docs/cloudtrail-plugin.md §7.2).

``FIELDS`` is the declaration list; ``make_extractor(name, arg)`` returns a
closure ``fn(event) -> value | None``. ``ct.name`` has a fast path (see
``ct_name``) and carries ``index_key = "ct.name"`` plus the FieldInfo tag
``"index"`` so the rule engine can route events to rules by event name.
"""
from __future__ import annotations

import re

from scaptools.errors import FieldError
from scaptools.fields.base import ARG_OPTIONAL, FieldInfo

from scaptools_plugins.json.shared import UNSET, parsed

from . import compute
from .record import MISSING, as_string, get, json_text, string_at
from .record import record as _record_trimmed

# name -> (path, description); the general string rule applies (§7.1)
_STRINGS = {
    "ct.id": (("eventID",), "the unique ID of the event"),
    "ct.error": (("errorCode",), "the error code of the call, when it failed"),
    "ct.errormessage": (("errorMessage",), "the error message of the call, when it failed"),
    "ct.time": (("eventTime",), "the time of the event as written in the record"),
    "ct.src": (("eventSource",), "the service that received the request"),
    "ct.name": (("eventName",), "the name of the API call"),
    "ct.user.identitytype": (("userIdentity", "type"), "the kind of identity of the caller"),
    "ct.user.principalid": (("userIdentity", "principalId"), "the principal ID of the caller"),
    "ct.user.arn": (("userIdentity", "arn"), "the ARN of the caller"),
    "ct.region": (("awsRegion",), "the AWS region of the request"),
    "ct.response.subnetid": (("responseElements", "subnetId"), "the subnet ID in the response"),
    "ct.response.reservationid": (("responseElements", "reservationId"),
                                  "the reservation ID in the response"),
    "ct.request.availabilityzone": (("requestParameters", "availabilityZone"),
                                    "the availability zone in the request"),
    "ct.request.cluster": (("requestParameters", "cluster"), "the cluster in the request"),
    "ct.request.functionname": (("requestParameters", "functionName"),
                                "the function name in the request"),
    "ct.request.groupname": (("requestParameters", "groupName"), "the group name in the request"),
    "ct.request.host": (("requestParameters", "Host"), "the host in the request"),
    "ct.request.name": (("requestParameters", "name"), "the name in the request"),
    "ct.request.policy": (("requestParameters", "policy"), "the policy in the request"),
    "ct.request.reason": (("requestParameters", "reason"), "the reason in the request"),
    "ct.request.target": (("requestParameters", "target"), "the target in the request"),
    "ct.request.serialnumber": (("requestParameters", "serialNumber"),
                                "the serial number in the request"),
    "ct.request.servicename": (("requestParameters", "serviceName"),
                               "the service name in the request"),
    "ct.request.subnetid": (("requestParameters", "subnetId"), "the subnet ID in the request"),
    "ct.request.taskdefinition": (("requestParameters", "taskDefinition"),
                                  "the task definition in the request"),
    "ct.request.username": (("requestParameters", "userName"), "the user name in the request"),
    "ct.srcip": (("sourceIPAddress",), "the IP address the request came from"),
    "ct.useragent": (("userAgent",), "the user agent of the caller"),
    "ct.requestid": (("requestID",), "the ID of the request"),
    "ct.eventtype": (("eventType",), "the kind of event"),
    "ct.apiversion": (("apiVersion",), "the API version of the call"),
    "ct.recipientaccountid": (("recipientAccountId",), "the account that received the event"),
    "ct.serviceeventdetails": (("serviceEventDetails",), "service event details"),
    "ct.sharedeventid": (("sharedEventID",), "ID shared by the copies of a cross-account event"),
    "ct.vpcendpointid": (("vpcEndpointId",), "the VPC endpoint the request went through"),
    "ct.eventcategory": (("eventCategory",), "the category of the event"),
    "ct.addendum.reason": (("addendum", "reason"), "why the event was delivered late"),
    "ct.addendum.updatedfields": (("addendum", "updatedFields"), "fields a late event updates"),
    "ct.addendum.originalrequestid": (("addendum", "originalRequestID"),
                                      "request ID of the event a late event updates"),
    "ct.addendum.originaleventid": (("addendum", "originalEventID"),
                                    "event ID of the event a late event updates"),
    "ct.edgedevicedetails": (("edgeDeviceDetails",), "edge device details"),
    "ct.tlsdetails.tlsversion": (("tlsDetails", "tlsVersion"), "the TLS version of the request"),
    "ct.tlsdetails.ciphersuite": (("tlsDetails", "cipherSuite"), "the TLS cipher suite"),
    "ct.tlsdetails.clientprovidedhostheader": (("tlsDetails", "clientProvidedHostHeader"),
                                               "the host header the client sent"),
    "s3.bucket": (("requestParameters", "bucketName"), "the S3 bucket of the request"),
    "s3.key": (("requestParameters", "key"), "the S3 object key of the request"),
    "ecr.repository": (("requestParameters", "repositoryName"), "the ECR repository"),
    "ecr.imagetag": (("requestParameters", "imageTag"), "the ECR image tag"),
    "iam.role": (("requestParameters", "roleName"), "the IAM role in the request"),
    "iam.policy": (("requestParameters", "policyName"), "the IAM policy in the request"),
}
_JSON_TEXTS = {
    "ct.response": (("responseElements",), "the response elements as JSON text"),
    "ct.request": (("requestParameters",), "the request parameters as JSON text"),
    "ct.additionaleventdata": (("additionalEventData",), "additional event data as JSON text"),
}
_BOOLS = {
    "ct.managementevent": ("managementEvent", "whether this is a management event"),
    "ct.readonly": ("readOnly", "whether the call only reads"),
    "ct.sessioncredentialfromconsole": ("sessionCredentialFromConsole",
                                        "whether the session credentials come from the console"),
}
_COMPUTED = {  # name -> (type, description, fn(rec) or None for a special case)
    "ct.shortsrc": ("string", "the service without .amazonaws.com", compute.shortsrc),
    "ct.user": ("string", "the user that made the call", compute.ct_user),
    "ct.originaluser": ("string", "the user or assumed-role session that made the call",
                        compute.ct_originaluser),
    "ct.user.accountid": ("string", "the account of the caller", None),
    "ct.info": ("string", "a summary of the event", None),
    "ct.request.documentname": ("string", "never extracted upstream [quirk 1]", None),
    "ct.resources": ("string", "the resources of the event as JSON texts", None),
    "s3.uri": ("string", "s3://bucket/key of the request", compute.s3_uri),
    "s3.bytes": ("uint64", "bytes transferred in and out", compute.s3_bytes),
    "s3.bytes.in": ("uint64", "bytes transferred in",
                    lambda rec: compute.s3_bytes(rec, ("bytesTransferredIn",))),
    "s3.bytes.out": ("uint64", "bytes transferred out",
                     lambda rec: compute.s3_bytes(rec, ("bytesTransferredOut",))),
    "s3.cnt.get": ("uint64", "1 for GetObject", lambda rec: compute.s3_count(rec, "GetObject")),
    "s3.cnt.put": ("uint64", "1 for PutObject", lambda rec: compute.s3_count(rec, "PutObject")),
    "s3.cnt.other": ("uint64", "1 for calls other than GetObject and PutObject",
                     lambda rec: compute.s3_count(rec, None)),
    "ec2.name": ("string", "the Name tag of the instance", compute.ec2_name),
    "ec2.imageid": ("string", "the first image ID (deprecated, use ec2.imageids)", None),
    "ec2.imageids": ("string", "the image IDs of the instances", None),
}
ORDER = (
    "ct.id ct.error ct.errormessage ct.time ct.src ct.shortsrc ct.name ct.user ct.originaluser "
    "ct.user.accountid ct.user.identitytype ct.user.principalid ct.user.arn ct.region "
    "ct.response.subnetid ct.response.reservationid ct.response ct.request.availabilityzone "
    "ct.request.cluster ct.request.functionname ct.request.groupname ct.request.host "
    "ct.request.name ct.request.policy ct.request.reason ct.request.target "
    "ct.request.documentname ct.request.serialnumber ct.request.servicename "
    "ct.request.subnetid ct.request.taskdefinition ct.request.username ct.request ct.srcip "
    "ct.useragent ct.info ct.managementevent ct.readonly ct.requestid ct.eventtype "
    "ct.apiversion ct.resources ct.recipientaccountid ct.serviceeventdetails "
    "ct.sharedeventid ct.vpcendpointid ct.eventcategory ct.addendum.reason "
    "ct.addendum.updatedfields ct.addendum.originalrequestid ct.addendum.originaleventid "
    "ct.sessioncredentialfromconsole ct.edgedevicedetails ct.tlsdetails.tlsversion "
    "ct.tlsdetails.ciphersuite ct.tlsdetails.clientprovidedhostheader ct.additionaleventdata "
    "s3.uri s3.bucket s3.key s3.bytes s3.bytes.in s3.bytes.out s3.cnt.get s3.cnt.put "
    "s3.cnt.other ec2.name ec2.imageid ec2.imageids ecr.repository ecr.imagetag iam.role "
    "iam.policy").split()


def _info(name: str) -> FieldInfo:
    if name in _STRINGS:
        tags = ("index",) if name == "ct.name" else ()
        return FieldInfo(name, "string", desc=_STRINGS[name][1], provider="cloudtrail", tags=tags)
    if name in _JSON_TEXTS:
        return FieldInfo(name, "string", desc=_JSON_TEXTS[name][1], provider="cloudtrail")
    if name in _BOOLS:
        return FieldInfo(name, "string", desc=_BOOLS[name][1], provider="cloudtrail")
    type_, desc, _ = _COMPUTED[name]
    if name == "ec2.imageids":
        return FieldInfo(name, type_, is_list=True, arg=ARG_OPTIONAL, arg_kind="index",
                         desc=desc, provider="cloudtrail")
    return FieldInfo(name, type_, desc=desc, provider="cloudtrail")


FIELDS = [_info(name) for name in ORDER]


def record(event):
    """``record.record(event)``, parsing the payload in place (``json.fast.parsed``);
    only a payload that is not JSON takes the slower road (NUL-padded payloads, §7.1)."""
    rec = parsed(event)
    return rec if rec is not None else _record_trimmed(event)


NAMES = frozenset(ORDER)

_EVENT_KEY = b'"eventName"'


def ct_name(event):
    """``ct.name``, fast: a bytes scan when ``"eventName":`` occurs once and nothing
    before or after it spells ``"eventName"`` again (spaced before its colon, or as a value).

    A key cannot occur inside a JSON string (its quotes would be escaped), so a
    single occurrence is the only ``eventName`` member. A string value without
    escapes is its own decoded text. Anything else falls back to the parsed
    record. Unlike upstream the fast path does not check that the whole payload
    is valid JSON (payloads written by the cloudtrail source always are), nor
    that the member is at the top level, nor for keys spelled with ``\\u`` escapes.
    """
    raw = event.raw
    m = _first_name(raw)
    if m is not None:
        value = m.group(1)
        if (value is not None and raw.find(_EVENT_KEY, m.end()) < 0
                and raw.find(_EVENT_KEY, 0, m.start() + len(_EVENT_KEY)) == m.start()):
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                pass
    return string_at(record(event), ("eventName",))


# the first `"eventName":` and, when it is a string without escapes, its value
_first_name = re.compile(rb'"eventName":(?:"([^"\\]*)")?').search
ct_name.index_key = "ct.name"


def make_extractor(name: str, arg: str | None):
    """The extractor closure for ``name[arg]``; ``FieldError`` for an unknown field or a bad
    argument."""
    if name not in NAMES:
        raise FieldError(f"filter_check called with nonexistent field {name}")
    if name == "ec2.imageids":
        return _imageids(_index_arg(name, arg))
    if arg is not None:
        raise FieldError(f"filter {name} does not allow nor require an argument "
                         f"but one is provided: {arg}")
    if name == "ct.name":
        return ct_name
    if name in _STRINGS:
        return _string_field(_STRINGS[name][0])
    if name in _JSON_TEXTS:
        return _json_text(_JSON_TEXTS[name][0])
    if name in _BOOLS:
        key = _BOOLS[name][0]
        return lambda event: compute.bool_text(record(event), key)
    fn = _COMPUTED[name][2]
    if fn is not None:
        return lambda event: fn(record(event))
    return _SPECIAL[name]


def _string_field(path: tuple):
    """A plain string field; a payload that never mentions the last key has no value.

    The bytes test spares the JSON parse on most events (``not ct.error exists``).
    It assumes keys are not written with ``\\u`` escapes, as CloudTrail never does.
    Paths of one or two members are walked inline (the hot path of rule outputs).
    """
    needle = b'"' + path[-1].encode() + b'"'
    if len(path) > 2:
        return lambda event: (None if event.raw.find(needle) < 0
                              else string_at(record(event), path))
    first, second = path[0], (path[1] if len(path) == 2 else None)

    def extract(event):
        rec = getattr(event, "_json", UNSET)  # already parsed: skip the bytes test
        if rec is UNSET:
            if event.raw.find(needle) < 0:
                return None
            rec = parsed(event)
        if type(rec) is not dict:
            rec = record(event)
            if type(rec) is not dict:
                return string_at(rec, path)
        value = rec.get(first, MISSING)
        if second is not None:
            if type(value) is not dict:
                return None
            value = value.get(second, MISSING)
        if value is MISSING:
            return None
        return value if type(value) is str else ""
    return extract


def _index_arg(name: str, arg: str | None) -> int | None:
    """Index arguments are decimal without leading zeros (docs/rules-language.md §11)."""
    if arg is None:
        return None
    if not arg.isascii() or not arg.isdigit() or (len(arg) > 1 and arg[0] == "0"):
        raise FieldError(f"filter {name}: invalid index argument '{arg}'")
    return int(arg)


def _imageids(index):
    return lambda event: compute.ec2_imageids(record(event), index)


def _imageid(event):
    ids = compute.ec2_imageids(record(event), 0)
    return ids[0] if ids else None


def _json_text(path):
    def extract(event):
        rec = record(event)
        if rec is None or get(rec, path) is MISSING:
            return None
        return json_text(event, path)
    return extract


def _accountid(event):
    rec = record(event)
    if rec is None:
        return None
    value = get(rec, ("userIdentity", "accountId"))
    if value is MISSING:
        value = get(rec, ("recipientAccountId",))
    return as_string(value)


def _resources(event):
    """``ct.resources``: the JSON texts of a non-empty ``resources`` array joined by ``,``."""
    rec = record(event)
    value = get(rec, ("resources",)) if rec is not None else MISSING
    if not isinstance(value, list) or not value:
        return None
    text = json_text(event, ("resources",))
    return None if text is None else text[1:-1]


def _info_field(event):
    rec = record(event)
    if rec is None:  # not JSON: every plugin field is absent (§7.1)
        return None
    error_present = get(rec, ("errorCode",)) is not MISSING
    host = as_string(get(rec, ("requestParameters", "Host")))
    return compute.info(rec, error_present, host)


_SPECIAL = {
    "ct.user.accountid": _accountid,
    "ct.info": _info_field,
    "ct.request.documentname": lambda event: None,  # [upstream quirk 1]
    "ct.resources": _resources,
    "ec2.imageid": _imageid,
}
