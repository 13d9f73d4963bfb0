"""``scap replay`` of CloudTrail captures against an independent reading of the upstream rules.

Expected alerts come from ``upstream_rules_for`` (conftest.py, plain Python over the
JSON records), never from the engine. The labelled records of shared/cloudtrail
are written into a capture with ``CaptureWriter`` and replayed.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import orjson
import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.events.event import Event
from scaptools.format.writer import CaptureWriter

ENV = {"FALCO_HOSTNAME": "host1"}
# The text alert times are local times: the replays run in this process, so the zone
# is set with time.tzset() (the utc fixture), not only in the environment.
pytestmark = pytest.mark.usefixtures("utc")


def _conftest():
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("replay_conftest",
                                                  Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


C = _conftest()


def run(*args):
    result = CliRunner().invoke(cli, list(map(str, args)), env=ENV)
    return result


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts // 10**9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{ts % 10**9:09d}Z"


def event_time(rec) -> int:
    text = rec.get("eventTime", "")
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return 0
    if dt.tzinfo is None:  # a stamp without a zone is UTC, whatever the host's zone
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


@pytest.fixture(scope="module")
def small(shared):
    folder = shared / "captures" / "libscap-plugin"
    records = orjson.loads((folder / "cloudtrail_small.json").read_bytes())["Records"]
    return folder / "cloudtrail_small.scap", records


def expected_alerts(records, first_only=False):
    out = Counter()
    for rec in records:
        rules = [r for r in C.upstream_rules_for(rec) if r not in C.DISABLED]
        for rule in rules[:1] if first_only else rules:
            out[(rule, iso(event_time(rec)))] += 1
    return out


@pytest.mark.parametrize("matching", ["all", "first"])
def test_small_capture_alerts_rule_by_rule(small, upstream_rules_file, matching):
    scap, records = small
    result = run("replay", scap, "-r", upstream_rules_file, "-o", f"rule_matching={matching}",
                 "--json")
    assert result.exit_code == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    got = Counter((a["rule"], a["time"]) for a in alerts)
    want = expected_alerts(records, first_only=matching == "first")
    for rule in sorted({r for r, _ in want} | {r for r, _ in got}):
        assert {k: v for k, v in got.items() if k[0] == rule} == \
            {k: v for k, v in want.items() if k[0] == rule}, rule
    assert all(a["source"] == "aws_cloudtrail" and a["hostname"] == "host1" for a in alerts)


def test_text_alert_line(small, upstream_rules_file):
    scap, _ = small
    result = run("replay", scap, "-r", upstream_rules_file)
    assert result.exit_code == 0, result.stderr
    assert ("08:00:41.000000000: Critical Detected a console login without MFA (requesting "
            "user=bob, requesting IP=203.0.113.77, AWS region=us-east-1)") in result.stdout


def test_stats_filters_and_directories(small, upstream_rules_file, tmp_path):
    scap, records = small
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "a.yaml").write_bytes(upstream_rules_file.read_bytes())
    (rules_dir / "notes.txt").write_text("not rules")
    result = run("replay", scap, "-r", rules_dir, "--stats", "-D", "Non-approved",
                 "-o", "rule_matching=all")  # Falco -D: rules whose name contains the text
    assert result.exit_code == 0, result.stderr
    assert "Events read: 41" in result.stderr and "events/s" in result.stderr
    assert "A number of instances have been launched." in result.stdout
    assert "non-approved region" not in result.stdout
    crit = run("replay", scap, "-r", upstream_rules_file, "--min-priority", "critical", "--json")
    assert {json.loads(x)["priority"] for x in crit.stdout.splitlines()} == {"Critical"}


def _write_capture(path, payloads):
    with CaptureWriter(str(path)) as writer:
        for num, (ts, payload) in enumerate(payloads, 1):
            writer.write(Event.plugin(ts, 2, payload, num=num))


def test_labelled_records_give_the_expected_alerts(labelled_files, upstream_rules_file,
                                                    shared, tmp_path):
    """Every record of shared/cloudtrail, replayed with every upstream rule enabled."""
    from scaptools.format.reader import open_capture
    from scaptools.plugin.registry import Registry
    from scaptools.replay.config import load_ruleset, make_engine, merged_options
    from scaptools.replay.loop import replay_events
    labels = orjson.loads((shared / "cloudtrail" / "labels.json").read_bytes())["labels"]
    by_key = {(lab["file"], lab["index"]): lab["expected_rules"] for lab in labels}
    order = [(f, i, raw) for f, recs in labelled_files.items() for i, raw in enumerate(recs)]
    capture = tmp_path / "labelled.scap"
    _write_capture(capture, [(event_time(orjson.loads(raw)), raw) for _, _, raw in order])
    rules = tmp_path / "enabled.yaml"
    rules.write_text(upstream_rules_file.read_text().replace("  enabled: false\n", ""))
    registry = Registry.from_entry_points()
    result = load_ruleset([rules], registry)
    assert result.ok, [str(d) for d in result.errors]
    engine = make_engine(result, merged_options({}, ["rule_matching=all"]))
    fired: dict[int, list[str]] = {}
    current = {}

    def events():
        with open_capture(str(capture)) as reader:
            for ev in reader:
                current["num"] = ev.num
                yield ev
    replay_events(events(), engine, registry,
                  lambda alert: fired.setdefault(current["num"], []).append(alert.rule))
    scores = Counter()
    for num, (f, i, _) in enumerate(order, 1):
        got = set(fired.get(num, [])) - {"All Cloudtrail Events"}
        want = set(by_key.get((f, i), []))
        for rule in got | want:
            scores[(rule, "tp" if rule in got and rule in want else
                    "fp" if rule in got else "fn")] += 1
    report = precision_recall(scores)
    print("\n".join(report))
    assert not [k for k in scores if k[1] != "tp"], report


def precision_recall(scores: Counter) -> list[str]:
    lines = []
    for rule in sorted({r for r, _ in scores}):
        tp, fp, fn = (scores[(rule, k)] for k in ("tp", "fp", "fn"))
        lines.append(f"{rule}: tp={tp} fp={fp} fn={fn} precision={tp / max(tp + fp, 1):.2f} "
                     f"recall={tp / max(tp + fn, 1):.2f}")
    return lines


def test_events_of_unknown_plugins_are_skipped(tmp_path, upstream_rules_file):
    capture = tmp_path / "mixed.scap"
    with CaptureWriter(str(capture)) as writer:
        writer.write(Event.plugin(10**18, 999, b'{"eventName":"CreateUser"}', num=1))
        writer.write(Event.plugin(10**18, 2, b'{"eventName":"CreateUser","userIdentity":'
                                             b'{"type":"IAMUser","userName":"u"}}', num=2))
    result = run("replay", capture, "-r", upstream_rules_file, "--stats", "--json")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(x)["rule"] for x in result.stdout.splitlines()] == ["Create AWS user"]
    assert "unknown plugins skipped: 1" in result.stderr


def test_validate(upstream_rules_file, tmp_path):
    ok = run("validate", "-r", upstream_rules_file)
    assert ok.exit_code == 0, ok.output
    assert f"{upstream_rules_file}: Ok" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: r\n  desc: d\n  condition: ct.nosuch = 1\n  output: o\n"
                   "  priority: INFO\n  source: aws_cloudtrail\n")
    res = run("validate", "-r", bad)
    assert res.exit_code == 1
    assert "bad.yaml" in res.stdout and "nonexistent field ct.nosuch" in res.stdout
    res = run("replay", tmp_path / "none.scap", "-r", bad)
    assert res.exit_code != 0


def test_independent_reading_agrees_with_every_label(labelled_files, shared):
    """The plain-Python reading of the rules (used above as the oracle) meets every label too."""
    labels = orjson.loads((shared / "cloudtrail" / "labels.json").read_bytes())["labels"]
    by_key = {(lab["file"], lab["index"]): lab for lab in labels}
    for fname, records in labelled_files.items():
        for index, raw in enumerate(records):
            rec = orjson.loads(raw)
            lab = by_key.get((fname, index))
            if lab is not None:
                assert lab["eventID"] == rec.get("eventID")
            got = set(C.upstream_rules_for(rec)) - {"All Cloudtrail Events"}
            assert got == set(lab["expected_rules"] if lab else ()), (fname, index)
