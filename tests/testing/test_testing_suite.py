"""The shipped regression suite: captures/ passes through `scap test` and pytest, covers every rule."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.testing.runner import Replayer, iso_time
from scaptools.testing.spec import find_specs, load_spec, read_golden

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
RULES = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def rule_names(path: Path) -> list[str]:
    items = yaml.safe_load(path.read_text())
    return [i["rule"] for i in items if isinstance(i, dict) and "rule" in i]


def test_testing_rules_load_without_errors_or_warnings():
    result = Replayer().load([RULES])
    assert result.ok
    assert [(w.code, w.message) for w in result.warnings] == []
    assert len(rule_names(RULES)) >= 22 + 20


def test_testing_scap_test_passes_on_captures():
    res = CliRunner().invoke(cli, ["test", str(CAPTURES)])
    assert res.exit_code == 0, res.output
    assert "0 failed" in res.output
    assert "PASS" in res.output and "FAIL" not in res.output


def test_testing_scap_test_defaults_to_captures_folder(monkeypatch):
    monkeypatch.chdir(ROOT)
    res = CliRunner().invoke(cli, ["test", "-q"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [f"{len(find_specs([CAPTURES]))} specs: "
                                       f"{len(find_specs([CAPTURES]))} passed, 0 failed"]


def test_testing_pytest_collects_and_passes_captures():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(CAPTURES)], capture_output=True, text=True, cwd=ROOT)
    specs = find_specs([CAPTURES])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(specs)} passed" in proc.stdout


def test_testing_every_rule_has_positive_and_negative_spec():
    positive: set[str] = set()
    negative: set[str] = set()
    for path in find_specs([CAPTURES]):
        spec = load_spec(path)
        if spec.rules[0].resolve() != RULES.resolve():
            continue
        alerts = read_golden(spec.golden) if spec.golden else []
        positive |= {a.rule for a in alerts}
        positive |= {name for name, n in (spec.counts or {}).items() if n > 0}
        negative |= set(spec.negative_for)
    names = set(rule_names(RULES))
    assert names - positive == set(), "rules without a positive spec"
    assert names - negative == set(), "rules without a negative spec"
    # negative_for names must be real rules (a typo would make the check vacuous)
    assert negative - names == set()


def test_testing_example_capture_raises_a_few_alerts():
    res = CliRunner().invoke(cli, ["replay", str(CAPTURES / "example.scap"), "-r", str(RULES)])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert 3 <= len(lines) <= 20
    assert any("Console Login" in line or "sign-in" in line for line in lines)


def test_testing_scap_replay_fixture(scap_replay):
    alerts = scap_replay(CAPTURES / "iam.scap", RULES, options={"rule_matching": "all"},
                         tags=["aws_iam"])
    rules = [a.rule for a in alerts]
    assert "Create AWS user" in rules and "Access Denied API Calls" not in rules  # tag filter
    assert alerts[0].time.startswith("2024-03-12T09:00:")
    first_only = scap_replay(CAPTURES / "console.scap", [RULES])
    assert len(first_only) < len(scap_replay(CAPTURES / "console.scap", [RULES],
                                             options={"rule_matching": "all"}))


def test_testing_syscall_capture_agrees_with_sysdig(sysdig_bin):
    """sysdig sees the same processes and files for the events our syscall spec alerts on."""
    spec = load_spec(CAPTURES / "syscall_shell.scaptest.yaml")
    ours = read_golden(spec.golden)
    assert [a.rule for a in ours] == ["Shadow File Opened"] * 2
    flt = ("evt.type in (open, openat, openat2) and evt.rawres >= 0 and fd.name = /etc/shadow "
           "and not proc.name in (sshd, passwd, unix_chkpwd)")
    proc = subprocess.run([sysdig_bin, "-r", str(spec.capture), "-p",
                           "%evt.rawtime %proc.name %proc.exepath %fd.num", flt],
                          capture_output=True, text=True, check=True)
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    assert len(rows) == len(ours)
    for (ts, name, exe, fd), alert in zip(rows, ours):
        assert alert.time == iso_time(int(ts))
        assert f"process={name} exe={exe}" in alert.output and f"fd={fd} " in alert.output
