"""Constant conversion and comparison helpers per type (docs/rules-language.md §6.2).

Constants are converted once at compile time; the helpers here build the
small matcher objects (glob, pmatch, regex) used by generated code.
"""
from __future__ import annotations

import ipaddress
import re
import socket

STRING_TYPES = ("string", "charbuf", "fspath")
NUMERIC_TYPES = ("uint64", "int64", "uint32", "int32", "uint16", "int16", "uint8", "int8",
                 "reltime", "abstime", "port", "double", "fd", "pid", "errno")
IP_TYPES = ("ipaddr", "ipnet", "ipv4addr", "ipv6addr", "ipv4net", "ipv6net")
BUFFER_TYPES = ("bytebuf",)

ALLOWED_OPS = {  # §4.3 type restrictions
    "string": {"=", "==", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith",
               "endswith", "glob", "iglob", "regex", "in", "intersects", "pmatch", "exists"},
    "numeric": {"=", "==", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"},
    "bool": {"=", "==", "!=", "in", "intersects", "exists"},
    "ip": {"=", "==", "!=", "in", "intersects", "exists"},
    "buffer": {"=", "==", "!=", "contains", "bcontains", "startswith", "bstartswith",
               "endswith", "in", "intersects", "exists"},
    "list": {"in", "intersects", "exists"},
}
FAMILY_TEXT = {"string": "string filters", "numeric": "numeric filters",
               "bool": "numeric filters", "ip": "ip address and network filters",
               "buffer": "buffer filters", "list": "list filters"}
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_RE_ULONG = re.compile(r"\s*([+-]?)(\d+)\Z")
# RE2 in POSIX mode has no Perl classes, word boundaries, back-references, `(?...)`
# groups or non-greedy repetitions (§6.2): such patterns are load errors.
_PERL_CLASSES = re.compile(r"\\[dDsSwWbBAzZpP1-9]|\(\?|[*+?}]\?")


class ConstantError(Exception):
    """A constant cannot be converted for the field type (a load error)."""


def family(ftype: str, is_list: bool = False) -> str:
    if is_list:
        return "list"
    if ftype in NUMERIC_TYPES:
        return "numeric"
    if ftype == "bool":
        return "bool"
    if ftype in IP_TYPES:
        return "ip"
    if ftype in BUFFER_TYPES:
        return "buffer"
    return "string"


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only (Falco's icontains/iglob, §6.2)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def convert(text: str, ftype: str):
    """The constant ``text`` as a value comparable with the field's values."""
    if "\x00" in text:
        raise ConstantError("filter error: filter value cannot contain a NUL byte (\\x00)")
    fam = family(ftype)
    if fam == "numeric":
        return _number(text, ftype)
    if fam == "bool":
        if text not in ("true", "false"):
            raise ConstantError(f"filter error: unrecognized boolean value {text}")
        return text == "true"
    if fam == "ip":
        return _ip(text, ftype)
    if fam == "buffer":
        return text.encode("utf-8", "surrogateescape")
    return text


def _number(text: str, ftype: str):
    if ftype == "port":
        return _port(text)
    if ftype == "double":
        try:
            return float(text)
        except ValueError:
            raise ConstantError(f"{text} is not a valid number") from None
    m = _RE_ULONG.match(text)
    if m is None:
        raise ConstantError(f"{text} is not a valid number")
    value = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
    if ftype.startswith("uint") or ftype in ("abstime", "reltime", "port"):
        value %= 1 << 64  # sscanf %lu wraps negative values
    return value


def _port(text: str) -> int:
    """A port constant as libsinsp reads it: digits (16 bits kept), nothing (0), or a service
    name of the system's services database (``fd.sport = https``)."""
    if not text:
        return 0
    if text.isascii() and text.isdigit():
        return int(text) & 0xFFFF
    try:
        return socket.getservbyname(text)
    except OSError:
        raise ConstantError(f"unrecognized protocol {text}") from None


def _ip(text: str, ftype: str):
    if "net" in ftype:
        if "/" not in text:
            raise ConstantError(f"unrecognized IP network {text}")
        addr, _, bits = text.partition("/")
        try:
            return ipaddress.ip_network(f"{addr}/{int(bits)}", strict=False)
        except ValueError:
            raise ConstantError(f"invalid netmask {bits}") from None
    try:
        if "." in text:
            return ipaddress.IPv4Address(text)
        return ipaddress.IPv6Address(text)
    except ValueError:
        kind = "IPv4" if "." in text else "IPv6"
        raise ConstantError(f"unrecognized {kind} address {text}") from None


def hex_bytes(text: str) -> bytes:
    """Constant of bcontains/bstartswith: an even-length hex string (§4.3)."""
    if len(text) % 2 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ConstantError("filter error: bcontains and bstartswith operator support hex "
                          "strings only")
    return bytes.fromhex(text)


def glob_regex(pattern: str, fold: bool = False):
    """POSIX fnmatch (no flags) as a compiled regex: ``*`` crosses ``/`` (§6.2)."""
    if fold:
        pattern = ascii_lower(pattern)
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            cls, i = _bracket(pattern, i)
            out.append(cls)
        else:
            out.append(re.escape(c))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z",
            "lower": "a-z", "space": " \\t\\n\\r\\f\\v", "xdigit": "0-9A-Fa-f",
            "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), "blank": " \\t",
            "cntrl": "\\x00-\\x1f\\x7f", "print": "\\x20-\\x7e", "graph": "\\x21-\\x7e"}


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """Translate a bracket expression starting after ``[``; a lone ``[`` is literal."""
    j, n, parts = i, len(pattern), []
    negate = j < n and pattern[j] in "!^"
    j += negate
    first = True
    while j < n and (pattern[j] != "]" or first):
        first = False
        if pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            if end > 0 and pattern[j + 2:end] in _CLASSES:
                parts.append(_CLASSES[pattern[j + 2:end]])
                j = end + 2
                continue
        if pattern[j] == "\\" and j + 1 < n:
            j += 1
        if j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
            parts.append(re.escape(pattern[j]) + "-" + re.escape(pattern[j + 2]))
            j += 3
            continue
        parts.append(re.escape(pattern[j]))
        j += 1
    if j >= n:
        return re.escape("["), i
    return "[" + ("^" if negate else "") + "".join(parts) + "]", j + 1


def compile_regex(pattern: str):
    """RE2 POSIX-syntax pattern matched on the entire value (§6.2)."""
    if _PERL_CLASSES.search(pattern):
        raise ConstantError(f"invalid regex pattern: {pattern}")
    try:
        return re.compile(f"(?:{_posix_classes(pattern)})\\Z", re.DOTALL)
    except re.error as exc:
        raise ConstantError(f"invalid regex pattern: {exc}") from None


def _posix_classes(pattern: str) -> str:
    """Translate ``[:alpha:]``-style classes inside brackets to Python's syntax."""
    if "[:" not in pattern:
        return pattern
    for name, chars in _CLASSES.items():
        pattern = pattern.replace(f"[:{name}:]", chars)
    return pattern


class PathMatcher:
    """``pmatch``: value path equal to or below one of the patterns (§6.2)."""

    def __init__(self, patterns):
        self.plain = [tuple(p for p in pat.split("/") if p) for pat in patterns]
        self.globs = [tuple(glob_regex(c) if any(x in c for x in "*?[") else c
                            for c in pat) for pat in self.plain]

    def __call__(self, value: str) -> bool:
        comps = [c for c in value.split("/") if c]
        for pat in self.globs:
            if len(pat) > len(comps):
                continue
            if all(p == c if isinstance(p, str) else p.match(c) is not None
                   for p, c in zip(pat, comps)):
                return True
        return False
