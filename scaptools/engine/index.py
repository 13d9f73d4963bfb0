"""Which index values a condition can match (rules-language.md §7; DESIGN: rules indexed
by what they require).

``index_values(tree, field)`` returns the frozenset of values of ``field``
(e.g. ``ct.name``, ``evt.type``) for which the condition can be true, or None
when it may be true for any value. The analysis is sound: ``and`` intersects
the known sets of its children, ``or`` unites them (unknown if any child is
unknown), ``not`` and every other check are unknown.
"""
from __future__ import annotations

from .tree import And, Check, FieldRef, ListValue, Not, Or


def index_values(tree, field: str | None) -> frozenset | None:
    if field is None:
        return None
    return _values(tree, field)


def _values(node, field: str):
    if isinstance(node, And):
        known = [v for v in (_values(c, field) for c in node.children) if v is not None]
        if not known:
            return None
        out = known[0]
        for v in known[1:]:
            out = out & v
        return out
    if isinstance(node, Or):
        out = frozenset()
        for child in node.children:
            v = _values(child, field)
            if v is None:
                return None
            out = out | v
        return out
    if isinstance(node, Not):
        return None
    if isinstance(node, Check) and isinstance(node.operand, FieldRef) \
            and node.operand.name == field and node.operand.arg is None \
            and node.modifier is None:
        if node.op in ("=", "==") and isinstance(node.value, str):
            return frozenset((node.value,))
        if node.op in ("in", "intersects") and isinstance(node.value, ListValue):
            return frozenset(node.value.items)
    return None


def drop_index_checks(tree, field: str):
    """The tree without its top-level ``field = X`` / ``field in (...)`` conjuncts.

    Used for rules reached through the index: the event's ``field`` value is one
    of the rule's index values, so those conjuncts are already known to hold.
    Returns None when nothing else remains (the condition is then always true).
    """
    kids = list(_conjuncts(tree))
    rest = [k for k in kids if not _is_index_check(k, field)]
    if len(rest) == len(kids):
        return tree
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else And(tuple(rest))


def _conjuncts(node):
    if isinstance(node, And):
        for child in node.children:
            yield from _conjuncts(child)
    else:
        yield node


def _is_index_check(node, field: str) -> bool:
    return (isinstance(node, Check) and isinstance(node.operand, FieldRef)
            and node.operand.name == field and node.operand.arg is None
            and node.modifier is None
            and ((node.op in ("=", "==") and isinstance(node.value, str))
                 or (node.op in ("in", "intersects") and isinstance(node.value, ListValue))))
