"""Collects lists, macros and rules by name, in load order (docs/rules-language.md §1.4, §2, §3).

Second stage of Falco's loader (docs/design.md §7): definitions, appends and
overrides; the same-source rule; exception validation against the source's
fields. Every define/append/override takes the next load-order position
(``visibility``); a redefinition keeps the item's first ``index``.
"""
from __future__ import annotations

from scaptools.engine.diagnostics import (LOAD_APPEND_NO_VALUES, LOAD_ERR_VALIDATE,
                                          LOAD_EXCEPTION_NAME_NOT_UNIQUE, LOAD_UNKNOWN_SOURCE,
                                          fail)
from scaptools.engine.rules.exception_check import validate_exception
from scaptools.engine.rules.infos import ListInfo, MacroInfo, RuleInfo, RuleUpdate


class Collector:
    """Every list, macro and rule of all files loaded so far."""

    def __init__(self, fieldsets, result):
        self.fieldsets = fieldsets
        self.res = result
        self.lists: dict[str, ListInfo] = {}
        self.macros: dict[str, MacroInfo] = {}
        self.rules: dict[str, RuleInfo] = {}
        self.plugin_requirements: list = []
        self.position = 0

    def _next(self) -> int:
        self.position += 1
        return self.position

    def _define(self, table: dict, info) -> None:
        prev = table.get(info.name)
        info.visibility = self._next()
        info.index = prev.index if prev is not None else info.visibility
        table[info.name] = info  # an existing key keeps its place in the dict

    # -- lists and macros -------------------------------------------------
    def list_item(self, info: ListInfo, mode: str) -> None:
        if mode != "append":
            self._define(self.lists, info)
            return
        prev = self.lists.get(info.name)
        if prev is None:
            raise fail(LOAD_ERR_VALIDATE, "List uses 'append' or 'override.items: append' but "
                       "no list by that name already exists", info.ctx)
        prev.items = prev.items + info.items
        prev.visibility = self._next()

    def macro_item(self, info: MacroInfo, mode: str) -> None:
        if mode != "append":
            self._define(self.macros, info)
            return
        prev = self.macros.get(info.name)
        if prev is None:
            raise fail(LOAD_ERR_VALIDATE, "Macro uses 'append' or 'override.condition: append' "
                       "but no macro by that name already exists", info.ctx)
        prev.condition = prev.condition + " " + info.condition
        prev.visibility = self._next()

    # -- rules ---------------------------------------------------------------
    def rule_define(self, info: RuleInfo) -> None:
        prev = self.rules.get(info.name)
        if prev is not None and prev.source != info.source:
            raise fail(LOAD_ERR_VALIDATE, "Rule has been re-defined with a different source",
                       info.ctx)
        fieldset = self.fieldsets(info.source)
        if fieldset is None:
            info.unknown_source = True
            self.res.warn(LOAD_UNKNOWN_SOURCE, f"Unknown source {info.source}, skipping", info.ctx)
        seen = set()
        for exc in info.exceptions:
            if exc.name in seen:
                self.res.warn(LOAD_EXCEPTION_NAME_NOT_UNIQUE, "Multiple definitions of exception "
                              f"'{exc.name}' in the same rule", exc.ctx)
            seen.add(exc.name)
            if fieldset is not None:
                validate_exception(exc, fieldset)
        self._define(self.rules, info)

    def rule_update(self, upd: RuleUpdate) -> None:
        prev = self.rules.get(upd.name)
        if prev is None:
            raise self._no_rule(upd)
        source = upd.values.get("source")
        if source is not None and source != prev.source:
            raise fail(LOAD_ERR_VALIDATE, "Rule has been re-defined with a different source",
                       upd.ctx)
        if upd.legacy and not upd.ops:
            raise fail(LOAD_ERR_VALIDATE, "Appended rule must have exceptions or condition "
                       "property", upd.ctx)
        for key, op in upd.ops.items():
            value = upd.values.get(key)
            if op == "append":
                self._append(prev, key, value, upd)
            else:
                self._replace(prev, key, value, upd)
        prev.visibility = self._next()

    @staticmethod
    def _no_rule(upd: RuleUpdate):
        if upd.legacy and "enabled" in upd.ops:
            msg = "Rule has 'enabled' key but no rule by that name already exists"
        elif "append" in upd.ops.values():
            key = next(k for k, op in upd.ops.items() if op == "append")
            msg = (f"Rule uses 'append' or 'override.{key}: append' but no rule by that name "
                   "already exists")
        else:
            key = next(iter(upd.ops), "enabled")
            msg = (f"An 'override.{key}: replace' to a rule was requested but no rule by that "
                   "name already exists")
        return fail(LOAD_ERR_VALIDATE, msg, upd.ctx)

    def _append(self, rule: RuleInfo, key: str, value, upd: RuleUpdate) -> None:
        if key in ("condition", "output", "desc"):
            if value:
                setattr(rule, key, getattr(rule, key) + " " + value)
        elif key == "tags":
            rule.tags |= set(value or ())
        elif key == "exceptions":
            self._append_exceptions(rule, value or [])

    def _append_exceptions(self, rule: RuleInfo, excs) -> None:
        fieldset = None if rule.unknown_source else self.fieldsets(rule.source)
        by_name = {e.name: e for e in rule.exceptions}
        for exc in excs:
            prev = by_name.get(exc.name)
            if prev is None:
                if fieldset is not None:
                    validate_exception(exc, fieldset)
                rule.exceptions.append(exc)
                by_name[exc.name] = exc
                continue
            if exc.fields is not None:
                raise fail(LOAD_ERR_VALIDATE, "Can not append exception fields to existing "
                           "exception, only values", exc.ctx)
            if exc.comps is not None:
                raise fail(LOAD_ERR_VALIDATE, "Can not append exception comps to existing "
                           "exception, only values", exc.ctx)
            if not exc.has_values:
                self.res.warn(LOAD_APPEND_NO_VALUES, "Overriding/appending exception with no "
                              "values", exc.ctx)
            probe = type(exc)(exc.name, exc.ctx, prev.fields, prev.comps, exc.values, True)
            if fieldset is not None:
                validate_exception(probe, fieldset, values_only=True)
            prev.values = prev.values + exc.values
            prev.has_values = prev.has_values or exc.has_values

    def _replace(self, rule: RuleInfo, key: str, value, upd: RuleUpdate) -> None:
        attr = key.replace("-", "_")
        if key == "tags":
            value = set(value or ())
        elif key == "exceptions":
            value = value or []
            fieldset = None if rule.unknown_source else self.fieldsets(rule.source)
            for exc in value:
                if fieldset is not None:
                    validate_exception(exc, fieldset)
        if key == "condition" and upd.cond_ctx is not None:
            rule.cond_ctx = upd.cond_ctx
        if key == "output" and upd.output_ctx is not None:
            rule.output_ctx = upd.output_ctx
        setattr(rule, attr, value)
