"""The upstream CloudTrail rules raise the same alerts as ours for the rules both files define.

Same rule names, same events, same times, same priorities. Outputs differ on
purpose (ours are written anew), so they are not compared. Every spec is
replayed with ``rule_matching: all`` so that each rule is judged on its own,
whatever the order of the two files.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from scaptools.testing.runner import Replayer
from scaptools.testing.spec import find_specs, load_spec

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def names(path: Path) -> set[str]:
    return {i["rule"] for i in yaml.safe_load(path.read_text()) if isinstance(i, dict) and "rule" in i}


def test_testing_upstream_rules_agree_on_shared_rules(shared):
    upstream = shared / "rules-upstream" / "aws_cloudtrail_rules.yaml"
    common = names(upstream) & names(OURS)
    assert len(common) == len(names(upstream)) == 22  # ours is a superset
    replayer = Replayer()
    compared = 0
    for path in find_specs([ROOT / "captures"]):
        spec = load_spec(path)
        if spec.rules[0].resolve() != OURS.resolve():
            continue  # the syscall spec
        options = {**spec.options, "rule_matching": "all"}

        def shared_alerts(rules_file):
            alerts = replayer.replay(spec.capture, [rules_file, *spec.rules[1:]],
                                     options=options, disabled=spec.disabled,
                                     enable_all=spec.enable_all)
            return [(a.time, a.rule, a.priority) for a in alerts if a.rule in common]

        ours = shared_alerts(OURS)
        assert shared_alerts(upstream) == ours, spec.name
        compared += len(ours)
    assert compared >= 30


def test_testing_upstream_rules_load_with_our_engine(shared):
    result = Replayer().load([shared / "rules-upstream" / "aws_cloudtrail_rules.yaml"])
    assert result.ok
