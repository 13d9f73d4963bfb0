"""Collects lists, macros and rules by name, in load order (docs/rules-language.md §1.4, §2, §3).

Second stage of Falco's loader (docs/design.md §7): definitions, appends and
overrides; the same-source rule; exception checks against the source's
fields. Every define/append/override takes the next load-order position
(``visibility``); a redefinition keeps the item's first ``index``.
"""
from __future__ import annotations

from scaptools.engine.diagnostics import LOAD_ERR_VALIDATE, LOAD_UNKNOWN_SOURCE, fail
from scaptools.engine.rules.exception_check import is_valid, validate_exception
from scaptools.engine.rules.infos import ListInfo, MacroInfo, RuleInfo, RuleUpdate
from scaptools.engine.rules.messages import (ERROR_NO_PREVIOUS_LIST, ERROR_NO_PREVIOUS_MACRO,
                                             ERROR_NO_PREVIOUS_RULE_APPEND,
                                             ERROR_NO_PREVIOUS_RULE_REPLACE)


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
    def list_item(self, info: ListInfo, append: bool) -> None:
        if not append:
            self._define(self.lists, info)
            return
        prev = self.lists.get(info.name)
        if prev is None:
            raise fail(LOAD_ERR_VALIDATE, ERROR_NO_PREVIOUS_LIST, info.ctx)
        prev.items = prev.items + info.items
        prev.visibility = self._next()

    def macro_item(self, info: MacroInfo, append: bool) -> None:
        if not append:
            self._define(self.macros, info)
            return
        prev = self.macros.get(info.name)
        if prev is None:
            raise fail(LOAD_ERR_VALIDATE, ERROR_NO_PREVIOUS_MACRO, info.ctx)
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
        for exc in info.exceptions:
            if not is_valid(exc.fields):
                raise fail(LOAD_ERR_VALIDATE, "Rule exception item must have fields property "
                           "with a list of fields", exc.ctx)
            validate_exception(exc, fieldset)
        self._define(self.rules, info)

    def rule_enable(self, name: str, enabled: bool, ctx) -> None:
        """A standalone ``enabled`` item (deprecated, §2.5)."""
        prev = self.rules.get(name)
        if prev is None:
            raise fail(LOAD_ERR_VALIDATE, "Rule has 'enabled' key but no rule by that name "
                       "already exists", ctx)
        prev.enabled = enabled

    def rule_update(self, upd: RuleUpdate) -> None:
        prev = self.rules.get(upd.name)
        appends = "append" in upd.ops.values()
        if prev is None:
            raise fail(LOAD_ERR_VALIDATE, ERROR_NO_PREVIOUS_RULE_APPEND if appends
                       else ERROR_NO_PREVIOUS_RULE_REPLACE, upd.ctx)
        if not upd.ops:
            raise fail(LOAD_ERR_VALIDATE, "Appended rule must have exceptions or condition "
                       "property" if upd.legacy else "The rule must have at least one field "
                       "that can be replaced", upd.ctx)
        source = upd.values.get("source")
        if source is not None and source != prev.source:
            raise fail(LOAD_ERR_VALIDATE, "Rule has been re-defined with a different source",
                       upd.ctx)
        for key, op in upd.ops.items():
            value = upd.values.get(key)
            if op == "append":
                self._append(prev, key, value)
            else:
                self._replace(prev, key, value, upd)
        prev.visibility = self._next()

    def _fieldset_of(self, rule: RuleInfo):
        return None if rule.unknown_source else self.fieldsets(rule.source)

    def _append(self, rule: RuleInfo, key: str, value) -> None:
        if key in ("condition", "output", "desc"):
            if value:
                setattr(rule, key, getattr(rule, key) + " " + value)
        elif key == "tags":
            rule.tags |= set(value or ())
        elif key == "exceptions":
            self._append_exceptions(rule, value or [])

    def _append_exceptions(self, rule: RuleInfo, excs) -> None:
        fieldset = self._fieldset_of(rule)
        for exc in excs:
            prev = next((e for e in rule.exceptions if e.name == exc.name), None)
            if prev is None:
                if not is_valid(exc.fields):
                    raise fail(LOAD_ERR_VALIDATE, "Rule exception must have fields property "
                               "with a list of fields", exc.ctx)
                if not exc.values:
                    raise fail(LOAD_ERR_VALIDATE, "Rule exception must have values property "
                               "with a list of values", exc.ctx)
                validate_exception(exc, fieldset)
                rule.exceptions.append(exc)
                continue
            if is_valid(exc.fields):
                raise fail(LOAD_ERR_VALIDATE, "Can not append exception fields to existing "
                           "exception, only values", exc.ctx)
            if is_valid(exc.comps):
                raise fail(LOAD_ERR_VALIDATE, "Can not append exception comps to existing "
                           "exception, only values", exc.ctx)
            prev.values = prev.values + exc.values
            prev.has_values = prev.has_values or exc.has_values

    def _replace(self, rule: RuleInfo, key: str, value, upd: RuleUpdate) -> None:
        if key == "exceptions":
            value = value or []
            fieldset = self._fieldset_of(rule)
            for exc in value:
                if not is_valid(exc.fields):
                    raise fail(LOAD_ERR_VALIDATE, "Rule exception item must have fields "
                               "property with a list of fields", exc.ctx)
                validate_exception(exc, fieldset)
        if key == "condition" and upd.cond_ctx is not None:
            rule.cond_ctx = upd.cond_ctx
        if key == "output" and upd.output_ctx is not None:
            rule.output_ctx = upd.output_ctx
        setattr(rule, key.replace("-", "_"), value)
