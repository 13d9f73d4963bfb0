"""The ``getopt`` transformer (docs/rules-language.md §4.5): getopt(3)-style option scan."""
from __future__ import annotations

from scaptools.engine.condition.transformers import Operand, TransformError


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


def getopt_operand(node, fns, fields, text) -> Operand:
    if len(fns) != 2:
        raise TransformError("transformer 'getopt' requires two arguments")
    args_fn, opt_fn = fns
    selector = node.arg
    if selector is not None and len(selector) != 1:
        raise TransformError("transformer 'getopt' selector must be one character")

    def run(ev):
        args, optstring = args_fn(ev), opt_fn(ev)
        if args is None or optstring is None:
            return None
        pairs = scan_options(args if isinstance(args, list) else [args], optstring)
        if selector is None:
            return [f"-{o}{v}" for o, v in pairs] or None
        found = [v for o, v in pairs if o == selector]
        return found[-1] if found else None

    return Operand(run, "string", selector is None, text, fields, True)
