"""Our rule set on real CloudTrail records: the upstream rule names fire exactly where labelled.

The reference folder holds 3,273 real records and labels.json, which lists for
each record the upstream rule names whose condition it satisfies (disabled
rules included). The records are recorded with `scap record`, replayed with
"List Buckets" enabled and ``rule_matching: all``, and the alerts of the upstream
names must match the labels one for one (by event time and rule). Our own
additional rules are not labelled, so they are only checked for not being
overly noisy.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.testing.runner import Replayer, iso_time

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def event_time(path: Path, index: int) -> str:
    import gzip
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    stamp = json.loads(data)["Records"][index]["eventTime"]
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if when.tzinfo is None:  # a stamp without a zone is UTC, whatever the host's zone
        when = when.replace(tzinfo=timezone.utc)
    return iso_time(int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000)


def test_testing_our_rules_match_labels_on_real_records(shared, tmp_path):
    folder = shared / "cloudtrail"
    labels = json.loads((folder / "labels.json").read_text())
    capture = tmp_path / "real.scap"
    res = CliRunner().invoke(cli, ["record", "-w", str(capture), "--plugin", "cloudtrail",
                                   "--open", str(folder)])
    assert res.exit_code == 0, res.output
    upstream_names = {r for label in labels["labels"] for r in label["expected_rules"]}
    assert labels["rules_reference"]["approved_regions"] == ["us-east-0"]  # same as ours
    expected = Counter((event_time(folder / label["file"], label["index"]), rule)
                       for label in labels["labels"] for rule in label["expected_rules"])
    alerts = Replayer().replay(capture, [OURS, ROOT / "captures/rules/enable_list_buckets.yaml"],
                               options={"rule_matching": "all"})
    shared_names = upstream_names | {"Console Login Without MFA", "Deactivate MFA for Root User",
                                     "Create Group", "Delete Group", "ECS Service Created",
                                     "ECS Task Run or Started",
                                     "Delete Bucket Public Access Block"}
    actual = Counter((a.time, a.rule) for a in alerts if a.rule in shared_names)
    assert actual == expected
    assert sum(expected.values()) >= 70
    # our additional detections fire on this attack-simulation data, but not on everything
    ours_only = Counter(a.rule for a in alerts if a.rule not in shared_names)
    assert 0 < sum(ours_only.values()) < 600, ours_only
