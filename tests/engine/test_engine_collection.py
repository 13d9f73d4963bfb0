"""Lists, macros, exceptions, append and override (docs/rules-language.md §2.3-§3, §5)."""
from __future__ import annotations

import textwrap

import pytest

from scaptools.engine import Engine, load_rules
from scaptools.engine.rules.infos import ExceptionInfo
from scaptools.engine.rules.textual import add_exceptions, substitute_lists, list_pattern


def load(text, fieldsets):
    return load_rules([("rules.yaml", textwrap.dedent(text))], fieldsets)


def rule_def(name="R", cond="ct.name = X", extra=""):
    return (f"- rule: {name}\n  desc: d\n  condition: {cond}\n  output: o\n  priority: INFO\n"
            f"  source: aws_cloudtrail\n{extra}")


def fires(res, record, ct_event, source="aws_cloudtrail"):
    eng = Engine(res.ruleset, rule_matching="all")
    return [a.rule for a in eng.process(ct_event(record), source)]


def lst(*entries):
    return [(n, items, list_pattern(n)) for n, items in entries]


LIST_SUBST = [
    ("ct.region in (regions)", [("regions", ["a", "b"])], "ct.region in ( a, b )"),
    ("x in (a, regions, b)", [("regions", ["r 1"])], 'x in (a, "r 1" , b)'),
    ("x in (regions)", [("regions", [])], "x in ( )"),
    ("x in (a, regions)", [("regions", [])], "x in (a )"),
    ("x in (regions, a)", [("regions", [])], "x in ( a)"),
    ("x in (a, regions , b)", [("regions", [])], "x in (a , b)"),
    ("x = 'regions'", [("regions", ["q"])], "x = 'regions'"),  # quote is not a delimiter
    ("x = \"a regions b\"", [("regions", ["q"])], 'x = "a q b"'),  # [quirk] blind to quoting
    ("x in (myregions, regions_x)", [("regions", ["q"])], "x in (myregions, regions_x)"),
    ("x in (l1)", [("l1", ["l2"]), ("l2", ["v"])], "x in ( v )"),  # later list re-substituted
]


@pytest.mark.parametrize("text,lists,expected", LIST_SUBST)
def test_list_substitution(text, lists, expected):
    """Compared with blanks collapsed: only the token sequence matters."""
    assert " ".join(substitute_lists(text, lst(*lists)).split()) == " ".join(expected.split())


def test_exception_text_matches_spec_example():
    excs = [ExceptionInfo("trusted_callers", None, ["ct.user", "ct.srcip"], ["=", "startswith"],
                          [["admin", "10.0."], ["ci bot", "192.168."]], True),
            ExceptionInfo("trusted_regions", None, "ct.region", None,
                          ["us-east-1", "eu-west-1"], True),
            ExceptionInfo("no_values", None, "ct.region", None, [], False)]
    text = add_exceptions('ct.name="PutBucketAcl" and not ct.error exists', excs)
    assert text == ('(ct.name="PutBucketAcl" and not ct.error exists) and not '
                    '((ct.user = admin and ct.srcip startswith 10.0.) or '
                    '(ct.user = "ci bot" and ct.srcip startswith 192.168.)) and not '
                    '(ct.region in (us-east-1, eu-west-1))')


def test_exception_value_rendering():
    excs = [ExceptionInfo("e", None, ["ct.user", "ct.region"], ["in", "pmatch"],
                          [["alice", ["a b", "c"]], ["(x, y)", "z"]], True)]
    assert add_exceptions("C", excs) == (
        '(C) and not ((ct.user in (alice) and ct.region pmatch ("a b", c)) or '
        '(ct.user in (x, y) and ct.region pmatch (z)))')


EXC_RULES = """
- list: trusted
  items: [bob, "carol x"]
""" + rule_def("R", "ct.name = PutBucketAcl", """  exceptions:
    - name: by_user_ip
      fields: [ct.user, ct.srcip]
      comps: [in, startswith]
      values:
        - [alice, 10.0.]
        - [trusted, 192.168.]
    - name: by_region
      fields: ct.region
      values: [eu-west-1, us-west-2]
    - name: by_error
      fields: [ct.error]
      comps: [in]
      values: [[AccessDenied]]
    - name: modifier
      fields: ct.user
      comps: startswith anyof
      values: [svc-, ci-]
    - name: empty
      fields: [ct.region]
""")

BASE_REC = {"eventName": "PutBucketAcl", "awsRegion": "us-east-1", "sourceIPAddress": "1.1.1.1",
            "userIdentity": {"type": "IAMUser", "userName": "mallory"}}


