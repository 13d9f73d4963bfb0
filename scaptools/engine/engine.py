"""``Engine``: selects the loaded rules and evaluates events (docs/rules-language.md §7, §10).

Per event source, rules are grouped by the value of the source's index field
(``FieldSet.index_field``): an event is tested only against the rules that can
match its value, in index order.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Callable, NamedTuple

from scaptools.engine.output import Alert
from scaptools.engine.rules.infos import PRIORITIES, parse_priority
from scaptools.errors import RuleError

_EMPTY = ()


class Candidate(NamedTuple):
    """A rule as dispatch tests it: its condition and its alert maker."""

    test: Callable  # fn(event) -> truthy
    make: Callable  # fn(event) -> Alert


@dataclass(frozen=True)
class SourceRules:
    """The selected rules of one event source, grouped for dispatch."""

    key: Callable | None  # extractor of the source's index field; None: no index
    by_key: dict  # index value -> candidates, in index order
    default: tuple  # candidates for any other value (every rule when there is no index)


class Engine:
    """Evaluates events against a ``Ruleset`` with Falco's runtime options.

    ``rule_matching``: ``first`` (Falco's default, at most one alert per event) or
    ``all``; ``min_priority``: least severe priority kept; ``tags`` (-t: only rules
    with one of these tags, even rules disabled in the file); ``skip_tags`` (-T);
    ``disabled`` (-D: rule names containing one of these substrings); ``enable_all``
    (-A: do not drop the event types a FieldSet lists in ``ignored_index_values``).
    """

    def __init__(self, ruleset, *, rule_matching: str = "first", min_priority=None, tags=(),
                 skip_tags=(), disabled=(), enable_all: bool = False, hostname: str | None = None):
        if rule_matching not in ("first", "all"):
            raise RuleError(f"invalid rule_matching value '{rule_matching}' (first or all)",
                            code="LOAD_ERR_VALIDATE")
        if tags and (skip_tags or disabled):  # Falco refuses the combination
            raise RuleError("You can not specify both disabled (-D/-T) and enabled (-t) rules",
                            code="LOAD_ERR_VALIDATE")
        self.ruleset = ruleset
        self.first = rule_matching == "first"
        self.min_priority = _priority_number(min_priority)
        self.enable_all = enable_all
        self.hostname = hostname or os.environ.get("FALCO_HOSTNAME") or socket.gethostname()
        self.rules = select_rules(ruleset.rules, self.min_priority, tags, skip_tags, disabled)
        self._matchers = {src: self._matcher(self._build(src))
                          for src in {r.source for r in self.rules}}

    def _build(self, source: str) -> SourceRules:
        rules = [r for r in self.rules if r.source == source]
        fieldset = self.ruleset.fieldsets.get(source)
        field = getattr(fieldset, "index_field", None)
        make = {id(r): self._maker(r) for r in rules}  # rule -> fn(event) -> Alert
        if field is None or fieldset.lookup(field) is None:
            return SourceRules(None, {}, tuple(Candidate(r.match, make[id(r)]) for r in rules))
        default = tuple(Candidate(r.match, make[id(r)]) for r in rules if r.index_values is None)
        keys = {k for r in rules if r.index_values is not None for k in r.index_values}
        universe = getattr(fieldset, "index_universe", None)
        if universe is not None:  # sets may be complements: a value outside the universe
            keys |= set(universe)  # (or missing) must meet every rule
            default = tuple(Candidate(r.match, make[id(r)]) for r in rules)
        by_key = {k: tuple(Candidate(r.match if r.index_values is None else r.match_indexed,
                                     make[id(r)])
                           for r in rules if r.index_values is None or k in r.index_values)
                  for k in keys}
        if not self.enable_all:
            for key in getattr(fieldset, "ignored_index_values", ()):
                by_key[key] = _EMPTY
        return SourceRules(fieldset.extractor(field), by_key, default)

    def rules_for(self, source: str) -> list:
        """The selected rules of ``source``, in evaluation order."""
        return [r for r in self.rules if r.source == source]

    def process(self, event, source: str) -> list:
        """Alerts raised by ``event`` of event source ``source`` (§7)."""
        match = self._matchers.get(source)
        return (match(event) or []) if match is not None else []

    def matcher(self, source: str):
        """``fn(event) -> alerts`` for events of ``source``: ``process`` without the lookup
        of the source (the replay loop calls it for every event). Returns a (possibly
        empty) sequence; never the same list twice."""
        return self._matchers.get(source, _no_alerts)

    def _matcher(self, entry: SourceRules):
        """The one evaluation loop (§7): the candidates of the event's index value, in
        index order; the first alert only unless ``rule_matching`` is ``all``."""
        key, get, default, first = entry.key, entry.by_key.get, entry.default, self.first
        if key is None:
            key, get = _none, lambda value, default: default

        def match(event):
            alerts = _EMPTY
            for test, make in get(key(event), default):
                if test(event):
                    if first:
                        return [make(event)]
                    if alerts is _EMPTY:
                        alerts = []
                    alerts.append(make(event))
            return alerts
        return match

    def alert(self, rule, event) -> Alert:
        """The alert ``rule`` raises for ``event``."""
        return self._maker(rule)(event)

    def _maker(self, rule):
        """``fn(event) -> Alert`` for ``rule``, its constant parts looked up once."""
        render, name, priority = rule.output.render, rule.name, PRIORITIES[rule.priority]
        source, tags, hostname = rule.source, rule.tags, self.hostname

        def make(event):
            message, fields = render(event)
            return Alert(name, priority, event.ts, message, fields, source, list(tags), hostname)
        return make


def _none(event):
    return None


def _no_alerts(event):
    return _EMPTY


def _priority_number(value) -> int:
    if value is None:
        return 7
    if isinstance(value, int):
        return value
    num = parse_priority(str(value))
    if num is None:
        raise RuleError(f"invalid priority '{value}'", code="LOAD_ERR_VALIDATE")
    return num


def select_rules(rules, min_priority: int, tags, skip_tags, disabled) -> list:
    """Falco's rule selection: file state, -D, -T, then -t; min priority (§7)."""
    tags, skip_tags = set(tags), set(skip_tags)
    chosen = []
    for rule in rules:
        if rule.priority > min_priority:
            continue
        on = rule.enabled
        if any(sub in rule.name for sub in disabled):
            on = False
        if skip_tags & set(rule.tags):
            on = False
        if tags:
            on = bool(tags & set(rule.tags))
        if on:
            chosen.append(rule)
    return chosen
