"""Checks of rule exceptions (docs/rules-language.md §2.6), in Falco's two places: the
fields and comparisons when the rule is collected (``validate_exception``), the values
when the condition text is built (``check_values``). Both raise LOAD_ERR_VALIDATE."""
from __future__ import annotations

from scaptools.engine.condition.lexer import (LIST_OPS, MODIFIERS, NUM_OPS, SYM_OPS, WORD_OPS,
                                              LexError)
from scaptools.engine.condition.parser import Parser
from scaptools.engine.condition.tree import FieldRef, Transform
from scaptools.engine.diagnostics import LOAD_ERR_VALIDATE, fail

OPERATORS = set(NUM_OPS + SYM_OPS + WORD_OPS + LIST_OPS) | {"exists"}  # libsinsp's list
MODIFIABLE = set(SYM_OPS + WORD_OPS)


def is_valid(entry) -> bool:
    """Falco's test of a ``fields``/``comps`` entry: a non-empty text or a non-empty list."""
    return bool(entry)


def with_modifier(comp: str) -> bool:
    """``startswith anyof`` and the like: a string operator and a list modifier."""
    parts = comp.split(" ")
    return len(parts) == 2 and parts[0] in MODIFIABLE and parts[1] in MODIFIERS


def field_ok(text: str, fieldset) -> bool:
    """True when ``text`` is a field (maybe inside transformers) known to ``fieldset``."""
    if not isinstance(text, str):
        return False
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


def _text(entry) -> str:
    return entry if isinstance(entry, str) else ""


def validate_exception(exc, fieldset) -> None:
    """Fields and comparisons of one exception; ``fieldset`` None (unknown source) skips
    the field names. Fills in the default comparisons."""
    if isinstance(exc.fields, list):
        if not is_valid(exc.comps):
            exc.comps = ["="] * len(exc.fields)
        comps = exc.comps if isinstance(exc.comps, list) else []
        if len(comps) != len(exc.fields):
            raise fail(LOAD_ERR_VALIDATE, "Fields and comps lists must have equal length",
                       exc.ctx)
        for comp in map(_text, comps):
            if comp not in OPERATORS and not with_modifier(comp):
                raise fail(LOAD_ERR_VALIDATE, f"'{comp}' is not a supported comparison operator",
                           exc.ctx)
        for name in map(_text, exc.fields):
            if fieldset is not None and not field_ok(name, fieldset):
                raise fail(LOAD_ERR_VALIDATE, f"'{name}' is not a supported filter field", exc.ctx)
        return
    if not is_valid(exc.comps):
        exc.comps = "in"
    if isinstance(exc.comps, list):
        raise fail(LOAD_ERR_VALIDATE, "Fields and comps must both be strings", exc.ctx)
    if exc.comps not in LIST_OPS and not with_modifier(exc.comps):
        raise fail(LOAD_ERR_VALIDATE, "When fields is a single value, comps must be one of (in, "
                   "pmatch, intersects)", exc.ctx)
    if fieldset is not None and not field_ok(exc.fields, fieldset):
        raise fail(LOAD_ERR_VALIDATE, f"'{exc.fields}' is not a supported filter field", exc.ctx)


def check_values(exc) -> None:
    """The values of one exception against its fields (when the condition is built)."""
    if isinstance(exc.fields, list):
        for row in exc.values:
            if not isinstance(row, list) or len(row) != len(exc.fields):
                raise fail(LOAD_ERR_VALIDATE, "Fields and values lists must have equal length",
                           exc.ctx)
        return
    for value in exc.values:
        if isinstance(value, list):
            raise fail(LOAD_ERR_VALIDATE, "Expected values array to contain a list of strings",
                       exc.ctx)
