"""Falco-compatible rule engine (docs/rules-language.md).

Public API::

    result = load_rules(["rules.yaml", ("inline.yaml", text)], fieldsets)
    result.ok, result.errors, result.warnings        # coded Diagnostics (§12)
    engine = Engine(result.ruleset, rule_matching="first")
    for alert in engine.process(event, "aws_cloudtrail"):
        print(format_text(alert))                    # or format_json(alert)
    match = compile_filter("evt.type = open", fieldset)   # sysdig-style filter

``fieldsets`` is a callable ``source_name -> FieldSet | None`` (None = unknown
source: the rule is skipped with LOAD_UNKNOWN_SOURCE). Fields are used only
through ``FieldSet.lookup``/``FieldSet.extractor``.

Index hook: a ``FieldSet`` may expose ``index_field`` (e.g. ``"ct.name"`` for
``aws_cloudtrail``, ``"evt.type"`` for ``syscall``). The engine then derives
from each rule's condition the values of that field it can match (``F = X``,
``F in (...)`` combined through and/or, see ``index.py``), calls the field's
extractor once per event and tests only the rules that can match that value
(plus the rules without such a restriction), in index order; top-level
conjuncts implied by the lookup are not evaluated again. Without
``index_field`` every rule of the source is tested. A FieldSet may also give
``index_universe`` (every value the extractor can return, e.g. all event
types: lets negated checks be indexed and drives Falco's LOAD_NO_EVTTYPE
warning; other values then meet every rule) and
``ignored_index_values``: values whose events are dropped unless
``Engine(enable_all=True)`` (Falco ``-A``).

Layout (docs/design.md §7): ``condition/`` is the condition language (``lexer``,
``parser``, ``tree``, ``values``, ``transformers``, ``compiler``: condition tree ->
Python function, ``index``). ``rules/`` holds the rules-file stages in Falco's
names: ``reader`` (YAML -> info structs with positions) -> ``collector``
(define/append/override in order) -> ``compiler`` (lists, macros, conditions,
outputs: the ``Ruleset``), driven by ``load`` (``load_rules``). ``engine``
evaluates events, ``output`` renders outputs and alerts, ``diagnostics`` holds
the coded load errors and warnings.
"""
from __future__ import annotations

from scaptools.engine.condition.compiler import CompileError, Compiler
from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.parser import parse_condition
from scaptools.engine.diagnostics import Diagnostic, LoadResult
from scaptools.engine.engine import Engine
from scaptools.engine.output import Alert, format_json, format_text
from scaptools.engine.rules.compiler import CompiledRule, Ruleset
from scaptools.engine.rules.load import load_rules
from scaptools.errors import Location, RuleError

__all__ = ["load_rules", "LoadResult", "Diagnostic", "Engine", "Alert", "format_text",
           "format_json", "compile_filter", "parse_condition", "Ruleset", "CompiledRule"]


def compile_filter(text: str, fieldset):
    """A sysdig-style filter (no macros or lists) as ``fn(event) -> bool``.

    Raises ``RuleError`` (code LOAD_ERR_COMPILE_CONDITION) for a bad filter.
    """
    try:
        tree = parse_condition(text)
        match, _ = Compiler(fieldset).build(tree, "filter")
    except (LexError, CompileError) as exc:
        raise RuleError(exc.message, Location("<filter>"), "filter", text,
                        "LOAD_ERR_COMPILE_CONDITION") from None
    return lambda event: bool(match(event))
