"""Mutation testing of rules: how strong are the specs that cover them?

For every rule of the rules files under test, each clause of its condition
is removed or negated in turn (one mutation at a time) and every spec that
loads that rules file is replayed with the mutated rule. A mutation that no
spec notices "survives": the specs would not catch that change of the rule.

Clauses are the top-level ``and`` operands of the condition; an operand that
is a parenthesised ``or`` group also yields one mutation per removed
alternative (docs/rules-language.md §4.2 for the grammar). The mutated condition
is loaded as an extra rules source that replaces the rule's condition
(``override: {condition: replace}``, docs/rules-language.md §3), so the rules
files themselves are never modified.

Known survivors can be accepted with a reason in ``mutation-survivors.yaml``
next to the specs: a list of ``{rule: ..., mutation: ..., reason: ...}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ScapError
from .runner import Replayer, check_spec
from .spec import Spec

ALLOW_FILE = "mutation-survivors.yaml"


@dataclass(frozen=True)
class Mutation:
    """One changed condition of one rule in one rules file."""

    rules_file: Path
    rule: str
    source: str
    label: str  # e.g. `remove: ct_succeeded`
    condition: str

    def override_text(self) -> str:
        """A rules item that replaces the rule's condition with the mutated one."""
        item = [{"rule": self.rule, "condition": self.condition, "source": self.source,
                 "override": {"condition": "replace"}}]
        return yaml.safe_dump(item, sort_keys=False, width=1 << 16)

    def sources(self, rules: list[Path], original: str) -> list:
        """The spec's rules sources with this mutation appended to the mutated file.

        Appending the override to the same file (one ``(name, text)`` source)
        keeps one compilation per load (docs/rules-language.md §1.3).
        """
        target = self.rules_file.resolve()
        return [(str(r), original.rstrip("\n") + "\n" + self.override_text())
                if r.resolve() == target else r for r in rules]


@dataclass
class MutationReport:
    killed: list[tuple[Mutation, str]]  # mutation, name of the spec that noticed it
    survived: list[Mutation]
    accepted: list[tuple[Mutation, str]]  # survivors with a reason


def _outside_quotes(text: str, opens: str, closes: str):
    """Yield ``(index, char, depth)`` for every character outside quoted strings.

    ``depth`` counts the ``opens`` characters not yet closed by ``closes``, after ``char``.
    """
    depth, quote, i, n = 0, "", 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        else:
            if ch in opens:
                depth += 1
            elif ch in closes:
                depth -= 1
            yield i, ch, depth
        i += 1


def split_top(text: str, word: str) -> list[str]:
    """Split ``text`` on the keyword ``word`` (``and``/``or``) outside quotes, () and []."""
    parts, start, n, wl = [], 0, len(text), len(word)
    for i, _, depth in _outside_quotes(text, "([", ")]"):
        if (i >= start and depth == 0 and text.startswith(word, i)
                and (i == 0 or text[i - 1].isspace())
                and i + wl < n and (text[i + wl].isspace() or text[i + wl] == "(")):
            parts.append(text[start:i].strip())
            start = i + wl
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _unwrap(clause: str) -> str | None:
    """The inside of a clause wholly enclosed in one pair of parentheses, else None."""
    if not (clause.startswith("(") and clause.endswith(")")):
        return None
    inner = clause[1:-1]
    return inner if _balanced(inner) else None


def _balanced(text: str) -> bool:
    depth = 0
    for _, _, depth in _outside_quotes(text, "(", ")"):
        if depth < 0:
            return False
    return depth == 0


def condition_mutations(condition: str) -> list[tuple[str, str]]:
    """``(label, mutated condition)`` pairs for one condition."""
    text = " ".join(condition.split())
    clauses = split_top(text, "and")
    out = []
    for i, clause in enumerate(clauses):
        rest = clauses[:i] + clauses[i + 1:]
        if rest:
            out.append((f"remove: {clause}", " and ".join(rest)))
        negated = clauses[:i] + [f"not ({clause})"] + clauses[i + 1:]
        out.append((f"negate: {clause}", " and ".join(negated)))
        inner = _unwrap(clause)
        alternatives = split_top(inner, "or") if inner else []
        if len(alternatives) > 1:
            for j, alt in enumerate(alternatives):
                group = "(" + " or ".join(alternatives[:j] + alternatives[j + 1:]) + ")"
                out.append((f"drop alternative: {alt}",
                            " and ".join(clauses[:i] + [group] + clauses[i + 1:])))
    return out


def rules_mutations(path: Path) -> list[Mutation]:
    """Every mutation of every rule defined (with a condition) in one rules file."""
    items = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    out = []
    for item in items:
        if not isinstance(item, dict) or "rule" not in item or "condition" not in item \
                or "override" in item or item.get("append"):
            continue
        source = str(item.get("source", "syscall"))
        for label, cond in condition_mutations(str(item["condition"])):
            out.append(Mutation(Path(path), str(item["rule"]), source, label, cond))
    return out


