"""``scap test`` when a spec is wrong: a malformed spec is one ERROR line and the other
specs still run (and --junit is still written); a count for a rule no rules file defines
names it; --update labels what it wrote; a changed alert says which side is which."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def suite(tmp_path) -> Path:
    """Two of the repository's specs with their captures and rules, in a private folder."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    caps = tmp_path / "captures"
    caps.mkdir()
    for name in ("iam", "console"):
        for suffix in (".scap", ".scaptest.yaml", ".alerts.jsonl"):
            shutil.copy(ROOT / "captures" / f"{name}{suffix}", caps)
    return caps


def run_test(*args) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["test", *map(str, args)])
    return res.exit_code, res.output


@pytest.mark.parametrize("text, reason", [
    ("capture: iam.scap\nrules: [../rules/aws_cloudtrail_rules.yaml]\n"
     "expect: {alerts: iam.alerts.jsonl}\nbogus: 1\n", "unknown key 'bogus'"),
    ("capture: [iam.scap\n", "YAML error"),
])
def test_a_malformed_spec_is_one_error_line_and_the_others_run(suite, tmp_path, text, reason):
    bad = suite / "bad.scaptest.yaml"
    bad.write_text(text)
    report = tmp_path / "junit.xml"
    code, out = run_test("--junit", report, suite)
    lines = out.splitlines()
    errors = [line for line in lines if line.startswith("ERROR")]
    assert code == 1 and len(errors) == 1
    assert str(bad) in errors[0] and reason in errors[0]
    assert not [line for line in lines if line.startswith(" ") and reason in line]
    assert sum(line.startswith("PASS") for line in lines) == 2
    assert lines[-1] == "3 specs: 2 passed, 1 failed"
    cases = ET.parse(report).getroot().findall("testcase")
    assert len(cases) == 3
    broken = [c for c in cases if c.find("error") is not None]
    assert len(broken) == 1 and broken[0].get("name") == bad.as_posix()
    assert reason in broken[0].find("error").text


def test_a_count_for_an_unknown_rule_names_it(suite):
    spec = suite / "counts.scaptest.yaml"
    spec.write_text("capture: iam.scap\nrules: [../rules/aws_cloudtrail_rules.yaml]\n"
                    "expect:\n  only: false\n  counts: {Create AWS user: 1, Create AWS usr: 1}\n")
    code, out = run_test(spec)
    assert code == 1 and "ERROR" in out
    assert "no rule named 'Create AWS usr'" in out and "expected 1, got 0" not in out


def test_update_of_a_new_golden_file_labels_the_alerts_written(suite):
    golden = suite / "iam.alerts.jsonl"
    golden.unlink()
    code, out = run_test("--update", suite / "iam.scaptest.yaml")
    assert code == 0 and "UPDATED" in out
    assert "unexpected" not in out
    assert "+ written     2024-03-12T09:00:28.000000000Z  Create AWS user (Informational)" in out


def test_a_changed_alert_says_which_side_is_expected(suite):
    rules = suite.parent / "rules" / "aws_cloudtrail_rules.yaml"
    rules.write_text(rules.read_text().replace("IAM user created (new user=",
                                               "IAM user added (new user=", 1))
    code, out = run_test(suite / "iam.scaptest.yaml")
    assert code == 1
    lines = out.splitlines()
    at = lines.index("  ~ changed     2024-03-12T09:00:28.000000000Z  Create AWS user")
    assert lines[at + 1].split()[:3] == ["output:", "expected", "IAM"]
    assert lines[at + 1].split()[4] == "created"
    assert lines[at + 2].split()[:2] == ["actual", "IAM"] and lines[at + 2].split()[3] == "added"
