"""The cloudtrail source on local files: init config, intervals, log-file decoding, routes."""
from __future__ import annotations

import gzip
import json

import pytest

from scaptools.errors import PluginError
from scaptools.plugin.api import Checkpoint, PluginEvent
from scaptools_plugins.cloudtrail.interval import parse_interval
from scaptools_plugins.cloudtrail.logfile import decode_log, parse_event_time
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config

REC = {"eventVersion": "1.08", "eventTime": "2023-07-10T11:42:36Z", "eventID": "a-1",
       "eventName": "GetUser", "eventType": "AwsApiCall"}


def events_of(stream):
    items = list(stream)
    return [i for i in items if isinstance(i, PluginEvent)], [
        i for i in items if isinstance(i, Checkpoint)]


# -- init config (§2) -------------------------------------------------------------------
def test_record_init_config_defaults_and_unknown_keys():
    cfg = parse_init_config('{"s3Interval": "5d", "whatever": 1, "aws": {"region": "eu-west-1"}}')
    assert cfg["s3DownloadConcurrency"] == 32 and cfg["sqsDelete"] is True
    assert cfg["s3Interval"] == "5d" and cfg["aws"]["region"] == "eu-west-1"
    assert cfg["aws"]["profile"] == "" and "whatever" not in cfg
    assert parse_init_config("") == parse_init_config("{}")


@pytest.mark.parametrize("text", ['{"sqsDelete": "yes"}', '{"s3DownloadConcurrency": true}',
                                  '{"s3DownloadConcurrency": 1.5}', '{"aws": {"region": 3}}',
                                  '[1]', '{bad json'])
def test_record_init_config_rejects_bad_values(text):
    with pytest.raises(PluginError) as err:
        parse_init_config(text)
    assert err.value.plugin == "cloudtrail"


def test_record_open_errors(tmp_path):
    cfg = parse_init_config("")
    with pytest.raises(PluginError, match="missing input directory"):
        open_source(cfg, "")
    with pytest.raises(PluginError, match="cannot open"):
        open_source(cfg, str(tmp_path / "nope"))
    with pytest.raises(PluginError, match="no json files found"):
        open_source(cfg, str(tmp_path))
    with pytest.raises(PluginError, match="S3DownloadConcurrency"):
        open_source(parse_init_config('{"s3DownloadConcurrency": 0}'), "s3://b/p")


# -- intervals (§4.1) ---------------------------------------------------------------------
def test_record_interval_forms():
    now = 1_700_000_000
    assert parse_interval("", now) == (None, None)
    assert parse_interval("5d", now) == (now - 5 * 86400, None)
    assert parse_interval("5d-2d", now) == (now - 5 * 86400, now - 2 * 86400)
    assert parse_interval("2023-04-05T06:00:00Z-2023-04-05T12:00:10Z", now) == (
        1680674400, 1680696010)
    assert parse_interval("2023-04-05T06:00:00Z - 1w", now) == (1680674400, now - 7 * 86400)
    assert parse_interval("2023-04-05T06:00:00Z", now) == (1680674400, None)


@pytest.mark.parametrize("text", ["5x", "2023-04-05", "1d-", "2023-04-05T06:00:00.5Z"])
def test_record_interval_rejects(text):
    with pytest.raises(PluginError, match="invalid interval"):
        parse_interval(text, 1_700_000_000)


def test_record_interval_end_before_start():
    with pytest.raises(PluginError, match="must be less than end time"):
        parse_interval("1d-5d", 1_700_000_000)


# -- one log file (§3.4) --------------------------------------------------------------------
def test_record_event_time_forms():
    assert parse_event_time("2023-07-10T11:42:36Z") == 1688989356 * 10**9
    assert parse_event_time("2023-07-10 11:42:36") == 1688989356 * 10**9
    assert parse_event_time("2023-07-10T11:42:36.123456789Z") == 1688989356 * 10**9 + 123456789
    assert parse_event_time("2023-07-10T13:42:36+02:00") == 1688989356 * 10**9
    assert parse_event_time("redacted") is None and parse_event_time(12) is None
    assert parse_event_time("2023-13-10T11:42:36Z") is None


def test_record_gzip_is_detected_by_magic():
    data = gzip.compress(json.dumps({"Records": [REC]}).encode())
    log = decode_log(data, "x_CloudTrail_us-east-1_20230710T1140Z_a.json")
    assert not log.problems and len(log.records) == 1
    ts, payload, eid = log.records[0]
    assert json.loads(payload) == REC and ts == 1688989356 * 10**9 and eid == "a-1"


