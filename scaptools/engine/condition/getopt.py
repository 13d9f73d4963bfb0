"""The ``getopt`` transformer (docs/rules-language.md §4.5): getopt(3)-style option scan."""
from __future__ import annotations


def scan_options(args, optstring: str) -> list[tuple[str, str]]:
    """(option, value) pairs found in ``args`` (a list of strings) per ``optstring``."""
    out, i = [], 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue
        j = 1
        while j < len(arg):
            opt = arg[j]
            pos = optstring.find(opt)
            if pos < 0 or opt == ":":
                j += 1
                continue
            if pos + 1 < len(optstring) and optstring[pos + 1] == ":":
                value = arg[j + 1:]
                if not value and i < len(args):
                    value, i = args[i], i + 1
                out.append((opt, value))
                break
            out.append((opt, ""))
            j += 1
    return out


def getopt_value(args, optstring: str, selector: str | None):
    """The transformer's value: every ``-<opt><value>`` found (no selector) or the last
    value of option ``selector``; None when nothing is found."""
    pairs = scan_options(args if isinstance(args, list) else [args], optstring)
    if selector is None:
        return [f"-{o}{v}" for o, v in pairs] or None
    found = [v for o, v in pairs if o == selector]
    return found[-1] if found else None
