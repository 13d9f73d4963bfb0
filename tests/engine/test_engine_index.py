"""Rules indexed by the source's index field give the same alerts as testing every rule."""
from __future__ import annotations

import itertools

import pytest

from scaptools.engine import Engine, load_rules
from scaptools.engine.condition.index import drop_index_checks, index_values
from scaptools.engine.condition.parser import parse_condition

CONDITIONS = [
    "ct.name = A",
    "ct.name = A and ct.region = r1",
    "ct.name in (A, B) and not ct.error exists",
    "ct.name = A or ct.name = B",
    "(ct.name = A or ct.region = r1) and ct.name != B",
    "not ct.name = A",
    "ct.name = A and ct.name = B",
    "ct.name in (A, B) and ct.name = B",
    "ct.region exists",
    "ct.name startswith A",
    "ct.name = A and (ct.region = r1 or ct.region = r2)",
]


@pytest.mark.parametrize("cond,values", [
    ("ct.name = A", {"A"}), ("ct.name in (A, B) and x.y = 1", {"A", "B"}),
    ("ct.name = A or ct.name = B", {"A", "B"}), ("ct.name = A or x.y = 1", None),
    ("not ct.name = A", None), ("ct.name = A and ct.name = B", set()),
    ("ct.name[1] = A", None), ("ct.name = anyof (A)", None), ("x.y = 1", None),
])
def test_index_values(cond, values):
    got = index_values(parse_condition(cond), "ct.name")
    assert got == (None if values is None else frozenset(values))


def test_drop_index_checks():
    tree = parse_condition("ct.name = A and (x.y = 1 and ct.name in (A, B)) and not z.w exists")
    assert drop_index_checks(tree, "ct.name").to_text() == "(x.y = 1 and not z.w exists)"
    assert drop_index_checks(parse_condition("ct.name = A"), "ct.name") is None
    tree = parse_condition("ct.name = A or x.y = 1")
    assert drop_index_checks(tree, "ct.name") is tree


def test_indexed_engine_equals_brute_force(ct_fieldsets, ct_event):
    text = "".join(f"- rule: R{i}\n  desc: d\n  condition: {c}\n  output: o\n  priority: INFO\n"
                   f"  source: aws_cloudtrail\n" for i, c in enumerate(CONDITIONS))
    res = load_rules([("r.yaml", text)], ct_fieldsets)
    assert res.ok
    engine = Engine(res.ruleset, rule_matching="all")
    first = Engine(res.ruleset)
    names = [None, "A", "B", "C", "Ax"]
    regions = [None, "r1", "r2"]
    for name, region, error in itertools.product(names, regions, [None, "E"]):
        rec = {k: v for k, v in (("eventName", name), ("awsRegion", region),
                                  ("errorCode", error)) if v is not None}
        ev = ct_event(rec)
        brute = [r.name for r in res.ruleset.rules if r.match(ev)]
        assert [a.rule for a in engine.process(ev, "aws_cloudtrail")] == brute, rec
        assert [a.rule for a in first.process(ev, "aws_cloudtrail")] == brute[:1], rec
        assert [a.rule for a in engine.matcher("aws_cloudtrail")(ev)] == brute, rec
        assert [a.rule for a in first.matcher("aws_cloudtrail")(ev)] == brute[:1], rec


def test_process_and_matcher_agree_without_index(ct_fieldset, ct_event):
    """Both entry points share one loop: with or without an index, first or all, and for a
    source that has no rule (an empty result, a fresh list from ``process``)."""
    del ct_fieldset.index_field
    text = "".join(f"- rule: R{i}\n  desc: d\n  condition: {c}\n  output: o\n  priority: INFO\n"
                   f"  source: aws_cloudtrail\n" for i, c in enumerate(CONDITIONS))
    res = load_rules([("r.yaml", text)], lambda s: ct_fieldset)
    ev = ct_event({"eventName": "A", "awsRegion": "r1"})
    for matching in ("first", "all"):
        engine = Engine(res.ruleset, rule_matching=matching)
        got = engine.process(ev, "aws_cloudtrail")
        assert got and [a.rule for a in engine.matcher("aws_cloudtrail")(ev)] == \
            [a.rule for a in got]
        assert got is not engine.process(ev, "aws_cloudtrail")
        missing = engine.process(ev, "other")
        assert missing == [] and missing is not engine.process(ev, "other")
        assert list(engine.matcher("other")(ev)) == []


