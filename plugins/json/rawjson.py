"""Walking JSON text without re-serialising it (docs/json-plugin.md §4-5).

Upstream renders values from the original bytes: numbers keep their literal
text, nested strings keep their escapes, members keep their order and the
first of duplicate keys wins. A Python dict loses all of that, so these helpers
work on byte spans of a document already known to be valid JSON.
"""
from __future__ import annotations

import re

import orjson

_WS = b" \t\r\n"
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(rb'[^\s,\]}]+')
_NESTED = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_COMPACT = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\r\n]+', re.S)
_INDENT_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},:]|[ \t\r\n]+|[^\s\[\]{},:"]+', re.S)


def skip_ws(doc: bytes, i: int) -> int:
    n = len(doc)
    while i < n and doc[i] in _WS:
        i += 1
    return i


def value_end(doc: bytes, i: int) -> int:
    """End offset of the JSON value that starts at ``i``."""
    c = doc[i]
    if c == 0x22:  # '"'
        return _STRING.match(doc, i).end()
    if c not in (0x7B, 0x5B):  # not '{' or '['
        return _SCALAR.match(doc, i).end()
    depth = 0
    for m in _NESTED.finditer(doc, i):
        tok = m.group()
        if tok in (b"{", b"["):
            depth += 1
        elif tok in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                return m.end()
    return len(doc)


def member(doc: bytes, i: int, key: str) -> int | None:
    """Start of the first member ``key`` of the object at ``i``, or ``None``."""
    i = skip_ws(doc, i + 1)
    while i < len(doc) and doc[i] == 0x22:
        end = _STRING.match(doc, i).end()
        raw = doc[i + 1:end - 1]
        name = orjson.loads(doc[i:end]) if b"\\" in raw else raw.decode("utf-8", "replace")
        i = skip_ws(doc, skip_ws(doc, end) + 1)  # past ':'
        if name == key:
            return i
        i = skip_ws(doc, value_end(doc, i))
        if i >= len(doc) or doc[i] != 0x2C:  # ','
            return None
        i = skip_ws(doc, i + 1)
    return None


def element(doc: bytes, i: int, index: int) -> int | None:
    """Start of element ``index`` of the array at ``i``, or ``None``."""
    i = skip_ws(doc, i + 1)
    if i >= len(doc) or doc[i] == 0x5D:  # ']'
        return None
    for _ in range(index):
        i = skip_ws(doc, value_end(doc, i))
        if i >= len(doc) or doc[i] != 0x2C:
            return None
        i = skip_ws(doc, i + 1)
    return i


def go_atoi(token: str) -> int | None:
    """Go ``strconv.Atoi``: optional sign, decimal digits (leading zeros allowed)."""
    body = token[1:] if token[:1] in ("+", "-") else token
    if not body or not body.isascii() or not body.isdigit():
        return None
    return int(token)


def pointer_tokens(pointer: str) -> list[str]:
    """Reference tokens of a pointer; the leading ``/`` is optional
    (docs/json-plugin.md §4 steps 4-5)."""
    if pointer.startswith("/"):
        pointer = pointer[1:]
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")]


def resolve(doc: bytes, tokens: list[str]) -> tuple[int, int] | None:
    """Byte span of the value the tokens lead to in ``doc``, or ``None``."""
    i = skip_ws(doc, 0)
    for tok in tokens:
        if i >= len(doc):
            return None
        c = doc[i]
        if c == 0x7B:
            i = member(doc, i, tok)
        elif c == 0x5B:
            index = go_atoi(tok)
            i = None if index is None or index < 0 else element(doc, i, index)
        else:
            return None
        if i is None:
            return None
    return i, value_end(doc, i)


def compact(text: bytes) -> bytes:
    """The JSON text with every whitespace outside strings removed."""
    return _COMPACT.sub(lambda m: m.group(1) or b"", text)


def render(doc: bytes, span: tuple[int, int]) -> str:
    """A string value decoded; anything else as compact JSON text
    (docs/json-plugin.md §4 step 6)."""
    text = doc[span[0]:span[1]]
    if text[:1] == b'"':
        if b"\\" not in text:
            return text[1:-1].decode("utf-8", "replace")
        return orjson.loads(text)
    return compact(text).decode("utf-8", "replace")


def indent(doc: bytes) -> str:
    """Go ``json.Indent(dst, doc, "", "  ")`` (docs/json-plugin.md §5)."""
    out: list[bytes] = []
    level = 0
    need_nl = False  # an opened container waits for its first element
    tokens = [t for t in _INDENT_TOKENS.findall(doc)]
    trailing = b""
    while tokens and tokens[-1][:1] in (b" ", b"\t", b"\r", b"\n"):
        trailing = tokens.pop() + trailing
    for tok in tokens:
        first = tok[:1]
        if first in (b" ", b"\t", b"\r", b"\n"):
            continue
        if need_nl and first not in (b"}", b"]"):
            out.append(b"\n" + b"  " * level)
        need_nl = False
        if first in (b"{", b"["):
            out.append(tok)
            level += 1
            need_nl = True
        elif first in (b"}", b"]"):
            level -= 1
            if out and out[-1] not in (b"{", b"["):
                out.append(b"\n" + b"  " * level)
            out.append(tok)
        elif tok == b",":
            out.append(b",\n" + b"  " * level)
        elif tok == b":":
            out.append(b": ")
        else:
            out.append(tok)
    return (b"".join(out) + trailing).decode("utf-8", "replace")
