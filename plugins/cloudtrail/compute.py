"""Computed CloudTrail fields: users, ``ct.info``, S3 and EC2 values
(docs/cloudtrail-plugin.md §5, §7.3-7.5)."""
from __future__ import annotations

from .record import MISSING, as_string, get, num

_SUFFIX = ".amazonaws.com"
_NAME_BY_TYPE = {"Root": ("userName",), "IAMUser": ("userName",), "AWSService": ("invokedBy",)}


def user_and_fallback(rec):
    """``ct.user`` (§7.3) and, when absent, upstream's fallback text for ``evt.plugininfo``
    (§5)."""
    ident = rec.get("userIdentity") if type(rec) is dict else None
    utype = ident.get("type") if type(ident) is dict else None
    if type(utype) is not str:
        return None, ""
    if utype in _NAME_BY_TYPE:
        value = ident.get(_NAME_BY_TYPE[utype][0], MISSING)
        return (None, "<NA>") if value is MISSING else (as_string(value), "")
    if utype == "AssumedRole":
        value = get(ident, ("sessionContext", "sessionIssuer", "userName"))
        return ("AssumedRole" if value is MISSING else as_string(value)), ""
    if utype in ("AWSAccount", "FederatedUser"):
        return utype, ""
    return None, "<unknown user type>"


def ct_user(rec):
    return None if rec is None else user_and_fallback(rec)[0]


def ct_originaluser(rec):
    """``ct.originaluser`` (§7.3): the assumed-role session name, else
    ``userIdentity.userName``."""
    if rec is None:
        return None
    ident = get(rec, ("userIdentity",))
    if get(ident, ("type",)) == "AssumedRole":
        arn = get(ident, ("arn",))
        if arn is not MISSING:
            parts = as_string(arn).split("/")
            if len(parts) == 3:
                return parts[2]
        principal = get(ident, ("principalId",))
        if principal is not MISSING:
            parts = as_string(principal).split(":")
            if len(parts) == 2:
                return parts[1]
        return None
    return as_string(get(ident, ("userName",)))


def shortsrc(rec):
    """``ct.shortsrc``: ``eventSource`` without a trailing ``.amazonaws.com`` (§7.2 #6)."""
    if rec is None:
        return None
    src = as_string(get(rec, ("eventSource",)))
    if src is not None and len(src) > len(_SUFFIX) and src.endswith(_SUFFIX):
        return src[:-len(_SUFFIX)]
    return src


def bool_text(rec, key: str):
    """``"true"`` only for a JSON ``true``, ``"false"`` otherwise, absent when missing
    (§7.2 #37/38/52)."""
    if rec is None:
        return None
    value = get(rec, (key,))
    if value is MISSING:
        return None
    return "true" if value is True else "false"


def s3_uri(rec):
    """``s3://bucket/key`` when both members are JSON strings (§7.2 #58)."""
    if rec is None:
        return None
    bucket = get(rec, ("requestParameters", "bucketName"))
    key = get(rec, ("requestParameters", "key"))
    if isinstance(bucket, str) and isinstance(key, str):
        return f"s3://{bucket}/{key}"
    return None


def s3_bytes(rec, which=("bytesTransferredIn", "bytesTransferredOut")):
    """Sum of the transferred byte counts that exist; absent when none does (§7.2 #61-63)."""
    if rec is None:
        return None
    data = get(rec, ("additionalEventData",))
    total, seen = 0, False
    for key in which:
        value = get(data, (key,)) if data is not MISSING else MISSING
        if value is not MISSING:
            total, seen = (total + num(value)) % (1 << 64), True
    return total if seen else None


def s3_count(rec, wanted):
    """``s3.cnt.get``/``put``: 1 for that event name, else absent; ``other`` the reverse
    (§7.2 #64-66)."""
    if rec is None:
        return None
    name = get(rec, ("eventName",))
    if wanted is None:
        return None if name in ("GetObject", "PutObject") else 1
    return 1 if name == wanted else None


