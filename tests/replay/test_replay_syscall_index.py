"""Syscall rules are indexed by evt.type: same alerts as testing every rule, Falco's warning."""
from __future__ import annotations

import pytest

from scaptools.engine import Engine, load_rules
from scaptools.format.reader import open_capture
from scaptools.plugin.registry import Registry
from scaptools.state import State, tracked_events

RULES = """
- rule: open under etc
  desc: opens of files below /etc
  condition: evt.type in (open, openat, openat2) and evt.dir = < and fd.name startswith /etc
  output: "%evt.type %fd.name %proc.name"
  priority: INFO
- rule: curl exits except close
  desc: a negated type check
  condition: not evt.type = close and evt.dir = < and proc.name = curl
  output: "%evt.type %proc.name"
  priority: INFO
- rule: connects
  desc: connect exits
  condition: evt.type = connect and evt.dir = <
  output: "%fd.name %proc.name"
  priority: INFO
"""
CAPTURES = ["sample.scap", "curl_google.scap", "single_ipv6_conn.scap", "test_ipv6_client.scap"]


def alerts(shared, tmp_path, indexed: bool) -> list:
    rules = tmp_path / "syscall_rules.yaml"
    rules.write_text(RULES)
    registry = Registry.from_entry_points()
    if not indexed:
        fieldset = registry.fieldset("syscall")
        del fieldset.index_field, fieldset.index_universe
    result = load_rules([shared / "rules-upstream" / "falco_rules.yaml", rules], registry.fieldset)
    assert result.ok, result.errors
    engine = Engine(result.ruleset, rule_matching="all", enable_all=True)
    out = []
    for name in CAPTURES:
        with open_capture(shared / "captures" / "libs-e2e" / name) as reader:
            for ev in tracked_events(reader, State()):
                out += [(name, ev.num, a.rule, a.output) for a in engine.process(ev, "syscall")]
    return out


def test_index_by_event_type_gives_the_alerts_of_every_rule(shared, tmp_path):
    indexed = alerts(shared, tmp_path, indexed=True)
    assert {a[2] for a in indexed} == {"open under etc", "curl exits except close", "connects"}
    assert indexed == alerts(shared, tmp_path, indexed=False)


@pytest.mark.parametrize("condition, warned", [
    ("proc.name = curl", True),
    ("evt.type = open and proc.name = curl", False),
])
def test_rule_without_event_type_is_warned_as_in_falco(condition, warned):
    text = (f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n"
            "  priority: INFO\n")
    result = load_rules([("r.yaml", text)], Registry.from_entry_points().fieldset)
    assert result.ok
    codes = [w.code for w in result.warnings]
    assert ("LOAD_NO_EVTTYPE" in codes) is warned
