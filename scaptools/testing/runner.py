"""Run test specs: replay the capture, compare the alerts, explain the differences.

Replay goes through the same path as ``scap replay`` (``scaptools.replay``:
plugin registry from entry points, ``load_rules``, ``Engine``, events routed
by source), so a spec passes exactly when ``scap replay`` would print the
expected alerts (docs/rules-language.md §7 for which rules fire, §10 for the time
and priority texts compared here).
"""
from __future__ import annotations

import datetime as _dt
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RuleError, ScapError
from .spec import AlertRecord, Spec, read_golden, write_golden

PRIORITY_NAMES = ("Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                  "Informational", "Debug")


@dataclass
class SpecResult:
    """Outcome of one spec: ``status`` is pass, fail, error or updated; ``error`` says
    why a spec could not be checked (a malformed spec, a rules error, a rule it names
    that no rules file defines)."""

    spec: Spec
    status: str
    diff: list[str] = field(default_factory=list)
    actual: list[AlertRecord] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "updated")


def iso_time(ts: int) -> str:
    """Falco's JSON alert time: ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` in UTC (§10.2)."""
    secs, nanos = divmod(int(ts), 1_000_000_000)
    stamp = _dt.datetime.fromtimestamp(secs, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def priority_name(priority) -> str:
    """The printed priority name (``Warning``, ``Informational``...; §9) of an alert."""
    if isinstance(priority, int) and 0 <= priority < len(PRIORITY_NAMES):
        return PRIORITY_NAMES[priority]
    return str(priority)


def to_record(alert) -> AlertRecord:
    return AlertRecord(iso_time(alert.ts), alert.rule, priority_name(alert.priority), alert.output)


class Replayer:
    """Replays captures through rules; keeps the plugin registry and loaded rules cached.

    ``sources`` given to ``load`` are rules file paths and ``(name, text)``
    pairs, as ``scaptools.engine.load_rules`` takes them.
    """

    def __init__(self):
        self._registry = None
        self._loads: dict[tuple, object] = {}

    @property
    def registry(self):
        if self._registry is None:
            from scaptools.plugin.registry import Registry
            self._registry = Registry.from_entry_points()
        return self._registry

    def load(self, sources) -> object:
        """Load (once) and return the ``LoadResult``; raises ``RuleError`` on a load error."""
        key = tuple(s if isinstance(s, tuple) else str(s) for s in sources)
        result = self._loads.get(key)
        if result is None:
            from ..engine import load_rules
            result = load_rules(list(key), self.registry.fieldset,
                                plugin_versions=self.registry.versions())
            if len(self._loads) >= 16:  # mutation runs load many one-off texts
                self._loads.pop(next(iter(self._loads)))
            self._loads[key] = result
        if not result.ok:
            first = result.errors[0]
            raise RuleError(first.message, first.location, first.item_type, first.item_name,
                            first.code)
        return result

    def replay(self, capture, sources, *, options=None, tags=(), skip_tags=(), disabled=(),
               enable_all=False, min_priority=None) -> list[AlertRecord]:
        """The alerts raised by replaying ``capture`` through the rules ``sources``."""
        from scaptools.replay.config import make_engine, merged_options
        from scaptools.replay.loop import replay_files
        opts = merged_options(None, [f"{k}={_option_text(v)}" for k, v in (options or {}).items()])
        if min_priority:
            opts["priority"] = min_priority
        engine = make_engine(self.load(sources), opts, tags=tags, skip_tags=skip_tags,
                             disabled=disabled, enable_all=enable_all)
        registry = self.registry
        if hasattr(registry, "first_ts"):
            registry.first_ts = None  # evt.reltime counts from each capture's first event
        alerts: list = []
        replay_files([str(capture)], engine, registry, alerts.append)
        return [to_record(a) for a in alerts]

    def rule_names(self, sources) -> set[str]:
        """The names of the rules ``sources`` define (enabled or not)."""
        return {rule.name for rule in self.load(sources).ruleset.rules}

    def replay_spec(self, spec: Spec, extra_sources=(), rules=None) -> list[AlertRecord]:
        """Replay a spec's capture; ``rules`` replaces the spec's rules sources if given."""
        sources = [*(spec.rules if rules is None else rules), *extra_sources]
        return self.replay(spec.capture, sources, options=spec.options,
                           tags=spec.tags, skip_tags=spec.skip_tags, disabled=spec.disabled,
                           enable_all=spec.enable_all, min_priority=spec.min_priority)


def _option_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_spec(spec: Spec, replayer: Replayer | None = None, *, update: bool = False,
             extra_sources=()) -> SpecResult:
    """Replay one spec and compare. ``update`` rewrites its golden file instead of failing."""
    start = time.perf_counter()
    result = _run_spec(spec, replayer or Replayer(), update, extra_sources)
    result.seconds = time.perf_counter() - start
    return result


def broken_spec(path, exc: ScapError) -> SpecResult:
    """The result of a spec file that cannot be read (``load_spec`` raised ``exc``)."""
    return SpecResult(Spec(Path(path), Path(path), []), "error", error=str(exc))


def _run_spec(spec: Spec, replayer: Replayer, update: bool, extra_sources) -> SpecResult:
    try:
        actual = replayer.replay_spec(spec, extra_sources)
        unknown = unknown_rules(spec, replayer.rule_names([*spec.rules, *extra_sources]))
    except ScapError as exc:
        return SpecResult(spec, "error", error=f"{spec.path.as_posix()}: {exc}")
    if unknown:
        return SpecResult(spec, "error", [], actual, error=(
            f"{spec.path.as_posix()}: no rule named {unknown[0]!r} in its rules files"
            + (f" (nor {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else "")))
    if update and spec.golden is not None:
        return _update(spec, actual)
    try:
        diff = check_spec(spec, actual)
    except ScapError as exc:
        return SpecResult(spec, "error", [], actual, error=f"{spec.path.as_posix()}: {exc}")
    return SpecResult(spec, "fail" if diff else "pass", diff, actual)


def unknown_rules(spec: Spec, names: set) -> list[str]:
    """The rule names a spec's counts and ``negative_for`` give that no rules file defines."""
    return [name for name in (*(spec.counts or {}), *spec.negative_for) if name not in names]


def _update(spec: Spec, actual: list[AlertRecord]) -> SpecResult:
    """``--update``: rewrite the golden file; the diff labels what changed in it."""
    negative = check_negative(spec, actual)
    if negative:  # a golden file must never absorb a forbidden alert
        return SpecResult(spec, "fail", negative, actual)
    try:
        old = read_golden(spec.golden) if spec.golden.exists() else []
    except ScapError:
        old = []  # malformed: rewritten below
    diff = compare_alerts(old, actual, only=True, words=UPDATE_WORDS)
    if diff or not spec.golden.exists():
        write_golden(spec.golden, actual)
        return SpecResult(spec, "updated", diff, actual)
    return SpecResult(spec, "pass", [], actual)


def check_spec(spec: Spec, actual: list[AlertRecord]) -> list[str]:
    """Diff lines between the spec's expectation and ``actual`` (empty = pass)."""
    if spec.golden is not None:
        diff = compare_alerts(read_golden(spec.golden), actual, spec.only)
    else:
        diff = compare_counts(spec.counts or {}, actual, spec.only)
    return diff + check_negative(spec, actual)


# the words of a diff: alerts only expected, only actual, and the two sides of a change
CHECK_WORDS = {"-": "missing", "+": "unexpected", "old": "expected", "new": "actual"}
UPDATE_WORDS = {"-": "removed", "+": "written", "old": "old", "new": "new"}
_PAD = " " * 16  # the indent of the lines under an alert


def compare_alerts(expected: list[AlertRecord], actual: list[AlertRecord],
                   only: bool = True, words: dict = CHECK_WORDS) -> list[str]:
    """Missing, unexpected and changed alerts; alerts are paired by (time, rule).

    ``words`` names the sides (``UPDATE_WORDS`` for a golden file being rewritten)."""
    pool: dict[tuple, list[AlertRecord]] = {}
    for alert in actual:
        pool.setdefault((alert.time, alert.rule), []).append(alert)
    unmatched = []
    for exp in expected:  # identical alerts pair first, so changes pair what is left
        candidates = pool.get((exp.time, exp.rule), [])
        if exp in candidates:
            candidates.remove(exp)
        else:
            unmatched.append(exp)
    out: list[str] = []
    for exp in unmatched:
        candidates = pool.get((exp.time, exp.rule))
        if not candidates:
            out += [f"  - {words['-']:<12}{exp.time}  {exp.rule} ({exp.priority})",
                    f"{_PAD}{exp.output}"]
            continue
        out += _changed(exp, candidates.pop(0), words)
    if only:
        leftovers = [a for group in pool.values() for a in group]
        for alert in sorted(leftovers, key=lambda a: (a.time, a.rule)):
            out += [f"  + {words['+']:<12}{alert.time}  {alert.rule} ({alert.priority})",
                    f"{_PAD}{alert.output}"]
    return out


def _changed(exp: AlertRecord, got: AlertRecord, words: dict) -> list[str]:
    """The lines of one alert whose priority or output changed: each side named."""
    old, new = words["old"], words["new"]
    width = max(len(old), len(new))
    out = [f"  ~ changed     {exp.time}  {exp.rule}"]
    if got.priority != exp.priority:
        out.append(f"{_PAD}priority: {old} {exp.priority}, {new} {got.priority}")
    if got.output != exp.output:
        out += [f"{_PAD}output:   {old:<{width}} {exp.output}",
                f"{_PAD}          {new:<{width}} {got.output}"]
    return out


def compare_counts(counts: dict, actual: list[AlertRecord], only: bool = True) -> list[str]:
    """Per-rule count differences (rules not listed must have none when ``only``)."""
    got = Counter(a.rule for a in actual)
    names = sorted(set(counts) | (set(got) if only else set()))
    return [f"  # count       {name}: expected {counts.get(name, 0)}, got {got.get(name, 0)}"
            for name in names if counts.get(name, 0) != got.get(name, 0)]


def check_negative(spec: Spec, actual: list[AlertRecord]) -> list[str]:
    """Rules listed in ``negative_for`` must not alert at all."""
    got = Counter(a.rule for a in actual)
    return [f"  ! negative    {name}: expected no alert, got {got[name]}"
            for name in spec.negative_for if got.get(name)]


def format_result(result: SpecResult) -> list[str]:
    """Human-readable lines for one result (header + diff); an error is one line."""
    spec = result.spec
    if result.status == "error":  # one line (a result made elsewhere may carry a diff)
        return [f"ERROR   {result.error or spec.path.as_posix()}"] + result.diff
    head = {"pass": "PASS", "fail": "FAIL", "updated": "UPDATED"}[result.status]
    lines = [f"{head:7} {spec.path.as_posix()} ({len(result.actual)} alerts)"]
    if result.status == "fail":
        lines.append(f"        capture {Path(spec.capture).name}: {_summary(result.diff)}")
    if result.status == "updated":
        lines.append(f"        wrote {spec.golden.as_posix()}; review it before committing")
    return lines + result.diff


def _summary(diff: list[str]) -> str:
    kinds = Counter(line.split()[1] for line in diff if line.startswith("  ") and
                    line[2:3] in "-+~#!" and len(line.split()) > 1)
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "mismatch"
