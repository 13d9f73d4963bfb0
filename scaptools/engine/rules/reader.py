"""Rules files -> info structs handed to the collector (docs/rules-language.md §1-§3).

The first stage of Falco's three-stage loader (docs/design.md §7): shape checks and
decoding with positions; semantic checks live in ``collector``.
"""
from __future__ import annotations

import re

import yaml

from scaptools.engine.diagnostics import (LOAD_DEPRECATED_ITEM, LOAD_ERR_YAML_PARSE,
                                          LOAD_ERR_YAML_VALIDATE, LOAD_INVALID_LIST_NAME,
                                          LOAD_INVALID_MACRO_NAME, LOAD_UNKNOWN_ITEM,
                                          LOAD_UNKNOWN_KEY, Context, fail)
from scaptools.engine.rules.infos import ListInfo, MacroInfo
from scaptools.engine.rules.plugin_reqs import read_plugin_requirements
from scaptools.engine.rules.rule_reader import read_rule
from scaptools.engine.rules.yamlnodes import ItemReader, compose_documents, is_null, location
from scaptools.errors import Location
from scaptools.plugin.versions import compatible, parse_semver

ENGINE_VERSION = (0, 63, 0)  # §2.1: satisfies both upstream files
KIND_KEYS = ("required_engine_version", "required_plugin_versions", "list", "macro", "rule")
LIST_KEYS = {"list", "items", "append", "override"}
MACRO_KEYS = {"macro", "condition", "append", "override"}
RULE_KEYS = {"rule", "condition", "output", "desc", "priority", "source", "enabled", "tags",
             "exceptions", "capture", "capture_duration", "warn_evttypes",
             "skip-if-unknown-filter", "append", "override"}
RE_LIST_NAME = re.compile(r"[^()\"'\s=,]+\Z")
RE_MACRO_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*\Z")


