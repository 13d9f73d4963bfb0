"""sysdig ``-p`` format strings: ``%field``, ``%field[arg]``, ``%evt.arg.NAME``.

A leading ``*`` prints every event; without it an event is skipped when one
of its fields has no value (sysdig's rule). A missing value prints ``<NA>``.
"""
from __future__ import annotations

import re

import orjson

from scaptools.errors import FieldError
from scaptools.fields.generic import PAD9, TIME_STRING

# a token: %name or %name[arg] (group 1 the name, group 2 the bracketed argument)
TOKEN = re.compile(r"%([A-Za-z_][A-Za-z0-9_.]*)(\[[^\]]*\])?")


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


def compile_format(fmt: str, fieldset, as_json: bool = False):
    """``fn(event) -> str | None`` for a sysdig format string (``None`` = skip the event).

    With ``as_json`` the line is sysdig's ``-j -p`` object: field name -> value
    (numbers and booleans typed, missing values ``null``), keys sorted.
    """
    keep_all = fmt.startswith("*")
    parts = _parse(fmt[1:] if keep_all else fmt, fieldset)

    def render(event):
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            fn, info, _key = part
            value = fn(event)
            if value is None and not keep_all:
                return None
            out.append(value_text(value, info))
        return "".join(out)

    def render_json(event):
        obj = {}
        for part in parts:
            if isinstance(part, str):
                continue
            fn, info, key = part
            value = fn(event)
            if value is None and not keep_all:
                return None
            # time strings are written as the integer timestamp (sysdig -j)
            obj[key] = event.ts if TIME_STRING in info.tags else _json_value(value, info)
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    return render_json if as_json else render


def format_fields(fmt: str) -> list[str]:
    """The field names of a format string, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in TOKEN.finditer(fmt)))


def _parse(fmt: str, fieldset) -> list:
    """Literal text and ``(extractor, FieldInfo, token)`` items, in order."""
    parts: list = []
    pos = 0
    for m in TOKEN.finditer(fmt):
        parts.append(fmt[pos:m.start()])
        arg = m.group(2)[1:-1] if m.group(2) else None
        _name, fn, info, tail = _resolve(fieldset, m.group(1), arg)
        parts.append((fn, info, m.group(0)[1:]))
        if tail:
            parts.append(tail)
        pos = m.end()
    parts.append(fmt[pos:])
    return parts


def _json_value(value, info):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if info is not None and info.type in ("uint64", "int64", "port", "reltime", "abstime"):
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    return value_text(value, info)