def test_without_index_field_every_rule_is_tested(ct_fieldset, ct_event):
    del ct_fieldset.index_field
    text = "".join(f"- rule: R{i}\n  desc: d\n  condition: {c}\n  output: o\n  priority: INFO\n"
                   f"  source: aws_cloudtrail\n" for i, c in enumerate(CONDITIONS))
    res = load_rules([("r.yaml", text)], lambda s: ct_fieldset)
    assert all(r.index_values is None for r in res.ruleset.rules)
    engine = Engine(res.ruleset, rule_matching="all")
    ev = ct_event({"eventName": "A", "awsRegion": "r1"})
    assert [a.rule for a in engine.process(ev, "aws_cloudtrail")] == \
        [r.name for r in res.ruleset.rules if r.match(ev)]


def test_ignored_index_values_need_enable_all(ct_fieldset, ct_event):
    ct_fieldset.ignored_index_values = ("A",)
    text = ("- rule: R\n  desc: d\n  condition: ct.name = A\n  output: o\n  priority: INFO\n"
            "  source: aws_cloudtrail\n")
    res = load_rules([("r.yaml", text)], lambda s: ct_fieldset)
    ev = ct_event({"eventName": "A"})
    assert Engine(res.ruleset).process(ev, "aws_cloudtrail") == []
    assert len(Engine(res.ruleset, enable_all=True).process(ev, "aws_cloudtrail")) == 1


@pytest.mark.parametrize("cond,values", [
    ("not ct.name = A", {"B", "C"}), ("ct.name != A", {"B", "C"}),
    ("not (ct.name = A or x.y = 1)", {"B", "C"}), ("not (ct.name != A and x.y = 1)", None),
    ("not (ct.name in (A, B) and x.y = 1)", None), ("not not ct.name = B", {"B"}),
    ("not (x.y = 1 or ct.name != A)", {"A"}), ("ct.name = A or not ct.name = B", {"A", "C"}),
])
def test_index_values_with_universe(cond, values):
    got = index_values(parse_condition(cond), "ct.name", frozenset({"A", "B", "C"}))
    assert got == (None if values is None else frozenset(values))


def test_universe_index_equals_brute_force(ct_fieldset, ct_event):
    ct_fieldset.index_universe = frozenset({"A", "B", "C", "Ax"})
    conds = CONDITIONS + ["not ct.name = A", "not (ct.name = A or ct.region = r1)"]
    text = "".join(f"- rule: R{i}\n  desc: d\n  condition: {c}\n  output: o\n  priority: INFO\n"
                   f"  source: aws_cloudtrail\n" for i, c in enumerate(conds))
    res = load_rules([("r.yaml", text)], lambda s: ct_fieldset)
    engine = Engine(res.ruleset, rule_matching="all")
    for name, region in itertools.product(["A", "B", "C", "Ax"], [None, "r1"]):
        rec = {"eventName": name, **({"awsRegion": region} if region else {})}
        ev = ct_event(rec)
        assert [a.rule for a in engine.process(ev, "aws_cloudtrail")] == \
            [r.name for r in res.ruleset.rules if r.match(ev)], rec


def test_value_outside_universe_meets_every_rule(ct_fieldset, ct_event):
    ct_fieldset.index_universe = frozenset({"A", "B"})
    text = ("- rule: R\n  desc: d\n  condition: not ct.name = A\n  output: o\n"
            "  priority: INFO\n  source: aws_cloudtrail\n")
    res = load_rules([("r.yaml", text)], lambda s: ct_fieldset)
    engine = Engine(res.ruleset)
    assert [a.rule for a in engine.process(ct_event({"eventName": "Z"}), "aws_cloudtrail")] == ["R"]
    assert engine.process(ct_event({"eventName": "A"}), "aws_cloudtrail") == []
    # missing ct.name: `ct.name = A` is false, so its negation holds (§6.1)
    assert [a.rule for a in engine.process(ct_event({}), "aws_cloudtrail")] == ["R"]
