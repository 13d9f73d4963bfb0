"""Load-time diagnostics: Falco's coded errors and warnings (docs/rules-language.md §12).

A ``Diagnostic`` names the Falco code, the message, where it happened and the
item (kind and name). Where is told twice: ``location`` is this project's
file:line:col (1-based, the innermost position in the rules file), ``context``
is Falco's chain of locations (``Frame``s, 0-based line and column as Falco
prints them), which ``LoadResult.summary`` renders in Falco's words. The first
error of a file stops that file (§1.1).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from scaptools.errors import Location, RuleError

# Error codes (§12).
LOAD_ERR_FILE_READ = "LOAD_ERR_FILE_READ"
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

SHORT_TEXT = {  # Falco's short text of each code (falco_load_result.cpp)
    LOAD_ERR_FILE_READ: "File read error",
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
    LOAD_APPEND_NO_VALUES: "Overriding/appending with no values",
    LOAD_EXCEPTION_NAME_NOT_UNIQUE: "Multiple exceptions defined with the same name",
    LOAD_INVALID_MACRO_NAME: "Invalid macro name",
    LOAD_INVALID_LIST_NAME: "Invalid list name",
    LOAD_COMPILE_CONDITION: "Warning in rule condition",
    LOAD_UNKNOWN_KEY: "Unknown key in item definition",
}


@dataclass(frozen=True)
class Frame:
    """One location of Falco's context chain: what (``kind`` 'name') and where.

    ``source`` is the file name, or for a condition expression the condition's
    quoted beginning; ``line``/``col`` are 0-based; ``pos`` is the offset used
    for the snippet.
    """

    kind: str
    name: str = ""
    source: str = ""
    line: int = 0
    col: int = 0
    pos: int = 0


@dataclass(frozen=True)
class Context:
    """Where an item (or a part of it) is: our location, the item kind and name, and
    Falco's chain of frames (``alt``: the condition text of a condition context)."""

    location: Location
    item_type: str = ""
    item_name: str = ""
    frames: tuple = ()
    alt: str | None = None

    @classmethod
    def root(cls, path: str) -> Context:
        """The whole rules file (Falco's "rules content" at 0:0)."""
        return cls(Location(path), frames=(Frame("rules content", "", path),))

    def at(self, mark, kind: str, name: str = "", item: str | None = None) -> Context:
        """A child at a YAML mark (a node's ``start_mark``); ``item`` names a new item kind."""
        path = self.location.path
        frame = Frame(kind, name, path, mark.line, mark.column, mark.index)
        kind_, name_ = (item, name) if item is not None else (self.item_type, self.item_name)
        return Context(Location(path, mark.line + 1, mark.column + 1), kind_, name_,
                       self.frames + (frame,))

    def in_condition(self, condition: str, offset: int) -> Context:
        """A position inside a (rewritten) condition text, as Falco builds it: the
        frame is named after the condition's start, its line, column and offset are
        the parser's (1-based line and column) added to the last frame's."""
        last = self.frames[-1] if self.frames else Frame("rules content")
        line, col = 1, 1
        for ch in condition[:offset]:
            line, col = (line + 1, 1) if ch == "\n" else (line, col + 1)
        head = condition if len(condition) <= 20 else condition[:17] + "..."
        head = ('"' + head + '"').replace("\n", " ").replace("\r", " ")
        frame = Frame("condition expression", "", head, line + last.line, col + last.col,
                      offset + last.pos)
        return replace(self, frames=self.frames + (frame,), alt=condition)


@dataclass(frozen=True)
class Diagnostic:
    """One coded error or warning (§12)."""

    code: str
    message: str
    location: Location | None = None
    item_type: str = ""
    item_name: str = ""
    is_error: bool = True
    context: Context | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        item = f"{self.item_type} '{self.item_name}': " if self.item_name else \
            f"{self.item_type}: " if self.item_type else ""
        kind = "error" if self.is_error else "warning"
        short = SHORT_TEXT.get(self.code, "")
        return f"{where}{kind}: {item}{self.code} ({short}): {self.message}"

    def to_error(self) -> RuleError:
        return RuleError(self.message, self.location, self.item_type, self.item_name, self.code)


def diagnostic(code: str, message: str, ctx: Context | None, is_error: bool = True) -> Diagnostic:
    if ctx is None:
        return Diagnostic(code, message, is_error=is_error)
    return Diagnostic(code, message, ctx.location, ctx.item_type, ctx.item_name, is_error, ctx)