class FileReader:
    """Reads one rules file into a collector; raises ``LoadFailed`` at the first error."""

    def __init__(self, path: str, text: str, collector, result):
        self.path = path
        self.text = text
        self.col = collector
        self.res = result

    def read(self) -> None:
        try:
            docs = compose_documents(self.text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            loc = Location(self.path, mark.line + 1, mark.column + 1) if mark else None
            text = " ".join(p for p in (exc.context, exc.problem) if p)
            raise fail(LOAD_ERR_YAML_PARSE, text or "invalid YAML",
                       Context(loc or Location(self.path), "rules content")) from None
        except yaml.YAMLError as exc:
            raise fail(LOAD_ERR_YAML_PARSE, str(exc), Context(Location(self.path),
                                                              "rules content")) from None
        for doc in docs:
            self.document(doc)

    def document(self, doc) -> None:
        if is_null(doc):
            return
        ctx = Context(location(self.path, doc), "rules content")
        if isinstance(doc, yaml.ScalarNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rules content is not yaml", ctx)
        if isinstance(doc, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Rules content is not yaml array of objects", ctx)
        for elem in doc.value:
            if is_null(elem):
                continue
            if not isinstance(elem, yaml.MappingNode):
                raise fail(LOAD_ERR_YAML_VALIDATE, "Unexpected element type. Each element "
                           "should be a yaml associative array.",
                           Context(location(self.path, elem), "rules content"))
            self.item(elem)

    def item(self, node) -> None:
        keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        kind = next((k for k in KIND_KEYS if k in keys), None)
        ctx = Context(location(self.path, node), kind or "rules content")
        if kind is None:
            self.res.warn(LOAD_UNKNOWN_ITEM, "Unknown top level item", ctx)
            return
        reader = ItemReader(node, ctx, self.path)
        if kind in ("list", "macro", "rule"):
            name = reader.scalar(kind)
            reader.ctx = ctx = Context(ctx.location, kind, name)
        expected = {"list": LIST_KEYS, "macro": MACRO_KEYS, "rule": RULE_KEYS}.get(kind, {kind})
        for key in keys - expected:
            self.res.warn(LOAD_UNKNOWN_KEY, f"Unknown key '{key}'. The key will be ignored.",
                          reader.ctx_of(key))
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
            raise fail("LOAD_ERR_VALIDATE", f"Rules require engine version "
                       f"{'.'.join(map(str, req))}, but engine version is {own}", r.ctx)

    def read_required_plugin_versions(self, r: ItemReader) -> None:
        self.col.plugin_requirements.extend(read_plugin_requirements(r))

    # -- lists and macros (§2.3, §2.4) -----------------------------------------
    def checked_name(self, r: ItemReader, kind: str, pattern, code: str) -> str:
        """The item's name; a name ``pattern`` refuses gives Falco's ``code`` warning."""
        name = r.ctx.item_name
        if not pattern.match(name):
            self.res.warn(code, f"{kind} has an invalid name. {kind} names should match a "
                          f"regular expression: {pattern.pattern[:-2]}", r.ctx)
        return name

    def read_list(self, r: ItemReader) -> None:
        name = self.checked_name(r, "List", RE_LIST_NAME, LOAD_INVALID_LIST_NAME)
        items = r.strings("items")
        if items is None:
            raise fail(LOAD_ERR_YAML_VALIDATE, "Item has no mapping for key 'items'", r.ctx)
        mode = self.mode(r, "items")
        self.col.list_item(ListInfo(name, items, r.ctx), mode)

    def read_macro(self, r: ItemReader) -> None:
        name = self.checked_name(r, "Macro", RE_MACRO_NAME, LOAD_INVALID_MACRO_NAME)
        cond = r.scalar("condition")
        mode = self.mode(r, "condition")
        self.col.macro_item(MacroInfo(name, cond, r.ctx, r.ctx_of("condition")), mode)

    def mode(self, r: ItemReader, key: str) -> str:
        """define / append / replace for a list or macro item (§3)."""
        ops = self.override_ops(r, (key,), (key,))
        if ops is not None:
            if r.boolean("append"):
                raise self.append_and_override(r)
            return ops.get(key, "define")
        if r.boolean("append"):
            self.res.warn(LOAD_DEPRECATED_ITEM, "The 'append' key is deprecated. Use 'override' "
                          "with 'append' instead.", r.ctx)
            return "append"
        return "define"

    @staticmethod
    def append_and_override(r: ItemReader):
        return fail(LOAD_ERR_YAML_VALIDATE, "Keys 'override' and 'append: true' cannot be used "
                    "together. Add an 'append' entry (e.g. 'condition: append') under "
                    "'override' instead.", r.ctx)

    def override_ops(self, r: ItemReader, can_append, can_replace) -> dict | None:
        """Decode ``override:`` (key -> append/replace) with Falco's checks (§3)."""
        if not r.has("override"):
            return None
        node = r.map["override"]
        if not isinstance(node, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Value is not a mapping", r.ctx_of("override"))
        ops = {}
        sub = ItemReader(node, r.ctx_of("override"), self.path)
        for key in sub.map:
            op = sub.scalar(key)
            if op not in ("append", "replace"):
                raise fail(LOAD_ERR_YAML_VALIDATE, f"Invalid override operation for key "
                           f"'{key}': '{op}'. Allowed values are: append, replace",
                           sub.ctx_of(key))
            if op == "append" and key not in can_append:
                raise fail(LOAD_ERR_YAML_VALIDATE, f"Key '{key}' cannot be appended to, use "
                           "'replace' instead", sub.ctx_of(key))
            if op == "replace" and key not in can_replace:
                raise fail(LOAD_ERR_YAML_VALIDATE, f"Key '{key}' cannot be replaced",
                           sub.ctx_of(key))
            ops[key] = op
        return ops

    # -- rules (§2.5) -------------------------------------------------------------
    def read_rule(self, r: ItemReader) -> None:
        read_rule(self, r)
