"""Rules-file format: items, YAML pitfalls, malformed files with exact errors and lines
(docs/rules-language.md §1, §2, §12)."""
from __future__ import annotations

import textwrap

import pytest

from scaptools.engine import load_rules
from scaptools.errors import RuleError

HEAD = "- required_engine_version: 10\n"
RULE = """
- rule: R
  desc: d
  condition: ct.name = X
  output: out %ct.user
  priority: WARNING
  source: aws_cloudtrail
"""


def load(text, fieldsets, **kw):
    return load_rules([("rules.yaml", textwrap.dedent(text))], fieldsets, **kw)


def only_error(res):
    assert not res.ok
    assert len(res.errors) == 1
    err = res.errors[0]
    return err.code, err.message, err.location.line, err.item_type, err.item_name


def test_minimal_rule_loads(ct_fieldsets):
    res = load(HEAD + RULE, ct_fieldsets)
    assert res.ok and not res.warnings
    rule = res.ruleset.rules[0]
    assert (rule.name, rule.priority_name, rule.source, rule.enabled) == \
        ("R", "Warning", "aws_cloudtrail", True)
    assert rule.index_values == frozenset({"X"})


MALFORMED = [
    ("- rule: [", ("LOAD_ERR_YAML_PARSE", None, 2)),
    ("just text", ("LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml", 0)),
    ("a: b", ("LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml array of objects", 0)),
    ("- a\n", ("LOAD_ERR_YAML_VALIDATE",
               "Unexpected element type. Each element should be a yaml associative array.", 1)),
    ("- required_engine_version: 99", ("LOAD_ERR_VALIDATE",
                                       "Rules require engine version 0.99.0, but engine version "
                                       "is 0.63.0", 1)),
    ("- required_engine_version: 1.2", ("LOAD_ERR_YAML_VALIDATE",
                                        "Unable to parse engine version '1.2' as a semver "
                                        "string. Expected \"x.y.z\" semver format.", 1)),
    ("- required_engine_version: 1.0.0", ("LOAD_ERR_VALIDATE",
                                          "Rules require engine version 1.0.0, but engine "
                                          "version is 0.63.0", 1)),
    ("- required_plugin_versions: x", ("LOAD_ERR_YAML_VALIDATE",
                                       "Value of required_plugin_versions must be a sequence", 1)),
    ("- required_plugin_versions:\n  - name: a\n    version: 1.0",
     ("LOAD_ERR_VALIDATE", "Invalid required version '1.0' for plugin 'a'", 2)),
    ("- list: l\n", ("LOAD_ERR_YAML_VALIDATE", "Item has no mapping for key 'items'", 1)),
    ("- list: l\n  items: a\n", ("LOAD_ERR_YAML_VALIDATE", "Value is not a sequence", 2)),
    ("- list: l\n  items: [[a]]\n", ("LOAD_ERR_YAML_VALIDATE", "sequence value is not scalar", 2)),
    ("- macro: m\n", ("LOAD_ERR_YAML_VALIDATE", "Item has no mapping for key 'condition'", 1)),
    ("- macro: m\n  condition:\n", ("LOAD_ERR_YAML_VALIDATE", "Mapping for key 'condition' is "
                                    "empty", 1)),
    ("- macro: m\n  condition: [a]\n", ("LOAD_ERR_YAML_VALIDATE", "Value is not a scalar value",
                                        2)),
    ("- macro: m\n  condition: ''\n", ("LOAD_ERR_YAML_VALIDATE", "Value must be non-empty", 2)),
    ("- macro: m\n  condition: a and\n", ("LOAD_ERR_COMPILE_CONDITION",
                                          "expected blank or '(' after 'and'", 2)),
    ("- macro: m\n  condition: a b\n", ("LOAD_ERR_COMPILE_CONDITION",
                                        "unexpected token after 'a', expecting 'or', 'and'", 2)),
    ("\n\n- rule: R\n  desc: d\n  condition: ct.name = X\n  priority: INFO\n",
     ("LOAD_ERR_YAML_VALIDATE", "Item has no mapping for key 'output'", 3)),
    ("- rule: R\n  desc: d\n  condition: a.b = 1\n  output: o\n  priority: LOUD\n",
     ("LOAD_ERR_YAML_VALIDATE", "Invalid priority", 5)),
    ("- rule: R\n  desc: d\n  condition: a.b = 1\n  output: o\n  priority: INFO\n"
     "  enabled: maybe\n", ("LOAD_ERR_YAML_VALIDATE", "Can't decode YAML scalar value", 6)),
    ("- rule: R\n  enabled: false\n", ("LOAD_ERR_VALIDATE", "Rule has 'enabled' key but no rule "
                                       "by that name already exists", 1)),
    ("- list: l\n  items: [a]\n  append: true\n",
     ("LOAD_ERR_VALIDATE", "List uses 'append' or 'override.items: append' but no list by that "
                           "name already exists", 1)),
    ("- macro: m\n  condition: a\n  override:\n    condition: append\n",
     ("LOAD_ERR_VALIDATE", "Macro uses 'append' or 'override.condition: append' but no macro "
                           "by that name already exists", 1)),
    ("- list: l\n  items: [a]\n  override:\n    items: prepend\n",
     ("LOAD_ERR_YAML_VALIDATE", "Invalid override operation for key 'items': 'prepend'. "
                                "Allowed values are: append replace ", 4)),
    ("- rule: R\n  priority: INFO\n  override:\n    priority: append\n",
     ("LOAD_ERR_YAML_VALIDATE", "Key 'priority' cannot be appended to, use 'replace' instead", 4)),
    ("- rule: R\n  source: x\n  override:\n    source: replace\n",
     ("LOAD_ERR_YAML_VALIDATE", "Key 'source' cannot be replaced", 4)),
    ("- rule: R\n  override:\n    condition: append\n",
     ("LOAD_ERR_YAML_VALIDATE", "An append override for 'condition' was specified but "
                                "'condition' is not defined", 1)),
    (RULE.lstrip() + "- rule: R\n  condition: and x\n  desc: more\n  override:\n"
     "    condition: append\n", ("LOAD_ERR_YAML_VALIDATE", "Unexpected key 'desc': no "
                                 "corresponding entry under 'override' is defined.", 9)),
    ("- rule: R\n  condition: and x\n  append: true\n  override:\n    condition: append\n",
     ("LOAD_ERR_YAML_VALIDATE", "Keys 'override' and 'append: true' cannot be used together. "
                                "Add an 'append' entry (e.g. 'condition: append') under "
                                "'override' instead.", 1)),
    ("- rule: R\n  condition: and x\n  override:\n    condition: append\n",
     ("LOAD_ERR_VALIDATE", "Rule uses 'append' or 'override.<key>: append' but no rule by "
                           "that name already exists", 1)),
    ("- rule: R\n  priority: INFO\n  override:\n    priority: replace\n",
     ("LOAD_ERR_VALIDATE", "An 'override.<key>: replace' to a rule was requested but no "
                           "rule by that name already exists", 1)),
]


