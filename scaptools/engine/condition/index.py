"""Which index values a condition can match (docs/rules-language.md §7; DESIGN: rules indexed
by what they require).

``index_values(tree, field)`` returns the frozenset of values of ``field``
(e.g. ``ct.name``, ``evt.type``) for which the condition can be true, or None
when it may be true for any value. The analysis is sound: ``and`` intersects
the known sets of its children, ``or`` unites them (unknown if any child is
unknown); ``not`` is pushed down to the checks and needs the set of all
values (``FieldSet.index_universe``) to be represented.
"""
from __future__ import annotations

from scaptools.engine.condition.tree import And, Check, FieldRef, ListValue, Not, Or


def index_values(tree, field: str | None, universe=None) -> frozenset | None:
    """Values of ``field`` for which ``tree`` can hold; None = any value.

    ``universe`` (all possible values, e.g. every event type) lets negated
    checks (``not evt.type = open``, ``evt.type != open``) be represented.
    Negations are pushed down to the checks (De Morgan), so the result is an
    over-approximation: no event that matches the rule is ever excluded.
    """
    if field is None:
        return None
    return _values(tree, field, False, universe)


def _values(node, field: str, neg: bool, universe):
    if isinstance(node, Not):
        return _values(node.child, field, not neg, universe)
    if isinstance(node, (And, Or)):
        kids = [_values(c, field, neg, universe) for c in node.children]
        if isinstance(node, And) != neg:  # a conjunction (after pushing `not` down)
            known = [k for k in kids if k is not None]
            return frozenset.intersection(*known) if known else None
        if any(k is None for k in kids):
            return None
        return frozenset().union(*kids)
    values, positive = _check_values(node, field)
    if values is None:
        return None
    if positive != neg:
        return values
    return universe - values if universe is not None else None


def _check_values(node, field: str):
    """(values, positive) for ``field = X``/``in``/``!=`` checks, else (None, True)."""
    if not (isinstance(node, Check) and isinstance(node.operand, FieldRef)
            and node.operand.name == field and node.operand.arg is None
            and node.modifier is None):
        return None, True
    if node.op in ("=", "==", "!=") and isinstance(node.value, str):
        return frozenset((node.value,)), node.op != "!="
    if node.op in ("in", "intersects") and isinstance(node.value, ListValue):
        return frozenset(node.value.items), True
    return None, True


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
