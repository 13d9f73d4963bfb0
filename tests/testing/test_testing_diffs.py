"""`scap test` notices rule changes and explains them; --update, --junit, spec errors."""
from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.errors import ScapError
from scaptools.testing.spec import SpecError, load_spec, read_golden

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def suite(tmp_path) -> Path:
    """A private copy of captures/ and rules/ that tests may edit."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "captures", tmp_path / "captures",
                    ignore=shutil.ignore_patterns("logs"))
    return tmp_path


def edit_rules(suite: Path, old: str, new: str) -> None:
    path = suite / "rules" / "aws_cloudtrail_rules.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def run_test(*args) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["test", *map(str, args)])
    return res.exit_code, res.output


def test_testing_changed_output_and_priority_are_reported(suite):
    edit_rules(suite, "IAM user created (new user=", "IAM user added (new user=")
    edit_rules(suite, "  priority: INFO\n", "  priority: NOTICE\n")
    code, out = run_test(suite / "captures" / "iam.scaptest.yaml")
    assert code == 1
    assert "FAIL" in out and "iam.scaptest.yaml" in out
    assert "~ changed     2024-03-12T09:00:28.000000000Z  Create AWS user" in out
    assert "priority: expected Informational, actual Notice" in out
    assert "output:   expected IAM user created (new user=svc-backup" in out
    assert "          actual   IAM user added (new user=svc-backup" in out


def test_testing_loosened_condition_gives_unexpected_alerts(suite):
    edit_rules(suite, 'condition: ct.name="CreateGroup" and ct_succeeded',
               'condition: ct.name="CreateGroup"')
    code, out = run_test(suite / "captures")
    assert code == 1
    assert "+ unexpected  2024-03-12T09:30:56.000000000Z  Create Group (Warning)" in out and "Create Group (Warning)" in out
    assert "! negative    Create Group: expected no alert, got 1" in out
    assert "iam_negative.scaptest.yaml" in out
    assert "PASS" in out  # the other specs are unaffected


def test_testing_broken_rule_gives_missing_alerts(suite):
    edit_rules(suite, 'condition: ct.name="DeleteGroup" and ct_succeeded',
               'condition: ct.name="DeleteGroups" and ct_succeeded')
    code, out = run_test(suite / "captures" / "iam.scaptest.yaml")
    assert code == 1
    assert "- missing     2024-03-12T09:00:42.000000000Z  Delete Group (Warning)" in out


def test_testing_pytest_item_shows_the_same_diff(suite):
    edit_rules(suite, "IAM user created (new user=", "IAM user added (new user=")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(suite), str(suite / "captures" / "iam.scaptest.yaml")],
                          capture_output=True, text=True, cwd=suite)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "~ changed     2024-03-12T09:00:28.000000000Z  Create AWS user" in proc.stdout
    assert "1 failed" in proc.stdout


def test_testing_update_writes_golden_only_when_asked(suite):
    spec = suite / "captures" / "iam.scaptest.yaml"
    golden = suite / "captures" / "iam.alerts.jsonl"
    before = read_golden(golden)
    golden.unlink()
    code, out = run_test(spec)
    assert code == 1 and "golden alert file is missing" in out
    assert not golden.exists()  # a normal run never writes
    code, out = run_test("--update", spec)
    assert code == 0 and "UPDATED" in out and "review" in out
    assert read_golden(golden) == before
    code, out = run_test(spec)
    assert code == 0


def test_testing_junit_report(suite, tmp_path):
    edit_rules(suite, "IAM user created (new user=", "IAM user added (new user=")
    report = tmp_path / "junit.xml"
    code, _ = run_test("--junit", report, suite / "captures")
    assert code == 1
    root = ET.parse(report).getroot()
    cases = root.findall("testcase")
    assert int(root.get("tests")) == len(cases) >= 10
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name").rsplit("/", 1)[-1] for c in failed] == ["example.scaptest.yaml",
                                                                  "iam.scaptest.yaml"]
    assert "IAM user added" in failed[1].find("failure").text


def test_testing_counts_expectation(suite):
    spec = suite / "captures" / "example_all_events.scaptest.yaml"
    spec.write_text(spec.read_text().replace("All Cloudtrail Events: 13", "All Cloudtrail Events: 12"))
    code, out = run_test(spec)
    assert code == 1 and "# count       All Cloudtrail Events: expected 12, got 13" in out


@pytest.mark.parametrize("text, message, line", [
    ("capture: a.scap\nrules: [r.yaml]\nexpect: {alerts: a.jsonl}\nbogus: 1\n",
     "unknown key 'bogus'", 4),
    ("capture: a.scap\nrules: [r.yaml]\nexpect: {alerts: a.jsonl, counts: {}}\n",
     "exactly one of", 3),
    ("capture: a.scap\nexpect: {alerts: a.jsonl}\n", "'rules' must be a list", 0),
    ("capture: [a\n", "YAML error", 2),
    ("- just a list\n", "must be a YAML mapping", 1),
])
def test_testing_bad_spec_names_file_and_line(tmp_path, text, message, line):
    path = tmp_path / "bad.scaptest.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert isinstance(info.value, ScapError)
    assert message in str(info.value)
    assert info.value.location.path == str(path)
    assert info.value.location.line == line


def test_testing_bad_spec_is_one_line_error_in_cli(tmp_path):
    path = tmp_path / "bad.scaptest.yaml"
    path.write_text("capture: a.scap\nexpect: {counts: {}}\n")
    code, out = run_test(path)
    assert code == 1
    assert f"{path}:" in out and "'rules' must be a list" in out


def test_testing_bad_golden_line(suite):
    golden = suite / "captures" / "iam.alerts.jsonl"
    golden.write_text(golden.read_text() + "{not json\n")
    code, out = run_test(suite / "captures" / "iam.scaptest.yaml")
    assert code == 1 and "iam.alerts.jsonl:" in out and "bad alert line" in out


def test_testing_update_refuses_alerts_of_negative_rules(suite):
    edit_rules(suite, 'condition: ct.name="CreateGroup" and ct_succeeded',
               'condition: ct.name="CreateGroup"')
    golden = suite / "captures" / "iam_negative.alerts.jsonl"
    before = golden.read_text()
    code, out = run_test("--update", suite / "captures" / "iam_negative.scaptest.yaml")
    assert code == 1
    assert "! negative    Create Group: expected no alert, got 1" in out
    assert golden.read_text() == before


def test_testing_spec_replay_options(suite):
    """tags / skip_tags / disabled / min_priority / options reach the engine like scap replay's flags."""
    spec = suite / "captures" / "options.scaptest.yaml"
    spec.write_text("capture: iam.scap\nrules: [../rules/aws_cloudtrail_rules.yaml]\n"
                    "options: {rule_matching: all}\nmin_priority: warning\n"
                    "disabled: [Admin Policy]\nskip_tags: [mitre_persistence]\n"
                    "expect:\n  counts:\n    Deactivate MFA for Root User: 1\n"
                    "    Create Group: 1\n    Delete Group: 1\n"
                    "    IAM Policy Version Set as Default: 1\n"
                    "    Account Password Policy Deleted: 1\n    Account Left Organization: 1\n"
                    "    Root Account API Call: 3\n")
    code, out = run_test(spec)
    assert code == 0, out
    spec.write_text(spec.read_text().replace("options: {rule_matching: all}\n", ""))
    code, out = run_test(spec)  # first match only: root calls go to the earlier rules
    assert code == 1 and "# count       Root Account API Call: expected 3, got 1" in out


def test_testing_missing_path_is_an_error(tmp_path):
    code, out = run_test(tmp_path / "nothing-here")
    assert code == 1 and "no such file or folder" in out
    code, out = run_test(ROOT / "captures" / "iam.scap")
    assert code == 1 and "iam.scap: not a test spec" in out
