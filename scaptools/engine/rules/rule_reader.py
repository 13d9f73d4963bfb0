"""Decoding of ``rule`` items and their ``exceptions`` (docs/rules-language.md §2.5, §2.6, §3)."""
from __future__ import annotations

import yaml

from scaptools.engine.diagnostics import LOAD_DEPRECATED_ITEM, LOAD_ERR_YAML_VALIDATE, Context, fail
from scaptools.engine.rules.infos import ExceptionInfo, RuleInfo, RuleUpdate, parse_priority
from scaptools.engine.rules.yamlnodes import ItemReader, is_null, location

RULE_APPEND = ("condition", "output", "desc", "tags", "exceptions")
RULE_REPLACE = ("condition", "output", "desc", "priority", "capture", "capture_duration", "tags",
                "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter")
OVERRIDABLE = set(RULE_APPEND) | set(RULE_REPLACE)
BOOL_KEYS = ("enabled", "capture", "warn_evttypes", "skip-if-unknown-filter")


def read_rule(reader, r: ItemReader) -> None:
    """Dispatch one rule item: override, legacy append, legacy enable, or definition."""
    ops = reader.override_ops(r, RULE_APPEND, RULE_REPLACE)
    if ops is not None:
        if r.boolean("append"):
            raise reader.append_and_override(r)
        check_override_keys(r, ops)
        values = decode_values(reader, r, [k for k in r.map if k in OVERRIDABLE or k == "source"],
                               update=True)
        reader.col.rule_update(RuleUpdate(r.ctx.item_name, r.ctx, values, ops,
                                          r.ctx_of("condition"), r.ctx_of("output")))
        return
    if r.boolean("append"):
        reader.res.warn(LOAD_DEPRECATED_ITEM, "The 'append' key is deprecated. Use 'override' "
                        "with 'append' instead.", r.ctx)
        keys = [k for k in ("condition", "exceptions", "source") if r.has(k)]
        values = decode_values(reader, r, keys, update=True)
        ops = {k: "append" for k in values if k != "source"}
        reader.col.rule_update(RuleUpdate(r.ctx.item_name, r.ctx, values, ops,
                                          r.ctx_of("condition"), legacy=True))
        return
    if not any(r.has(k) for k in ("condition", "output", "desc", "priority")):
        enabled = r.boolean("enabled")
        if enabled is None:
            raise fail(LOAD_ERR_YAML_VALIDATE, "Item has no mapping for key 'condition'", r.ctx)
        reader.res.warn(LOAD_DEPRECATED_ITEM, "The standalone 'enabled' key usage is deprecated. "
                        "Use 'override' with 'replace' instead.", r.ctx)
        reader.col.rule_update(RuleUpdate(r.ctx.item_name, r.ctx, {"enabled": enabled},
                                          {"enabled": "replace"}, legacy=True))
        return
    reader.col.rule_define(define_rule(reader, r))


def check_override_keys(r: ItemReader, ops: dict) -> None:
    """Every override key present in the item, every overridable key under override (§3)."""
    for key, op in ops.items():
        if not r.has(key):
            raise fail(LOAD_ERR_YAML_VALIDATE, f"An {op} override for '{key}' was specified but "
                       f"'{key}' is not defined", r.ctx)
    for key in r.map:
        if key in OVERRIDABLE and key not in ops:
            raise fail(LOAD_ERR_YAML_VALIDATE, f"Unexpected key '{key}': no corresponding entry "
                       "under 'override' is defined.", r.ctx_of(key))


def define_rule(reader, r: ItemReader) -> RuleInfo:
    """A full rule definition: required keys first, then the optional ones (§2.5)."""
    info = RuleInfo(r.ctx.item_name, r.ctx, r.ctx_of("condition"), r.ctx_of("output"))
    for key in ("condition", "output", "desc", "priority"):
        r.scalar(key, non_empty=key != "desc")
    values = decode_values(reader, r, [k for k in r.map if k != "rule"], update=False)
    info.condition = values["condition"]
    info.output = values["output"].strip()
    info.desc = values["desc"]
    info.priority = values["priority"]
    info.source = values.get("source", "syscall")
    info.enabled = values.get("enabled", True)
    info.tags = set(values.get("tags", ()))
    info.exceptions = values.get("exceptions", [])
    info.capture = values.get("capture", False)
    info.capture_duration = values.get("capture_duration", 0)
    info.warn_evttypes = values.get("warn_evttypes", True)
    info.skip_if_unknown_filter = values.get("skip-if-unknown-filter", False)
    return info


def decode_values(reader, r: ItemReader, keys, update: bool) -> dict:
    """Decode the given keys of a rule item into Python values."""
    values = {}
    for key in keys:
        if key in ("condition", "output", "desc", "source"):
            values[key] = r.scalar(key, non_empty=not update and key != "desc")
        elif key == "priority":
            text = r.scalar(key)
            values[key] = parse_priority(text)
            if values[key] is None:
                raise fail(LOAD_ERR_YAML_VALIDATE, "Invalid priority", r.ctx_of(key))
        elif key in BOOL_KEYS:
            values[key] = r.boolean(key)
        elif key == "capture_duration":
            values[key] = r.integer(key)
        elif key == "tags":
            values[key] = r.strings(key)
        elif key == "exceptions":
            values[key] = read_exceptions(reader.path, r)
    if "output" in values and values["output"] is not None:
        values["output"] = values["output"].strip()
    return values


def read_exceptions(path: str, r: ItemReader) -> list[ExceptionInfo]:
    """Shape checks of ``exceptions`` (§2.6); semantic checks are the collector's."""
    node = r.map["exceptions"]
    if is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise fail(LOAD_ERR_YAML_VALIDATE, "Rule exceptions must be a sequence",
                   r.ctx_of("exceptions"))
    out = []
    for elem in node.value:
        ctx = Context(location(path, elem), "rule exception", r.ctx.item_name)
        if not isinstance(elem, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rule exception must be a mapping", ctx)
        out.append(read_exception(path, ItemReader(elem, ctx, path)))
    return out


def read_exception(path: str, e: ItemReader) -> ExceptionInfo:
    info = ExceptionInfo(e.scalar("name"), e.ctx)
    info.fields = scalar_or_strings(e, "fields")
    info.comps = scalar_or_strings(e, "comps")
    if e.has("values"):
        node = e.map["values"]
        if not isinstance(node, yaml.SequenceNode):
            if not is_null(node):
                raise fail(LOAD_ERR_YAML_VALIDATE, "Rule exception values must be a sequence",
                           e.ctx_of("values"))
        else:
            info.values = [value_tree(v) for v in node.value]
            info.has_values = True
    return info


def scalar_or_strings(e: ItemReader, key: str):
    if not e.has(key):
        return None
    if isinstance(e.map[key], yaml.SequenceNode):
        return e.strings(key)
    return e.scalar(key)


def value_tree(node):
    """A value entry: scalar text, or (nested) lists of scalar texts."""
    if isinstance(node, yaml.SequenceNode):
        return [value_tree(v) for v in node.value]
    if isinstance(node, yaml.MappingNode):
        return {"__mapping__": True}
    return node.value
