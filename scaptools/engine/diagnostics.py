"""Load-time diagnostics: Falco's coded errors and warnings (docs/rules-language.md §12).

A ``Diagnostic`` names the Falco code, the message, where it happened
(``Location``) and the item (kind and name). ``LoadResult`` gathers them; the
first error of a file stops that file (§1.1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scaptools.errors import Location, RuleError

# Error codes (§12).
LOAD_ERR_YAML_PARSE = "LOAD_ERR_YAML_PARSE"
LOAD_ERR_YAML_VALIDATE = "LOAD_ERR_YAML_VALIDATE"
LOAD_ERR_VALIDATE = "LOAD_ERR_VALIDATE"
LOAD_ERR_COMPILE_CONDITION = "LOAD_ERR_COMPILE_CONDITION"
LOAD_ERR_COMPILE_OUTPUT = "LOAD_ERR_COMPILE_OUTPUT"
# Warning codes (§12).
LOAD_UNKNOWN_SOURCE = "LOAD_UNKNOWN_SOURCE"
LOAD_UNSAFE_NA_CHECK = "LOAD_UNSAFE_NA_CHECK"
LOAD_NO_EVTTYPE = "LOAD_NO_EVTTYPE"
LOAD_UNKNOWN_FILTER = "LOAD_UNKNOWN_FILTER"
LOAD_UNUSED_MACRO = "LOAD_UNUSED_MACRO"
LOAD_UNUSED_LIST = "LOAD_UNUSED_LIST"
LOAD_UNKNOWN_ITEM = "LOAD_UNKNOWN_ITEM"
LOAD_DEPRECATED_ITEM = "LOAD_DEPRECATED_ITEM"
LOAD_APPEND_NO_VALUES = "LOAD_APPEND_NO_VALUES"
LOAD_EXCEPTION_NAME_NOT_UNIQUE = "LOAD_EXCEPTION_NAME_NOT_UNIQUE"
LOAD_INVALID_MACRO_NAME = "LOAD_INVALID_MACRO_NAME"
LOAD_INVALID_LIST_NAME = "LOAD_INVALID_LIST_NAME"
LOAD_COMPILE_CONDITION = "LOAD_COMPILE_CONDITION"
LOAD_UNKNOWN_KEY = "LOAD_UNKNOWN_KEY"

SHORT_TEXT = {
    LOAD_ERR_YAML_PARSE: "YAML parse error",
    LOAD_ERR_YAML_VALIDATE: "Error validating internal structure of YAML file",
    LOAD_ERR_VALIDATE: "Error validating rule/macro/list/exception objects",
    LOAD_ERR_COMPILE_CONDITION: "Error compiling condition",
    LOAD_ERR_COMPILE_OUTPUT: "Error compiling output",
    LOAD_UNKNOWN_SOURCE: "Unknown event source",
    LOAD_UNSAFE_NA_CHECK: "Unsafe <NA> comparison in condition",
    LOAD_NO_EVTTYPE: "Condition has no event-type restriction",
    LOAD_UNKNOWN_FILTER: "Unknown field or event-type in condition or output",
    LOAD_UNUSED_MACRO: "Unused macro",
    LOAD_UNUSED_LIST: "Unused list",
    LOAD_UNKNOWN_ITEM: "Unknown rules file item",
    LOAD_DEPRECATED_ITEM: "Used deprecated item",
    LOAD_APPEND_NO_VALUES: "Overriding/appending exception with no values",
    LOAD_EXCEPTION_NAME_NOT_UNIQUE: "Multiple exceptions defined with the same name",
    LOAD_INVALID_MACRO_NAME: "Invalid macro name",
    LOAD_INVALID_LIST_NAME: "Invalid list name",
    LOAD_COMPILE_CONDITION: "Condition has been ignored",
    LOAD_UNKNOWN_KEY: "Unknown key",
}


@dataclass(frozen=True)
class Context:
    """Where an item (or a part of it) is: location plus item kind and name."""

    location: Location
    item_type: str = ""
    item_name: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """One coded error or warning (§12)."""

    code: str
    message: str
    location: Location | None = None
    item_type: str = ""
    item_name: str = ""
    is_error: bool = True

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        item = f"{self.item_type} '{self.item_name}': " if self.item_name else \
            f"{self.item_type}: " if self.item_type else ""
        kind = "error" if self.is_error else "warning"
        short = SHORT_TEXT.get(self.code, "")
        return f"{where}{kind}: {item}{self.code} ({short}): {self.message}"

    def to_error(self) -> RuleError:
        return RuleError(self.message, self.location, self.item_type, self.item_name, self.code)


class LoadFailed(Exception):
    """Internal: stops loading the current file at its first error (§1.1)."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def fail(code: str, message: str, ctx: Context | None) -> LoadFailed:
    """Build the internal exception for a load error at ``ctx``."""
    if ctx is None:
        return LoadFailed(Diagnostic(code, message))
    return LoadFailed(Diagnostic(code, message, ctx.location, ctx.item_type, ctx.item_name))


@dataclass
class LoadResult:
    """Outcome of ``load_rules``: success flag, errors, warnings and the ruleset."""

    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    ruleset: object = None  # engine.rules.compiler.Ruleset
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def warn(self, code: str, message: str, ctx: Context | None) -> None:
        if ctx is None:
            self.warnings.append(Diagnostic(code, message, is_error=False))
            return
        self.warnings.append(Diagnostic(code, message, ctx.location, ctx.item_type,
                                        ctx.item_name, is_error=False))

    texts: dict = field(default_factory=dict)  # path -> text, for snippets

    def summary(self) -> list[str]:
        """Falco-like report (§12): per-file state, then each diagnostic with its item
        context, a snippet with a ``^`` marker, and ``CODE (short text): message``."""
        lines = []
        for path in self.files:
            errs = [d for d in self.errors if d.location and d.location.path == path]
            warns = [d for d in self.warnings if d.location and d.location.path == path]
            state = "Invalid" if errs else ("Ok, with warnings" if warns else "Ok")
            lines.append(f"{path}: {state}")
            for title, diags in (("Errors", errs), ("Warnings", warns)):
                if diags:
                    lines.append(f"{len(diags)} {title}:")
                    for diag in diags:
                        lines.extend(self._context(diag))
        lines.extend(str(d) for d in self.errors + self.warnings if not d.location)
        return lines

    def _context(self, diag: Diagnostic) -> list[str]:
        loc = diag.location
        out = [f"In {diag.item_type or 'rules content'} '{diag.item_name}': ({loc})"]
        text_lines = self.texts.get(loc.path, "").splitlines()
        if 0 < loc.line <= len(text_lines):
            out += ["------", text_lines[loc.line - 1], " " * max(loc.col - 1, 0) + "^",
                    "------"]
        out.append(f"{diag.code} ({SHORT_TEXT.get(diag.code, '')}): {diag.message}")
        return out
