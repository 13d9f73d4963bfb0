"""The selected rules of one event source in the plain form the compiled core evaluates
(docs/core.md, "Conditions and the replay loop").

The Python path stays the reference: each rule's condition tree (after list and macro
expansion) is written as plain JSON with its constants already converted by the Python
compiler's own functions (``convert``, ``hex_bytes``), and its output as literal text
and field tokens. A rule whose condition or output uses something the core does not
evaluate exactly like the Python path (a field of a Python-only plugin, an IP type,
``regex``, ``evt.reltime``, ...) is written as a *Python rule*: the core hands every event
that might meet it back to the Python path, so alerts and their order never change.
"""
from __future__ import annotations

import json

from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.parser import Parser
from scaptools.engine.condition.transformers import SINGLE, TransformError, compile_operand
from scaptools.engine.condition.tree import (And, Check, Computed, FieldRef, ListValue, Literal,
                                             Not, Or, Transform)
from scaptools.engine.condition.values import ConstantError, convert, family, hex_bytes
from scaptools.engine.output import field_key

# The Python modules whose fields the core implements with the same semantics: the
# bundled cloudtrail and json plugins, and the generic evt.* fields.
CORE_MODULES = ("scaptools_plugins.cloudtrail", "scaptools_plugins.json",
                "scaptools.fields.generic")
# The syscall fields: the core computes those its ``SysFields`` compiles (core/src/sysfields/);
# ``evt.type``'s extractor is the event renderer's own function.
SYSCALL_MODULES = ("scaptools.fields.syscall", "scaptools.fields.generic",
                   "scaptools.events.render")
# Generic fields the core leaves to Python: evt.reltime* reads the registry's first
# event, which only the replay loop knows.
PYTHON_FIELDS = ("evt.reltime", "evt.reltime.s", "evt.reltime.ns")
# FieldInfo tags whose meaning the core knows; any other tag may change how a check or an
# output works for that field (both ends of a connection, time windows, ...): Python.
# (``filter_only`` fields never reach an output: the output compiler refuses them.)
PLAIN_TAGS = ("index", "pad9", "time_string", "filter_only")
SIDES = "sides"  # both ends of a connection (fd.ip, fd.port, ...): checks of their own
CMP = ("=", "==", "!=", "<", "<=", ">", ">=")
TEXT_OPS = ("contains", "icontains", "startswith", "endswith", "glob", "iglob")


class Unsupported(Exception):
    """What makes a rule run on the Python path."""


class FieldTable:
    """The fields a source's plan reads, numbered in order of first use."""

    def __init__(self, fieldset, core=None):
        self.fieldset = fieldset
        self.ids: dict[tuple, int] = {}
        self.rows: list[list] = []
        # syscall fields: the core says which ones it computes (``core.SysFields``)
        self.core = core if getattr(fieldset, "source", None) == "syscall" else None

    def id(self, ref: FieldRef, *, ip_ok: bool = False, sides_ok: bool = False) -> int:
        """The number of field ``ref`` (its canonical name and argument); ``ip_ok``: an
        address type is fine (``exists``, an IP check, an output show its text);
        ``sides_ok``: a field of both ends is fine (a check of its own, ``_sides``)."""
        info = self.fieldset.lookup(ref.name)
        if info is None:
            raise Unsupported(f"unknown field {ref.name}")
        name, arg = ref.name, ref.arg
        if info.name != name:  # dotted argument form
            name, arg = info.name, ref.name[len(info.name) + 1:]
        fam, sides = family(info.type), SIDES in info.tags
        if (fam == "ip" and not ip_ok) or (sides and not sides_ok):
            raise Unsupported(f"field {name} has type {info.type}"
                              + (f", tagged {SIDES}" if sides else ""))
        key = (name, arg)
        found = self.ids.get(key)
        if found is not None:
            return found
        if name in PYTHON_FIELDS:
            raise Unsupported(f"{name} is evaluated in Python")
        try:
            fn = self.fieldset.extractor(name, arg, filtering=True)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the Python path
            raise Unsupported(f"field {name}: {exc}") from None
        module = getattr(fn, "__module__", None) or ""
        if self.core is not None and module.startswith(SYSCALL_MODULES):
            why = None if arg is None and name in self.extra() else \
                self.core.SysFields([(name, arg)], "").unknown[0]
            if why is not None:
                raise Unsupported(f"field {name}: the core has no such field ({why})")
        elif not module.startswith(CORE_MODULES):
            raise Unsupported(f"field {name} is provided by Python code ({module})")
        if fam == "buffer" or info.type == "double":
            raise Unsupported(f"field {name} has type {info.type}")
        if any(tag not in PLAIN_TAGS and tag != SIDES for tag in info.tags):
            raise Unsupported(f"field {name} is tagged {', '.join(info.tags)}")
        self.ids[key] = len(self.rows)
        self.rows.append([name, arg])
        return self.ids[key]

    def extra(self) -> tuple:
        """The syscall fields the core's plans have on top of ``SysFields`` (the ends of a
        connection and the networks of one end, ``Rules.extra_fields``)."""
        rules = getattr(self.core, "Rules", None)
        return tuple(rules.extra_fields()) if hasattr(rules, "extra_fields") else ()


