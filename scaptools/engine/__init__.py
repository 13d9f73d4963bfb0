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

Pipeline (docs/design.md §7): ``loader`` (YAML -> info structs with positions) ->
``collector`` (define/append/override in order) -> ``ruleset`` (lists, macros,
conditions compiled by ``compiler`` to Python, outputs by ``output``).
"""
from __future__ import annotations

from ..errors import Location, RuleError
from .compiler import CompileError, Compiler
from .diagnostics import Diagnostic, LoadResult
from .engine import Engine
from .lexer import LexError
from .load import load_rules
from .output import Alert, format_json, format_text
from .parser import parse_condition
from .ruleset import CompiledRule, Ruleset

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