class LoadFailed(Exception):
    """Internal: stops loading the current file at its first error (§1.1)."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def fail(code: str, message: str, ctx: Context | None) -> LoadFailed:
    """Build the internal exception for a load error at ``ctx``."""
    return LoadFailed(diagnostic(code, message, ctx))


@dataclass
class LoadResult:
    """Outcome of ``load_rules``: success flag, errors, warnings and the ruleset.

    ``schema`` maps each file to the outcomes of Falco's rules-file schema check
    (``"ok"`` or ``"failed for <where>: <what>"``), ``texts`` keeps the texts for
    snippets.
    """

    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    ruleset: object = None  # engine.rules.compiler.Ruleset
    files: list[str] = field(default_factory=list)
    texts: dict = field(default_factory=dict)
    schema: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def warn(self, code: str, message: str, ctx: Context | None) -> None:
        self.warnings.append(diagnostic(code, message, ctx, is_error=False))

    def of_file(self, path: str) -> tuple[list, list]:
        """The errors and warnings of one file."""
        def mine(d):
            return d.location is not None and d.location.path == path
        return [d for d in self.errors if mine(d)], [d for d in self.warnings if mine(d)]

    def summary(self) -> list[str]:
        """Falco's verbose report of every file (§12), as lines."""
        lines = []
        for path in self.files:
            lines.extend(file_report(self, path).splitlines())
        lines.extend(str(d) for d in self.errors + self.warnings if not d.location)
        return lines


# -- a file's load result in Falco's words (-V) ------------------------------------------
# The state line (Ok, Ok with warnings, Invalid, then the schema check's outcome); for
# each error and warning the chain of locations, a snippet of the text with a ``^``
# under the position, and ``CODE (short text): message``.

SNIPPET_WIDTH = 160


def file_report(result, path: str) -> str:
    """The verbose report of ``path`` in ``result`` (ends with a newline when it has
    errors or warnings)."""
    errors, warnings = result.of_file(path)
    state = "Invalid" if errors else "Ok, with warnings" if warnings else "Ok"
    out = f"{path}: {state} | schema validation: {schema_status(result, path)}"
    for title, diags in (("Errors", errors), ("Warnings", warnings)):
        if diags:
            out += f"\n{len(diags)} {title}:\n"
            out += "".join(entry(d, result.texts) for d in diags)
    return out


def schema_status(result, path: str) -> str:
    """``ok``, ``none`` (not checked) or the first failure of the schema check."""
    outcomes = result.schema.get(path) or ["none"]
    failed = [o for o in outcomes if o != "ok"]
    return failed[0] if failed else outcomes[0]


def entry(diag, texts: dict) -> str:
    ctx = diag.context
    text = chain(ctx) if ctx is not None and ctx.frames else ""
    text += "------\n" + (snippet(ctx, texts) if ctx is not None and ctx.frames
                          else "<No context available>\n") + "------\n"
    return text + f"{diag.code} ({SHORT_TEXT.get(diag.code, '')}): {diag.message}\n"


def chain(ctx) -> str:
    """``In rule 'R': (file:2:2)`` and the inner locations, one a line."""
    lines = []
    for i, f in enumerate(ctx.frames):
        name = f" '{f.name}'" if f.name else ""
        lines.append(f"{'In ' if i == 0 else '    '}{f.kind}{name}: ({f.source}:{f.line}:{f.col})")
    return "\n".join(lines) + "\n"


def snippet(ctx, texts: dict, width: int = SNIPPET_WIDTH) -> str:
    """The line of text around the last frame's position, at most ``width`` characters,
    with ``...`` where it was cut and a ``^`` line (Falco's ``context::snippet``)."""
    last = ctx.frames[-1]
    if ctx.alt is None and last.source not in texts:
        return f"<No context for file + {last.source}>\n"
    content = ctx.alt if ctx.alt is not None else texts[last.source]
    if not content:
        return "<No context available>\n"
    half = width // 2
    pos = last.pos
    while pos > 0 and (pos >= len(content) or content[pos] == "\n"):
        pos -= 1
    start = pos
    while start > 0 and content[start] != "\n" and pos - start < half:
        start -= 1
    end = pos
    while end < len(content) - 1 and content[end] != "\n" and end - pos < half:
        end += 1
    if start < len(content) and content[start] == "\n":
        start += 1
    if end < len(content) and content[end] == "\n":
        end -= 1
    text = content[start:end + 1]
    if not text:
        return "<No context available>\n"
    if pos - start >= half:
        text = "..." + text[3:]
    if end - pos >= half:
        text = text[:-3] + "..."
    text += "\n"
    if pos - start <= len(text) - 1:
        text += " " * (pos - start) + "^\n"
    return text