def constant(value):
    """A converted constant in the plain form."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    raise Unsupported(f"constant {value!r}")


def operand(node, table: FieldTable) -> tuple[list, object]:
    """The plain form of an operand and its compiled ``Operand`` (types)."""
    try:
        op = compile_operand(node, table.fieldset)
    except TransformError as exc:
        raise Unsupported(exc.message) from None
    if family(op.type) == "ip" or op.type == "double":
        raise Unsupported(f"operand of type {op.type}")
    if isinstance(node, FieldRef):
        return ["field", table.id(node), op.is_list], op
    if node.name in SINGLE:
        inner, _ = operand(node.args[0], table)
        return ["tf", node.name, [inner], None, op.is_list], op
    return ["tf", node.name, [_arg(a, table) for a in node.args], node.arg, op.is_list], op


def _arg(arg, table: FieldTable):
    if isinstance(arg, Literal):
        return ["lit", arg.value]
    if isinstance(arg, tuple):
        return ["tuple", [_arg(a, table) for a in arg]]
    inner, op = operand(arg, table)
    if op.type not in ("string", "uint64", "int64", "bool", "reltime", "abstime", "port"):
        raise Unsupported(f"transformer argument of type {op.type}")
    return inner


def condition(node, table: FieldTable) -> list:
    """The plain form of a condition tree."""
    if isinstance(node, And):
        return ["and", [condition(c, table) for c in node.children]]
    if isinstance(node, Or):
        return ["or", [condition(c, table) for c in node.children]]
    if isinstance(node, Not):
        return ["not", condition(node.child, table)]
    if isinstance(node, Check):
        try:
            return _check(node, table)
        except ConstantError as exc:
            raise Unsupported(str(exc)) from None
    raise Unsupported(f"node {type(node).__name__}")


def _check(chk: Check, table: FieldTable) -> list:
    if chk.op == "exists" and isinstance(chk.operand, FieldRef):  # a value or none, any type
        try:
            op = compile_operand(chk.operand, table.fieldset)
        except TransformError as exc:
            raise Unsupported(exc.message) from None
        return ["check", ["field", table.id(chk.operand, ip_ok=True), op.is_list], "exists",
                None, None]
    address = _address_check(chk, table)
    if address is not None:
        return address
    left, op = operand(chk.operand, table)
    if chk.op == "exists":
        return ["check", left, "exists", None, None]
    if isinstance(chk.value, Computed):
        right, _ = operand(chk.value.operand, table)
        return ["check", left, chk.op, ["computed", right], None]
    if chk.op == "regex":
        raise Unsupported("regex is evaluated in Python")
    items = chk.value.items if isinstance(chk.value, ListValue) else (chk.value,)
    if chk.modifier:
        values = [_single(chk.op, text, op.type) for text in items]
    elif op.is_list or chk.op in ("in", "intersects"):
        values = [convert(text, op.type) for text in items]
    elif chk.op == "pmatch":
        values = list(items)
    else:
        values = [_single(chk.op, chk.value, op.type)]
    return ["check", left, chk.op, ["values", [constant(v) for v in values]], chk.modifier]


def _address_check(chk: Check, table: FieldTable):
    """The plain form of a check of an address field (``ip_check`` of the Python
    compiler) or of a field of both ends (``sides_check``); ``None`` for other checks."""
    if not isinstance(chk.operand, FieldRef):
        return None
    info = table.fieldset.lookup(chk.operand.name)
    if info is None or not (family(info.type) == "ip" or SIDES in info.tags):
        return None
    if chk.modifier or isinstance(chk.value, Computed):
        raise Unsupported(f"{chk.modifier or 'a computed side'} on field {info.name}")
    try:
        op = compile_operand(chk.operand, table.fieldset)
    except TransformError as exc:
        raise Unsupported(exc.message) from None
    sides = SIDES in info.tags
    field = ["field", table.id(chk.operand, ip_ok=True, sides_ok=sides), op.is_list]
    items = chk.value.items if isinstance(chk.value, ListValue) else (chk.value,)
    consts = [convert(text, op.type) for text in items]
    if sides and op.type == "port":
        if chk.op not in CMP and chk.op != "in":
            raise Unsupported(f"operator {chk.op} on field {info.name}")
        return ["check", field, chk.op, ["sides", "port", [constant(c) for c in consts]], None]
    if chk.op not in ("=", "==", "!=", "in", "intersects") or (sides and chk.op == "intersects"):
        raise Unsupported(f"operator {chk.op} on field {info.name}")
    right = ["sides", "ip", [str(c) for c in consts]] if sides else ["ip", [str(c) for c in consts]]
    return ["check", field, chk.op, right, None]


def _single(op: str, text: str, ftype: str):
    """The constant of one ``value op text`` test, converted as the compiler does."""
    if op in ("bcontains", "bstartswith"):
        return hex_bytes(text)
    if op in CMP or op in TEXT_OPS:
        return convert(text, ftype)
    raise Unsupported(f"operator {op}")


def output(fmt, table: FieldTable) -> list:
    """The plain form of a compiled output: text pieces and field tokens.

    ``["f", field, width, pad9, key]`` prints a field; ``["t", operand, width,
    [[key, field], ...]]`` a transformer, with the fields it shows in JSON."""
    parts = []
    for part in fmt.parts:
        if isinstance(part, str):
            parts.append(part)
        elif part.is_transform:
            node = _parsed(part.key, lambda n: n.to_text())
            plain, _ = operand(node, table)
            inner = [[key, table.id(_parsed(key, field_key))] for key, _ in part.inner]
            parts.append(["t", plain, part.width, inner])
        else:
            node = _parsed(part.key, field_key)
            if isinstance(node, FieldRef):  # a plain field: its value's text, any type
                field = table.id(node, ip_ok=True)
            else:
                field = operand(node, table)[0][1]
            parts.append(["f", field, part.width, part.pad9, part.key])
    return parts


def _parsed(text: str, again):
    """The operand written as ``text`` (a token key), checked to read back the same."""
    try:
        parser = Parser(text)
        node = parser.operand()
    except LexError:
        node = None
    if node is None or parser.pos != len(text) or again(node) != text:
        raise Unsupported(f"output token {text}")
    if isinstance(node, Transform) and node.name == "val":
        raise Unsupported("val in an output")
    return node


def source_plan(source: str, rules: list, groups, fieldset, first: bool,
                hostname: str, core=None) -> tuple[str, list]:
    """The JSON plan of ``source``'s rules and, per rule, why it stays in Python (or None).

    ``groups`` is the engine's dispatch of the rules (``Groups``): per index value the
    candidate rules with whether they are reached through the index. ``core`` (the
    extension) says which syscall fields the core computes."""
    table = FieldTable(fieldset, core)
    plain, reasons = [], []
    numbers = {id(rule): n for n, rule in enumerate(rules)}
    for rule in rules:
        try:
            entry = _rule(rule, table)
            reasons.append(None)
        except Unsupported as exc:
            entry = {"name": rule.name, "python": str(exc)}
            reasons.append(str(exc))
        plain.append(entry)
    index = None
    if groups.field is not None:
        try:
            index = table.id(FieldRef(groups.field))
        except Unsupported as exc:  # no dispatch without the index field: all in Python
            why = f"index field: {exc}"
            plain = [{"name": rule.name, "python": why} for rule in rules]
            reasons = [why] * len(rules)
    pick = lambda cands: [[numbers[id(rule)], indexed] for rule, indexed in cands]  # noqa: E731
    plan = {"source": source, "plugin": _constant_of(fieldset, "evt.pluginname"),
            "hostname": hostname, "first": first, "fields": table.rows, "rules": plain,
            "index": index, "default": pick(groups.default),
            "groups": {key: pick(cands) for key, cands in groups.by_key.items()}}
    return json.dumps(plan), reasons


def _rule(rule, table: FieldTable) -> dict:
    from scaptools.engine.condition.index import drop_index_checks
    entry = {"name": rule.name, "priority": rule.priority_name, "tags": list(rule.tags),
             "source": rule.source, "cond": condition(rule.tree, table)}
    field = getattr(table.fieldset, "index_field", None)
    if rule.index_values is not None and field is not None:
        rest = drop_index_checks(rule.tree, field)
        entry["indexed"] = ["true"] if rest is None else condition(rest, table)
    entry["output"] = output(rule.output, table)
    return entry


def _constant_of(fieldset, name: str):
    """The value of a field that is the same for every event (``evt.pluginname``)."""
    if fieldset.lookup(name) is None:
        return None
    return fieldset.extractor(name)(None)


class NativeRules:
    """The selected rules of one source compiled in the core (``core.Rules``), and the
    matcher that evaluates events with them, handing to the Python path every event the
    core leaves to it."""

    def __init__(self, compiled, plan: str, rules: list, hostname: str):
        from scaptools.engine.output import Alert
        self.compiled = compiled
        self.plan = plan
        self.rules = rules
        self.hostname = hostname
        self._alert = Alert
        self._info = [(r.name, r.priority_name, r.source, r.tags) for r in rules]
        self.reasons = list(compiled.python)  # per rule: None (core) or why Python
        self.core_rules = [r.name for r, why in zip(rules, self.reasons) if why is None]
        self.python_rules = [r.name for r, why in zip(rules, self.reasons) if why is not None]

    @classmethod
    def build(cls, core, source: str, rules: list, groups, fieldset, first: bool,
              hostname: str, *, empty: bool = False):
        """The compiled rules, or ``None`` when the core has nothing to do for them
        (``empty``: a plan without rules is still made)."""
        if fieldset is None or not (rules or empty):
            return None
        plan, _ = source_plan(source, rules, groups, fieldset, first, hostname, core)
        try:
            compiled = core.Rules(plan)
        except ValueError:
            return None
        return cls(compiled, plan, rules, hostname)

    def matcher(self, python_match):
        """``fn(event) -> alerts``: the core's verdict, or ``python_match`` for the events
        the core hands back."""
        from scaptools.engine.output import Alert
        core_match = self.compiled.match_event
        info = [(r.name, r.priority_name, r.source, r.tags) for r in self.rules]
        host = self.hostname
        empty = ()

        def match(event):
            got = core_match(event.raw, event.num)
            if got is None:
                return empty
            if got is False:
                return python_match(event)
            out = []
            for number, message, pairs in got:
                name, priority, source, tags = info[number]
                out.append(Alert(name, priority, event.ts, message, dict(pairs), source,
                                 list(tags), host))
            return out
        return match

    def alert(self, number: int, ts: int, message: str, pairs):
        """The ``Alert`` of rule ``number`` from the core's message and field values."""
        name, priority, source, tags = self._info[number]
        return self._alert(name, priority, ts, message, dict(pairs), source, list(tags),
                           self.hostname)
