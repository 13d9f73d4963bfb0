"""Condition tree -> one Python function, compiled once (docs/rules-language.md §4, §6).

Each check becomes a short expression over extractor closures (``e<n>(ev)``)
and precomputed constants (``c<n>``: converted values, frozensets, compiled
patterns). ``and``/``or``/``not`` map to Python's short-circuit operators.
Missing values (None) make every check false (§6.1), which the generated
expressions guarantee by testing ``is not None`` where equality alone would not.
"""
from __future__ import annotations

import ipaddress
import re

from scaptools.engine.condition.lexer import RE_FIELD
from scaptools.engine.condition.transformers import Operand, TransformError, compile_operand
from scaptools.engine.condition.tree import And, Check, Computed, ListValue, MacroRef, Not, Or
from scaptools.fields.base import SIDES, WINDOW
from scaptools.engine.condition.values import (ALLOWED_OPS, FAMILY_TEXT, ConstantError,
                                               PathMatcher, ascii_lower, compile_regex, convert,
                                               family, glob_regex, hex_bytes)

DEPRECATED_FIELDS = ("evt.dir", "evt.latency", "evt.latency.s", "evt.latency.ns",
                     "evt.latency.human", "evt.wait_latency")  # §12 LOAD_DEPRECATED_ITEM
