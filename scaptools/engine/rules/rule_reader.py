"""Decoding of ``rule`` items and their ``exceptions`` (docs/rules-language.md §2.5, §2.6, §3),
in the order and with the messages of Falco's reader."""
from __future__ import annotations

import yaml

from scaptools.engine.diagnostics import (LOAD_APPEND_NO_VALUES, LOAD_DEPRECATED_ITEM,
                                          LOAD_ERR_YAML_VALIDATE,
                                          LOAD_EXCEPTION_NAME_NOT_UNIQUE, fail)
from scaptools.engine.rules.infos import ExceptionInfo, RuleInfo, RuleUpdate, parse_priority
from scaptools.engine.rules.messages import ERROR_OVERRIDE_APPEND, WARNING_APPEND, WARNING_ENABLED
from scaptools.engine.rules.yamlnodes import ItemReader, is_null

RULE_APPEND = ("condition", "output", "desc", "tags", "exceptions")
RULE_REPLACE = ("condition", "output", "desc", "priority", "capture", "capture_duration", "tags",
                "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter")
APPEND_ORDER = ("condition", "exceptions", "output", "desc", "tags")
REPLACE_ORDER = ("condition", "exceptions", "output", "desc", "tags", "priority", "enabled",
                 "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration")
BOOL_KEYS = ("enabled", "capture", "warn_evttypes", "skip-if-unknown-filter")


def read_rule(reader, r: ItemReader) -> None:
    """Dispatch one rule item: override, legacy append, legacy enable, or definition."""
    legacy_append = bool(r.boolean("append"))
    if legacy_append:
        reader.res.warn(LOAD_DEPRECATED_ITEM, WARNING_APPEND, r.ctx)
    ops = reader.override_ops(r, RULE_APPEND, RULE_REPLACE)
    if legacy_append and ops:
        raise fail(LOAD_ERR_YAML_VALIDATE, ERROR_OVERRIDE_APPEND, r.ctx)
    if ops:
        read_overrides(reader, r, ops)
    elif legacy_append:
        values = {}
        if r.has("condition"):
            values["condition"] = r.scalar("condition")
        if r.has("exceptions"):
            values["exceptions"] = read_exceptions(reader, r, append=True)
        if r.has("source"):
            values["source"] = r.scalar("source")
        reader.col.rule_update(RuleUpdate(r.ctx.item_name, r.ctx, values,
                                          {k: "append" for k in values if k != "source"},
                                          r.value_ctx("condition", "rule condition"),
                                          legacy=True))
    elif not any(r.has(k) for k in ("condition", "output", "desc", "priority")):
        if r.boolean("enabled") is None:
            raise fail(LOAD_ERR_YAML_VALIDATE, "Item has no mapping for key 'enabled'", r.ctx)
        reader.res.warn(LOAD_DEPRECATED_ITEM, WARNING_ENABLED, r.ctx)
        reader.col.rule_enable(r.ctx.item_name, r.boolean("enabled"), r.ctx)
    else:
        reader.col.rule_define(define_rule(reader, r))


def read_overrides(reader, r: ItemReader, ops: dict) -> None:
    """Append then replace the keys listed under ``override``; every overridable key of
    the item must be listed there (§3)."""
    expected = [k for k in r.map if k in RULE_APPEND or k in RULE_REPLACE]
    for op, order in (("append", APPEND_ORDER), ("replace", REPLACE_ORDER)):
        keys = [k for k in order if ops.get(k) == op]
        if not keys:
            continue
        values = {}
        for key in keys:
            if key not in expected:
                raise fail(LOAD_ERR_YAML_VALIDATE, f"An {op} override for '{key}' was "
                           f"specified but '{key}' is not defined", r.ctx)
            expected.remove(key)
            values[key] = decode(reader, r, key, append=op == "append")
        if r.has("source"):
            values["source"] = r.scalar("source")
        reader.col.rule_update(RuleUpdate(r.ctx.item_name, r.ctx, values, {k: op for k in keys},
                                          r.value_ctx("condition", "rule condition"),
                                          r.value_ctx("output", "rule output")))
    for key in expected:
        raise fail(LOAD_ERR_YAML_VALIDATE, f"Unexpected key '{key}': no corresponding entry "
                   "under 'override' is defined.", r.value_ctx(key, "overrides"))


