"""Random-kill soak of ``scap record --state`` against a moto S3/SQS server on 127.0.0.1.

    python tools/soak.py [--trials 20] [--kills 5] [--objects 40] [--records 25]

Each trial fills a bucket (S3 trials) or a bucket and a queue of notifications
(SQS trials) with generated CloudTrail logs, runs ``scap record --state -z
--rotate-events 300``, kills it with SIGKILL at a random moment up to
``--kills`` times, then lets a last run finish (S3: it ends by itself; SQS: it
is stopped with SIGTERM once the queue is empty, i.e. every message deleted).
It prints, per route, the records lost and written twice (target: 0 and 0).
Nothing is sent anywhere but 127.0.0.1.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SCAP = [sys.executable, "-c", "from scaptools.cli.main import main; main()"]
SERVER = ("import threading; from moto.server import ThreadedMotoServer; "
          "s = ThreadedMotoServer('127.0.0.1', 0, verbose=False); s.start(); "
          "print(s.get_host_and_port()[1], flush=True); threading.Event().wait()")


def start_moto():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline())}"


def make_logs(trial: int, objects: int, records: int) -> dict[str, bytes]:
    logs = {}
    for f in range(objects):
        recs = [{"eventVersion": "1.08", "eventID": str(uuid.uuid4()),
                 "eventTime": f"2024-05-01T{f // 60 % 24:02d}:{f % 60:02d}:{r % 60:02d}Z",
                 "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                 "awsRegion": "us-east-1", "n": r} for r in range(records)]
        key = (f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_"
               f"us-east-1_20240501T{f // 60 % 24:02d}{f % 60:02d}Z_{trial:03d}{f:05d}.json.gz")
        logs[key] = gzip.compress(json.dumps({"Records": recs}).encode())
    return logs


def recorded_ids(out: Path) -> list[str]:
    from scaptools.format.reader import open_capture
    ids = []
    for path in sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:])):
        with open_capture(str(path)) as reader:
            ids += [json.loads(ev.payload)["eventID"] for ev in reader if ev.type == 322]
    return ids


def queue_empty(sqs, url) -> bool:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]) == 0


def trial(route: str, n: int, args, env, s3, sqs, work: Path, rng) -> tuple[int, int, int]:
    """One trial: (records lost, records written twice, kills that landed)."""
    bucket = f"soak-{route}-{n}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    logs = make_logs(n, args.objects, args.records)
    for key, body in logs.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    params, url = f"s3://{bucket}/AWSLogs/", None
    if route == "sqs":
        url = sqs.create_queue(QueueName=bucket, Attributes={"VisibilityTimeout": "1"})[
            "QueueUrl"]
        keys = sorted(logs)
        for i in range(0, len(keys), 4):
            note = {"s3Bucket": bucket, "s3ObjectKey": keys[i:i + 4]}
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
                {"Type": "Notification", "Message": json.dumps(note)}))
        params = f"sqs://{bucket}"
    out = work / f"{bucket}.scap.gz"
    argv = SCAP + ["record", "-w", str(out), "-z", "--rotate-events", "300", "--state",
                   str(work / f"{bucket}.state"), "--open", params]
    kills = 0
    while True:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if kills < args.kills:
            try:
                proc.wait(timeout=rng.uniform(0.3, 2.0))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                kills += 1
                continue
        if route == "sqs":
            while not queue_empty(sqs, url):
                time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=300) == 0 or route == "sqs":
            break
    got = recorded_ids(out)
    want = {rec["eventID"] for body in logs.values() for rec in json.loads(gzip.decompress(body))["Records"]}
    return len(want - set(got)), len(got) - len(set(got)), kills


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--records", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import boto3
    server, endpoint = start_moto()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="soak", AWS_SECRET_ACCESS_KEY="soak",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
    os.environ.update(env)
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    rng = random.Random(args.seed)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for route in ("s3", "sqs"):
                lost = twice = landed = 0
                for n in range(args.trials):
                    a, b, k = trial(route, n, args, env, s3, sqs, Path(tmp), rng)
                    lost, twice, landed = lost + a, twice + b, landed + k
                total = args.trials * args.objects * args.records
                print(f"{route}: {args.trials} trials, {landed} kills, {total} records: "
                      f"{lost} lost, {twice} written twice", flush=True)
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