TRANSFORMER_CALL = re.compile(r"(?:tolower|toupper|b64|basename|len|join|concat|getopt|val)\(")
CMP = {"=": "==", "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
NA_OPS = ("=", "==", "!=", "in", "intersects", "pmatch")


class CompileError(Exception):
    """A condition cannot be compiled; ``unknown`` marks an unknown field (§12)."""

    def __init__(self, message: str, unknown: bool = False):
        super().__init__(message)
        self.message = message
        self.unknown = unknown


def _ip_any(addr, consts) -> bool:
    """True if ``addr`` equals an address or lies in a network of ``consts`` (§6.2 ipnet)."""
    for c in consts:
        if addr == c if isinstance(c, (ipaddress.IPv4Address, ipaddress.IPv6Address)) \
                else addr in c:
            return True
    return False


def _window(pair, delta: int) -> bool:
    """``pair`` = (event time, T): ts - delta <= T <= ts + delta, both ends modulo 2**64."""
    ts, target = pair
    return (ts - delta) % (1 << 64) <= target <= (ts + delta) % (1 << 64)


def _ipaddr(value):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class Compiler:
    """Generates and compiles the Python function for one condition tree."""

    def __init__(self, fieldset, warn=None):
        self.fieldset = fieldset
        self.warn = warn or (lambda code, msg: None)
        self.ns = {"_alower": ascii_lower, "_ipaddr": _ipaddr, "_ip_any": _ip_any}
        self.count = 0
        self.fields = []  # FieldRefs used by the condition
        self.pos = 0  # offset of the check being compiled (where an error or warning is)

    def const(self, value, prefix: str = "c") -> str:
        self.count += 1
        name = f"{prefix}{self.count}"
        self.ns[name] = value
        return name

    def build(self, tree, label: str = "condition"):
        """The compiled ``fn(ev)`` (truthy when the condition holds) and its source."""
        body = self.expr(tree)
        src = f"def _match(ev):\n    return {body}\n"
        code = compile(src, f"<{label}>", "exec")
        exec(code, self.ns)  # noqa: S102 - generated from a parsed tree, constants in ns
        return self.ns["_match"], src

    def expr(self, node) -> str:
        if isinstance(node, And):
            return "(" + " and ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.expr(c) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(not {self.expr(node.child)})"
        if isinstance(node, MacroRef):
            raise CompileError(f"Undefined macro '{node.name}' used in filter.")
        return self.check(node)

    def operand(self, node) -> Operand:
        try:
            op = compile_operand(node, self.fieldset)
        except TransformError as exc:
            raise CompileError(exc.message, exc.unknown) from None
        self.fields.extend(op.fields)
        for ref in op.fields:
            if ref.name in DEPRECATED_FIELDS:
                self.warn("LOAD_DEPRECATED_ITEM", f"The '{ref.name}' field is deprecated.")
        return op

    def check(self, chk: Check) -> str:
        self.pos = chk.pos
        left = self.operand(chk.operand)
        fam = family(left.type, left.is_list)
        if chk.op not in ALLOWED_OPS[fam]:
            raise CompileError(f"'{chk.op}' operator not supported for {FAMILY_TEXT[fam]}")
        call = f"{self.const(left.fn, 'e')}(ev)"
        if WINDOW in left.tags:
            return self.window_check(chk, call)
        if SIDES in left.tags:
            return self.sides_check(chk, left, call)
        if chk.op == "exists":
            return f"bool({call})" if left.is_list else f"({call} is not None)"
        if isinstance(chk.value, Computed):
            return self.computed_check(chk, left, call)
        self.hints(chk, left)
        try:
            if chk.modifier:
                return self.modifier_check(chk, left, call)
            if left.is_list:
                return self.list_check(chk, left, call)
            if fam == "ip":
                return self.ip_check(chk, left, call)
            return self.scalar_check(chk, left, call)
        except ConstantError as exc:
            raise CompileError(str(exc)) from None

    def items(self, chk: Check) -> tuple:
        v = chk.value
        return v.items if isinstance(v, ListValue) else (v,)

    def scalar_check(self, chk: Check, left: Operand, call: str) -> str:
        op, t = chk.op, left.type
        self.count += 1
        v = f"_v{self.count}"
        bind = f"({v} := {call}) is not None"
        if op in ("in", "intersects"):
            values = frozenset(convert(x, t) for x in self.items(chk))
            return f"({call} in {self.const(values)})"
        if op == "pmatch":
            return f"({bind} and {self.const(PathMatcher(self.items(chk)))}({v}))"
        if op in ("=", "=="):
            return f"({call} == {self.const(convert(chk.value, t))})"
        if op in CMP:
            return f"({bind} and {v} {CMP[op]} {self.const(convert(chk.value, t))})"
        return f"({bind} and {self.string_test(op, v, chk.value, t)})"

    def string_test(self, op: str, v: str, text: str, t: str) -> str:
        """Expression testing value variable ``v`` against constant ``text``."""
        if op in ("bcontains", "bstartswith"):
            c = self.const(hex_bytes(text))
            return f"{c} in {v}" if op == "bcontains" else f"{v}.startswith({c})"
        if op == "contains":
            return f"{self.const(convert(text, t))} in {v}"
        if op == "icontains":
            return f"{self.const(ascii_lower(convert(text, t)))} in _alower({v})"
        if op in ("startswith", "endswith"):
            return f"{v}.{op}({self.const(convert(text, t))})"
        if op in ("glob", "iglob"):
            pat = self.const(glob_regex(convert(text, t), op == "iglob"))
            arg = f"_alower({v})" if op == "iglob" else v
            return f"{pat}.match({arg}) is not None"
        if op == "regex":
            return f"{self.const(compile_regex(convert(text, t)))}.match({v}) is not None"
        raise CompileError(f"'{op}' operator not supported here")

    def list_check(self, chk: Check, left: Operand, call: str) -> str:
        values = self.const(frozenset(convert(x, left.type) for x in self.items(chk)))
        self.count += 1
        v = f"_v{self.count}"
        if chk.op == "in":
            return f"(bool({v} := {call}) and {values}.issuperset({v}))"
        return f"(bool({v} := {call}) and not {values}.isdisjoint({v}))"

    def ip_check(self, chk: Check, left: Operand, call: str) -> str:
        self.count += 1
        v = f"_v{self.count}"
        consts = [convert(x, left.type) for x in self.items(chk)]
        conv = f"(({v} := {call}) is not None and ({v} := _ipaddr({v})) is not None"
        nets = [c for c in consts if not isinstance(c, (ipaddress.IPv4Address,
                                                          ipaddress.IPv6Address))]
        if nets:
            test = f"_ip_any({v}, {self.const(tuple(consts))})"
        else:
            test = f"{v} in {self.const(frozenset(consts))}"
        if chk.op == "!=":
            test = f"not ({test})"
        return f"{conv} and {test})"

    def sides_check(self, chk: Check, left: Operand, call: str) -> str:
        """fd.ip, fd.net, fd.port, fd.proto: libsinsp's compare_ip/_net/_port. The extractor
        gives both ends of a connection (one for a listening socket); '=' and 'in' hold when
        one end matches, '!=' when no end is equal; the other operators are refused for ports
        and addresses as libsinsp refuses them, and never hold for networks."""
        op = chk.op
        if isinstance(chk.value, Computed):
            raise CompileError(f"operator '{op}' doesn't support right-hand side fields")
        if left.type == "port":
            allowed = set(CMP) | {"in"}
            refusal = "filter error: unsupported port comparison operator"
        elif left.type == "ipaddr":
            allowed, refusal = {"=", "==", "!=", "in"}, \
                "filter error: IP filter only supports '=' and '!=' operators"
        else:
            allowed, refusal = {"=", "==", "!=", "in"}, None
        if op not in allowed:
            if refusal is not None:
                raise CompileError(refusal)
            return "False"
        try:
            if op == "in":
                tests = [self.single_value_fn("=", left, text) for text in self.items(chk)]
                pred = lambda v: any(t(v) for t in tests)  # noqa: E731
            else:
                pred = self.single_value_fn(op, left, chk.value)
        except ConstantError as exc:
            raise CompileError(str(exc)) from None
        self.count += 1
        v = f"_v{self.count}"
        combine = "all" if op == "!=" else "any"
        return f"(({v} := {call}) is not None and {combine}(map({self.const(pred)}, {v})))"

    def window_check(self, chk: Check, call: str) -> str:
        """evt.around[T] = D: T lies within D milliseconds of the event's time (libsinsp's
        unsigned 64-bit arithmetic); only '=' is accepted."""
        if chk.op not in ("=", "==") or isinstance(chk.value, (Computed, ListValue)):
            raise CompileError("evt.around supports only '=' comparison operator")
        try:
            delta = convert(chk.value, "uint64") * 1_000_000 % (1 << 64)
        except ConstantError as exc:
            raise CompileError(str(exc)) from None
        self.count += 1
        v = f"_v{self.count}"
        return f"(({v} := {call}) is not None and {self.const(_window)}({v}, {delta}))"

    def modifier_check(self, chk: Check, left: Operand, call: str) -> str:
        tests = [self.single_value_fn(chk.op, left, text) for text in chk.value.items]
        fn = {"anyof": lambda v: any(t(v) for t in tests),
              "allof": lambda v: bool(tests) and all(t(v) for t in tests),
              "oneof": lambda v: sum(1 for t in tests if t(v)) == 1}[chk.modifier]
        self.count += 1
        v = f"_v{self.count}"
        return f"(({v} := {call}) is not None and {self.const(fn)}({v}))"

    def single_value_fn(self, op: str, left: Operand, text: str):
        """A Python predicate ``fn(value)`` for ``value op text`` (used by modifiers)."""
        if family(left.type) == "ip":
            fake = Check(None, op, text)
            body = self.ip_check(fake, left, "_x")
        elif op in CMP:
            body = f"_x {CMP[op]} {self.const(convert(text, left.type))}"
        else:
            body = self.string_test(op, "_x", text, left.type)
        return eval(f"lambda _x: {body}", self.ns)  # noqa: S307 - generated from the tree

    def computed_check(self, chk: Check, left: Operand, call: str) -> str:
        if chk.op in ("pmatch", "regex"):
            raise CompileError(f"operator '{chk.op}' doesn't support right-hand side fields")
        right = self.operand(chk.value.operand)
        if right.type != left.type or right.is_list != left.is_list:
            raise CompileError(f"field '{left.text}' has type '{left.type}' while the "
                               f"right-hand side field '{right.text}' has incompatible type "
                               f"'{right.type}'")
        self.count += 1
        a, b = f"_a{self.count}", f"_b{self.count}"
        rcall = f"{self.const(right.fn, 'e')}(ev)"
        bind = f"({a} := {call}) is not None and ({b} := {rcall}) is not None"
        if left.is_list:  # a list with no element has no value (§6.1)
            bind = f"bool({a} := {call}) and bool({b} := {rcall})"
        op = chk.op
        if op in CMP:
            test = f"{a} {CMP[op]} {b}"
        elif op in ("in", "intersects") and left.is_list:
            test = f"set({a}) <= set({b})" if op == "in" else f"not set({a}).isdisjoint({b})"
        elif op in ("in", "intersects"):
            test = f"{a} == {b}"
        elif op == "contains":
            test = f"{b} in {a}"
        elif op == "icontains":
            test = f"_alower({b}) in _alower({a})"
        elif op in ("startswith", "endswith", "bstartswith"):
            test = f"{a}.{op.lstrip('b')}({b})"
        else:
            raise CompileError(f"operator '{op}' doesn't support right-hand side fields")
        return f"({bind} and {test})"

    def hints(self, chk: Check, left: Operand) -> None:
        """Compiler hints emitted as warnings (§12 LOAD_COMPILE_CONDITION, LOAD_UNSAFE_NA_CHECK)."""
        for text in self.items(chk):
            if not isinstance(text, str):
                continue
            if RE_FIELD.fullmatch(text) and self.fieldset.lookup(text) is not None:
                self.warn("LOAD_COMPILE_CONDITION",
                          f"'{text}' may be a valid field misused as a const string value")
            elif TRANSFORMER_CALL.match(text):
                self.warn("LOAD_COMPILE_CONDITION", f"'{text}' may be a valid field transformer "
                          "misused as a const string value")
            if chk.op in NA_OPS and text == "<NA>" and left.text.startswith(("ka.", "jevt.")):
                self.warn("LOAD_UNSAFE_NA_CHECK", "Comparing a field value with <NA> is unsafe "
                          "and can lead to unpredictable behavior of the rule condition.")
        if chk.op == "regex" and isinstance(chk.value, str):
            core = chk.value.removeprefix(".*").removesuffix(".*")
            if not any(c in core for c in ".^$*+?()[]{}|\\"):
                self.warn("LOAD_COMPILE_CONDITION", f"regex check with '{chk.value}' may be "
                          "optimized with simpler operators such as '=', 'contains', "
                          "'startswith', 'endswith'")