def run_mutations(specs: list[Spec], rules_files=None, replayer: Replayer | None = None,
                  allow: dict | None = None) -> MutationReport:
    """Apply every mutation and replay the specs until one notices it."""
    replayer = replayer or Replayer()
    if rules_files is None:
        rules_files = sorted({r.resolve() for s in specs for r in s.rules[:1]})
    allow = allow if allow is not None else load_allowed(specs)
    report = MutationReport([], [], [])
    for rules_file in map(Path, rules_files):
        users = [s for s in specs if rules_file.resolve() in {r.resolve() for r in s.rules}]
        target = MutationTarget(rules_file, users, replayer)
        for mutation in rules_mutations(rules_file):
            killer = target.first_killer(mutation)
            if killer:
                report.killed.append((mutation, killer))
            elif (mutation.rule, mutation.label) in allow:
                report.accepted.append((mutation, allow[(mutation.rule, mutation.label)]))
            else:
                report.survived.append(mutation)
    return report


class MutationTarget:
    """Replays the specs that use one rules file, with one mutated rule at a time.

    Fast path: with ``rule_matching: all`` each rule raises its alerts on its
    own (docs/rules-language.md §7), so for a spec that loads only this file the
    alerts under a mutation are the spec's unmutated alerts of the other
    rules plus those of a file holding just the mutated rule (and every
    list, macro and requirement). Other specs reload the whole file.
    """

    def __init__(self, rules_file: Path, specs: list[Spec], replayer: Replayer):
        self.rules_file = Path(rules_file)
        self.original = self.rules_file.read_text(encoding="utf-8")
        # fast-path specs first, then those sharing the plain file (one load serves them)
        self.specs = sorted(specs, key=lambda s: (not self._independent(s), len(s.rules),
                                                  [str(r) for r in s.rules]))
        self.replayer = replayer
        self._baseline: dict[Path, list] = {}
        self._reduced: dict[str, str] = {}

    def first_killer(self, mutation: Mutation) -> str:
        """The name of the first spec that notices ``mutation`` ("" if none does)."""
        for spec in self.specs:
            try:
                actual = self.alerts(spec, mutation)
            except ScapError as exc:  # the mutated rule does not even load: noticed
                return f"{spec.name} (load error: {exc.__class__.__name__})"
            if check_spec(spec, actual):
                return spec.name
        return ""

    def alerts(self, spec: Spec, mutation: Mutation) -> list:
        if not self._independent(spec):
            return self.replayer.replay_spec(spec, rules=mutation.sources(spec.rules,
                                                                           self.original))
        base = self._baseline.get(spec.path)
        if base is None:
            base = self._baseline[spec.path] = self.replayer.replay_spec(spec)
        reduced = self._reduced.get(mutation.rule)
        if reduced is None:
            reduced = self._reduced[mutation.rule] = only_rule(self.original, mutation.rule)
        text = reduced + mutation.override_text()
        mine = self.replayer.replay_spec(spec, rules=[(str(self.rules_file), text)])
        return [a for a in base if a.rule != mutation.rule] + mine

    def _independent(self, spec: Spec) -> bool:
        return (str(spec.options.get("rule_matching", "first")) == "all"
                and [r.resolve() for r in spec.rules] == [self.rules_file.resolve()])


def only_rule(text: str, rule: str) -> str:
    """The rules file text without its rule items other than ``rule`` (lists, macros kept)."""
    out, keep = [], True
    for line in text.splitlines(keepends=True):
        if line.startswith("- "):
            keep = not line.startswith("- rule:") or _item_name(line) == rule
        if keep:
            out.append(line)
    return "".join(out).rstrip("\n") + "\n"


def _item_name(line: str) -> str:
    try:
        value = yaml.safe_load(line[len("- rule:"):])
    except yaml.YAMLError:
        return ""
    return str(value) if value is not None else ""


def load_allowed(specs: list[Spec]) -> dict:
    """Accepted survivors from ``mutation-survivors.yaml`` files in the specs' folders."""
    out = {}
    for folder in sorted({s.path.parent for s in specs}):
        path = folder / ALLOW_FILE
        if path.is_file():
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                out[(str(entry["rule"]), str(entry["mutation"]))] = str(entry["reason"])
    return out


def format_report(report: MutationReport) -> list[str]:
    total = len(report.killed) + len(report.survived) + len(report.accepted)
    lines = [f"Mutations: {total}, killed {len(report.killed)}, "
             f"accepted survivors {len(report.accepted)}, survivors {len(report.survived)}"]
    for mutation, reason in report.accepted:
        lines.append(f"  accepted  {mutation.rule}: {mutation.label}  ({reason})")
    for mutation in report.survived:
        lines.append(f"  SURVIVED  {mutation.rule}: {mutation.label}")
    return lines
