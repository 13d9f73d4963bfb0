"""Rules files -> info structs handed to the collector (docs/rules-language.md §1-§3).

The first stage of Falco's three-stage loader (docs/design.md §7): shape checks and
decoding with positions, in Falco's order and words; semantic checks live in
``collector``. Lists and macros are read here, rules in ``rule_reader``.
"""
from __future__ import annotations

import re

import yaml

from scaptools.engine.diagnostics import (LOAD_DEPRECATED_ITEM, LOAD_ERR_VALIDATE,
                                          LOAD_ERR_YAML_PARSE, LOAD_ERR_YAML_VALIDATE,
                                          LOAD_INVALID_LIST_NAME, LOAD_INVALID_MACRO_NAME,
                                          LOAD_UNKNOWN_ITEM, LOAD_UNKNOWN_KEY, Context, fail)
from scaptools.engine.rules.infos import ListInfo, MacroInfo
from scaptools.engine.rules.messages import ERROR_OVERRIDE_APPEND, WARNING_APPEND
from scaptools.engine.rules.plugin_reqs import read_plugin_requirements
from scaptools.engine.rules.rule_reader import read_rule
from scaptools.engine.rules.schema import check_documents
from scaptools.engine.rules.yamlerrors import yaml_cpp_message
from scaptools.engine.rules.yamlnodes import ItemReader, compose_documents, is_null, mapping
from scaptools.plugin.versions import compatible, parse_semver

ENGINE_VERSION = (0, 63, 0)  # §2.1: satisfies both upstream files
KIND_KEYS = ("required_engine_version", "required_plugin_versions", "list", "macro", "rule")
LIST_KEYS = {"list", "items", "append", "override"}
MACRO_KEYS = {"macro", "condition", "append", "override"}
RULE_KEYS = {"rule", "condition", "output", "desc", "priority", "source", "enabled", "tags",
             "exceptions", "capture", "capture_duration", "warn_evttypes",
             "skip-if-unknown-filter", "append", "override"}
RE_LIST_NAME = re.compile(r"[^()\"'\s=,]+\Z")
RE_MACRO_NAME = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*\Z")
LIST_NAME_TEXT = "([^()\"'[:space:]=,]+)"  # the patterns as Falco words them
MACRO_NAME_TEXT = "([a-zA-Z]+[a-zA-Z0-9_]*)"


