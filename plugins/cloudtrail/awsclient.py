"""boto3 sessions and clients for the S3 and SQS routes (docs/cloudtrail-plugin.md §2, ``aws``).

Credentials and region come from the standard boto3 chain (environment, shared
files, instance roles), optionally overridden by the init-config ``aws`` block:
``profile``, ``region``, ``config`` (shared config file) and ``credentials``
(shared credentials file). ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL_SQS`` (or ``endpoint_url`` in the config file) point the
clients at an S3-compatible store; boto3 reads them itself.

Transient errors (throttling, 5xx, dropped connections) are retried by
botocore's "standard" retry mode with exponential backoff; ``retry_call`` adds a
second layer around whole operations (a download whose body read fails, or an
error raised before botocore's own retry loop).
"""
from __future__ import annotations

import random
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3

_TRANSIENT_CODES = {
    "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestThrottled", "RequestTimeTooSkewed", "500", "502", "503",
    "504", "AWS.SimpleQueueService.ServiceUnavailable",
}
RETRY_ATTEMPTS = 6


def _botocore_errors():
    """botocore's exception module, or None when botocore was never imported (then no
    error can be one of its): local recordings do not pay for importing boto3."""
    return sys.modules.get("botocore.exceptions")


def make_session(aws: dict) -> "boto3.Session":
    """A boto3 session honouring the ``aws`` override block (empty = SDK default)."""
    import boto3
    import botocore.session
    core = botocore.session.Session()
    if aws.get("config"):
        core.set_config_variable("config_file", aws["config"])
    if aws.get("credentials"):
        core.set_config_variable("credentials_file", aws["credentials"])
    return boto3.Session(botocore_session=core, profile_name=aws.get("profile") or None,
                         region_name=aws.get("region") or None)


def make_client(session: "boto3.Session", service: str, pool: int = 10):
    """A client with standard retries; region defaults to us-east-1 when none is set."""
    from botocore.config import Config
    cfg = Config(retries={"max_attempts": 8, "mode": "standard"}, max_pool_connections=pool,
                 connect_timeout=10, read_timeout=60)
    region = session.region_name or "us-east-1"
    return session.client(service, region_name=region, config=cfg)


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying (throttling, server errors, connection trouble)."""
    bexc = _botocore_errors()
    if bexc is None:
        return isinstance(exc, (ConnectionError, TimeoutError))
    if isinstance(exc, bexc.ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return err.get("Code") in _TRANSIENT_CODES or status >= 500 or status == 429
    return isinstance(exc, (bexc.EndpointConnectionError, bexc.ConnectionClosedError,
                            bexc.ReadTimeoutError, bexc.ConnectTimeoutError,
                            bexc.ResponseStreamingError, bexc.IncompleteReadError,
                            ConnectionError, TimeoutError))


def retry_call(fn, *args, attempts: int = RETRY_ATTEMPTS, on_retry=None, **kwargs):
    """Call ``fn`` and retry transient errors with exponential backoff and jitter.

    ``on_retry(exc, attempt)`` is told about each retry; the last error is raised.
    """
    attempt = 1
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            if on_retry is not None:
                on_retry(exc, attempt)
        time.sleep(min(0.05 * 2 ** attempt, 5.0) * (0.5 + random.random() / 2))
        attempt += 1


def describe(exc: BaseException) -> str:
    """A one-line description of an AWS error."""
    bexc = _botocore_errors()
    if bexc is not None and isinstance(exc, bexc.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"
