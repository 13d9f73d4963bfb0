"""The cloudtrail event source: init config and open params (docs/cloudtrail-plugin.md §2-4).

``open_source(config, params)`` returns a ``CloudTrailStream``: an iterator of
``PluginEvent`` (one per record: ts = ``eventTime`` in ns, payload = the
record's JSON) and ``Checkpoint`` (after the events of each log file or SQS
message; its ``ack`` deletes the SQS message and must be called only once the
events are durable). Routes (§3): a local file or directory, ``s3://bucket[/prefix]``,
``sqs://queue``.

Besides the iterator protocol the stream offers ``stats`` (counters),
``stop()`` (end after the current unit of work), ``resume(seen)`` (skip the
units an earlier run recorded: a file or S3 object whose name and version
(size, ETag) it committed, an SQS message it committed, which is then only
deleted), ``prunable(name)`` (a unit no later listing gives again) and
``failed`` (units that could not be read). Every Checkpoint names its unit and
version. Nothing is dropped silently: every problem goes to
``on_problem`` (default: the ``scaptools_plugins.cloudtrail`` logger) and is
counted. A record seen twice in one stream (same ``eventID`` and bytes, e.g. a
redelivered SQS message) is written once.

A large log file is given in several lists as it decodes (pieces.py), then
its Checkpoint; for a local route whose first file is large, the decoding helper
(heads.py) starts when the stream opens.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson

from scaptools.errors import PluginError
from scaptools.plugin.api import Checkpoint, PluginEvent

from . import s3 as s3mod
from . import sqs as sqsmod
from .awsclient import describe, make_client, make_session, retry_call
from . import logfile, spool
from .dedupe import Seen
from .pieces import after, decode_parts

LOG = logging.getLogger("scaptools_plugins.cloudtrail")
PLUGIN = "cloudtrail"
DEFAULTS = {"sqsDelete": True, "s3DownloadConcurrency": 32, "s3Interval": "", "useS3SNS": False,
            "s3AccountList": "", "sqsOwnerAccount": "", "useAsync": True,
            "aws": {"profile": "", "region": "", "config": "", "credentials": ""}}
_TYPES = {bool: "a boolean", int: "an integer", str: "a string", dict: "an object"}


def parse_init_config(text: str) -> dict:
    """The init config (§2) with defaults applied; PluginError for a bad one."""
    text = (text or "").strip()
    try:
        given = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError as exc:
        raise PluginError(f"init config is not JSON: {exc}", PLUGIN) from None
    if not isinstance(given, dict):
        raise PluginError("init config must be a JSON object", PLUGIN)
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for key, value in given.items():
        if key not in DEFAULTS:
            continue  # unknown keys are accepted and ignored (§2)
        _check_type(key, value, type(DEFAULTS[key]))
        if key == "aws":
            for sub, subval in value.items():
                if sub in DEFAULTS["aws"]:
                    _check_type(f"aws.{sub}", subval, str)
                    config["aws"][sub] = subval
        else:
            config[key] = value
    return config


def _check_type(key: str, value, want: type) -> None:
    ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
    if not ok:
        raise PluginError(f"init config: {key} must be {_TYPES[want]}, got {value!r}", PLUGIN)


def open_source(config: dict, params: str, *, session=None, on_problem=None) -> "CloudTrailStream":
    """Open the route named by ``params`` (§3); PluginError for bad params.

    ``session``: a boto3 Session to use instead of one built from ``config["aws"]``.
    """
    return CloudTrailStream(config or parse_init_config(""), params or "", session=session,
                            on_problem=on_problem)


@dataclass
class SourceStats:
    """Counters of one stream (shown by ``scap record``)."""

    objects_listed: int = 0  # log files/objects found (or announced by SQS)
    objects_done: int = 0  # read to the end (malformed ones included)
    objects_malformed: int = 0  # read, with problems (see problems)
    objects_failed: int = 0  # could not be read (download failed)
    messages: int = 0  # SQS messages received
    records: int = 0  # events yielded
    bad_records: int = 0  # records dropped (not JSON objects)
    untimed: int = 0  # records kept with a substitute timestamp
    duplicates: int = 0  # records already yielded by this stream
    dedupe_forgotten: int = 0  # keys the duplicate check dropped early (dedupe.py)
    already: int = 0  # units skipped: recorded by an earlier run (--state)
    problems: int = 0  # problems reported
    retries: int = 0  # transient AWS errors retried


class CloudTrailStream:
    """Iterator of PluginEvent | Checkpoint over one route (see the module doc)."""

    def __init__(self, config: dict, params: str, *, session=None, on_problem=None):
        self.config = config
        self.params = params
        self.stats = SourceStats()
        self.failed: set[str] = set()
        self.on_problem = on_problem or LOG.warning
        self._session = session
        self._stop = threading.Event()
        self._seen_units: dict[str, str] = {}  # name -> version recorded by an earlier run
        self._seen = _Seen()
        self._gen = None
        self._early = None  # (path, spool.Body, heads helper) of a first file started at open
        if not params:
            raise PluginError("cloudtrail plugin error: missing input directory argument", PLUGIN)
        if params.startswith("s3://"):
            s3mod.split_url(params)
            if config["s3DownloadConcurrency"] < 1:
                raise PluginError("cloudtrail invalid S3DownloadConcurrency: "
                                  f'"{config["s3DownloadConcurrency"]}"', PLUGIN)
        elif not params.startswith("sqs://"):
            if not os.path.exists(params):
                raise PluginError(f"cloudtrail plugin error: cannot open {params}", PLUGIN)
            self._files = local_files(params)  # §3.1: no log file is an open error
            self._early = _early_start(self._files[0])

    # -- control --------------------------------------------------------------
    def __iter__(self):
        return self

    def __next__(self):
        if self._gen is None:
            self._gen = self._flatten()
        return next(self._gen)

    def stop(self) -> None:
        """Finish the current unit of work, then end (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()
        self._drop_early()

    def _drop_early(self) -> None:
        if self._early is not None:
            self._early[2].close()
            self._early = None

    def resume(self, seen: dict[str, str]) -> None:
        """Skip the units an earlier run recorded: ``seen`` maps a Checkpoint's info to
        its version. Anything else is recorded, whatever its name sorts as."""
        self._seen_units = dict(seen)

    def prunable(self, name: str) -> bool:
        """True for a unit that this route never lists again: an S3 object named for a
        day before the start of ``s3Interval``."""
        if not name.startswith("s3://") or not self.params.startswith("s3://"):
            return False
        return s3mod.before_interval(name, self.config)

    def problem(self, message: str) -> None:
        self.stats.problems += 1
        self.on_problem(f"{PLUGIN}: {message}")

    def _skip(self, unit: str, version: str) -> bool:
        """A unit of an earlier run (same version): counted, not read again."""
        if self._seen_units.get(unit) != version:
            return False
        self.stats.already += 1
        return True

    # -- routes ---------------------------------------------------------------
    def _route(self):
        if self.params.startswith("s3://"):
            return self._s3_route()
        if self.params.startswith("sqs://"):
            return self._sqs_route()
        return self._local_route()

    def _local_route(self):
        units = [u for u in self._files if not self._skip(u, _file_version(u))]
        self.stats.objects_listed = len(units)
        early = self._early
        if early is not None and (not units or units[0] != early[0]):
            self._drop_early()

        def read(path):  # gunzip runs here too, beside the consumer (zlib frees the GIL)
            if early is not None and path == early[0]:
                return early[1]
            return spool.local_log(path)  # a large file stays on disk (spool.py)
        for path, log, exc in ordered_map(read, units, 2, self._stop.is_set):
            if exc is not None:
                yield from self._unit_failed(path, f"cannot read: {exc}")
            else:
                yield from self._unit_events(log, path)
                yield Checkpoint(_no_ack, path, _file_version(path))

    def _s3_route(self):
        from botocore.exceptions import BotoCoreError, ClientError
        bucket, prefix = s3mod.split_url(self.params)
        workers = self.config["s3DownloadConcurrency"]
        client = make_client(self._aws_session(), "s3", pool=workers + 4)
        try:
            keys = s3mod.list_log_keys(client, bucket, prefix, self.config, workers)
        except (BotoCoreError, ClientError) as exc:
            raise PluginError(f"cannot list {self.params}: {describe(exc)}", PLUGIN) from exc
        units = [(f"s3://{bucket}/{k}", k, etag) for k, etag in keys]
        units = [u for u in units if not self._skip(u[0], u[2])]
        self.stats.objects_listed = len(units)

        def fetch(unit):  # a large object is spooled to a temporary file (spool.py)
            return spool.s3_log(client, bucket, unit[1], unit[0], on_retry=self._on_retry)
        for unit, log, exc in ordered_map(fetch, units, workers, self._stop.is_set):
            if exc is not None:
                yield from self._unit_failed(unit[0], describe(exc))
            else:
                yield from self._unit_events(log, unit[0])
                yield Checkpoint(_no_ack, unit[0], unit[2])

    def _on_retry(self, exc, attempt) -> None:
        self.stats.retries += 1
        LOG.info("retrying after %s (attempt %d)", describe(exc), attempt)

    def _unit_failed(self, unit: str, why: str):
        self.stats.objects_failed += 1
        self.failed.add(unit)
        self.problem(f"{unit}: {why}; not recorded")
        return iter(())

    def _unit_events(self, log, unit: str):
        """The ``(ts, payload)`` lists of one log file: a decoded LogFile, or a large file
        (its bytes, or a spool.Body on disk), decoded and given piece by piece (pieces.py)."""
        if log.__class__ is logfile.LogFile:
            yield self._events(log, unit)
            return
        source, done, malformed = log, 0, False
        helper = None
        if self._early is not None and source is self._early[1]:
            helper, self._early = self._early[2], None
        try:
            for part in decode_parts(source, unit, helper):
                if part is None:  # not a clean file: decoded as a whole, after the parts given
                    part = after(spool.whole(source, unit), done)
                malformed = malformed or bool(part.problems)
                done += len(part.times)
                yield self._events(part, unit, whole=False)
        finally:
            spool.close(source)
        self.stats.objects_done += 1
        self.stats.objects_malformed += malformed
        self.failed.discard(unit)

    def _events(self, log, unit: str, whole: bool = True) -> list:
        """The ``(ts, payload)`` of one decoded log file (problems reported, duplicates dropped).

        ``whole``: False for a part of a file (counted as an object by the caller).
        """
        stats = self.stats
        for message in log.problems:
            self.problem(message)
        if whole:
            stats.objects_done += 1
            stats.objects_malformed += bool(log.problems)
            self.failed.discard(unit)
        stats.bad_records += log.bad_records
        stats.untimed += log.untimed
        seen = self._seen  # keys of a time window (dedupe.py)
        found = seen.duplicates(log.ids, log.payloads, log.times)
        stats.dedupe_forgotten = seen.forgotten
        if not found:
            return list(zip(log.times, log.payloads))
        stats.duplicates += len(found)
        drop = set(found)
        return [item for i, item in enumerate(zip(log.times, log.payloads)) if i not in drop]

    def batches(self):
        """The stream as lists of ``(ts, payload)`` (one log file each; a payload is bytes or
        a bytes-like ``msgspec.Raw``) and Checkpoints.

        The fast form of iterating the stream (the same events in the same order);
        ``returned(n)`` tells that the last ``n`` events of a list were not used.
        """
        if self._gen is not None:
            raise PluginError("the stream is already being iterated", PLUGIN)
        self._gen = self._route()
        for item in self._gen:
            if item.__class__ is list:
                self.stats.records += len(item)
            yield item

    def returned(self, n: int) -> None:
        self.stats.records -= n

    def _flatten(self):
        """``_route`` with the lists spread into PluginEvents (counted as they are taken)."""
        stats = self.stats
        for item in self._route():
            if item.__class__ is not list:
                yield item
                continue
            n = 0
            try:
                for ts, payload in item:
                    n += 1
                    yield PluginEvent(ts, bytes(payload))
            finally:  # also when the consumer stops in the middle of a file
                stats.records += n

    def _sqs_route(self):
        """Poll until stopped; one checkpoint per processed message (§4.4)."""
        session = self._aws_session()
        sqs = make_client(session, "sqs")
        s3 = make_client(session, "s3")
        name = self.params[len("sqs://"):]
        url = sqsmod.queue_url(sqs, name, self.config["sqsOwnerAccount"])
        while not self._stop.is_set():
            try:
                messages = retry_call(sqsmod.receive, sqs, url, on_retry=self._on_retry)
            except Exception as exc:
                raise PluginError(f"cannot receive from queue {name}: {describe(exc)}",
                                  PLUGIN) from exc
            if not messages:
                yield Checkpoint(_no_ack, "")  # idle: lets the consumer commit and look around
            for i, msg in enumerate(messages):
                if self._stop.is_set():  # hand the rest back to the queue at once
                    for rest in messages[i:]:
                        sqsmod.release_message(sqs, url, rest.get("ReceiptHandle", ""))
                    break
                yield from self._sqs_message(sqs, s3, url, name, msg)

    def _sqs_message(self, sqs, s3, url: str, name: str, msg: dict):
        self.stats.messages += 1
        unit = f"sqs://{name}/{msg.get('MessageId', '?')}"
        receipt = msg.get("ReceiptHandle", "")
        delete = (lambda: retry_call(sqsmod.delete_message, sqs, url, receipt)) \
            if self.config["sqsDelete"] else _no_ack
        if unit in self._seen_units:  # committed by an earlier run, not deleted: delete only
            self.stats.already += 1
            yield Checkpoint(delete, unit, keep=not self.config["sqsDelete"])
            return
        try:
            objects = sqsmod.notified_objects(msg.get("Body", ""), self.config["useS3SNS"])
        except sqsmod.NotificationError as exc:
            self.problem(f"{unit}: {exc}; message left in the queue")
            return
        self.stats.objects_listed += len(objects)
        ok = True
        for bucket, key in objects:
            where = f"s3://{bucket}/{key}"
            try:  # a large object is spooled to a temporary file (spool.py)
                log = spool.s3_log(s3, bucket, key, where, on_retry=self._on_retry)
            except Exception as exc:
                ok = False
                self.stats.objects_failed += 1
                self.problem(f"{unit}: {where}: {describe(exc)}; message left in the queue")
                continue
            yield from self._unit_events(log, where)
        if not ok:
            return
        yield Checkpoint(delete, unit, keep=not self.config["sqsDelete"])

    def _aws_session(self):
        if self._session is None:
            self._session = make_session(self.config.get("aws") or {})
        return self._session


def _early_start(path: str):
    """(path, spool.Body, heads helper) for a first log file that is decoded piece by
    piece with a helper, else None.

    Started when the stream opens, the helper inflates and decodes while the
    recorder still starts up; the same Body is decoded later (``read``).
    """
    from . import heads
    try:
        body = spool.open_body(path) if os.path.getsize(path) >= heads.HELPER_MIN else None
    except OSError:
        return None  # reported when the file is read in its turn
    helper = heads.start(body) if body is not None else None
    if helper is None:
        spool.close(body)
        return None
    return path, body, helper


_Seen = Seen  # the records given, within a time window (dedupe.py)


def _no_ack() -> None:
    """Nothing to acknowledge (files and S3 objects)."""


def _file_version(path: str) -> str:
    """A local log file's version for resuming: its size ("" when it is gone)."""
    try:
        return str(os.path.getsize(path))
    except OSError:
        return ""


def local_files(path: str) -> list[str]:
    """The log files of a local path, in name order (§3.1); PluginError when there are none."""
    if os.path.isfile(path):
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in files if s3mod.is_log_name(f))
    found.sort(key=lambda p: s3mod.order_key(p.replace(os.sep, "/")))
    if not found:
        raise PluginError(f"cloudtrail plugin error: no json files found in {path}", PLUGIN)
    return found


def ordered_map(fn, items: list, workers: int, stopping):
    """Yield ``(item, fn(item), None)`` or ``(item, None, error)`` in input order.

    At most ``workers + 1`` calls run ahead (results wait in memory); after
    ``stopping()`` turns true no new call starts and the stream ends after the
    result in hand.
    """
    pool = ThreadPoolExecutor(max(1, workers))
    window: deque = deque()
    todo = iter(items)
    try:
        for item in todo:
            window.append((item, pool.submit(fn, item)))
            if len(window) > workers:
                break
        while window:
            item, fut = window.popleft()
            try:
                result, error = fut.result(), None
            except Exception as exc:  # reported by the caller with the unit's name
                result, error = None, exc
            yield item, result, error
            if stopping():
                return
            nxt = next(todo, None)
            if nxt is not None:
                window.append((nxt, pool.submit(fn, nxt)))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
