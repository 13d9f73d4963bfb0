"""S3 scans: which objects to read and how to download them
(docs/cloudtrail-plugin.md §3.2, §4.1-4.3).

``list_log_keys`` follows the §4.2 algorithm: an ``AWSLogs`` account directory
becomes ``<prefix>CloudTrail/``; an ``AWSLogs`` (or organization) directory
becomes one such prefix per account of ``s3AccountList`` (or per account
directory found); every ``.../CloudTrail/<region>/`` is listed from the start
day of ``s3Interval`` on, and log file names outside the interval are dropped.

Two upstream quirks are not copied (§8 item 7): ``AWSLogs/`` at the bucket root
is recognised, and the file-name filter of ``s3Interval`` applies to every scan,
not only to scans that found region directories. Keys are returned sorted, with
their ETags, so a scan is reproducible and a resumed scan can tell which objects
an earlier run recorded (by key and ETag, never by position).
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from scaptools.errors import PluginError

from .awsclient import retry_call
from .interval import day_prefix, name_stamp, parse_interval

_ACCOUNT_LIST = re.compile(r"( *\d{12} *,?)*")
_ACCOUNT_DIR = re.compile(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?\d{12}/?$")
_LOGS_DIR = re.compile(r"(?:^|/)AWSLogs(?:/o-[a-z0-9]{10,32})?/?$")
_KEY_STAMP = re.compile(r".*_CloudTrail_[^_]+_([^_]+)Z_")


def split_url(params: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` -> (bucket, prefix) (§3.2)."""
    rest = params[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise PluginError(f"cloudtrail plugin error: no bucket in {params!r}", "cloudtrail")
    return bucket, prefix


def parse_accounts(text: str) -> list[str]:
    """``s3AccountList`` -> account ids (§4.2 step 1)."""
    if not _ACCOUNT_LIST.fullmatch(text):
        raise PluginError(f'cloudtrail invalid account list: "{text}"', "cloudtrail")
    return [a.strip() for a in text.split(",") if a.strip()]


def is_log_name(name: str) -> bool:
    """Extension ``.json`` or suffix ``.json.gz`` (§3.1, §4.2 step 5)."""
    return name.endswith(".json") or name.endswith(".json.gz")


def common_prefixes(client, bucket: str, prefix: str) -> list[str]:
    """The "directories" directly below ``prefix`` (ListObjectsV2 with delimiter ``/``)."""
    out = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/")
    for page in pages:
        out.extend(cp["Prefix"] for cp in page.get("CommonPrefixes", ()))
    return out


def cloudtrail_prefixes(client, bucket: str, prefix: str, accounts: list[str]) -> list[str]:
    """§4.2 step 2: the prefixes to scan for a user-given prefix."""
    if _ACCOUNT_DIR.search(prefix):
        return [_slash(prefix) + "CloudTrail/"]
    if _LOGS_DIR.search(prefix):
        base = _slash(prefix)
        if accounts:
            return [f"{base}{acct}/CloudTrail/" for acct in accounts]
        found = retry_call(common_prefixes, client, bucket, base)
        return [p + "CloudTrail/" for p in found if _ACCOUNT_DIR.search(p)]
    return [prefix]


def _slash(prefix: str) -> str:
    return prefix if prefix.endswith("/") or not prefix else prefix + "/"


def list_jobs(client, bucket: str, prefix: str, accounts: list[str],
              start: int | None) -> list[tuple[str, str | None]]:
    """§4.2 steps 2-4: (prefix, StartAfter) listing jobs, one per region directory."""
    jobs = []
    for ct_prefix in cloudtrail_prefixes(client, bucket, prefix, accounts):
        if not ct_prefix.endswith("/CloudTrail/"):
            continue
        for region in retry_call(common_prefixes, client, bucket, ct_prefix):
            jobs.append((region, region + day_prefix(start) if start is not None else None))
    return jobs or [(prefix, None)]


def list_job(client, bucket: str, prefix: str, start_after: str | None,
             window: tuple[str | None, str | None]) -> list[tuple[str, str]]:
    """§4.2 step 5: one paginated listing, filtered by name and interval: (key, ETag)."""
    kwargs = {"Bucket": bucket, "Prefix": prefix}
    if start_after:
        kwargs["StartAfter"] = start_after
    lo, hi = window
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
        for obj in page.get("Contents", ()):
            key = obj["Key"]
            if not is_log_name(key):
                continue
            if lo is not None:
                m = _KEY_STAMP.match(key)
                if m and (m.group(1) < lo or (hi is not None and m.group(1) > hi)):
                    continue
            keys.append((key, obj.get("ETag", "").strip('"')))
    return keys


def list_log_keys(client, bucket: str, prefix: str, config: dict,
                  workers: int) -> list[tuple[str, str]]:
    """(key, ETag) of every log object of an S3 scan, sorted by key (§4.2).

    Raises PluginError on bad settings."""
    accounts = parse_accounts(config.get("s3AccountList", ""))
    start, _ = parse_interval(config.get("s3Interval", ""))
    window = interval_window(config)
    jobs = list_jobs(client, bucket, prefix, accounts, start)
    with ThreadPoolExecutor(max(1, min(workers, len(jobs)))) as pool:
        results = pool.map(lambda job: retry_call(list_job, client, bucket, job[0], job[1],
                                                  window), jobs)
        keys = dict(item for part in results for item in part)
    return sorted(keys.items(), key=lambda item: order_key(item[0]))


def interval_window(config: dict) -> tuple[str | None, str | None]:
    """The ``s3Interval`` as log-file-name stamps (start, end); None where open."""
    start, end = parse_interval(config.get("s3Interval", ""))
    return (name_stamp(start) if start is not None else None,
            name_stamp(end) if end is not None else None)


def before_interval(name: str, config: dict) -> bool:
    """A log object named for a time before the start of ``s3Interval``: a scan with
    this config never lists it (an object name without a stamp never is)."""
    lo = interval_window(config)[0]
    m = _KEY_STAMP.match(name)
    return lo is not None and m is not None and m.group(1) < lo[:8]


def order_key(name: str) -> str:
    """Sort key of a unit name: path order, directory by directory (``/`` sorts first)."""
    return name.replace("/", "\x00")


READ_SIZE = 1 << 20  # bytes of a body read at a time when it goes into a file


def download(client, bucket: str, key: str, on_retry=None, into=None):
    """The object's bytes; transient errors (also while reading the body) are retried.

    ``into(size)``: asked for a binary file once the object's size is known (None
    when not told); when it gives one, the body is streamed into it ``READ_SIZE``
    bytes at a time, from the file's start (every attempt starts it again), and
    the file is returned, flushed, instead of bytes.
    """
    def once():
        got = client.get_object(Bucket=bucket, Key=key)
        body = got["Body"]
        try:
            out = into(got.get("ContentLength")) if into is not None else None
            if out is None:
                return body.read()
            out.seek(0)
            out.truncate()
            while chunk := body.read(READ_SIZE):
                out.write(chunk)
            out.flush()
            return out
        finally:
            body.close()
    return retry_call(once, on_retry=on_retry)