@pytest.mark.parametrize("change,fired", [
    ({}, True),
    ({"sourceIPAddress": "10.0.3.4", "user": "alice"}, False),
    ({"sourceIPAddress": "10.0.3.4", "user": "bob"}, True),
    ({"sourceIPAddress": "192.168.1.1", "user": "bob"}, False),  # list name in values expanded
    ({"awsRegion": "eu-west-1"}, False),
    ({"errorCode": "AccessDenied"}, False),
    ({"user": "svc-backup"}, False),
    ({"user": "ci-runner"}, False),
])
def test_every_exception_form(change, fired, ct_fieldsets, ct_event):
    res = load(EXC_RULES, ct_fieldsets)
    assert res.ok and not res.warnings, (res.errors, res.warnings)
    rec = dict(BASE_REC)
    user = change.pop("user", None) if "user" in change else None
    change = {k: v for k, v in change.items() if k != "user"}
    rec.update(change)
    if user:
        rec["userIdentity"] = {"type": "IAMUser", "userName": user}
    assert fires(res, rec, ct_event) == (["R"] if fired else [])


EXC_ERRORS = [
    ("    - name: e\n      fields: []\n      values: [a]\n",
     "Rule exception item must have fields property with a list of fields"),
    ("    - name: e\n      fields: [ct.user, ct.region]\n      comps: [=]\n",
     "Fields and comps lists must have equal length"),
    ("    - name: e\n      fields: [ct.user]\n      comps: [~=]\n",
     "'~=' is not a supported comparison operator"),
    ("    - name: e\n      fields: [ct.nope]\n", "'ct.nope' is not a supported filter field"),
    ("    - name: e\n      fields: ct.user\n      comps: [in]\n",
     "Fields and comps must both be strings"),
    ("    - name: e\n      fields: ct.user\n      comps: =\n",
     "When fields is a single value, comps must be one of (in, pmatch, intersects)"),
    ("    - name: e\n      fields: [ct.user, ct.region]\n      values: [[a]]\n",
     "Fields and values lists must have equal length"),
    ("    - name: e\n      fields: ct.user\n      values: [[a]]\n",
     "Expected values array to contain a list of strings"),
]


@pytest.mark.parametrize("exc,message", EXC_ERRORS)
def test_exception_validation_errors(exc, message, ct_fieldsets):
    res = load(rule_def(extra="  exceptions:\n" + exc), ct_fieldsets)
    assert [(e.code, e.message, e.location.line) for e in res.errors] == \
        [("LOAD_ERR_VALIDATE", message, 8)]


def test_exception_shape_errors(ct_fieldsets):
    res = load(rule_def(extra="  exceptions: x\n"), ct_fieldsets)
    assert res.errors[0].message == "Rule exceptions must be a sequence"
    res = load(rule_def(extra="  exceptions: [x]\n"), ct_fieldsets)
    assert res.errors[0].message == "Rule exception must be a mapping"
    res = load(rule_def(extra="  exceptions:\n    - name: e\n      fields: ct.user\n"
                              "      values: x\n"), ct_fieldsets)
    assert res.errors[0].message == "Rule exception values must be a sequence"


def test_duplicate_exception_name_warns(ct_fieldsets):
    exc = "    - name: e\n      fields: ct.user\n      values: [a]\n"
    res = load(rule_def(extra="  exceptions:\n" + exc + exc), ct_fieldsets)
    assert res.ok
    assert [w.message for w in res.warnings] == [
        "Multiple definitions of exception 'e' in the same rule"]


MACRO_RULES = """
- macro: login
  condition: ct.name = ConsoleLogin or ct.name = SwitchRole
- macro: ok
  condition: not ct.error exists
- rule: R
  desc: d
  condition: login and ok and not root
  output: o
  priority: INFO
  source: aws_cloudtrail
- macro: root
  condition: ct.user.identitytype = Root
"""


