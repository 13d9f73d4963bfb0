"""Falco's rules-file schema check (docs/rules-language.md §1.1).

Falco checks every YAML document of a rules file against a JSON schema (the
shape of lists, macros, rules, exceptions, overrides and plugin requirements)
with the valijson library in its weak-types mode, where a YAML scalar is a
string, and also an integer or a boolean when it reads as one. A failure is
never an error: Falco reports it as the file's *schema validation* status,
``failed for <where>: <what>``, where is the path of the value from ``<root>``
(``<root>[3][priority]``) and what is valijson's description. Every failure
is kept, in valijson's order (the innermost first); reports show the first.

The schema is restated here as data; each constraint is checked in the order
valijson applies them (alphabetical by keyword).
"""
from __future__ import annotations

import re

import yaml

from scaptools.engine.rules.yamlnodes import is_null

_OP = {"enum": ["append", "replace"]}
_OVERRIDE_KEYS = ("items", "desc", "condition", "output", "priority", "enabled", "exceptions",
                  "capture", "capture_duration", "capture_events", "capture_filesize", "tags",
                  "warn_evttypes", "skip-if-unknown-filter")
_STRING, _BOOL, _INT = {"type": "string"}, {"type": "boolean"}, {"type": "integer"}
_CHOICE = {"type": "object", "additional": False, "required": ["name", "version"],
           "properties": {"name": _STRING, "version": _STRING}}
_PLUGIN_VERSION = {"type": "object", "additional": False, "required": ["name", "version"],
                   "properties": {"name": _STRING, "version": _STRING,
                                  "alternatives": {"type": "array", "items": _CHOICE}}}
_EXCEPTION = {"type": "object", "additional": False, "required": ["name"],
              "properties": {"name": _STRING, "fields": {}, "comps": {}, "values": {}}}
_PRIORITY = {"type": "string", "enum": ["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING",
                                        "NOTICE", "INFO", "INFORMATIONAL", "DEBUG"]}
_ITEM = {"type": "object", "additional": False, "required": [], "properties": {
    "required_engine_version": _STRING,
    "required_plugin_versions": {"type": "array", "items": _PLUGIN_VERSION},
    "macro": _STRING, "condition": _STRING, "list": _STRING,
    "items": {"type": "array", "items": {"anyOf": [_INT, _STRING]}},
    "rule": _STRING, "desc": _STRING, "enabled": _BOOL, "output": _STRING, "append": _BOOL,
    "priority": _PRIORITY, "capture": _BOOL, "capture_duration": _INT, "capture_events": _INT,
    "capture_filesize": _INT, "source": _STRING,
    "exceptions": {"type": "array", "items": _EXCEPTION},
    "override": {"type": "object", "additional": False, "minProperties": 1,
                 "properties": {k: _OP for k in _OVERRIDE_KEYS}},
    "tags": {"type": "array", "items": _STRING},
    "warn_evttypes": _BOOL, "skip-if-unknown-filter": _BOOL}}
RULES_FILE = {"type": "array", "items": _ITEM}

_INTEGER = re.compile(r"[+-]?[0-9]+\Z")


def check_documents(docs) -> list[str]:
    """The schema outcome of each document: ``ok`` or its failures."""
    out = []
    for doc in docs:
        errors = []
        if not _valid(doc, RULES_FILE, "<root>", errors):
            out.extend(f"failed for {where}: {what}" for where, what in errors)
        else:
            out.append("ok")
    return out


def _kind(node) -> str:
    if node is None or is_null(node):
        return "null"
    if isinstance(node, yaml.MappingNode):
        return "object" if node.value else "empty-object"
    if isinstance(node, yaml.SequenceNode):
        return "array" if node.value else "empty-array"
    return "scalar"


def _has_type(node, wanted: str) -> bool:
    kind = _kind(node)
    if wanted == "object":
        return kind in ("object", "empty-object", "empty-array")
    if wanted == "array":
        return kind in ("array", "empty-array", "empty-object")
    if kind != "scalar":
        return False
    if wanted == "boolean":
        return node.value in ("true", "false")
    if wanted == "integer":
        return bool(_INTEGER.match(node.value))
    return True  # string


def _valid(node, schema: dict, where: str, errors: list) -> bool:
    ok = True
    for keyword in sorted(schema):
        check = _CHECKS.get(keyword)
        if check is not None and not check(node, schema, where, errors):
            ok = False
    return ok


def _any_of(node, schema, where, errors) -> bool:
    tried = []
    for sub in schema["anyOf"]:
        if _valid(node, sub, where, tried):
            return True
    errors.extend(tried)
    errors.append((where, "Failed to validate against any schemas allowed by anyOf constraint."))
    return False


def _enum(node, schema, where, errors) -> bool:
    if _kind(node) == "scalar" and node.value in schema["enum"]:
        return True
    errors.append((where, "Failed to match against any enum values."))
    return False


def _items(node, schema, where, errors) -> bool:
    if not isinstance(node, yaml.SequenceNode):
        return True
    ok = True
    for i, child in enumerate(node.value):
        if not _valid(child, schema["items"], f"{where}[{i}]", errors):
            errors.append((where, f"Failed to validate item #{i} in array."))
            ok = False
    return ok


def _min_properties(node, schema, where, errors) -> bool:
    if not _has_type(node, "object"):
        return True
    count = len(node.value) if isinstance(node, yaml.MappingNode) else 0
    if count >= schema["minProperties"]:
        return True
    errors.append((where, f"Object should have no fewer than {schema['minProperties']} "
                          "properties."))
    return False


def _properties(node, schema, where, errors) -> bool:
    if not isinstance(node, yaml.MappingNode):
        return True
    members = [(k.value if isinstance(k, yaml.ScalarNode) else "", v) for k, v in node.value]
    props, ok = schema["properties"], True
    for name in sorted(props):
        for key, value in members:
            if key == name and not _valid(value, props[name], f"{where}[{key}]", errors):
                errors.append((where, "Failed to validate against schema associated with "
                                      f"property name '{key}'."))
                ok = False
    unknown = [key for key, _ in members if key not in props]
    if unknown and schema.get("additional", True) is False:
        errors.append((where, "Object contains a property that could not be validated using "
                              "'properties' or 'additionalProperties' constraints: "
                              f"'{unknown[0]}'."))
        return False
    return ok


def _required(node, schema, where, errors) -> bool:
    if not isinstance(node, yaml.MappingNode):
        return True
    keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    ok = True
    for name in schema["required"]:
        if name not in keys:
            errors.append((where, f"Missing required property '{name}'."))
            ok = False
    return ok


def _type(node, schema, where, errors) -> bool:
    if _has_type(node, schema["type"]):
        return True
    errors.append((where, "Value type not permitted by 'type' constraint."))
    return False


_CHECKS = {"anyOf": _any_of, "enum": _enum, "items": _items, "minProperties": _min_properties,
           "properties": _properties, "required": _required, "type": _type}