@pytest.mark.parametrize("text,expected", MALFORMED)
def test_malformed_files(text, expected, ct_fieldsets):
    code, message, line = expected
    res = load(text, ct_fieldsets)
    got = only_error(res)
    assert got[0] == code
    if message is not None:
        assert got[1] == message
    assert got[2] == line
    assert res.errors[0].location.path == "rules.yaml"


def test_strict_raises_rule_error_with_location(ct_fieldsets):
    with pytest.raises(RuleError) as info:
        load("- macro: m\n  condition: (a\n", ct_fieldsets, strict=True)
    err = info.value
    assert (err.code, err.message, err.item_type, err.item_name) == \
        ("LOAD_ERR_COMPILE_CONDITION", "expected a ')' token", "macro", "m")
    assert str(err.location) == "rules.yaml:2:14"


COND_ERRORS = [
    ("ct.nope = 1", "LOAD_ERR_COMPILE_CONDITION", "filter_check called with nonexistent field ct.nope"),
    ("ct.name contains )", "LOAD_ERR_COMPILE_CONDITION",
     "expected a string value or a field with a valid transformer: val, tolower, toupper, b64, "
     "basename, len, join, concat, getopt"),
    ("json.value = x", "LOAD_ERR_COMPILE_CONDITION",
     "field 'json.value' requires an argument but none provided"),
    ("ec2.imageids[01] in (a)", "LOAD_ERR_COMPILE_CONDITION",
     "field 'ec2.imageids' has an invalid index argument: 01"),
]


