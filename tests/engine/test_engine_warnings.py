"""Compiler hints and deprecation warnings (docs/rules-language.md §12)."""
from __future__ import annotations

import pytest

from scaptools.engine import load_rules
from scaptools.fields.base import FieldInfo, FieldSet


@pytest.fixture
def fieldsets():
    fs = FieldSet("k8s_audit")
    for name in ("ka.user.name", "evt.dir", "container.info", "ct.x", "ct.y"):
        fs.add(FieldInfo(name, provider="test"), lambda arg: lambda ev: None)
    return lambda source: fs if source == "k8s_audit" else None


def rule(cond, output="o"):
    return (f"- rule: R\n  desc: d\n  condition: {cond}\n  output: {output}\n"
            "  priority: INFO\n  source: k8s_audit\n")


@pytest.mark.parametrize("cond,code,message", [
    ("ct.x = ct.y", "LOAD_COMPILE_CONDITION",
     "'ct.y' may be a valid field misused as a const string value"),
    ("ct.x = 'tolower(ct.y)'", "LOAD_COMPILE_CONDITION",
     "'tolower(ct.y)' may be a valid field transformer misused as a const string value"),
    ("ct.x regex abc", "LOAD_COMPILE_CONDITION",
     "regex check with 'abc' may be optimized with simpler operators such as '=', "
     "'contains', 'startswith', 'endswith'"),
    ("ka.user.name = '<NA>'", "LOAD_UNSAFE_NA_CHECK",
     "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of "
     "the rule condition."),
    ("evt.dir = '<'", "LOAD_DEPRECATED_ITEM", "The 'evt.dir' field is deprecated."),
])
def test_condition_warnings(cond, code, message, fieldsets):
    res = load_rules([("r.yaml", rule(cond))], fieldsets)
    assert res.ok
    assert [(w.code, w.message, w.location.line) for w in res.warnings] == [(code, message, 3)]


def test_no_warning_for_plain_regex_and_values(fieldsets):
    res = load_rules([("r.yaml", rule("ct.x regex 'a.*b' and ct.x = plain"))], fieldsets)
    assert res.ok and res.warnings == []


def test_container_info_removed_from_output(fieldsets):
    res = load_rules([("r.yaml", rule("ct.x exists", "a %container.info b"))], fieldsets)
    assert [w.code for w in res.warnings] == ["LOAD_DEPRECATED_ITEM"]
    assert res.ruleset.rules[0].output.parts == ["a  b"]  # removed, blanks kept (Falco)
