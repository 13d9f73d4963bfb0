"""Falco's rule-loader diagnostics, case by case (docs/rules-language.md §12).

Each case is a rules file in ``falco_cases/``, loaded through the installed plugins'
field sets (``syscall`` and ``aws_cloudtrail``), and the diagnostics Falco's loader
gives for it: code, message text, and where, as Falco's chain of locations
(``kind 'name' line:col`` with Falco's 0-based line and column, innermost last).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from scaptools.engine import load_rules
from scaptools.plugin.registry import Registry

CASES = Path(__file__).parent / "falco_cases"
APPEND_WARNING = ("LOAD_DEPRECATED_ITEM: 'append' key is deprecated. Add an 'append' entry "
                  "(e.g. 'condition: append') under 'override' instead.")
NO_LIST = ("List uses 'append' or 'override.items: append' but no list by that name already "
           "exists")
EXC = "rule 'Console Login' 0:2 > exception 'trusted' 7:6"
CONNECT = ("rule '{}' 0:2 > rule condition 2:13 > condition expression \"evt.type = "
           "connec...\" 3:37")

TABLE = {
    # append/override of something that does not exist yet
    "list_append_missing": [f"E LOAD_ERR_VALIDATE: {NO_LIST} @ list 'shell_binaries' 0:2"],
    "list_append_flag_missing": [
        f"E LOAD_ERR_VALIDATE: {NO_LIST} @ list 'shell_binaries' 0:2",
        f"W {APPEND_WARNING} @ list 'shell_binaries' 0:2"],
    "macro_append_missing": [
        "E LOAD_ERR_VALIDATE: Macro uses 'append' or 'override.condition: append' but no macro "
        "by that name already exists @ macro 'is_console_login' 0:2"],
    "rule_append_missing": [
        "E LOAD_ERR_VALIDATE: Rule uses 'append' or 'override.<key>: append' but no rule by "
        "that name already exists @ rule 'Console Login' 0:2",
        f"W {APPEND_WARNING} @ rule 'Console Login' 0:2"],
    "rule_override_append_missing": [
        "E LOAD_ERR_VALIDATE: Rule uses 'append' or 'override.<key>: append' but no rule by "
        "that name already exists @ rule 'Console Login' 0:2"],
    "rule_override_replace_missing": [
        "E LOAD_ERR_VALIDATE: An 'override.<key>: replace' to a rule was requested but no rule "
        "by that name already exists @ rule 'Console Login' 0:2"],
    # references: a macro sees only the macros before it; loops as Falco's resolver meets them
    "macro_self_reference": [
        "E LOAD_ERR_VALIDATE: Undefined macro 'console_login' used in filter. @ macro "
        "'console_login' 0:2 > condition expression \"ct.name = Console...\" 1:29"],
    "macro_loop": [
        "E LOAD_ERR_VALIDATE: reference loop in macro 'any_login' @ macro 'console_login' 0:2 "
        "> condition expression \"ct.name = Console...\" 1:29"],
    "list_self_reference": [],
    # a list where an event type is expected: its items are spliced into the text ...
    "list_as_event_type": [
        "E LOAD_ERR_COMPILE_CONDITION: unexpected token after 'bash', expecting 'or', 'and' @ "
        "rule 'Shell Spawned' 3:2 > rule condition 5:13 > condition expression "
        "\"evt.type = bash, sh \" 6:29"],
    # ... and an undefined one is a name that is no event type: the rule matches none
    "undefined_list_as_event_type": [
        "W LOAD_NO_EVTTYPE: Rule matches too many evt.type values. This has a significant "
        "performance penalty. @ rule 'Open File' 0:2"],
    "unused_macro_and_list": [
        "W LOAD_UNUSED_MACRO: Macro not referred to by any other rule/macro @ macro "
        "'console_login' 3:2",
        "W LOAD_UNUSED_LIST: List not referred to by any other rule/macro @ list "
        "'trusted_users' 0:2"],
    # outputs
    "output_unknown_field": [
        "E LOAD_ERR_COMPILE_OUTPUT: unknown filter: ct.usr from %ct.srcip @ rule 'Console "
        "Login' 0:2 > rule output 3:10"],
    "output_malformed_token": [
        "E LOAD_ERR_COMPILE_OUTPUT: invalid formatting syntax: formatting cannot end with a % @ "
        "rule 'Console Login' 0:2 > rule output 3:10"],
    # a filter-only field (libsinsp's EPF_FILTER_ONLY) in an output: libsinsp names the rest
    # of the format from the field on
    "output_filter_only_field": [
        "E LOAD_ERR_COMPILE_OUTPUT: fd.proto by %proc.name is filter only and cannot be used as "
        "a display field @ rule 'Outbound DNS' 0:2 > rule output 3:10"],
    # the filter-only fields' own tests (libsinsp's compare_port/_ip, evt.around, port values)
    "condition_around_operator": [
        f"E LOAD_ERR_COMPILE_CONDITION: evt.around supports only '=' comparison operator @ "
        f"{CONNECT.format('Around A Time')}"],
    "condition_port_operator": [
        "E LOAD_ERR_COMPILE_CONDITION: filter error: unsupported port comparison operator @ "
        f"{CONNECT.format('Any Port')}"],
    "condition_ip_operator": [
        "E LOAD_ERR_COMPILE_CONDITION: filter error: IP filter only supports '=' and '!=' "
        f"operators @ {CONNECT.format('Any Address')}"],
    "condition_unknown_service": [
        "E LOAD_ERR_COMPILE_CONDITION: unrecognized protocol no-such-service @ "
        f"{CONNECT.format('Unknown Service')}"],
    # exceptions
    "exception_without_fields": [
        f"E LOAD_ERR_YAML_VALIDATE: Item has no mapping for key 'fields' @ {EXC}"],
    "exception_scalar_fields_list_values": [
        f"E LOAD_ERR_VALIDATE: Expected values array to contain a list of strings @ {EXC}"],
    "exception_values_arity": [
        f"E LOAD_ERR_VALIDATE: Fields and values lists must have equal length @ {EXC}"],
    "exception_append_unknown_name": [
        "E LOAD_ERR_VALIDATE: Rule exception must have fields property with a list of fields @ "
        "rule 'Console Login' 11:2 > exception 'trusted_ips' 13:6"],
    "exception_append_no_values": [
        "E LOAD_ERR_VALIDATE: Rule exception must have values property with a list of values @ "
        "rule 'Console Login' 11:2 > exception 'trusted_ips' 13:6",
        "W LOAD_APPEND_NO_VALUES: Overriding/appending exception with no values @ rule "
        "'Console Login' 11:2 > exception 'trusted_ips' 13:6"],
    "exception_unknown_operator": [
        f"E LOAD_ERR_VALIDATE: 'begins' is not a supported comparison operator @ {EXC}"],
    # engine version
    "engine_version_not_semver": [
        "E LOAD_ERR_YAML_VALIDATE: Unable to parse engine version '0.10' as a semver string. "
        "Expected \"x.y.z\" semver format. @ required_engine_version 0:2"],
    "engine_version_too_new": [
        "E LOAD_ERR_VALIDATE: Rules require engine version 0.99.0, but engine version is 0.63.0 "
        "@ required_engine_version 0:2"],
    # YAML syntax, in yaml-cpp's words
    "yaml_unclosed_sequence": [
        "E LOAD_ERR_YAML_PARSE: yaml-cpp: error at line 3, column 1: end of sequence flow not "
        "found @ value for 2:0"],
    "yaml_illegal_map_value": [
        "E LOAD_ERR_YAML_PARSE: yaml-cpp: error at line 1, column 22: illegal map value @ value "
        "for 0:21"],
    # the schema check is no diagnostic of its own (see test_schema_status)
    "schema_priority_case": [],
    "schema_unknown_key": [
        "W LOAD_UNKNOWN_KEY: Unknown key 'severity'. The key will be ignored. @ rule 'Console "
        "Login' 0:2 > value for 'severity' 6:12"],
}


@pytest.fixture(scope="module")
def registry():
    return Registry.from_entry_points()


def load(name: str, registry):
    path = str(CASES / f"{name}.yaml")
    return load_rules([path], registry.fieldset, plugin_versions=registry.versions()), path


def described(diag) -> str:
    frames = [f for f in diag.context.frames if f.kind != "rules content"]
    where = " > ".join(
        f"{f.kind}{f' {chr(39)}{f.name}{chr(39)}' if f.name else ''}"
        f"{f' {f.source}' if f.kind == 'condition expression' else ''} {f.line}:{f.col}"
        for f in frames)
    return f"{'E' if diag.is_error else 'W'} {diag.code}: {diag.message} @ {where}"


def test_every_case_has_a_file():
    assert sorted(p.stem for p in CASES.glob("*.yaml")) == sorted(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_falco_diagnostics(name, registry):
    res, path = load(name, registry)
    assert [described(d) for d in res.errors + res.warnings] == TABLE[name]
    for diag in res.errors + res.warnings:  # every diagnostic names its file
        assert diag.location.path == path and diag.context.frames[0].source == path


@pytest.mark.parametrize("name,status", [
    ("schema_priority_case", "failed for <root>[0][priority]: Failed to match against any enum "
                             "values."),
    ("schema_unknown_key", "failed for <root>[0]: Object contains a property that could not be "
                           "validated using 'properties' or 'additionalProperties' constraints: "
                           "'severity'."),
    ("list_self_reference", "ok"),
    ("yaml_unclosed_sequence", "none"),
])
def test_schema_status(name, status, registry):
    res, path = load(name, registry)
    assert res.summary()[0].endswith(f" | schema validation: {status}")


def test_schema_keeps_every_failure_innermost_first(registry):
    res, path = load("schema_priority_case", registry)
    assert res.schema[path] == [
        "failed for <root>[0][priority]: Failed to match against any enum values.",
        "failed for <root>[0]: Failed to validate against schema associated with property name "
        "'priority'.",
        "failed for <root>: Failed to validate item #0 in array."]


def test_a_list_that_names_itself_brings_its_own_items(registry):
    """Appended to, a list sees itself: its items as written, the name included."""
    res, _ = load("list_self_reference", registry)
    rule = res.ruleset.rules[0]
    assert rule.condition == ("ct.name in ( ConsoleLogin, ConsoleLogin, login_events, SwitchRole, "
                              "SwitchRole )")
    assert rule.index_values == frozenset({"ConsoleLogin", "login_events", "SwitchRole"})


def test_full_report_of_a_condition_error(registry):
    res, path = load("list_as_event_type", registry)
    assert "\n".join(res.summary()) == "\n".join([
        f"{path}: Invalid | schema validation: ok",
        "1 Errors:",
        f"In rules content: ({path}:0:0)",
        f"    rule 'Shell Spawned': ({path}:3:2)",
        f"    rule condition: ({path}:5:13)",
        "    condition expression: (\"evt.type = bash, sh \":6:29)",
        "------",
        "evt.type = bash, sh ",
        "                   ^",
        "------",
        "LOAD_ERR_COMPILE_CONDITION (Error compiling condition): unexpected token after 'bash', "
        "expecting 'or', 'and'"])
