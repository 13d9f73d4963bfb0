"""CLI plumbing of replay: options, progress, list-fields, list-plugins, errors."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.errors import RuleError
from scaptools.replay.config import merged_options, parse_option, rule_files
from scaptools.replay.loop import _with_progress


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "captures" / "example.scap"  # the README's capture: 13 CloudTrail records
OURS = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"TZ": "UTC"})


@pytest.fixture
def example_gz(tmp_path) -> Path:
    path = tmp_path / "example.scap.gz"
    path.write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    return path


def test_options_merge_defaults_config_and_overrides():
    opts = merged_options({"json_output": True, "priority": "warning", "other": 1},
                          ["rule_matching=all", "time_format_iso_8601=true"])
    assert opts["json_output"] is True and opts["priority"] == "warning"
    assert opts["rule_matching"] == "all" and opts["time_format_iso_8601"] is True
    assert "other" not in opts
    assert parse_option("a=b=c") == ("a", "b=c")
    with pytest.raises(RuleError, match="key=val"):
        parse_option("novalue")
    with pytest.raises(RuleError, match="rule matching"):
        merged_options({}, ["rule_matching=some"])


def test_rule_files_expand_directories(tmp_path):
    (tmp_path / "b.yml").write_text("[]")
    (tmp_path / "a.yaml").write_text("[]")
    (tmp_path / "c.txt").write_text("x")
    single = tmp_path / "c.txt"
    assert [p.name for p in rule_files([tmp_path, single])] == ["a.yaml", "b.yml", "c.txt"]


def test_progress_counts_on_a_stream():
    out = io.StringIO()
    assert list(_with_progress(iter(range(25)), "f.scap", out, every=10)) == list(range(25))
    assert out.getvalue().count("\r") == 2 and "f.scap: 20 events" in out.getvalue()


def test_list_fields_and_plugins():
    res = run("list-fields", "--source", "aws_cloudtrail")
    assert res.exit_code == 0
    names = [line.split()[0] for line in res.stdout.splitlines()[1:] if line.strip()]
    assert "ct.name" in names and "json.value" in names and "evt.plugininfo" in names
    assert len([n for n in names if n.split(".")[0] in ("ct", "s3", "ec2", "ecr", "iam")]) == 73
    res = run("list-fields")
    assert "Event source: syscall" in res.stdout and "Event source: aws_cloudtrail" in res.stdout
    res = run("list-plugins")
    assert res.exit_code == 0 and "cloudtrail 0.17.1" in res.stdout and "json 0.7.4" in res.stdout
    assert run("list-fields", "--source", "k8s_audit").exit_code == 2


def test_config_file_and_plugin_errors(tmp_path):
    scap, rules = EXAMPLE, OURS
    cfg = tmp_path / "falco.yaml"
    cfg.write_text("plugins:\n  - name: nope\n    library_path: /nonexistent/libnope.so\n")
    res = run("replay", scap, "-r", rules, "-c", cfg)
    assert res.exit_code == 1 and "plugin 'nope'" in res.stderr
    cfg.write_text("json_output: true\ntime_format_iso_8601: true\n")
    res = run("replay", scap, "-r", rules, "-c", cfg, "--min-priority", "critical")
    assert res.exit_code == 0, res.stderr
    assert '"output":"2024-03-14T02:10:24.000000000+0000: Critical' in res.stdout


def test_missing_capture_is_one_error_line(tmp_path):
    res = run("replay", tmp_path / "missing.scap", "-r", OURS)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "missing.scap" in lines[0] and "No such file" in lines[0]
    assert res.exc_info is None or res.exc_info[0] is SystemExit  # no traceback



def test_syscall_capture_with_the_upstream_falco_rules(shared):
    """falco_rules.yaml loads unmodified; syscall events go to the syscall rules with state."""
    rules = shared / "rules-upstream" / "falco_rules.yaml"
    assert run("validate", "-r", rules).exit_code == 0
    scap = shared / "captures" / "libs-e2e" / "curl_google.scap"
    res = run("replay", scap, "-r", rules, "--stats", "-o", "rule_matching=all")
    assert res.exit_code == 0, res.stderr
    assert "source syscall:" in res.stderr and "source aws_cloudtrail" not in res.stderr


def test_replay_reads_a_gzip_pipe(example_gz):
    rules = OURS
    piped = CliRunner().invoke(cli, ["replay", "-", "-r", str(rules)], env={"TZ": "UTC"},
                               input=example_gz.read_bytes())
    direct = run("replay", EXAMPLE, "-r", rules)
    assert piped.exit_code == 0, piped.stderr
    assert piped.stdout == direct.stdout and piped.stdout.count("\n") >= 5
    bad = CliRunner().invoke(cli, ["replay", "-", "-r", str(rules)], input=b"junk")
    assert bad.exit_code == 1 and "<stdin>" in bad.stderr


def test_json_alert_options():
    import json
    scap, rules = EXAMPLE, OURS
    res = run("replay", scap, "-r", rules, "-o", "json_output=true", "-o",
              "json_include_output_property=false", "-o", "json_include_tags_property=false",
              "--min-priority", "critical")
    assert res.exit_code == 0, res.stderr
    alerts = [json.loads(x) for x in res.stdout.splitlines()]
    assert alerts and all("output" not in a and "tags" not in a for a in alerts)
    first = alerts[0]
    assert first["rule"] == "Console Login Without MFA" and first["priority"] == "Critical"
    assert first["output_fields"] == {"ct.region": "us-east-1", "ct.srcip": "203.0.113.200",
                                      "ct.user": "dave", "evt.time": 1710382224000000000}
    assert first["time"] == "2024-03-14T02:10:24.000000000Z"
    bare = run("replay", scap, "-r", rules, "--json", "-o",
               "json_include_output_fields_property=false", "-o",
               "json_include_message_property=true", "--min-priority", "critical")
    plain = json.loads(bare.stdout.splitlines()[0])
    assert "output_fields" not in plain and plain["message"].startswith(
        "Console sign-in without MFA (user=dave ")


def test_parallel_replay_keeps_the_order(example_gz):
    args = ["replay", EXAMPLE, example_gz, "-r", OURS, "-o", "rule_matching=all", "--stats"]
    one, three = run(*args), run(*args, "-j", "3")
    assert one.exit_code == three.exit_code == 0, three.stderr
    single = run("replay", EXAMPLE, "-r", OURS, "-o", "rule_matching=all")
    assert one.stdout == three.stdout == single.stdout * 2 and single.stdout.count("\n") >= 9
    assert "Events read: 26" in three.stderr and "Run Instances: 2" in three.stderr
    syscall = run("replay", ROOT / "captures" / "syscall_shell.scap", "-r",
                  ROOT / "captures" / "rules" / "syscall_rules.yaml", "-j", "2")
    assert syscall.exit_code == 0 and "using one process" in syscall.stderr


def test_reltime_restarts_with_each_capture(tmp_path):
    scap = EXAMPLE  # 02:10:03 to 02:11:27
    rules = tmp_path / "r.yaml"
    rules.write_text("- rule: r\n  desc: d\n  condition: evt.num in (1, 13)\n"
                     "  output: n=%evt.num rel=%evt.reltime.s\n  priority: INFO\n"
                     "  source: aws_cloudtrail\n")
    for jobs in ("1", "3"):  # with 3 workers, event 13 is in a share that starts after event 1
        res = run("replay", scap, scap, "-r", rules, "-j", jobs)
        assert res.exit_code == 0, res.stderr
        assert [line.split(": Informational ")[1] for line in res.stdout.splitlines()] == \
            ["n=1 rel=0", "n=13 rel=84"] * 2


def test_rules_files_from_the_falco_config(tmp_path):
    scap, rules = EXAMPLE, OURS
    cfg = tmp_path / "falco.yaml"
    cfg.write_text(f"rules_files:\n  - {rules}\n")
    res = run("replay", scap, "-c", cfg)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == run("replay", scap, "-r", rules).stdout != ""
    assert run("replay", scap).exit_code == 2


def test_malformed_plugin_events_are_skipped(tmp_path):
    from scaptools.events.event import Event
    from scaptools.format.writer import CaptureWriter
    capture = tmp_path / "odd.scap"
    with CaptureWriter(str(capture)) as writer:
        writer.write(Event.from_params(322, [b"\x02\x00"], ts=10**18))  # one short parameter
        writer.write(Event.plugin(10**18, 2, b'{"eventName":"StopLogging"}', num=2))
    res = run("replay", capture, "-r", OURS, "--stats")
    assert res.exit_code == 0, res.stderr
    assert "CloudTrail logging stopped (trail=<NA> " in res.stdout
    assert "unknown plugins skipped: 1" in res.stderr
