"""Mutation testing: clause splitting, and the shipped suite leaves no unexplained survivor."""
from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.testing.mutate import condition_mutations, run_mutations, split_top
from scaptools.testing.runner import Replayer
from scaptools.testing.spec import find_specs, load_spec

ROOT = Path(__file__).resolve().parents[2]


def test_testing_split_respects_quotes_parens_and_args():
    text = 'a.b = "x and y" and c.d[/p and q] exists and (e.f = 1 or g.h in (and, or)) and m'
    assert split_top(text, "and") == ['a.b = "x and y"', "c.d[/p and q] exists",
                                      "(e.f = 1 or g.h in (and, or))", "m"]
    assert split_top("x.y = 1 or(z.w = 2)", "or") == ["x.y = 1", "(z.w = 2)"]
    assert split_top("brand.x = 1", "and") == ["brand.x = 1"]


def test_testing_condition_mutations():
    got = dict(condition_mutations('ct.name="A" and ct_succeeded and (x.a=1 or x.b=2)'))
    assert got == {
        'remove: ct.name="A"': "ct_succeeded and (x.a=1 or x.b=2)",
        'negate: ct.name="A"': 'not (ct.name="A") and ct_succeeded and (x.a=1 or x.b=2)',
        "remove: ct_succeeded": 'ct.name="A" and (x.a=1 or x.b=2)',
        "negate: ct_succeeded": 'ct.name="A" and not (ct_succeeded) and (x.a=1 or x.b=2)',
        "remove: (x.a=1 or x.b=2)": 'ct.name="A" and ct_succeeded',
        "negate: (x.a=1 or x.b=2)": 'ct.name="A" and ct_succeeded and not ((x.a=1 or x.b=2))',
        "drop alternative: x.a=1": 'ct.name="A" and ct_succeeded and (x.b=2)',
        "drop alternative: x.b=2": 'ct.name="A" and ct_succeeded and (x.a=1)',
    }
    assert condition_mutations("evt.num > 0") == [("negate: evt.num > 0", "not (evt.num > 0)")]


def test_testing_shipped_suite_kills_every_mutation():
    specs = [load_spec(p) for p in find_specs([ROOT / "captures"])]
    report = run_mutations(specs, replayer=Replayer())
    assert len(report.killed) > 150
    assert [f"{m.rule}: {m.label}" for m in report.survived] == []
    assert all(reason.strip() for _, reason in report.accepted)


def test_testing_mutate_reports_survivor_of_a_weak_suite(tmp_path):
    """Without near-miss events, dropping a clause goes unnoticed and is reported."""
    rules = tmp_path / "small_rules.yaml"
    rules.write_text(
        "- macro: ct_succeeded\n  condition: not ct.error exists\n"
        "- rule: Trail Gone\n  desc: d\n  priority: WARNING\n  source: aws_cloudtrail\n"
        "  condition: ct.name=\"DeleteTrail\" and ct_succeeded and ct.src=\"cloudtrail.amazonaws.com\"\n"
        "  output: trail deleted (%ct.request.name)\n")
    shutil.copy(ROOT / "captures" / "tamper.scap", tmp_path / "tamper.scap")
    spec = tmp_path / "weak.scaptest.yaml"
    spec.write_text("capture: tamper.scap\nrules: [small_rules.yaml]\n"
                    "expect: {counts: {Trail Gone: 1}}\n")
    before = rules.read_text()
    res = CliRunner().invoke(cli, ["test", "--mutate", str(spec)])
    assert res.exit_code == 1, res.output
    assert "Mutations: 6, killed 4, accepted survivors 0, survivors 2" in res.output
    assert "SURVIVED  Trail Gone: remove: ct_succeeded" in res.output
    assert 'SURVIVED  Trail Gone: remove: ct.src="cloudtrail.amazonaws.com"' in res.output
    assert rules.read_text() == before  # mutations never touch the file


def test_testing_fast_mutation_path_equals_full_reload():
    """The single-rule shortcut gives the same alerts as reloading the whole mutated file."""
    from scaptools.testing.mutate import MutationTarget, rules_mutations
    rules = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
    specs = [load_spec(p) for p in find_specs([ROOT / "captures"])]
    replayer = Replayer()
    target = MutationTarget(rules, [s for s in specs if s.rules[0] == rules or
                                    s.rules[0].resolve() == rules.resolve()], replayer)
    fast_specs = [s for s in target.specs if target._independent(s)]
    assert len(fast_specs) >= 10
    picked = [m for m in rules_mutations(rules)
              if m.rule in ("Console Login Without MFA", "Admin Policy Attached")]
    assert len(picked) >= 12
    for mutation in picked:
        for spec in [s for s in fast_specs if s.name.startswith(("console", "iam", "compute"))]:
            fast = target.alerts(spec, mutation)
            full = replayer.replay_spec(spec, rules=mutation.sources(spec.rules, target.original))
            key = lambda a: (a.time, a.rule, a.output)  # noqa: E731
            assert sorted(fast, key=key) == sorted(full, key=key), (spec.name, mutation.label)