@pytest.mark.parametrize("cond,code,message", COND_ERRORS)
def test_rule_condition_errors_point_at_condition(cond, code, message, ct_fieldsets):
    text = f"- rule: R\n  desc: d\n  condition: {cond}\n  output: o\n  priority: INFO\n" \
           "  source: aws_cloudtrail\n"
    res = load(text, ct_fieldsets)
    assert only_error(res) == (code, message, 3, "rule", "R")
    assert res.errors[0].location.col == 14


def test_undefined_macro_points_at_the_rule(ct_fieldsets):
    """Falco resolves macros with the rule item as the parent of the condition position."""
    text = "- rule: R\n  desc: d\n  condition: undefined_m\n  output: o\n  priority: INFO\n" \
           "  source: aws_cloudtrail\n"
    res = load(text, ct_fieldsets)
    assert only_error(res) == ("LOAD_ERR_VALIDATE", "Undefined macro 'undefined_m' used in filter.",
                               1, "rule", "R")


def test_output_errors(ct_fieldsets):
    base = "- rule: R\n  desc: d\n  condition: ct.name = X\n  priority: INFO\n" \
           "  source: aws_cloudtrail\n  output: "
    assert only_error(load(base + "100%\n", ct_fieldsets))[:3] == (
        "LOAD_ERR_COMPILE_OUTPUT", "invalid formatting syntax: formatting cannot end with a %", 6)
    assert only_error(load(base + "50% done\n", ct_fieldsets))[:2] == (
        "LOAD_ERR_COMPILE_OUTPUT", "unknown filter:  done")
    assert only_error(load(base + "x=%12\n", ct_fieldsets))[1] == \
        "invalid formatting syntax: formatting cannot end with a number"
    assert only_error(load(base + "(%(ct.user))\n", ct_fieldsets))[1] == \
        "unknown filter: (ct.user))"


def test_yaml_scalars_are_raw_text(ct_fieldsets, ct_event):
    """§1.2: on/1.10/010 stay text in list items and values."""
    text = HEAD + """
- list: odd
  items: [on, 1.10, 010, 1:20, no, ~x]
- rule: R
  desc: d
  condition: ct.name in (odd)
  output: o
  priority: INFO
  source: aws_cloudtrail
"""
    res = load(text, ct_fieldsets)
    assert res.ok and not res.warnings
    assert res.ruleset.rules[0].index_values == frozenset({"on", "1.10", "010", "1:20", "no", "~x"})


@pytest.mark.parametrize("spelling,value", [("true", True), ("True", True), ("TRUE", True),
                                            ("yes", True), ("on", True), ("Y", True),
                                            ("false", False), ("No", False), ("OFF", False),
                                            ("n", False)])
def test_boolean_spellings(spelling, value, ct_fieldsets):
    res = load(HEAD + RULE + f"  enabled: {spelling}\n", ct_fieldsets)
    assert res.ok and res.ruleset.rules[0].enabled is value


def test_warnings_unknown_key_item_source_and_names(ct_fieldsets):
    text = """
- rule: R
  desc: d
  condition: ct.name = X
  output: o
  priority: INFO
  source: aws_cloudtrail
  colour: red
- foo: bar
- rule: K
  desc: d
  condition: k8s.x = 1
  output: o
  priority: INFO
  source: k8s_audit
- macro: bad-name
  condition: ct.name = Y
- list: "bad name"
  items: []
"""
    res = load(text, ct_fieldsets)
    assert res.ok
    got = [(w.code, w.message, w.location.line) for w in res.warnings]
    assert ("LOAD_UNKNOWN_KEY", "Unknown key 'colour'. The key will be ignored.", 8) in got
    assert ("LOAD_UNKNOWN_ITEM", "Unknown top level item", 9) in got
    assert ("LOAD_UNKNOWN_SOURCE", "Unknown source k8s_audit, skipping", 10) in got
    assert ("LOAD_UNUSED_MACRO", "Macro not referred to by any other rule/macro", 16) in got
    assert ("LOAD_UNUSED_LIST", "List not referred to by any other rule/macro", 18) in got
    codes = {w.code for w in res.warnings}
    assert {"LOAD_INVALID_MACRO_NAME", "LOAD_INVALID_LIST_NAME"} <= codes
    assert [r.name for r in res.ruleset.rules] == ["R"]


