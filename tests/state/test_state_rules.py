"""Syscall rules over rebuilt state: falco_rules.yaml loads, an inline rule alerts like sysdig."""
from __future__ import annotations

import subprocess

from scaptools.engine import Engine, load_rules
from scaptools.plugin.container import container_plugin
from scaptools.format.reader import open_capture
from scaptools.plugin.registry import Registry
from scaptools.state import tracked_events

RULE = """
- rule: curl reads etc
  desc: test
  condition: evt.type = open and evt.dir = < and fd.name startswith /etc and proc.name = curl
  output: "%evt.num %proc.name %fd.name %user.name %proc.pname"
  priority: WARNING
"""


def registry() -> Registry:
    reg = Registry.from_entry_points()
    reg.register(container_plugin())
    return reg


def test_upstream_falco_rules_load_on_the_syscall_source(shared):
    reg = registry()
    res = load_rules([shared / "rules-upstream" / "falco_rules.yaml"], reg.fieldset,
                     plugin_versions=reg.versions())
    assert res.ok and res.errors == [] and res.warnings == []


def test_inline_rule_alerts_match_sysdig(shared, sysdig_bin):
    path = shared / "captures" / "libs-e2e" / "curl_google.scap"
    reg = registry()
    res = load_rules([("inline.yaml", RULE)], reg.fieldset, plugin_versions=reg.versions())
    assert res.ok
    engine = Engine(res.ruleset)
    outputs = []
    with open_capture(path) as reader:
        for event in tracked_events(reader):
            outputs += [a.output for a in engine.process(event, "syscall")]
    cond = "evt.type = open and evt.dir = < and fd.name startswith /etc and proc.name = curl"
    ref = subprocess.run([sysdig_bin, "-r", str(path), "-p",
                          "*%evt.num %proc.name %fd.name %user.name %proc.pname", cond],
                         capture_output=True, check=True).stdout.decode().splitlines()
    assert len(ref) > 3 and outputs == ref


CT_RULE = """
- rule: console login
  desc: test
  condition: ct.name = ConsoleLogin
  output: "%ct.user %ct.srcip"
  priority: NOTICE
  source: aws_cloudtrail
"""


def alerts_by_source(paths, reg, engine) -> dict:
    out = {"syscall": [], "aws_cloudtrail": []}
    for path in paths:
        with open_capture(path) as reader:
            for event in tracked_events(reader):
                source = reg.source_of(event.plugin_id) if event.is_plugin else "syscall"
                out[source] += [(a.rule, a.ts, a.output) for a in engine.process(event, source)]
    return out


def test_merged_capture_gives_each_source_its_alerts(shared, tmp_path):
    from click.testing import CliRunner

    from scaptools.cli.main import cli
    sysc = shared / "captures" / "libs-e2e" / "curl_google.scap"
    plug = shared / "captures" / "libscap-plugin" / "cloudtrail_small.scap"
    merged = tmp_path / "mixed.scap"
    res = CliRunner().invoke(cli, ["merge", str(sysc), str(plug), "-w", str(merged)])
    assert res.exit_code == 0, res.output
    reg = registry()
    rules = load_rules([("a.yaml", RULE), ("b.yaml", CT_RULE)], reg.fieldset,
                       plugin_versions=reg.versions())
    assert rules.ok, rules.errors
    alone = alerts_by_source([sysc, plug], reg, Engine(rules.ruleset))
    mixed = alerts_by_source([merged], reg, Engine(rules.ruleset))
    assert alone["syscall"] and alone["aws_cloudtrail"]
    assert mixed == alone