def define_rule(reader, r: ItemReader) -> RuleInfo:
    """A full rule definition: required keys first, then the optional ones (§2.5)."""
    info = RuleInfo(r.ctx.item_name, r.ctx)
    info.condition = r.scalar("condition")
    info.cond_ctx = r.value_ctx("condition", "rule condition")
    info.output = r.scalar("output").strip()
    info.output_ctx = r.value_ctx("output", "rule output")
    info.desc = r.scalar("desc")
    info.priority = decode(reader, r, "priority")
    info.source = r.scalar("source", required=False) or "syscall"
    for key in BOOL_KEYS:
        value = r.boolean(key)
        if value is not None:
            setattr(info, key.replace("-", "_"), value)
    info.capture_duration = r.integer("capture_duration") or 0
    info.tags = set(r.strings("tags") or ())
    info.exceptions = read_exceptions(reader, r, append=False)
    return info


def decode(reader, r: ItemReader, key: str, append: bool = False):
    """One overridable key of a rule item, decoded."""
    if key == "priority":
        value = parse_priority(r.scalar(key))
        if value is None:
            raise fail(LOAD_ERR_YAML_VALIDATE, "Invalid priority", r.value_ctx(key, "rule priority"))
        return value
    if key in BOOL_KEYS:
        return r.boolean(key)
    if key == "capture_duration":
        return r.integer(key)
    if key == "tags":
        return set(r.strings(key))
    if key == "exceptions":
        return read_exceptions(reader, r, append)
    value = r.scalar(key)
    return value.strip() if key == "output" else value


def read_exceptions(reader, r: ItemReader, append: bool) -> list[ExceptionInfo]:
    """The exceptions of a rule item (§2.6): shape checks only, semantics are the collector's.
    ``append``: an appended exception may leave out ``fields``."""
    node = r.map.get("exceptions")
    if is_null(node):
        return []
    exes_ctx = r.ctx.at(node.start_mark, "exceptions")
    if not isinstance(node, yaml.SequenceNode):
        raise fail(LOAD_ERR_YAML_VALIDATE, "Rule exceptions must be a sequence", exes_ctx)
    out = []
    for elem in node.value:
        tmp = exes_ctx.at(elem.start_mark, "exception")
        if not isinstance(elem, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rule exception must be a mapping", tmp)
        name = ItemReader(elem, tmp).scalar("name")
        e = ItemReader(elem, r.ctx.at(elem.start_mark, "exception", name))
        if any(x.name == name for x in out):
            reader.res.warn(LOAD_EXCEPTION_NAME_NOT_UNIQUE, "Multiple definitions of exception "
                            f"'{name}' in the same rule", e.ctx)
        out.append(read_exception(reader, e, name, append))
    return out


def read_exception(reader, e: ItemReader, name: str, append: bool) -> ExceptionInfo:
    info = ExceptionInfo(name, e.ctx)
    info.fields = entry(e, "fields", optional=append)
    info.comps = entry(e, "comps", optional=True)
    node = e.map.get("values")
    if node is not None:
        vals_ctx = e.ctx.at(node.start_mark, "exception values")
        if not isinstance(node, yaml.SequenceNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rule exception values must be a sequence",
                       vals_ctx)
        info.values = [entry_value(v, vals_ctx.at(v.start_mark, "exception value"))
                       for v in node.value]
        info.has_values = True
    elif append:
        reader.res.warn(LOAD_APPEND_NO_VALUES, "Overriding/appending exception with no values",
                        e.ctx)
    return info


def entry(e: ItemReader, key: str, optional: bool):
    """``fields`` or ``comps``: text, a (nested) list of texts, or None when absent or neither
    a scalar nor a sequence (Falco's invalid entry)."""
    if key not in e.map:
        if optional:
            return None
        raise fail(LOAD_ERR_YAML_VALIDATE, f"Item has no mapping for key '{key}'", e.ctx)
    value = entry_value(e.map[key], e.value_ctx(key), key)
    return value if value != "" else None


def entry_value(node, ctx, key: str = ""):
    """One exception entry: a scalar's text, a list of entries, or "" for anything else;
    an empty scalar is an error."""
    valctx = ctx.at(node.start_mark, "value for", key) if key == "" else ctx
    if isinstance(node, yaml.SequenceNode):
        return [entry_value(v, valctx.at(v.start_mark, "exception")) for v in node.value]
    if isinstance(node, yaml.ScalarNode) and not is_null(node):
        if node.value == "":
            raise fail(LOAD_ERR_YAML_VALIDATE, "Value must be non-empty", valctx)
        return node.value
    return ""
