"""Rule outputs and alert formats (docs/rules-language.md §8, §10).

``OutputFormat`` tokenises an output once (``%field``, ``%<width>field``,
transformer tokens; the longest valid field prefix wins) and renders it per
event. ``format_text`` and ``format_json`` give Falco's text line and JSON
alert object.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import orjson

from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.parser import Parser
from scaptools.engine.condition.transformers import TransformError, compile_operand
from scaptools.fields.base import FILTER_ONLY

NA = "<NA>"
_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')  # nothing to escape in a text line
TIME_STRING_FIELDS = ("evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime",
                      "evt.datetime.s")  # emitted as integer ns in JSON (§10.2)


class OutputError(Exception):
    """An output cannot be compiled (LOAD_ERR_COMPILE_OUTPUT)."""


@dataclass
class Token:
    key: str
    fn: object
    width: int | None
    inner: list  # (key, fn) of the fields inside a transformer token
    is_transform: bool = False
    pad9: bool = False  # FieldInfo tag "pad9": numbers print with at least 9 digits


@dataclass(slots=True)
class Alert:
    """One alert (§10): what ``format_text``/``format_json`` render."""

    rule: str
    priority: str
    ts: int
    output: str  # the rendered message M
    output_fields: dict
    source: str
    tags: list = field(default_factory=list)
    hostname: str = ""


class OutputFormat:
    """A compiled output string (§8.1)."""

    def __init__(self, text: str, fieldset):
        if text.startswith("*"):
            text = text[1:]  # Falco always renders with missing values allowed
        self.parts = tokenize(text, fieldset)

        self.render = compile_render(self.parts)


def compile_render(parts):
    """Generate ``render(ev) -> (message, output_fields)`` for the tokens (one call per field)."""
    ns = {"_t": render_text, "_fit": _fit, "_pad9": _pad9}
    pieces, fields, lines = [], [], []
    for n, part in enumerate(parts):
        if isinstance(part, str):
            ns[f"L{n}"] = part
            pieces.append(f"L{n}")
            continue
        ns[f"e{n}"] = part.fn
        lines.append(f"    v{n} = e{n}(ev)")
        text = f"(v{n} if v{n}.__class__ is str else _t(v{n}))"
        if part.pad9:
            text = f"_pad9(v{n})"
        pieces.append(text if part.width is None else f"_fit({text}, {part.width})")
        if not part.is_transform:
            ns[f"K{n}"] = part.key
            fields.append(f"K{n}: v{n}")
        for m, (key, fn) in enumerate(part.inner if part.is_transform else ()):
            ns[f"K{n}_{m}"], ns[f"e{n}_{m}"] = key, fn
            fields.append(f"K{n}_{m}: e{n}_{m}(ev)")
    body = " + ".join(pieces) if pieces else '""'
    src = "def render(ev):\n" + "".join(line + "\n" for line in lines) + \
        f"    return {body}, {{{', '.join(fields)}}}\n"
    exec(compile(src, "<output>", "exec"), ns)  # noqa: S102 - generated from parsed tokens
    return ns["render"]


def _pad9(value) -> str:
    return f"{value:09d}" if isinstance(value, int) and not isinstance(value, bool) \
        else render_text(value)


def _fit(text: str, width: int) -> str:
    raw = text.encode("utf-8", "surrogateescape")[:width]
    return raw.decode("utf-8", "replace") + " " * (width - len(raw))


def tokenize(text: str, fieldset) -> list:
    """Literal strings and ``Token``s of an output (§8.1)."""
    parts, pos, lit = [], 0, []
    while pos < len(text):
        c = text[pos]
        if c != "%":
            lit.append(c)
            pos += 1
            continue
        if lit:
            parts.append("".join(lit))
            lit = []
        token, pos = _token(text, pos + 1, fieldset)
        parts.append(token)
    if lit:
        parts.append("".join(lit))
    return parts


def _token(text: str, pos: int, fieldset) -> tuple[Token, int]:
    if pos >= len(text):
        raise OutputError("invalid formatting syntax: formatting cannot end with a %")
    start = pos
    while pos < len(text) and text[pos].isdigit():
        pos += 1
    width = int(text[start:pos]) if pos > start else None
    if pos >= len(text):
        raise OutputError("invalid formatting syntax: formatting cannot end with a number")
    end = len(text)
    while end > pos:
        parser = Parser(text[pos:end])
        try:
            node = parser.operand()
        except LexError:
            node = None
        if node is None:
            end -= 1
            continue
        try:
            op = compile_operand(node, fieldset)
        except TransformError:
            end = pos + parser.pos - 1
            continue
        for ref in op.fields:  # libsinsp names the rest of the format from the field on
            ref_info = fieldset.lookup(ref.name)
            if ref_info is not None and FILTER_ONLY in ref_info.tags:
                raise OutputError(f"{text[pos:]} is filter only and cannot be used as a "
                                  "display field")
        inner = [(field_key(f), compile_operand(f, fieldset).fn) for f in op.fields]
        key = field_key(node) if not op.is_transform else node.to_text()
        info = None if op.is_transform else fieldset.lookup(node.name)
        pad9 = info is not None and "pad9" in info.tags
        return Token(key, op.fn, width, inner, op.is_transform, pad9), pos + parser.pos
    raise OutputError(f"unknown filter: {text[pos:]}")


def field_key(ref) -> str:
    """Key of a field in ``output_fields``; odd arguments are shown quoted (§10.2)."""
    arg = getattr(ref, "arg", None)
    if arg is None or not any(c in arg for c in " =\"'") and arg.isprintable():
        return ref.to_text()
    return f"{ref.name}[{json.dumps(arg, ensure_ascii=False)}]"


def render_text(value) -> str:
    """Text of a value (§8.2)."""
    if value is None:
        return NA
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):  # a list with no element has no value (§6.1)
        return "(" + ",".join(render_text(v) for v in value) + ")" if value else NA
    return str(value)


def json_value(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value] if value else None
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


class Clock:
    """Alert time stamps (§10). Keeps what it worked out for the last wall-clock second
    (the UTC offset), day (the date) and seconds of the day, so that a run formatting
    many alerts asks the C library rarely. ``wall`` gives the current time."""

    def __init__(self, wall=time.time):
        self.wall = wall
        self.now = None  # the wall-clock second the offset was asked for
        self.zone = None  # the time.tzname object then (time.tzset() rebinds it)
        self.offset = 0
        self.day = None
        self.date = ""
        self.clock = {}  # second of the day -> "HH:MM:SS."

    def local(self, ts: int) -> str:
        """``HH:MM:SS.nnnnnnnnn`` in the host's local time zone, with the UTC offset in
        effect now, when the alert is formatted, not at the event's date (§10)."""
        sec, ns = divmod(ts, 1_000_000_000)
        # offsets change only at whole seconds or with the zone: ask once per second
        now = int(self.wall())
        if self.now != now or self.zone is not time.tzname:
            self.now, self.zone, self.offset = now, time.tzname, time.localtime(now).tm_gmtoff
        second = (sec + self.offset) % 86400  # POSIX days: 86400 s
        text = self.clock.get(second)
        if text is None:
            hours, rest = divmod(second, 3600)
            text = self.clock[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}."
        return f"{text}{ns:09d}"

    def iso(self, ts: int, suffix: str = "+0000") -> str:
        """``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`` in UTC plus ``suffix`` (§10)."""
        sec, ns = divmod(ts, 1_000_000_000)
        day, rest = divmod(sec, 86400)  # POSIX days: 86400 s; the date once per day
        if self.day != day:
            self.day, self.date = day, time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        hours, rest = divmod(rest, 3600)
        return f"{self.date}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{ns:09d}{suffix}"


