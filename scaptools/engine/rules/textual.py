"""Textual rewriting done before parsing: exceptions (docs/rules-language.md §2.6)
and list substitution (§5.5), reproducing Falco's text-level behaviour
including its quirks (no escaping of inserted values, substitution blind to
quoting).
"""
from __future__ import annotations

import re

LIST_COMPS = ("in", "intersects", "pmatch")
_DELIMS = " \t\n\r(),="
_WIDEN = " \t\n\r"


def quote_if_spaced(value: str) -> str:
    """Wrap in double quotes a value that contains a space and is not already quoted (§2.6)."""
    if " " in value and not value.startswith(("'", '"')):
        return f'"{value}"'
    return value


def takes_list(comp: str) -> bool:
    """True for comparison operators whose right side is a list (§2.6)."""
    parts = comp.split()
    return comp in LIST_COMPS or (len(parts) == 2 and parts[1] in ("oneof", "anyof", "allof"))


def render_exception_value(value, comp: str) -> str:
    """One value of a list-form exception: inline list, list-comp scalar or plain scalar."""
    if isinstance(value, list):
        return "(" + ", ".join(quote_if_spaced(v) for v in value) + ")"
    if takes_list(comp):
        return value if value.startswith("(") else f"({value})"
    return quote_if_spaced(value)


def exception_text(exc) -> str:
    """The ``Ei`` text of one exception with values, or "" (§2.6)."""
    if not exc.values:
        return ""
    if isinstance(exc.fields, list):
        comps = exc.comps if exc.comps is not None else ["="] * len(exc.fields)
        alts = []
        for row in exc.values:
            terms = [f"{f} {c} {render_exception_value(v, c)}"
                     for f, c, v in zip(exc.fields, comps, row)]
            alts.append("(" + " and ".join(terms) + ")")
        return "(" + " or ".join(alts) + ")"
    comp = exc.comps if exc.comps is not None else "in"
    values = ", ".join(quote_if_spaced(v) for v in exc.values)
    return f"({exc.fields} {comp} ({values}))"


def add_exceptions(condition: str, exceptions) -> str:
    """``(C) and not E1 and not E2 ...`` for the exceptions that have values (§2.6); a
    rule with exceptions gets its parentheses even when none has values."""
    if not exceptions:
        return condition
    parts = [exception_text(e) for e in exceptions]
    parts = [p for p in parts if p]
    return f"({condition})" + "".join(f" and not {p}" for p in parts)


def list_pattern(name: str):
    """Regex for a list name delimited by start/end or one of `` \\t\\n\\r(),=`` (§5.5)."""
    d = re.escape(_DELIMS)
    return re.compile(rf"(?<![^{d}]){re.escape(name)}(?![^{d}])")


def substitute_lists(text: str, lists, used: set | None = None) -> str:
    """Replace every delimited occurrence of each list name by its items (§5.5).

    ``lists`` is an iterable of ``(name, items, pattern)`` in definition order;
    the names substituted are added to ``used``.
    """
    for name, items, pattern in lists:
        if name not in text:
            continue
        joined = ", ".join(quote_if_spaced(i) for i in items)
        pos = 0
        while True:
            m = pattern.search(text, pos)
            if m is None:
                break
            text, pos = _splice(text, m.start(), m.end(), joined, not items)
            if used is not None:
                used.add(name)
    return text


def _splice(text: str, start: int, end: int, joined: str, empty: bool) -> tuple[str, int]:
    while start > 0 and text[start - 1] in _WIDEN:
        start -= 1
    while end < len(text) and text[end] in _WIDEN:
        end += 1
    if empty:
        if start > 0 and text[start - 1] == ",":
            start -= 1
        elif end < len(text) and text[end] == ",":
            end += 1
    insert = f" {joined} " if joined else " "
    return text[:start] + insert + text[end:], start + len(insert)
