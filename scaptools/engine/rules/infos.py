"""Info structs produced by the reader and kept by the collector (docs/design.md §7).

Each carries a ``Context`` (file:line:col, item kind and name) so every later
diagnostic can point back at the YAML text.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scaptools.engine.diagnostics import Context

PRIORITIES = ("Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
              "Informational", "Debug")  # docs/rules-language.md §9, most severe first


def parse_priority(text: str) -> int | None:
    """Priority number (0 = Emergency) for a case-insensitive name, or None (§9)."""
    low = text.lower()
    if low == "info":
        return 6
    for num, name in enumerate(PRIORITIES):
        if name.lower() == low:
            return num
    return None


@dataclass
class ListInfo:
    name: str
    items: list
    ctx: Context
    index: int = 0
    visibility: int = 0
    used: bool = False


@dataclass
class MacroInfo:
    name: str
    condition: str
    ctx: Context
    cond_ctx: Context
    index: int = 0
    visibility: int = 0
    used: bool = False


@dataclass
class ExceptionInfo:
    """One element of a rule's ``exceptions`` (§2.6)."""

    name: str
    ctx: Context
    fields: object = None  # str (scalar form), list[str] (list form) or None
    comps: object = None
    values: list = field(default_factory=list)
    has_values: bool = False


@dataclass
class RuleInfo:
    """A rule as collected: keys present in the YAML item, decoded (§2.5)."""

    name: str
    ctx: Context
    cond_ctx: Context | None = None
    output_ctx: Context | None = None
    condition: str = ""
    output: str = ""
    desc: str = ""
    priority: int = 7
    source: str = "syscall"
    enabled: bool = True
    tags: set = field(default_factory=set)
    exceptions: list = field(default_factory=list)
    capture: bool = False
    capture_duration: int = 0
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    unknown_source: bool = False
    index: int = 0
    visibility: int = 0


@dataclass
class RuleUpdate:
    """An append/override/enable item for a rule: only the keys it carries (§3)."""

    name: str
    ctx: Context
    values: dict  # key -> decoded value
    ops: dict  # key -> "append" | "replace"
    cond_ctx: Context | None = None
    output_ctx: Context | None = None
    legacy: bool = False  # `append: true` or standalone `enabled`
