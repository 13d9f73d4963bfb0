"""Lexical elements of conditions (docs/rules-language.md §4.1).

Token regexes (matched greedily at a position) and the quoted-string scanner
with Falco's escape rules, including its quirks (a quoted string ends at the
first same quote not preceded by a raw backslash; ``\\ `` gives one
backslash).
"""
from __future__ import annotations

import re

BLANKS = " \t\n\r\b"  # §4.1 blank
NOT_BLANKS = " \t\n\r\b\f\v"  # after `not`, any POSIX space is accepted

RE_FIELD = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+")
RE_IDENT = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")
RE_ARG_BARE = re.compile(r"[^\[\]\"'\s]+", re.ASCII)
RE_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?")
RE_BARE = re.compile(r"[^()\"'\s=,]+", re.ASCII)

NUM_OPS = ("<=", "<", ">=", ">")
SYM_OPS = ("==", "=", "!=")
WORD_OPS = ("glob", "iglob", "contains", "icontains", "bcontains", "startswith",
            "bstartswith", "endswith", "regex")
LIST_OPS = ("intersects", "in", "pmatch")
MODIFIERS = ("oneof", "anyof", "allof")
TRANSFORMERS = ("tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt")
ALL_OPS = ("exists",) + NUM_OPS + SYM_OPS + WORD_OPS + LIST_OPS

_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "\\": "\\", "/": "/"}


class LexError(Exception):
    """A lexical/syntax problem; ``pos`` is the offset in the condition text."""

    def __init__(self, message: str, pos: int = 0):
        super().__init__(message)
        self.message = message
        self.pos = pos


def scan_quoted(text: str, pos: int) -> tuple[str, int] | None:
    """Scan a quoted string starting at ``pos``; return (unescaped value, end offset).

    Returns None when ``text[pos]`` is not a quote or the string never ends.
    """
    if pos >= len(text) or text[pos] not in "\"'":
        return None
    quote = text[pos]
    i = pos + 1
    while True:
        i = text.find(quote, i)
        if i < 0:
            return None
        if text[i - 1] != "\\" or i - 1 == pos:
            break
        i += 1
    return unescape(text[pos + 1:i], quote, pos), i + 1


def unescape(body: str, quote: str, pos: int = 0) -> str:
    """Apply Falco's escape table (§4.1) to the inside of a quoted string."""
    if "\\" not in body:
        return body
    out = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise LexError("unsupported string escape sequence: \\", pos)
        e = body[i + 1]
        i += 2
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
        elif e == " ":
            out.append("\\")  # [quirk] backslash-space gives one backslash
        elif e in "\"'":
            if e != quote:
                other = "'" if e == '"' else '"'
                raise LexError(f"invalid \\{e} escape in {other}-quoted string", pos)
            out.append(e)
        elif e == "x":
            out.append(_hex_escape(body[i:i + 2], pos))
            i += 2
        else:
            raise LexError(f"unsupported string escape sequence: \\{e}", pos)
    return "".join(out)


def _hex_escape(digits: str, pos: int) -> str:
    if len(digits) < 2:
        raise LexError("truncated hex char escape sequence", pos)
    if any(d not in "0123456789abcdefABCDEF" for d in digits):
        raise LexError(f"invalid hex char escape sequence: {digits}", pos)
    return chr(int(digits, 16))
