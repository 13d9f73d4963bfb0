"""Generated code agrees with a direct tree evaluation (docs/rules-language.md §4.2, §6.1).

Random conditions over string, number and list fields are compiled by the
engine and also evaluated here by walking the tree with the spec's rules; both
must agree on random events (including missing values).
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.engine import compile_filter, parse_condition
from scaptools.engine.condition.tree import And, Check, ListValue, Not, Or

WORDS = ["a", "ab", "b", "ba", ""]
STR_OPS = ["=", "!=", "contains", "startswith", "endswith", "in", "exists"]
NUM_OPS = ["=", "!=", "<", "<=", ">", ">=", "in", "exists"]


def check_text(draw):
    kind = draw(st.sampled_from(["s", "n", "l"]))
    if kind == "s":
        op = draw(st.sampled_from(STR_OPS))
        field = draw(st.sampled_from(["t.s", "t.s2"]))
        if op == "exists":
            return f"{field} exists"
        if op == "in":
            items = draw(st.lists(st.sampled_from(WORDS[:-1]), max_size=3))
            return f"{field} in ({', '.join(items)})"
        return f"{field} {op} '{draw(st.sampled_from(WORDS))}'"
    if kind == "n":
        op = draw(st.sampled_from(NUM_OPS))
        if op == "exists":
            return "t.n exists"
        if op == "in":
            return f"t.n in ({', '.join(map(str, draw(st.lists(st.integers(0, 3), max_size=3))))})"
        return f"t.n {op} {draw(st.integers(0, 3))}"
    op = draw(st.sampled_from(["in", "intersects", "exists"]))
    if op == "exists":
        return "t.l exists"
    return f"t.l {op} ({', '.join(draw(st.lists(st.sampled_from(WORDS[:-1]), min_size=1, max_size=3)))})"


@st.composite
def condition(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return check_text(draw)
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        return f"not {draw(condition(depth + 1))}"
    if kind == "paren":
        return f"({draw(condition(depth + 1))})"
    parts = draw(st.lists(condition(depth + 1), min_size=2, max_size=3))
    return f" {kind} ".join(parts)


events = st.fixed_dictionaries({}, optional={
    "s": st.sampled_from(WORDS), "s2": st.sampled_from(WORDS), "n": st.integers(0, 3),
    "l": st.lists(st.sampled_from(WORDS[:-1]), max_size=3)})


def evaluate(node, rec) -> bool:
    """Reference semantics: a check on a missing value is false (§6.1)."""
    if isinstance(node, And):
        return all(evaluate(c, rec) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, rec) for c in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, rec)
    assert isinstance(node, Check)
    key = node.operand.name.split(".")[1]
    value = rec.get(key)
    if value is None or value == []:
        return False
    if node.op == "exists":
        return True
    if key == "l":
        items = set(node.value.items)
        return set(value) <= items if node.op == "in" else bool(set(value) & items)
    conv = int if key == "n" else str
    if isinstance(node.value, ListValue):
        return value in {conv(i) for i in node.value.items}
    c = conv(node.value)
    return {"=": value == c, "!=": value != c, "<": value < c if key == "n" else None,
            "<=": value <= c if key == "n" else None, ">": value > c if key == "n" else None,
            ">=": value >= c if key == "n" else None,
            "contains": key != "n" and c in value,
            "startswith": key != "n" and value.startswith(c),
            "endswith": key != "n" and value.endswith(c)}[node.op]


@settings(max_examples=300, deadline=None)
@given(cond=condition(), recs=st.lists(events, min_size=1, max_size=5))
def test_compiled_condition_matches_reference(cond, recs, typed_fieldset_factory, event):
    fn = compile_filter(cond, typed_fieldset_factory())
    tree = parse_condition(cond)
    for rec in recs:
        assert fn(event(rec)) is evaluate(tree, rec), (cond, rec)
