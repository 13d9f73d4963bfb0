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
from scaptools.plugin.api import SYSCALL_SOURCE

_EMPTY = ()


class Candidate(NamedTuple):
    """A rule as dispatch tests it: its condition and its alert maker."""

    test: Callable  # fn(event) -> truthy
    make: Callable  # fn(event) -> Alert


@dataclass(frozen=True)
class Groups:
    """Which rules an event of one source meets: per value of the index field, the
    candidate rules in index order with whether the index already checked part of
    their condition (``rule.match_indexed`` then suffices); ``default`` for any other
    value (every rule when there is no index field)."""

    field: str | None
    by_key: dict  # index value -> ((rule, indexed), ...)
    default: tuple


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
        self.native = {}  # source -> NativeRules: the source's rules compiled in the core
        self._matchers = {}
        for src in sorted({r.source for r in self.rules}):
            match = self._matcher(self._build(src))
            native = self._native(src)
            if native is not None:
                self.native[src] = native
                match = native.matcher(match)
            self._matchers[src] = match

    def _native(self, source: str):
        """The rules of ``source`` compiled in the core (``None``: the Python path only)."""
        core = _core()
        if core is None or source == SYSCALL_SOURCE:
            return None
        from scaptools.engine.native import NativeRules
        rules = self.rules_for(source)
        made = NativeRules.build(core, source, rules, self._groups(source),
                                 self.ruleset.fieldsets.get(source), self.first, self.hostname)
        return made if made is not None and made.core_rules else None

    def paths(self) -> dict:
        """Per source, the rules each path evaluates: ``{source: {"core": [names],
        "python": [names]}}`` (``--stats``)."""
        out = {}
        for source in sorted({r.source for r in self.rules}):
            native = self.native.get(source)
            if native is None:
                out[source] = {"core": [], "python": [r.name for r in self.rules_for(source)]}
            else:
                out[source] = {"core": native.core_rules, "python": native.python_rules}
        return out

    def _groups(self, source: str) -> Groups:
        """The dispatch of ``source``'s selected rules by the value of its index field."""
        rules = [r for r in self.rules if r.source == source]
        fieldset = self.ruleset.fieldsets.get(source)
        field = getattr(fieldset, "index_field", None)
        if field is None or fieldset.lookup(field) is None:
            return Groups(None, {}, tuple((r, False) for r in rules))
        default = tuple((r, False) for r in rules if r.index_values is None)
        keys = {k for r in rules if r.index_values is not None for k in r.index_values}
        universe = getattr(fieldset, "index_universe", None)
        if universe is not None:  # sets may be complements: a value outside the universe
            keys |= set(universe)  # (or missing) must meet every rule
            default = tuple((r, False) for r in rules)
        by_key = {k: tuple((r, r.index_values is not None) for r in rules
                           if r.index_values is None or k in r.index_values)
                  for k in keys}
        if not self.enable_all:
            for key in getattr(fieldset, "ignored_index_values", ()):
                by_key[key] = _EMPTY
        return Groups(field, by_key, default)

    def _build(self, source: str) -> SourceRules:
        groups = self._groups(source)
        rules = {id(r): r for r in self.rules if r.source == source}
        make = {key: self._maker(r) for key, r in rules.items()}  # rule -> fn(event) -> Alert

        def cands(pairs):
            return tuple(Candidate(r.match_indexed if indexed else r.match, make[id(r)])
                         for r, indexed in pairs)
        if groups.field is None:
            return SourceRules(None, {}, cands(groups.default))
        fieldset = self.ruleset.fieldsets[source]
        return SourceRules(fieldset.extractor(groups.field),
                           {k: cands(v) for k, v in groups.by_key.items()},
                           cands(groups.default))

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


def _core():
    """The compiled core, or ``None`` (``scaptools.core.native()``)."""
    from scaptools.core import native
    return native()


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
