"""Captures in S3: ``s3://bucket/prefix/`` listed on the client, objects read on the workers.

Credentials come from boto3's chain (environment, shared files, instance roles) or
from the ``aws`` block of ``-c falco.yaml`` (``profile``, ``region``, ``config``,
``credentials``: the shared config and credentials files); ``AWS_ENDPOINT_URL``
(or ``AWS_ENDPOINT_URL_S3``) points boto3 at an S3-compatible store. Each side
resolves its own credentials: none are sent over the cluster.

:class:`S3File` is a read-only, seekable file object over one object that fetches
it in ranged GETs of ``CHUNK`` bytes, each pinned to the object's ETag, so an
object replaced during a run fails instead of mixing two versions.
"""
from __future__ import annotations

import io
import time
from typing import NamedTuple

from scaptools.errors import ScapError

SUFFIXES = (".scap", ".scap.gz")
CHUNK = 8 << 20  # bytes per ranged GET
ATTEMPTS = 5  # reads of a chunk whose body broke off before the error is raised


class S3Object(NamedTuple):
    """One capture object: its ``s3://`` URL, bucket, key, size and ETag."""

    url: str
    bucket: str
    key: str
    size: int
    etag: str


def is_s3(text) -> bool:
    return str(text).startswith("s3://")


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``."""
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket:
        raise ScapError(f"{url}: no bucket in the S3 URL (expected s3://bucket/prefix/)")
    return bucket, key


def make_client(aws: dict | None = None):
    """An S3 client from boto3's chain and the ``aws`` override block (may be empty)."""
    import boto3
    import botocore.session
    from botocore.config import Config
    aws = aws or {}
    core = botocore.session.Session()
    if aws.get("config"):
        core.set_config_variable("config_file", str(aws["config"]))
    if aws.get("credentials"):
        core.set_config_variable("credentials_file", str(aws["credentials"]))
    session = boto3.Session(botocore_session=core, profile_name=aws.get("profile") or None,
                            region_name=aws.get("region") or None)
    config = Config(retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=10,
                    read_timeout=60)
    return session.client("s3", region_name=session.region_name or "us-east-1", config=config)


def list_captures(url: str, client) -> list[S3Object]:
    """The object ``url`` names, else every ``.scap``/``.scap.gz`` under it, by key."""
    bucket, prefix = split_url(url)
    found = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
            found += [S3Object(f"s3://{bucket}/{o['Key']}", bucket, o["Key"], o["Size"],
                               o["ETag"]) for o in page.get("Contents", ())]
    except Exception as exc:  # botocore's errors: no such bucket, access denied, no network
        raise ScapError(f"{url}: cannot list the captures: {describe(exc)}") from None
    exact = [o for o in found if o.key == prefix]
    return exact or sorted((o for o in found if o.key.endswith(SUFFIXES)),
                           key=lambda o: o.key)


def describe(exc: BaseException) -> str:
    """One line for an AWS error: its code and message when it has them."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


class S3File(io.RawIOBase):
    """A seekable read-only file over one S3 object, read in ranged GETs."""

    def __init__(self, client, obj: S3Object, chunk: int = CHUNK):
        super().__init__()
        self.name = obj.url
        self._client, self._obj, self._chunk = client, obj, chunk
        self._pos = 0
        self._buf, self._buf_at = b"", 0  # the last chunk fetched and where it starts

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._obj.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._obj.size or not len(buffer):
            return 0
        inside = self._pos - self._buf_at
        if not 0 <= inside < len(self._buf):
            self._buf, self._buf_at, inside = self._fetch(self._pos), self._pos, 0
        count = min(len(buffer), len(self._buf) - inside)
        buffer[:count] = self._buf[inside:inside + count]
        self._pos += count
        return count

    def _fetch(self, start: int) -> bytes:
        end = min(start + self._chunk, self._obj.size) - 1
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self._client.get_object(Bucket=self._obj.bucket, Key=self._obj.key,
                                                Range=f"bytes={start}-{end}",
                                                IfMatch=self._obj.etag)
                data = reply["Body"].read()
                if len(data) == end - start + 1:
                    return data
                problem = f"short read ({len(data)} of {end - start + 1} bytes)"
            except Exception as exc:  # botocore retried the request; a broken body is ours
                if getattr(exc, "response", None) is not None:
                    why = "the object was replaced during the run" \
                        if "PreconditionFailed" in describe(exc) else describe(exc)
                    raise ScapError(f"{self.name}: cannot read bytes {start}-{end}: "
                                    f"{why}") from None
                problem = describe(exc)
            if attempt < ATTEMPTS:
                time.sleep(0.1 * 2 ** attempt)  # back off before reading the chunk again
        raise ScapError(f"{self.name}: cannot read bytes {start}-{end}: {problem}")
