"""Validation of one rule exception against the rule source's fields (docs/rules-language.md §2.6)."""
from __future__ import annotations

from scaptools.engine.condition.lexer import (LIST_OPS, MODIFIERS, NUM_OPS, SYM_OPS, WORD_OPS,
                                              LexError)
from scaptools.engine.condition.parser import Parser
from scaptools.engine.condition.tree import FieldRef, Transform
from scaptools.engine.diagnostics import LOAD_ERR_VALIDATE, fail

BINARY_OPS = set(NUM_OPS + SYM_OPS + WORD_OPS + LIST_OPS)
MODIFIABLE = set(SYM_OPS + WORD_OPS)


def comp_ok(comp: str) -> bool:
    parts = comp.split()
    if len(parts) == 1:
        return comp in BINARY_OPS
    return len(parts) == 2 and parts[0] in MODIFIABLE and parts[1] in MODIFIERS


def field_ok(text: str, fieldset) -> bool:
    """True when ``text`` is a field (maybe inside transformers) known to ``fieldset``."""
    parser = Parser(text)
    try:
        operand = parser.operand()
    except LexError:
        return False
    if operand is None or parser.pos != len(text):
        return False
    return all(fieldset.lookup(f.name) is not None for f in fields_of(operand))


def fields_of(operand):
    if isinstance(operand, FieldRef):
        yield operand
    elif isinstance(operand, Transform):
        for arg in operand.args:
            for item in (arg if isinstance(arg, tuple) else (arg,)):
                yield from fields_of(item)


def validate_exception(exc, fieldset, values_only: bool = False) -> None:
    """Raise a load error (LOAD_ERR_VALIDATE) for an invalid exception."""
    if exc.fields is None:
        raise fail(LOAD_ERR_VALIDATE, "Rule exception item must have fields property with a "
                   "list of fields", exc.ctx)
    if isinstance(exc.fields, list):
        _check_list_form(exc, fieldset, values_only)
    else:
        _check_scalar_form(exc, fieldset, values_only)


def _check_list_form(exc, fieldset, values_only: bool) -> None:
    if not values_only:
        comps = exc.comps if exc.comps is not None else ["="] * len(exc.fields)
        if not isinstance(comps, list) or len(comps) != len(exc.fields):
            raise fail(LOAD_ERR_VALIDATE, "Fields and comps lists must have equal length", exc.ctx)
        for comp in comps:
            if not comp_ok(comp):
                raise fail(LOAD_ERR_VALIDATE, f"'{comp}' is not a supported comparison operator",
                           exc.ctx)
        for name in exc.fields:
            if not field_ok(name, fieldset):
                raise fail(LOAD_ERR_VALIDATE, f"'{name}' is not a supported filter field", exc.ctx)
    for row in exc.values:
        if not isinstance(row, list) or len(row) != len(exc.fields):
            raise fail(LOAD_ERR_VALIDATE, "Fields and values lists must have equal length",
                       exc.ctx)
        for value in row:
            if isinstance(value, dict) or (isinstance(value, list) and
                                           any(not isinstance(v, str) for v in value)):
                raise fail(LOAD_ERR_VALIDATE, "Expected values array to contain a list of "
                           "strings", exc.ctx)


def _check_scalar_form(exc, fieldset, values_only: bool) -> None:
    if not values_only:
        comp = exc.comps if exc.comps is not None else "in"
        if not isinstance(comp, str):
            raise fail(LOAD_ERR_VALIDATE, "Fields and comps must both be strings", exc.ctx)
        parts = comp.split()
        if not (comp in LIST_OPS or (len(parts) == 2 and comp_ok(comp))):
            raise fail(LOAD_ERR_VALIDATE, f"'{comp}' is not a supported comparison operator",
                       exc.ctx)
        if not field_ok(exc.fields, fieldset):
            raise fail(LOAD_ERR_VALIDATE, f"'{exc.fields}' is not a supported filter field",
                       exc.ctx)
    for value in exc.values:
        if not isinstance(value, str):
            raise fail(LOAD_ERR_VALIDATE, "Expected values array to contain a list of strings",
                       exc.ctx)
