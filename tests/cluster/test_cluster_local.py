"""``--scheduler local:N`` (a cluster the command starts and stops itself, on 127.0.0.1)
reading captures from S3 with the credentials and endpoint of its environment, and the
one-line errors: Dask missing, a scheduler that cannot be reached, a bad address."""
from __future__ import annotations

import gzip
import socket
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="Dask is not installed (pip install 'scaptools[dask]')")

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
RULES = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def test_local_workers_read_s3_with_the_environment(scap, aws_env, boto, unique, tmp_path):
    s3, bucket = boto("s3"), unique("caps")
    s3.create_bucket(Bucket=bucket)
    names = ["s3.scap", "tamper.scap", "sharing.scap"]
    local = []
    for k, name in enumerate(names):
        body = (CAPTURES / name).read_bytes()
        key = f"trail/{k}-{name}" + (".gz" if k == 1 else "")
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body) if k == 1 else body)
        local.append(CAPTURES / name)
    one = scap("replay", *local, "-r", RULES, "-o", "rule_matching=all", "--stats")
    many = scap("replay", f"s3://{bucket}/trail/", "-r", RULES, "-o", "rule_matching=all",
                "--stats", "--scheduler", "local:2")
    assert one.returncode == many.returncode == 0, many.stderr
    assert many.stdout == one.stdout and one.stdout.count("\n") >= 20
    assert "Workers used: " in many.stderr and "Units: 3 (0 captures cut)" in many.stderr
    assert "\r" not in many.stderr  # no progress bar in a pipe


def test_without_dask_one_line_names_the_extra(scap):
    proc = scap("replay", CAPTURES / "iam.scap", "-r", RULES, "--scheduler", "local:2",
                prelude="import sys; sys.modules['distributed'] = None")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == ("Error: --scheduler needs Dask's distributed scheduler: "
                           "pip install 'scaptools[dask]'\n")


def test_a_scheduler_that_cannot_be_reached_is_one_line_and_exit_2(scap, tmp_path):
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
        proc = scap("replay", CAPTURES / "iam.scap", "-r", RULES, "--scheduler", address,
                    env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"Error: cannot reach the Dask scheduler at {address}: ")
    assert proc.stderr.count("\n") == 1
    missing = tmp_path / "scheduler.json"
    proc = scap("test", CAPTURES / "iam.scaptest.yaml", "--scheduler-file", missing)
    assert proc.returncode == 2
    assert proc.stderr == (f"Error: {missing}: cannot read the scheduler file: "
                           f"No such file or directory\n")
    missing.write_text("{}")
    proc = scap("replay", CAPTURES / "iam.scap", "-r", RULES, "--scheduler-file", missing)
    assert proc.returncode == 2
    assert proc.stderr == f"Error: {missing}: not a Dask scheduler file (no address)\n"


def test_bad_local_clusters_and_standard_input(scap):
    proc = scap("replay", CAPTURES / "iam.scap", "-r", RULES, "--scheduler", "local:0")
    assert proc.returncode == 1
    assert proc.stderr == "Error: local:0: the number of workers must be from 1 to 256\n"
    proc = scap("replay", "-", "-r", RULES, "--scheduler", "local:2", input="")
    assert proc.returncode == 1
    assert proc.stderr == ("Error: a cluster cannot read standard input: name capture files "
                           "or s3:// prefixes\n")