def info(rec, error_present: bool, host):
    """``ct.info`` (§7.4); always present."""
    user = ct_user(rec) if rec is not None else None
    if user is None:
        return "<invalid cloudtrail event: userIdentity field missing>"
    srcip = as_string(get(rec, ("sourceIPAddress",)))
    if srcip is None:
        return "<invalid cloudtrail event: eventSource field missing>"
    err = "!" if error_present else ""
    readonly = get(rec, ("readOnly",))
    rw = "\u2192" if readonly is not MISSING and readonly is not True else "\u2190"
    name = as_string(get(rec, ("eventName",)))
    if name is None:
        return "<invalid cloudtrail event: eventName field missing>"
    text = f"{user} {err}{rw} {name}" if user == srcip else f"{user} via {srcip} {err}{rw} {name}"
    if name == "PutBucketPublicAccessBlock":
        config = get(rec, ("requestParameters", "PublicAccessBlockConfiguration"))
        if isinstance(config, dict):
            flags = " ".join(f"{k}={'true' if rec.get(k) is True else 'false'}" for k in (
                "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                "RestrictPublicBuckets"))
            return f"{text} {flags} "  # upstream reads the record's top level [quirk 5]
        return text
    size = s3_bytes(rec)
    if size is not None:
        text += f" Size={size}"
    for label, value in (("URI", s3_uri(rec)),
                         ("Bucket", as_string(get(rec, ("requestParameters", "bucketName")))),
                         ("Key", as_string(get(rec, ("requestParameters", "key")))),
                         ("Host", host)):
        if value is not None:
            return f"{text} {label}={value}"
    return text


def plugininfo(rec, error_present: bool):
    """``evt.plugininfo``: ``<region><userpart> <shortsrc> <name> <info>`` (§5)."""
    if rec is None:
        return "<invalid JSON: event did not contain a source>"
    source = get(rec, ("eventSource",))
    region = get(rec, ("awsRegion",))
    name = get(rec, ("eventName",))
    if not isinstance(source, str):
        return "<invalid JSON: event did not contain a source>"
    if not isinstance(region, str):
        return "<invalid JSON: event did not contain an awsRegion>"
    if not isinstance(name, str):
        return "<invalid JSON: event did not contain an eventName>"
    user, fallback = user_and_fallback(rec)
    userpart = (f" {user}" if user else "") if user is not None else fallback
    host = as_string(get(rec, ("requestParameters", "Host")))
    return f"{region}{userpart} {shortsrc(rec)} {name} {info(rec, error_present, host)}"


def ec2_name(rec):
    """``ec2.name``: the last instance ``Name`` tag of ``tagSpecificationSet`` (§7.5)."""
    items = get(rec, ("requestParameters", "tagSpecificationSet", "items")) if rec else MISSING
    if not isinstance(items, list):
        return None
    name = ""
    for item in items:
        if not isinstance(item, dict) or item.get("resourceType") != "instance":
            continue
        tags = item.get("tags")
        for tag in tags if isinstance(tags, list) else ():
            if isinstance(tag, dict) and tag.get("key") == "Name":
                name = as_string(tag.get("value", MISSING)) or ""
                break
    return name or None


_IMAGE_FALLBACKS = (("requestParameters", "imageId"),
                    ("requestParameters", "DescribeFastLaunchImagesRequest", "ImageId", "content"),
                    ("requestParameters", "launchSpecification", "imageId"))


def ec2_imageids(rec, index: int | None):
    """``ec2.imageids[index]`` as a list, or ``None`` when absent (§7.5)."""
    if rec is None:
        return None
    items = get(rec, ("responseElements", "instancesSet", "items"))
    if items is not MISSING:
        if index is None:
            ids = [i["imageId"] for i in items if isinstance(i, dict)
                   and isinstance(i.get("imageId"), str) and i["imageId"]] \
                if isinstance(items, list) else []
            return ids or None
        if not isinstance(items, list) or index >= len(items):
            return None
        item = items[index]
        value = get(item, ("imageId",))
        return None if value is MISSING else [as_string(value)]
    if index not in (None, 0):
        return None
    for path in _IMAGE_FALLBACKS:
        value = get(rec, path)
        if value is not MISSING:
            return [as_string(value)]
    return None
