"""sysdig ``-p`` format strings: ``%field``, ``%field[arg]``, ``%evt.arg.NAME``.

A leading ``*`` prints every event; without it an event is skipped when one
of its fields has no value (sysdig's rule). A missing value prints ``<NA>``.
"""
from __future__ import annotations

import re

from ..errors import FieldError
from .generic import PAD9

_TOKEN = re.compile(r"%([A-Za-z_][A-Za-z0-9_.]*)(\[[^\]]*\])?")


def value_text(value, info=None) -> str:
    """One field value as sysdig prints it."""
    if value is None:
        return "<NA>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "".join(chr(b) if 32 <= b <= 126 else "." for b in value)
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(value_text(v) for v in value) + ")"
    if isinstance(value, int) and info is not None and PAD9 in info.tags:
        return f"{value:09d}"
    return str(value)


def _resolve(fs, name: str, arg: str | None):
    info = fs.lookup(name)
    if info is None:
        raise FieldError(f"invalid formatting token %{name}")
    return name, fs.extractor(name, arg), info, ""


def compile_format(fmt: str, fieldset):
    """``fn(event) -> str | None`` for a sysdig format string (``None`` = skip the event)."""
    keep_all = fmt.startswith("*")
    if keep_all:
        fmt = fmt[1:]
    parts: list = []
    pos = 0
    for m in _TOKEN.finditer(fmt):
        parts.append(fmt[pos:m.start()])
        arg = m.group(2)[1:-1] if m.group(2) else None
        _name, fn, info, tail = _resolve(fieldset, m.group(1), arg)
        parts.append((fn, info))
        if tail:
            parts.append(tail)
        pos = m.end()
    parts.append(fmt[pos:])

    def render(event):
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            fn, info = part
            value = fn(event)
            if value is None and not keep_all:
                return None
            out.append(value_text(value, info))
        return "".join(out)
    return render
