"""``load_rules``: several rules files in order into one ``LoadResult`` (docs/rules-language.md §1.3, §12)."""
from __future__ import annotations

from pathlib import Path

from scaptools.engine.diagnostics import (LOAD_ERR_FILE_READ, LOAD_ERR_VALIDATE, Context,
                                          LoadFailed, LoadResult, diagnostic)
from scaptools.engine.rules.collector import Collector
from scaptools.engine.rules.compiler import Ruleset, compile_collection
from scaptools.engine.rules.plugin_reqs import check_requirements
from scaptools.engine.rules.reader import FileReader


def expand_sources(sources) -> list:
    """Paths (files or directories: their *.yaml/*.yml regular files, sorted) and
    ``(name, text)`` pairs, as a list of ``(name, text_or_None)``; None = read later."""
    out = []
    for src in sources:
        if isinstance(src, tuple):
            out.append((str(src[0]), src[1]))
            continue
        path = Path(src)
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix in (".yaml", ".yml"))
            out.extend((str(p), None) for p in files)
        else:
            out.append((str(path), None))
    return out


def load_rules(sources, fieldsets, *, plugin_versions=None, strict=False,
               keep_going=False) -> LoadResult:
    """Load rules files in order; see ``engine/__init__.py``.

    ``fieldsets(source) -> FieldSet | None``; ``plugin_versions``: loaded plugin
    name -> version, to check ``required_plugin_versions`` (§2.2); skipped when None.
    A file's first error ends the load, unless ``keep_going`` (Falco's ``-V``, which
    reports every file: later files still see what the failed one had collected).
    With ``strict=True`` the first error raises ``RuleError``.
    """
    result = LoadResult()
    cache = {}

    def fieldset_of(source):
        if source not in cache:
            cache[source] = fieldsets(source)
        return cache[source]

    col = Collector(fieldset_of, result)
    compile_warnings = []
    for name, text in expand_sources(sources):
        result.files.append(name)
        try:
            if text is None:
                text = _read(name)
            result.texts[name] = text
            FileReader(name, text, col, result).read()
            compile_warnings = []
            result.ruleset = compile_collection(col, fieldset_of, compile_warnings)
        except LoadFailed as exc:
            result.errors.append(exc.diag)
            if not keep_going:
                break
    for code, message, ctx in compile_warnings:
        result.warn(code, message, ctx)
    if plugin_versions is not None:  # checked after loading; reported first (§2.2, §12)
        failed = check_requirements(col.plugin_requirements, plugin_versions)
        if failed is not None:
            result.errors.insert(0, diagnostic(LOAD_ERR_VALIDATE, failed[0], failed[1]))
    if result.ruleset is None:
        result.ruleset = Ruleset()
    if strict and result.errors:
        raise result.errors[0].to_error()
    return result


def _read(name: str) -> str:
    try:
        with open(name, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError as exc:
        raise LoadFailed(diagnostic(LOAD_ERR_FILE_READ, f"Could not read file: {exc.strerror}",
                                    Context.root(name))) from None
