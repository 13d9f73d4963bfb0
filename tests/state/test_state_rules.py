"""Syscall rules over rebuilt state: falco_rules.yaml loads, an inline rule alerts like sysdig."""
from __future__ import annotations

import subprocess

from scaptools.engine import Engine, load_rules
from scaptools.fields.container import container_plugin
from scaptools.format.reader import open_capture
from scaptools.plugin import Registry
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
