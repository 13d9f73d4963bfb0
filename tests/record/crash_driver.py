"""A ``scap record`` run that kills itself (SIGKILL) at an exact point of a commit.

Run as a script by test_record_crash.py::

    crash_driver.py OUT STATE PARAMS CONFIG KILL

``KILL`` is ``none``, ``fsync-before:N`` / ``fsync-after:N`` (the N-th
``os.fsync`` of the run: the capture's and the state journal's), or
``before-call:OPERATION:N`` / ``after-call:OPERATION:N`` (the N-th boto3 call
of that operation, e.g. ``after-call:DeleteMessage:1``, through botocore's
event hooks). An OUT ending in ``.gz`` is written gzip-compressed (``-z``). Without a kill, an ``sqs://`` run stops once the queue is empty
(every message deleted, so every event committed).

The recorder and the source are the ones ``scap record`` builds; only the
boto3 session (to hook it) and ``os.fsync`` (to count it) are the test's.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def hook_fsync(when: str, nth: int) -> None:
    real, count = os.fsync, [0]

    def fsync(fd):
        count[0] += 1
        if when == "before" and count[0] == nth:
            kill_now()
        real(fd)
        if when == "after" and count[0] == nth:
            kill_now()
    os.fsync = fsync


def hook_call(session, when: str, operation: str, nth: int) -> None:
    count = [0]

    def handler(**kwargs):
        count[0] += 1
        if count[0] == nth:
            kill_now()
    service = "sqs" if operation in ("DeleteMessage", "ReceiveMessage") else "s3"
    session.events.register(f"{when}.{service}.{operation}", handler)


def stop_when_drained(recorder, session, params: str) -> None:
    """Ask the recorder to stop once the queue holds no message (all deleted)."""
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName=params[len("sqs://"):])["QueueUrl"]

    def watch():
        while True:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if int(attrs["ApproximateNumberOfMessages"]) + int(
                    attrs["ApproximateNumberOfMessagesNotVisible"]) == 0:
                recorder.request_stop("queue drained")
                return
            time.sleep(0.1)
    threading.Thread(target=watch, daemon=True).start()


def main(out: str, state: str, params: str, config: str, kill: str) -> int:
    import boto3
    from scaptools.record.recorder import Recorder, RecordOptions
    from scaptools_plugins.cloudtrail.source import open_source, parse_init_config
    session = boto3.Session(region_name="us-east-1")
    parts = kill.split(":")
    if parts[0].startswith("fsync-"):
        hook_fsync(parts[0][len("fsync-"):], int(parts[1]))
    elif parts[0] in ("before-call", "after-call"):
        hook_call(session, parts[0], parts[1], int(parts[2]))
    stream = open_source(parse_init_config(config), params, session=session,
                         on_problem=lambda m: print(m, file=sys.stderr))
    opts = RecordOptions(out=out, gzip=out.endswith(".gz"), state_path=state, rotate_events=40)
    recorder = Recorder(stream, 2, opts, params=params)
    if params.startswith("sqs://"):  # also when the kill point is never reached
        stop_when_drained(recorder, session, params)
    summary = recorder.run()
    st = stream.stats
    print(f"events={summary.events} duplicates={st.duplicates} already={st.already}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
