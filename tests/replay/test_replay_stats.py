"""`scap replay --stats`: the statistics lines, with and without alerts, and the rules
each evaluation path (the compiled core, the Python path) takes per source."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from scaptools.replay.stats import ReplayStats

ROOT = Path(__file__).resolve().parents[2]


def test_no_alerts_no_heading():
    stats = ReplayStats(events=8, by_source=Counter({"aws_cloudtrail": 8}))
    lines = stats.lines()
    assert "Alerts: 0" in lines
    assert "Alerts by rule:" not in lines


def test_alerts_by_rule_in_order_of_count():
    stats = ReplayStats(events=3, alerts_by_rule=Counter({"B": 1, "A": 2}),
                        alerts_by_priority=Counter({"Warning": 3}))
    lines = stats.lines()
    at = lines.index("Alerts by rule:")
    assert lines[at + 1:at + 3] == ["  A: 2", "  B: 1"]


def test_paths_per_source():
    stats = ReplayStats(paths={"aws_cloudtrail": {"core": ["A", "B"], "python": ["C"]},
                               "syscall": {"core": [], "python": ["S"]}})
    lines = stats.lines()
    at = lines.index("Rules by evaluation path:")
    assert lines[at + 1:] == ["  aws_cloudtrail: core 2, python 1 (C)",
                              "  syscall: core 0, python 1"]


def test_rules_that_keep_a_source_in_python_are_named_with_their_reason():
    stats = ReplayStats(paths={"syscall": {"core": [], "python": ["A", "B"],
                                           "why": {"B": "field fd.sip has type ipaddr"}}})
    lines = stats.lines()
    at = lines.index("Rules by evaluation path:")
    assert lines[at + 1:] == ["  syscall: core 0, python 2",
                              "    kept in Python by B: field fd.sip has type ipaddr"]


def test_paths_add_up_over_workers():
    total, part = ReplayStats(), ReplayStats(paths={"s": {"core": ["A"], "python": []}})
    total.add(part)
    assert total.paths == part.paths


def test_command_without_alerts(tmp_path):
    """A capture whose events raise no alert: no empty heading; the path lines follow."""
    capture = ROOT / "captures" / "console_negative.scap"
    rules = ROOT / "captures" / "rules" / "syscall_rules.yaml"
    proc = subprocess.run([sys.executable, "-c", "from scaptools.cli.main import main; main()",
                           "replay", str(capture), "-r", str(rules), "--stats"],
                          capture_output=True, text=True, check=True)
    lines = proc.stderr.splitlines()
    assert "Alerts: 0" in lines and "Alerts by rule:" not in lines
    # one rule: the core runs it when built (the whole syscall source), else Python
    assert lines[-1] in ("  syscall: core 1, python 0", "  syscall: core 0, python 1")
