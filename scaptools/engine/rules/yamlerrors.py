"""YAML syntax errors in the words of yaml-cpp, Falco's YAML library (docs/rules-language.md §12).

Falco reports a rules file that is not valid YAML with the library's message,
``yaml-cpp: error at line L, column C: <problem>`` (1-based line and column).
PyYAML finds the same faults under other names; the common ones are given
yaml-cpp's name for the problem here, and the position is the one PyYAML
reports. A problem without a counterpart keeps PyYAML's wording.
"""
from __future__ import annotations

# (PyYAML context prefix or None, PyYAML problem prefix) -> yaml-cpp problem
_PROBLEMS = (
    (None, "mapping values are not allowed", "illegal map value"),
    ("while parsing a flow sequence", "", "end of sequence flow not found"),
    ("while parsing a flow mapping", "", "end of map flow not found"),
    ("while parsing a block mapping", "", "end of map not found"),
    ("while parsing a block collection", "", "end of sequence not found"),
    ("while scanning a simple key", "could not find expected ':'", "illegal map value"),
    (None, "found character '\\t' that cannot start any token",
     "illegal tab when looking for indentation"),
    (None, "found unknown escape character", "unknown escape character: "),
    (None, "found undefined alias", "the referenced anchor is not defined"),
    ("while scanning a quoted scalar", "found unexpected end of stream", "illegal EOF in scalar"),
    ("while scanning an alias", "", "alias not found after *"),
    ("while scanning an anchor", "", "anchor not found after &"),
    (None, "found a tab character where an indentation space is expected",
     "illegal tab when looking for indentation"),
    (None, "expected a single document in the stream", "unknown token"),
)


def yaml_cpp_message(exc) -> str:
    """``yaml-cpp: error at line L, column C: <problem>`` for a PyYAML ``MarkedYAMLError``."""
    mark = exc.problem_mark or exc.context_mark
    problem = _problem(exc)
    if mark is None:
        return problem
    return f"yaml-cpp: error at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _problem(exc) -> str:
    context, problem = exc.context or "", exc.problem or ""
    for want_context, want_problem, text in _PROBLEMS:
        if want_context is not None and not context.startswith(want_context):
            continue
        if not problem.startswith(want_problem):
            continue
        if text.endswith(": "):  # yaml-cpp adds the offending character
            return text + problem.rsplit(" ", 1)[-1].strip("'")
        return text
    return " ".join(p for p in (context, problem) if p) or "invalid YAML"
