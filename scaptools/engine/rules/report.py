"""A file's load result in Falco's words (docs/rules-language.md §12).

``file_report`` writes what Falco's ``-V`` prints for one rules file: the state
line (``Ok``, ``Ok, with warnings`` or ``Invalid``, then the outcome of the
rules-file schema check), and for each error and warning the chain of locations
(0-based line and column, as Falco counts), a snippet of the text with a ``^``
under the position, and ``CODE (short text): message``.
"""
from __future__ import annotations

from scaptools.engine.diagnostics import SHORT_TEXT

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