def alert_line(alert: Alert, iso8601: bool = False, clock: Clock | None = None) -> str:
    """``<T>: <P> <M>`` unescaped (the JSON ``output`` property)."""
    clock = clock or Clock()
    stamp = clock.iso(alert.ts) if iso8601 else clock.local(alert.ts)
    return f"{stamp}: {alert.priority} {alert.output}"


def format_text(alert: Alert, iso8601: bool = False, clock: Clock | None = None) -> str:
    """Falco's text alert line, escaped like the inside of a JSON string (§10.1).

    ``clock``: a ``Clock`` kept by a caller that formats many alerts (faster)."""
    line = alert_line(alert, iso8601, clock)
    # printable text without quote or backslash needs no escape; the rest is checked exactly
    if line.isprintable() and '"' not in line and "\\" not in line or _PLAIN.fullmatch(line):
        return line
    return json.dumps(line, ensure_ascii=False)[1:-1]


def format_json(alert: Alert, include_output: bool = True, include_tags: bool = True,
                iso8601: bool = False, include_message: bool = False,
                clock: Clock | None = None) -> str:
    """Falco's JSON alert object: compact, keys sorted (§10.2)."""
    clock = clock or Clock()
    fields = {}
    for key, value in alert.output_fields.items():
        base = key.split("[", 1)[0]
        fields[key] = alert.ts if base in TIME_STRING_FIELDS and value is not None \
            else json_value(value)
    fields["evt.time.iso8601" if iso8601 else "evt.time"] = alert.ts
    obj = {"hostname": alert.hostname, "output_fields": fields, "priority": alert.priority,
           "rule": alert.rule, "source": alert.source, "time": clock.iso(alert.ts, "Z")}
    if include_output:
        obj["output"] = alert_line(alert, iso8601, clock)
    if include_message:
        obj["message"] = alert.output
    if include_tags:
        obj["tags"] = sorted(set(alert.tags))
    return dumps_sorted(obj, fields.values())


def dumps_sorted(obj, values=()) -> str:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)``.

    orjson writes the same text, faster, unless a float occurs (it spells some
    differently, e.g. ``1e16``; only ``values`` can hold floats here), an integer
    needs more than 64 bits or a string is not valid UTF-8 (it refuses those)."""
    if not any(_has_float(v) for v in values):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _has_float(value) -> bool:
    if isinstance(value, float):
        return True
    return isinstance(value, list) and any(_has_float(v) for v in value)
