"""The S3 route against a real (moto) S3 server: listing rules (§4.2), downloads, faults."""
from __future__ import annotations

import gzip
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from scaptools.errors import PluginError
from scaptools.plugin.api import Checkpoint, PluginEvent
from scaptools.record.recorder import Recorder, RecordOptions
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config

ORG = "o-abcdefghij"
_NAME = re.compile(r"^([^_]+)_CloudTrail_([^_]+)_(\d{4})(\d\d)(\d\d)T(\d{4})Z_")


def trail_key(base: str, name: str) -> str:
    """Where CloudTrail delivers a file: <base>/<acct>/CloudTrail/<region>/YYYY/MM/DD/<name>."""
    acct, region, y, m, d, _ = _NAME.match(name).groups()
    return f"{base}{acct}/CloudTrail/{region}/{y}/{m}/{d}/{name}"


def upload(s3, bucket: str, logset, base: str, count: int) -> dict:
    """``count`` log files in the CloudTrail layout below ``base``; key -> path."""
    s3.create_bucket(Bucket=bucket)
    keys = {}
    for path in list(logset.files)[:count]:
        key = trail_key(base, path.name)
        s3.put_object(Bucket=bucket, Key=key, Body=logset.files[path][0])
        keys[key] = path
    return keys


@pytest.fixture(scope="module")
def trail(moto_endpoint, logset):
    """One bucket holding the made logs three times: flat (``p/``), in an organization
    trail (``org/AWSLogs/<org>/``) and at the bucket root (``AWSLogs/``)."""
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"trail-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    keys = {}
    for path in logset.files:
        for key in (f"p/{path.name}", trail_key(f"org/AWSLogs/{ORG}/", path.name),
                    trail_key("AWSLogs/", path.name)):
            keys[key] = path
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k,
                                              Body=logset.files[keys[k]][0]), keys))
    s3.put_object(Bucket=bucket, Key="p/README.txt", Body=b"not a log")
    return bucket, keys


def under(keys: dict, prefix: str) -> dict:
    return {k: p for k, p in keys.items() if k.startswith(prefix)}


def record(params: str, config: dict | None = None, session=None, problems=None):
    cfg = parse_init_config(json.dumps(config or {}))
    stream = open_source(cfg, params, session=session,
                         on_problem=problems.append if problems is not None else None)
    items = list(stream)
    events = [(i.ts, i.payload) for i in items if isinstance(i, PluginEvent)]
    return stream, events, [i.info for i in items if isinstance(i, Checkpoint)]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_record_s3_prefix_gives_every_record(aws_env, trail, logset, helpers, concurrency):
    bucket, _ = trail
    stream, events, units = record(f"s3://{bucket}/org", {"s3DownloadConcurrency": concurrency})
    helpers.same(events, logset.records())
    assert stream.stats.objects_listed == len(logset.files) == len(units)


def test_record_s3_interval_and_accounts(aws_env, trail, logset, helpers, tmp_path, sysdig_bin,
                                         tshark_bin):
    bucket, keys = trail
    # expected, from the file names: account 111122223333, named 10:00 to 11:55 inclusive
    wanted = [p for k, p in sorted(keys.items())
              if k.startswith(f"org/AWSLogs/{ORG}/111122223333/")
              and "20240312T1000" <= p.name.split("_")[3][:13] <= "20240312T1155"]
    assert 10 < len(wanted) < 40
    config = {"s3AccountList": "111122223333",
              "s3Interval": "2024-03-12T10:00:00Z-2024-03-12T11:55:00Z"}
    stream, events, units = record(f"s3://{bucket}/org/AWSLogs/{ORG}/", config)
    helpers.same(events, logset.records(wanted))
    assert len(units) == len(wanted)
    out = tmp_path / "s3.scap"  # the same scan through the recorder, read by the oracles
    params = f"s3://{bucket}/org/AWSLogs/{ORG}/"
    stream = open_source(parse_init_config(json.dumps(config)), params)
    Recorder(stream, 2, RecordOptions(out=str(out))).run()
    helpers.same(helpers.read_events(out), logset.records(wanted))
    assert helpers.sysdig_count(sysdig_bin, out) == len(events)
    assert helpers.tshark_count(tshark_bin, out) == len(events)


def test_record_s3_account_directory_at_bucket_root(aws_env, trail, logset, helpers):
    bucket, keys = trail
    wanted = [p for k, p in keys.items() if k.startswith("AWSLogs/111122223333/")
              and p.name.split("_")[3] >= "20240312T1230Z"]
    assert 10 < len(wanted) < 40
    _, events, _ = record(f"s3://{bucket}/AWSLogs/111122223333/",
                          {"s3Interval": "2024-03-12T12:30:00Z"})
    helpers.same(events, logset.records(wanted))


def test_record_s3_malformed_object_among_good_ones(boto, unique, logset, helpers):
    s3 = boto("s3")
    bucket = unique("trail")
    keys = upload(s3, bucket, logset, "p/", 12)
    bad = {"p/bad/1_CloudTrail_x_20230710T1200Z_notjson.json": b"{not json",
           "p/bad/2_CloudTrail_x_20230710T1200Z_badgz.json.gz": gzip.compress(b"{}")[:-6] + b"x",
           "p/bad/3_CloudTrail_x_20230710T1200Z_norecords.json": b'{"foo": []}'}
    for key, body in bad.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    problems = []
    stream, events, units = record(f"s3://{bucket}/p/", problems=problems)
    helpers.same(events, logset.records(list(keys.values())))
    assert stream.stats.objects_malformed == len(bad)
    for key in bad:
        assert any(key in p for p in problems)
    assert len(units) == len(keys) + len(bad)


def test_record_s3_aws_block_profile_and_files(moto_endpoint, monkeypatch, trail, logset, helpers,
                                               tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    (tmp_path / "creds").write_text("[rec]\naws_access_key_id = k\naws_secret_access_key = s\n")
    (tmp_path / "conf").write_text("[profile rec]\nregion = eu-west-1\n")
    bucket, keys = trail
    with pytest.raises(PluginError, match="cannot list"):  # no credentials anywhere
        record(f"s3://{bucket}/p/")
    aws = {"profile": "rec", "config": str(tmp_path / "conf"),
           "credentials": str(tmp_path / "creds")}
    stream, events, _ = record(f"s3://{bucket}/p/", {"aws": aws})
    helpers.same(events, logset.records())