def test_record_payload_is_compact_with_key_order_kept():
    pretty = json.dumps({"Records": [REC, dict(REC, eventID="a-2")]}, indent=2).encode()
    log = decode_log(pretty, "f.json")
    assert [p for _, p, _ in log.records] == [
        json.dumps(REC, separators=(",", ":")).encode(),
        json.dumps(dict(REC, eventID="a-2"), separators=(",", ":")).encode()]


def test_record_malformed_files_are_reported_and_salvaged():
    good = json.dumps({"Records": [REC, dict(REC, eventID="a-2")]}).encode()
    cut = decode_log(good[:-30], "cut.json")  # second record unterminated
    assert [e for _, _, e in cut.records] == ["a-1"] and "not JSON" in cut.problems[0]
    assert "no Records" in decode_log(b'{"foo": 1}', "n.json").problems[0]
    assert "not JSON" in decode_log(b"garbage", "g.json").problems[0]
    bad_gz = decode_log(gzip.compress(good)[:-12], "t.json.gz")
    assert any("bad gzip" in p for p in bad_gz.problems)
    odd = decode_log(b'{"Records": [1, {"eventTime": "x", "eventID": "e"}]}',
                     "o_20230710T1140Z_.json")
    assert odd.bad_records == 1 and odd.untimed == 1
    assert odd.records[0][0] == 1688989200 * 10**9  # the file name's time stands in


# -- local routes (§3.1) --------------------------------------------------------------------
@pytest.mark.parametrize("which", ["logset", "shared_logset"])
def test_record_local_directory_gives_every_record(request, which, helpers, tmp_path):
    logset = request.getfixturevalue(which)
    root = tmp_path / "logs"
    logset.copy_to(root)
    (root / "notes.txt").write_text("not a log")
    problems = []
    stream = open_source(parse_init_config(""), str(root), on_problem=problems.append)
    events, checkpoints = events_of(stream)
    helpers.same([(e.ts, e.payload) for e in events], logset.records())
    names = [c.info for c in checkpoints]
    assert names == sorted(names) and len(names) == len(logset.files)
    # the record with eventTime "redacted": given its neighbour's time, or left out when no
    # record of its file has a time (the reference logs)
    st = stream.stats
    assert st.untimed + st.bad_records == 1 and len(problems) == 1 and "redacted" in problems[0]


def test_record_local_single_file_keeps_file_order(logset):
    path = next(p for p in logset.files if p.name.endswith(".json.gz"))
    events, checkpoints = events_of(open_source(parse_init_config(""), str(path)))
    assert [json.loads(e.payload) for e in events] == logset.files[path][1]
    assert [c.info for c in checkpoints] == [str(path)]


def test_record_duplicates_within_a_stream_are_dropped(tmp_path):
    doc = json.dumps({"Records": [REC]})
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(doc)
    (tmp_path / "c.json").write_text(json.dumps({"Records": [dict(REC, eventName="Other")]}))
    stream = open_source(parse_init_config(""), str(tmp_path))
    events, _ = events_of(stream)
    assert len(events) == 2 and stream.stats.duplicates == 1  # same eventID, other bytes: kept


def test_record_s3_prefix_rules_without_listing():
    from scaptools_plugins.cloudtrail.s3 import cloudtrail_prefixes, parse_accounts
    accounts = parse_accounts(" 012345678912 ,987654321012")
    assert accounts == ["012345678912", "987654321012"]
    assert cloudtrail_prefixes(None, "b", "trail1/AWSLogs/o-aaaaaaaaaa/", accounts) == [
        "trail1/AWSLogs/o-aaaaaaaaaa/012345678912/CloudTrail/",
        "trail1/AWSLogs/o-aaaaaaaaaa/987654321012/CloudTrail/"]  # §4.3's example
    assert cloudtrail_prefixes(None, "b", "x/AWSLogs/123456789012", []) == [
        "x/AWSLogs/123456789012/CloudTrail/"]
    assert cloudtrail_prefixes(None, "b", "AWSLogs/123456789012/", []) == [
        "AWSLogs/123456789012/CloudTrail/"]  # bucket root: recognised (upstream quirk fixed)
    assert cloudtrail_prefixes(None, "b", "some/prefix/", accounts) == ["some/prefix/"]
    for bad in ("12345", "0123456789012", "abc"):
        with pytest.raises(PluginError, match="invalid account list"):
            parse_accounts(bad)
    with pytest.raises(PluginError, match="invalid S3DownloadConcurrency"):
        open_source(parse_init_config('{"s3DownloadConcurrency": -1}'), "s3://b")
