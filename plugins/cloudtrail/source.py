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
counted; a file's own problems are one message, and the problems of its
records are given one by one up to ``RECORD_LINES``, then counted in one line. A record seen twice in one stream (same ``eventID`` and bytes, e.g. a
redelivered SQS message) is written once.

A large log file is given in several lists as it decodes (pieces.py), then
its Checkpoint; for a local route whose first file is large, the decoding helper
(heads.py) starts when the stream opens.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass


from scaptools.errors import PluginError
from scaptools.plugin.api import Checkpoint, PluginEvent

from . import s3 as s3mod
from . import sqs as sqsmod
from .awsclient import describe, make_client, make_session, retry_call
from .config import parse_init_config  # noqa: F401 (the plugin and its callers import it here)
from . import logfile, spool
from .dedupe import Seen
from .pieces import after, decode_parts
from .units import _early_start, _file_version, local_files, ordered_map

LOG = logging.getLogger("scaptools_plugins.cloudtrail")
PLUGIN = "cloudtrail"
RECORD_LINES = 5  # problems of one file's records reported one by one; the rest are counted


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
        tally = _Tally()
        if log.__class__ is logfile.LogFile:
            yield self._events(log, unit, tally)
            self._hidden(unit, tally)
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
                yield self._events(part, unit, tally, whole=False)
        finally:
            spool.close(source)
        self._hidden(unit, tally)
        self.stats.objects_done += 1
        self.stats.objects_malformed += malformed
        self.failed.discard(unit)

    def _events(self, log, unit: str, tally: "_Tally", whole: bool = True) -> list:
        """The ``(ts, payload)`` of one decoded log file (problems reported, duplicates dropped).

        ``whole``: False for a part of a file (counted as an object by the caller).
        """
        stats = self.stats
        self._report(log, tally)
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

    def _report(self, log, tally: "_Tally") -> None:
        """Report a file's problems: the problems of its records one by one up to
        ``RECORD_LINES`` per file, the rest counted (``_hidden``)."""
        head = f"{log.name}: record "
        for message in log.problems:
            if message.startswith(head):
                tally.records += 1
                if tally.records > RECORD_LINES:
                    self.stats.problems += 1
                    continue
            self.problem(message)

    def _hidden(self, unit: str, tally: "_Tally") -> None:
        hidden = tally.records - RECORD_LINES
        if hidden > 0:
            self.on_problem(f"{PLUGIN}: {unit}: {hidden} more problems with its records "
                            "(not shown)")

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


_Seen = Seen  # the records given, within a time window (dedupe.py)


class _Tally:
    """Problems of one log file's records met so far (``_report``)."""

    def __init__(self):
        self.records = 0


def _no_ack() -> None:
    """Nothing to acknowledge (files and S3 objects)."""
