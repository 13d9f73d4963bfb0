"""The upstream rules files (docs/rules-language.md Appendix A; issue 3 acceptance)."""
from __future__ import annotations

import pytest
import yaml

from scaptools.engine import Engine, load_rules, parse_condition
from scaptools.fields.base import FieldInfo, FieldSet
from scaptools.plugin.registry import Registry


@pytest.fixture
def aws_rules(shared):
    return shared / "rules-upstream" / "aws_cloudtrail_rules.yaml"


@pytest.fixture
def falco_rules(shared):
    return shared / "rules-upstream" / "falco_rules.yaml"


def test_aws_rules_load_without_error_or_warning(aws_rules, ct_fieldsets):
    res = load_rules([aws_rules], ct_fieldsets,
                     plugin_versions={"cloudtrail": "0.17.1", "json": "0.7.4"})
    assert res.ok and res.errors == [] and res.warnings == []
    rules = res.ruleset.rules
    assert len(rules) == 22
    assert sorted(r.name for r in rules if not r.enabled) == [
        "All Cloudtrail Events", "List Buckets"]
    unindexed = [r.name for r in rules if r.index_values is None]
    assert unindexed == ["All Cloudtrail Events"]
    assert res.ruleset.by_name("Run Instances in Non-approved Region").condition.count(
        "us-east-0") == 1


def test_aws_rules_load_with_the_real_plugins(aws_rules):
    registry = Registry.from_entry_points()
    res = load_rules([aws_rules], registry.fieldset, plugin_versions=registry.versions())
    assert res.ok and res.warnings == [], [str(d) for d in res.errors + res.warnings]
    assert all(r.index_values for r in res.ruleset.rules if r.enabled)


LOGIN = {"eventName": "ConsoleLogin", "sourceIPAddress": "1.2.3.4", "awsRegion": "us-east-1",
         "responseElements": {"ConsoleLogin": "Success"},
         "additionalEventData": {"MFAUsed": "No"}}


@pytest.mark.parametrize("identity,matching,expected", [
    ({"type": "IAMUser", "userName": "alice"}, "first", ["Console Login Without MFA"]),
    ({"type": "Root"}, "first", ["Console Login Without MFA"]),
    ({"type": "Root"}, "all", ["Console Login Without MFA", "Console Root Login Without MFA"]),
    ({"type": "AssumedRole"}, "all", ["Console Login Through Assume Role"]),
    (None, "all", []),  # identitytype missing: `!= "AssumedRole"` is false (§6.1)
])
def test_console_login_rules(identity, matching, expected, aws_rules, ct_fieldsets, ct_event):
    res = load_rules([aws_rules], ct_fieldsets)
    rec = dict(LOGIN)
    if identity is not None:
        rec["userIdentity"] = identity
    alerts = Engine(res.ruleset, rule_matching=matching).process(ct_event(rec), "aws_cloudtrail")
    assert [a.rule for a in alerts] == expected


@pytest.mark.parametrize("region,matching,expected", [
    ("us-east-1", "first", ["Run Instances"]),
    ("us-east-1", "all", ["Run Instances", "Run Instances in Non-approved Region"]),
    ("us-east-0", "all", ["Run Instances"]),
    (None, "all", ["Run Instances", "Run Instances in Non-approved Region"]),
])
def test_run_instances_rules(region, matching, expected, aws_rules, ct_fieldsets, ct_event):
    res = load_rules([aws_rules], ct_fieldsets)
    rec = {"eventName": "RunInstances", "userIdentity": {"type": "IAMUser", "userName": "u"}}
    if region is not None:
        rec["awsRegion"] = region
    alerts = Engine(res.ruleset, rule_matching=matching).process(ct_event(rec), "aws_cloudtrail")
    assert [a.rule for a in alerts] == expected
    failed = dict(rec, errorCode="Client.UnauthorizedOperation")
    assert Engine(res.ruleset, rule_matching="all").process(ct_event(failed), "aws_cloudtrail") == []


def _conditions(path):
    items = [i for i in yaml.safe_load(path.read_text()) if isinstance(i, dict)]
    macros = [i["condition"] for i in items if "macro" in i]
    rules = [i["condition"] for i in items if "rule" in i and "condition" in i]
    lists = [i for i in items if "list" in i]
    return macros, rules, lists


def test_every_falco_condition_and_macro_parses_unmodified(falco_rules):
    macros, rules, lists = _conditions(falco_rules)
    assert (len(macros), len(rules), len(lists)) == (87, 25, 49)
    for text in macros + rules:
        parse_condition(text)


def test_falco_rules_unknown_source_reported_the_falco_way(falco_rules):
    res = load_rules([falco_rules], lambda source: None)
    assert res.ok
    unknown = [w for w in res.warnings if w.code == "LOAD_UNKNOWN_SOURCE"]
    assert len(unknown) == 25
    assert unknown[0].message == "Unknown source syscall, skipping"


def test_falco_rules_unknown_fields_reported_the_falco_way(falco_rules):
    fs = FieldSet("syscall")
    fs.add(FieldInfo("evt.type", provider="test"), lambda arg: lambda ev: None)
    res = load_rules([falco_rules], lambda source: fs if source == "syscall" else None)
    err = res.errors[0]  # Falco checks a rule's output before its condition
    assert (err.code, err.item_type) == ("LOAD_ERR_COMPILE_OUTPUT", "rule")
    assert err.message.startswith("unknown filter: ")
    assert err.location.path.endswith("falco_rules.yaml") and err.location.line > 0


def test_falco_rules_with_the_syscall_fields(falco_rules):
    registry = Registry.from_entry_points()
    assert registry.fieldset("syscall").lookup("proc.name") is not None
    res = load_rules([falco_rules], registry.fieldset)
    assert res.ok, [str(d) for d in res.errors]
    assert len(res.ruleset.rules) == 25