@pytest.mark.parametrize("rec,fired", [
    ({"eventName": "ConsoleLogin"}, True),
    ({"eventName": "SwitchRole"}, True),  # macro is one operand: (a or b) and ...
    ({"eventName": "SwitchRole", "errorCode": "x"}, False),
    ({"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}, False),
    ({"eventName": "Other"}, False),
])
def test_macros_are_subtrees_and_rules_see_later_macros(rec, fired, ct_fieldsets, ct_event):
    res = load(MACRO_RULES, ct_fieldsets)
    assert res.ok and not res.warnings
    assert fires(res, rec, ct_event) == (["R"] if fired else [])
    assert res.ruleset.rules[0].index_values == frozenset({"ConsoleLogin", "SwitchRole"})


def test_macro_visibility_and_loops(ct_fieldsets):
    text = "- macro: a\n  condition: b\n- macro: b\n  condition: ct.name = X\n"
    res = load(text, ct_fieldsets)
    assert [(e.code, e.message, e.item_name) for e in res.errors] == [
        ("LOAD_ERR_VALIDATE", "Undefined macro 'b' used in filter.", "a")]
    text = ("- macro: a\n  condition: ct.name = X\n- macro: b\n  condition: a\n"
            "- macro: a\n  condition: or b\n  override:\n    condition: append\n")
    res = load(text, ct_fieldsets)
    assert [(e.code, e.message) for e in res.errors] == [  # Falco's resolver meets b twice
        ("LOAD_ERR_VALIDATE", "reference loop in macro 'b'")]


def test_nested_lists_one_level(ct_fieldsets, ct_event):
    text = """
- list: inner
  items: [a, b]
- list: outer
  items: [inner, c]
- list: late
  items: [later]
- list: outer2
  items: [late2]
- list: late2
  items: [z]
""" + rule_def(cond="ct.name in (outer, outer2)")
    res = load(text, ct_fieldsets)
    assert res.ok
    # `late2` is defined after outer2: not expanded inside the list, but the text
    # substitution of later lists still replaces the inserted name (§5.5)
    assert res.ruleset.rules[0].index_values == frozenset({"a", "b", "c", "z"})
    assert not [w for w in res.warnings if w.code == "LOAD_UNUSED_LIST" and
                "inner" in str(w.item_name)]


APPEND_OVERRIDE = rule_def("R", "ct.name = CreateGroup", """  tags: [a]
  exceptions:
    - name: users
      fields: [ct.user]
      values: [[alice]]
""") + """
- rule: R
  condition: and not ct.user = terraform
  override:
    condition: append
- rule: R
  exceptions:
    - name: users
      values: [[bob]]
    - name: regions
      fields: ct.region
      values: [eu-west-1]
  tags: [b]
  output: extra
  override:
    exceptions: append
    tags: append
    output: append
- rule: R
  priority: CRITICAL
  enabled: false
  source: aws_cloudtrail
  override:
    priority: replace
    enabled: replace
- rule: R
  enabled: true
"""


def test_append_and_override_rule(ct_fieldsets, ct_event):
    res = load(APPEND_OVERRIDE, ct_fieldsets)
    assert res.ok, res.errors
    assert [w.code for w in res.warnings] == ["LOAD_DEPRECATED_ITEM"]
    rule = res.ruleset.rules[0]
    assert (rule.priority_name, rule.enabled, rule.tags, rule.output_text) == \
        ("Critical", True, ("a", "b"), "o extra")
    base = {"eventName": "CreateGroup", "awsRegion": "us-east-1"}
    for user, fired in [("mallory", True), ("terraform", False), ("alice", False), ("bob", False)]:
        rec = dict(base, userIdentity={"type": "IAMUser", "userName": user})
        assert fires(res, rec, ct_event) == (["R"] if fired else []), user
    assert fires(res, dict(base, awsRegion="eu-west-1"), ct_event) == []


def test_condition_append_is_textual(ct_fieldsets):
    text = rule_def("R", "ct.name = A and ct.region = r") + \
        "- rule: R\n  condition: or ct.name = B\n  override:\n    condition: append\n"
    res = load(text, ct_fieldsets)
    assert res.ruleset.rules[0].tree.to_text() == \
        "((ct.name = A and ct.region = r) or ct.name = B)"


def test_replace_and_redefinition_keep_position(ct_fieldsets):
    text = rule_def("A") + rule_def("B", "ct.name = Y") + rule_def("A", "ct.name = Z") + \
        "- list: l\n  items: [x]\n- list: l\n  items: [y]\n  override:\n    items: append\n" + \
        rule_def("C", "ct.name in (l)")
    res = load(text, ct_fieldsets)
    assert [r.name for r in res.ruleset.rules] == ["A", "B", "C"]
    assert res.ruleset.by_name("A").index_values == frozenset({"Z"})
    assert res.ruleset.by_name("C").index_values == frozenset({"x", "y"})


def test_redefinition_with_other_source_is_an_error(ct_fieldsets):
    res = load(rule_def() + "- rule: R\n  desc: d\n  condition: a\n  output: o\n"
                            "  priority: INFO\n", ct_fieldsets)
    assert (res.errors[0].code, res.errors[0].message, res.errors[0].location.line) == \
        ("LOAD_ERR_VALIDATE", "Rule has been re-defined with a different source", 7)


def test_append_exception_errors_and_warnings(ct_fieldsets):
    base = rule_def(extra="  exceptions:\n    - name: e\n      fields: ct.user\n"
                          "      values: [a]\n")
    more = "- rule: R\n  exceptions:\n    - name: e\n{}  override:\n    exceptions: append\n"
    res = load(base + more.format("      fields: ct.region\n"), ct_fieldsets)
    assert res.errors[0].message == \
        "Can not append exception fields to existing exception, only values"
    res = load(base + more.format("      comps: in\n"), ct_fieldsets)
    assert res.errors[0].message == \
        "Can not append exception comps to existing exception, only values"
    res = load(base + more.format(""), ct_fieldsets)
    assert res.ok and [w.code for w in res.warnings] == ["LOAD_APPEND_NO_VALUES"]


def test_skip_if_unknown_filter(ct_fieldsets):
    text = rule_def("S", "ct.nope = 1", "  skip-if-unknown-filter: true\n") + rule_def("T")
    res = load(text, ct_fieldsets)
    assert res.ok
    assert [r.name for r in res.ruleset.rules] == ["T"]
    assert [w.code for w in res.warnings] == ["LOAD_UNKNOWN_FILTER"]
    text = rule_def("S", "ct.name = (", "  skip-if-unknown-filter: true\n")
    assert not load(text, ct_fieldsets).ok  # syntax errors are not skipped