class FileReader:
    """Reads one rules file into a collector; raises ``LoadFailed`` at the first error."""

    def __init__(self, path: str, text: str, collector, result):
        self.path = path
        self.text = text
        self.col = collector
        self.res = result
        self.root = Context.root(path)

    def read(self) -> None:
        try:
            docs = compose_documents(self.text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            ctx = self.root.at(mark, "value for") if mark else self.root
            raise fail(LOAD_ERR_YAML_PARSE, yaml_cpp_message(exc), ctx) from None
        except yaml.YAMLError as exc:
            raise fail(LOAD_ERR_YAML_PARSE, str(exc), self.root) from None
        self.res.schema[self.path] = check_documents(d for d in docs if d is not None) or ["none"]
        for doc in docs:
            self.document(doc)

    def document(self, doc) -> None:
        if is_null(doc):
            return
        if not isinstance(doc, (yaml.MappingNode, yaml.SequenceNode)):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rules content is not yaml", self.root)
        if isinstance(doc, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rules content is not yaml array of objects",
                       self.root)
        for elem in doc.value:
            if is_null(elem):
                continue
            if not isinstance(elem, yaml.MappingNode):
                raise fail(LOAD_ERR_YAML_VALIDATE, "Unexpected element type. Each element "
                           "should be a yaml associative array.",
                           self.root.at(elem.start_mark, "rules content item"))
            self.item(elem)

    def item(self, node) -> None:
        keys = mapping(node)
        kind = next((k for k in KIND_KEYS if k in keys), None)
        if kind is None:
            self.res.warn(LOAD_UNKNOWN_ITEM, "Unknown top level item",
                          self.root.at(node.start_mark, "rules content item"))
            return
        if kind in ("list", "macro", "rule"):
            name = ItemReader(node, self.root.at(node.start_mark, kind, item=kind)).scalar(kind)
            reader = ItemReader(node, self.root.at(node.start_mark, kind, name, item=kind))
        else:
            label = kind.replace("_", " ") if kind == "required_plugin_versions" else kind
            reader = ItemReader(node, self.root.at(node.start_mark, label, item=label))
        expected = {"list": LIST_KEYS, "macro": MACRO_KEYS, "rule": RULE_KEYS}.get(kind, {kind})
        for key in [k for k in keys if k not in expected]:
            self.res.warn(LOAD_UNKNOWN_KEY, f"Unknown key '{key}'. The key will be ignored.",
                          reader.value_ctx(key))
        getattr(self, "read_" + kind)(reader)

    # -- engine / plugin versions (§2.1, §2.2) --------------------------------
    def read_required_engine_version(self, r: ItemReader) -> None:
        text = r.scalar("required_engine_version")
        if text.isdigit():
            req = (0, int(text), 0)
        else:
            req = parse_semver(text)
            if req is None:
                raise fail(LOAD_ERR_YAML_VALIDATE, f"Unable to parse engine version '{text}' as "
                           "a semver string. Expected \"x.y.z\" semver format.", r.ctx)
        if not compatible(ENGINE_VERSION, req):
            own = ".".join(map(str, ENGINE_VERSION))
            raise fail(LOAD_ERR_VALIDATE, f"Rules require engine version "
                       f"{'.'.join(map(str, req))}, but engine version is {own}", r.ctx)

    def read_required_plugin_versions(self, r: ItemReader) -> None:
        self.col.plugin_requirements.extend(read_plugin_requirements(r, self.root))

    # -- lists and macros (§2.3, §2.4) -----------------------------------------
    def checked_name(self, r: ItemReader, kind: str, pattern, text: str, code: str) -> str:
        """The item's name; a name ``pattern`` refuses gives Falco's ``code`` warning."""
        name = r.ctx.item_name
        if not pattern.match(name):
            self.res.warn(code, f"{kind} has an invalid name. {kind} names should match a "
                          f"regular expression: {text}", r.ctx)
        return name

    def read_list(self, r: ItemReader) -> None:
        name = self.checked_name(r, "List", RE_LIST_NAME, LIST_NAME_TEXT, LOAD_INVALID_LIST_NAME)
        items = r.strings("items", required=True)
        append = self.mode(r, "items")
        self.col.list_item(ListInfo(name, items, r.ctx), append)

    def read_macro(self, r: ItemReader) -> None:
        name = self.checked_name(r, "Macro", RE_MACRO_NAME, MACRO_NAME_TEXT,
                                 LOAD_INVALID_MACRO_NAME)
        cond = r.scalar("condition")
        cond_ctx = r.value_ctx("condition", "macro condition")
        append = self.mode(r, "condition")
        self.col.macro_item(MacroInfo(name, cond, r.ctx, cond_ctx), append)

    def mode(self, r: ItemReader, key: str) -> bool:
        """True when a list or macro item appends (``append: true`` or an append
        override), False when it (re)defines (§3)."""
        append = bool(r.boolean("append"))
        if append:
            self.res.warn(LOAD_DEPRECATED_ITEM, WARNING_APPEND, r.ctx)
        ops = self.override_ops(r, (key,), (key,))
        if append and ops:
            raise fail(LOAD_ERR_YAML_VALIDATE, ERROR_OVERRIDE_APPEND, r.ctx)
        return append or ops.get(key) == "append"

    def override_ops(self, r: ItemReader, can_append, can_replace) -> dict:
        """Decode ``override:`` (key -> append/replace) with Falco's checks (§3)."""
        node = r.map.get("override")
        if not isinstance(node, yaml.MappingNode):
            return {}
        ops = {}
        octx = r.ctx.at(r.node.start_mark, "overrides")
        for knode, vnode in node.value:
            key = knode.value
            op = vnode.value if isinstance(vnode, yaml.ScalarNode) else ""
            kctx = octx.at(knode.start_mark, "overrides", key)
            if op == "append":
                if key not in can_append:
                    raise fail(LOAD_ERR_YAML_VALIDATE, f"Key '{key}' cannot be appended to, use "
                               "'replace' instead", kctx)
            elif op == "replace":
                if key not in can_replace:
                    raise fail(LOAD_ERR_YAML_VALIDATE, f"Key '{key}' cannot be replaced", kctx)
            else:
                allowed = ("append " if key in can_append else "") + \
                          ("replace " if key in can_replace else "")
                raise fail(LOAD_ERR_YAML_VALIDATE, f"Invalid override operation for key "
                           f"'{key}': '{op}'. Allowed values are: {allowed}",
                           octx.at(vnode.start_mark, "value for", key))
            ops[key] = op
        return ops

    # -- rules (§2.5) -------------------------------------------------------------
    def read_rule(self, r: ItemReader) -> None:
        read_rule(self, r)