def test_several_files_in_order_and_directories(tmp_path, ct_fieldsets):
    (tmp_path / "b.yaml").write_text(
        "- rule: R\n  condition: or ct.name = Y\n  override:\n    condition: append\n")
    (tmp_path / "a.yml").write_text(HEAD + RULE)
    (tmp_path / "c.txt").write_text("not rules")
    res = load_rules([tmp_path], ct_fieldsets)
    assert res.ok, res.errors
    assert res.files == [str(tmp_path / "a.yml"), str(tmp_path / "b.yaml")]
    assert res.ruleset.rules[0].index_values == frozenset({"X", "Y"})


def test_later_file_macro_is_undefined_for_earlier_file(ct_fieldsets):
    first = ("first.yaml", "- rule: R\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n"
                           "  source: aws_cloudtrail\n")
    second = ("second.yaml", "- macro: m\n  condition: ct.name = X\n")
    res = load_rules([first, second], ct_fieldsets)
    assert [(e.code, e.message, e.location.path) for e in res.errors] == [
        ("LOAD_ERR_VALIDATE", "Undefined macro 'm' used in filter.", "first.yaml")]


def test_missing_file_is_a_read_error(tmp_path, ct_fieldsets):
    res = load_rules([tmp_path / "nope.yaml"], ct_fieldsets)
    assert res.errors[0].code == "LOAD_ERR_FILE_READ"


def test_plugin_requirements(ct_fieldsets):
    text = """
- required_plugin_versions:
  - name: cloudtrail
    version: 0.10.0
    alternatives:
      - name: ctfork
        version: 1.0.0
  - name: json
    version: 0.7.0
"""
    assert load(text, ct_fieldsets, plugin_versions={"cloudtrail": "0.17.1", "json": "0.7.4"}).ok
    res = load(text, ct_fieldsets, plugin_versions={"ctfork": "1.2.0", "json": "0.7.4"})
    assert res.ok
    res = load(text, ct_fieldsets, plugin_versions={"cloudtrail": "0.9.0", "json": "0.7.4"})
    assert res.errors[0].message == ("Plugin 'cloudtrail' version '0.9.0' is not compatible with "
                                     "required plugin version '0.10.0'")
    res = load(text, ct_fieldsets, plugin_versions={"cloudtrail": "1.0.0"})
    assert res.errors[0].message == ("Plugin 'cloudtrail' version '1.0.0' is not compatible with "
                                     "required plugin version '0.10.0'")
    res = load(text, ct_fieldsets, plugin_versions={"cloudtrail": "0.17.1"})
    assert res.errors[0].message == ("Plugin requirement not satisfied, must load one of: "
                                     "json (>= 0.7.0)")


def test_falco_like_summary(ct_fieldsets):
    res = load("- macro: m\n  condition: a and (b\n", ct_fieldsets)
    assert res.summary() == [
        "rules.yaml: Invalid | schema validation: ok", "1 Errors:",
        "In rules content: (rules.yaml:0:0)", "    macro 'm': (rules.yaml:0:2)",
        "    macro condition: (rules.yaml:1:13)",
        '    condition expression: ("a and (b":2:22)', "------", "a and (b", "       ^",
        "------", "LOAD_ERR_COMPILE_CONDITION (Error compiling condition): expected a ')' token"]
    ok = load(HEAD + RULE, ct_fieldsets)
    assert ok.summary() == ["rules.yaml: Ok | schema validation: ok"]


def test_several_documents_null_items_and_empty_documents(ct_fieldsets):
    text = HEAD + "- ~\n-\n---\n---\n" + RULE + "---\n" + RULE.replace("R\n", "S\n", 1)
    res = load(text, ct_fieldsets)
    assert res.ok and not res.warnings
    assert [r.name for r in res.ruleset.rules] == ["R", "S"]


def test_first_error_stops_the_file_and_later_files(ct_fieldsets):
    bad = ("bad.yaml", "- list: l\n  items: x\n- list: m\n  items: y\n")
    good = ("good.yaml", HEAD + RULE)
    res = load_rules([bad, good], ct_fieldsets)
    assert [(e.location.path, e.message) for e in res.errors] == [
        ("bad.yaml", "Value is not a sequence")]
    assert res.files == ["bad.yaml"]
