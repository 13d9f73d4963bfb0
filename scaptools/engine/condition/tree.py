"""Syntax tree of a condition (docs/rules-language.md §4.2).

Nodes are small frozen dataclasses so trees can be compared in tests and
shared between rules (macros are expanded by substituting subtrees, §5.6).
``to_text`` renders a canonical, fully parenthesised form used by tests and
diagnostics.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldRef:
    """A field with optional argument: ``ct.user``, ``json.value[/a/b]``."""

    name: str
    arg: str | None = None

    def to_text(self) -> str:
        return self.name if self.arg is None else f"{self.name}[{self.arg}]"


@dataclass(frozen=True)
class Literal:
    """A constant inside transformer arguments (quoted string or number)."""

    value: str

    def to_text(self) -> str:
        return quote(self.value)


@dataclass(frozen=True)
class Transform:
    """A transformer call ``name(args...)`` with optional ``[arg]`` selector (§4.5)."""

    name: str
    args: tuple
    arg: str | None = None

    def to_text(self) -> str:
        inner = ", ".join(a.to_text() if not isinstance(a, tuple) else
                          "(" + ", ".join(x.to_text() for x in a) + ")" for a in self.args)
        tail = "" if self.arg is None else f"[{self.arg}]"
        return f"{self.name}({inner}){tail}"


@dataclass(frozen=True)
class Computed:
    """Right-hand side computed from a field: ``val(f)`` or a transformer (§4.5)."""

    operand: object  # FieldRef or Transform
    is_val: bool = False

    def to_text(self) -> str:
        text = self.operand.to_text()
        return f"val({text})" if self.is_val else text


@dataclass(frozen=True)
class ListValue:
    """A parenthesised list of constant values."""

    items: tuple

    def to_text(self) -> str:
        return "(" + ", ".join(quote(i) for i in self.items) + ")"


@dataclass(frozen=True)
class Check:
    """``operand op value``; ``value`` is None for ``exists``."""

    operand: object  # FieldRef or Transform
    op: str
    value: object = None  # str, ListValue, Computed or None
    modifier: str | None = None  # oneof / anyof / allof (§4.4)
    pos: int = 0

    def to_text(self) -> str:
        left = self.operand.to_text()
        if self.value is None:
            return f"{left} {self.op}"
        right = quote(self.value) if isinstance(self.value, str) else self.value.to_text()
        mod = f" {self.modifier}" if self.modifier else ""
        return f"{left} {self.op}{mod} {right}"


@dataclass(frozen=True)
class MacroRef:
    """A bare identifier at check position: a macro reference (§5.6)."""

    name: str
    pos: int = 0

    def to_text(self) -> str:
        return self.name


@dataclass(frozen=True)
class Not:
    child: object

    def to_text(self) -> str:
        return f"not {self.child.to_text()}"


@dataclass(frozen=True)
class And:
    children: tuple

    def to_text(self) -> str:
        return "(" + " and ".join(c.to_text() for c in self.children) + ")"


@dataclass(frozen=True)
class Or:
    children: tuple

    def to_text(self) -> str:
        return "(" + " or ".join(c.to_text() for c in self.children) + ")"


def quote(value: str) -> str:
    """Render a constant so that it reads back the same (for ``to_text``)."""
    if value and all(c not in value for c in "()\"' \t\r\n=,\\"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def walk(node):
    """Yield every node of a tree, parents first."""
    yield node
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)
