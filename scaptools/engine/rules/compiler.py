"""Compiling the whole collection into a ``Ruleset`` (docs/rules-language.md §5, §12).

Third stage of Falco's loader (docs/design.md §7): lists are expanded (one level),
macros parsed and expanded as subtrees, each rule's condition built from its
text (exceptions, then list substitution), parsed, macro-expanded and
compiled to one Python function; outputs are tokenised. Each rule also gets
its *index values*: the values of the source's ``index_field`` it can match
(see ``engine/__init__.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scaptools.engine.condition.compiler import DEPRECATED_FIELDS, CompileError, Compiler
from scaptools.engine.condition.index import drop_index_checks, index_values
from scaptools.engine.diagnostics import (LOAD_DEPRECATED_ITEM, LOAD_ERR_COMPILE_CONDITION,
                                          LOAD_ERR_COMPILE_OUTPUT, LOAD_NO_EVTTYPE,
                                          LOAD_UNKNOWN_FILTER, LOAD_UNUSED_LIST,
                                          LOAD_UNUSED_MACRO, fail)
from scaptools.engine.output import OutputError, OutputFormat
from scaptools.engine.rules.expand import MacroExpander, compile_lists, parse_text
from scaptools.engine.rules.infos import PRIORITIES
from scaptools.engine.rules.exception_check import check_values
from scaptools.engine.rules.textual import add_exceptions

SKIPPABLE = ("nonexistent field", "invalid formatting token", "unknown event type",
             "unknown filter:")  # §12 skip-if-unknown-filter
CONTAINER_INFO_WARNING = ("%container.info is deprecated and no more useful, and will be dropped "
                          "by Falco 1.0.0. The container plugin will automatically add required "
                          "fields to the output message.")


@dataclass
class CompiledRule:
    """A loaded rule ready to evaluate."""

    name: str
    index: int
    priority: int
    source: str
    desc: str
    enabled: bool
    tags: tuple
    condition: str  # final text (after exceptions and list substitution)
    tree: object
    match: object  # fn(event) -> truthy
    code: str  # generated Python source
    output: OutputFormat
    output_text: str
    index_values: frozenset | None = None
    match_indexed: object = None  # fn without the index conjuncts (see index.py)
    exception_fields: tuple = ()
    capture: bool = False
    capture_duration: int = 0

    @property
    def priority_name(self) -> str:
        return PRIORITIES[self.priority]


@dataclass
class Ruleset:
    """Every compiled rule of a load, in index order, plus the field sets used."""

    rules: list = field(default_factory=list)
    fieldsets: dict = field(default_factory=dict)
    plugin_requirements: list = field(default_factory=list)

    def by_name(self, name: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.name == name), None)

    def sources(self) -> list[str]:
        return sorted({r.source for r in self.rules})


def compile_collection(col, fieldsets, warnings: list) -> Ruleset:
    """Compile ``col``; append compile-time warnings to ``warnings``; raise LoadFailed."""
    def warn(code, message, ctx):
        warnings.append((code, message, ctx))

    lists = compile_lists(col)
    expander = MacroExpander(col, lists)
    expander.compile_all()
    ruleset = Ruleset(plugin_requirements=list(col.plugin_requirements))
    for info in sorted(col.rules.values(), key=lambda r: r.index):
        if info.unknown_source:
            continue
        fieldset = ruleset.fieldsets.get(info.source) or fieldsets(info.source)
        ruleset.fieldsets[info.source] = fieldset
        rule = compile_rule(info, fieldset, lists, expander, warn)
        if rule is not None:
            ruleset.rules.append(rule)
    for m in sorted(col.macros.values(), key=lambda m: m.index):
        if not m.used:
            warn(LOAD_UNUSED_MACRO, "Macro not referred to by any other rule/macro", m.ctx)
    for li in sorted(col.lists.values(), key=lambda li: li.index):
        if not li.used:
            warn(LOAD_UNUSED_LIST, "List not referred to by any other rule/macro", li.ctx)
    return ruleset


def compile_rule(info, fieldset, lists, expander, warn):
    """One rule, in Falco's order: exceptions, output, condition; None when dropped by
    skip-if-unknown-filter."""
    for exc in info.exceptions:
        check_values(exc)
    text = add_exceptions(info.condition, info.exceptions)
    output = compile_output(info, fieldset, warn)
    if output is None:
        return None
    substituted = lists.substitute(text)
    tree = expander.expand_rule(parse_text(substituted, info.cond_ctx), info.ctx, text)
    compiler = Compiler(fieldset, lambda code, msg: warn(
        code, msg, info.cond_ctx.in_condition(text, compiler.pos)))
    try:
        match, code = compiler.build(tree, f"rule {info.name}")
    except CompileError as exc:
        ctx = info.cond_ctx.in_condition(text, compiler.pos)
        if info.skip_if_unknown_filter and any(s in exc.message for s in SKIPPABLE):
            warn(LOAD_UNKNOWN_FILTER, exc.message, ctx)
            return None
        raise fail(LOAD_ERR_COMPILE_CONDITION, exc.message, ctx) from None
    index_field = getattr(fieldset, "index_field", None)
    universe = getattr(fieldset, "index_universe", None)
    values = index_values(tree, index_field, universe)
    match_indexed = match
    if values is not None:
        rest = drop_index_checks(tree, index_field)
        match_indexed = _always if rest is None else \
            Compiler(fieldset).build(rest, f"rule {info.name} (indexed)")[0]
    if info.source == "syscall" and info.warn_evttypes and index_field == "evt.type" and \
            too_many_types(values, universe):
        warn(LOAD_NO_EVTTYPE, "Rule matches too many evt.type values. This has a significant "
             "performance penalty.", info.ctx)
    exc_fields = tuple(f for e in info.exceptions for f in
                       (e.fields if isinstance(e.fields, list) else [e.fields]) if f)
    return CompiledRule(info.name, info.index, info.priority, info.source, info.desc,
                        info.enabled, tuple(sorted(info.tags)), substituted, tree, match, code,
                        output, info.output, values, match_indexed, exc_fields, info.capture,
                        info.capture_duration)


def too_many_types(values, universe) -> bool:
    """Falco's LOAD_NO_EVTTYPE test: the event types the condition can match are none
    (names that are no event type count for nothing) or more than 100."""
    if values is None:
        return True
    types = values & frozenset(universe) if universe is not None else values
    return not types or len(types) > 100


def compile_output(info, fieldset, warn):
    """The rule's tokenised output; None when skip-if-unknown-filter drops the rule."""
    text = info.output
    if "%container.info" in text:  # §12: removed from the output, with a warning
        warn(LOAD_DEPRECATED_ITEM, CONTAINER_INFO_WARNING, info.ctx)
        text = text.replace("%container.info", "")
    try:
        output = OutputFormat(text, fieldset)
    except OutputError as exc:
        if info.skip_if_unknown_filter and any(s in str(exc) for s in SKIPPABLE):
            warn(LOAD_UNKNOWN_FILTER, str(exc), info.output_ctx)
            return None
        raise fail(LOAD_ERR_COMPILE_OUTPUT, str(exc), info.output_ctx) from None
    for name in DEPRECATED_FIELDS:
        if name in text:
            warn(LOAD_DEPRECATED_ITEM, f"usage of deprecated field '{name}' has been detected "
                 "in the rule output", info.output_ctx)
    return output


def _always(event) -> bool:
    return True
