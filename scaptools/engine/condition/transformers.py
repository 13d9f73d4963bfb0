"""Field transformers (docs/rules-language.md §4.5) and field operands.

``compile_operand(node, fieldset)`` turns a ``FieldRef`` or ``Transform`` into
an ``Operand``: a callable ``fn(event) -> value | None`` plus the (transformed)
type and list-ness used for operator checks and constant parsing.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Callable

from scaptools.engine.condition.getopt import getopt_value
from scaptools.engine.condition.tree import FieldRef, Literal, Transform
from scaptools.engine.condition.values import ascii_lower, family
from scaptools.errors import FieldError
from scaptools.fields.base import ARG_NONE, ARG_REQUIRED, FILTER_ONLY

SINGLE = ("tolower", "toupper", "b64", "basename", "len")


class TransformError(Exception):
    """A field/transformer cannot be compiled; ``unknown`` marks unknown fields (§12)."""

    def __init__(self, message: str, unknown: bool = False):
        super().__init__(message)
        self.message = message
        self.unknown = unknown


@dataclass
class Operand:
    fn: Callable
    type: str
    is_list: bool
    text: str
    fields: list  # FieldRefs used (for output_fields and exception bookkeeping)
    is_transform: bool = False
    tags: tuple = ()  # of the field (fields/base.py FILTER_ONLY, SIDES); none for transforms


def compile_operand(node, fieldset) -> Operand:
    if isinstance(node, FieldRef):
        return field_operand(node, fieldset)
    if isinstance(node, Transform):
        return transform_operand(node, fieldset)
    raise TransformError(f"unexpected operand {node!r}")


def field_operand(ref: FieldRef, fieldset) -> Operand:
    info = fieldset.lookup(ref.name)
    if info is None:
        raise TransformError(f"filter_check called with nonexistent field {ref.name}", True)
    name, arg = ref.name, ref.arg
    if info.name != name:  # dotted argument form: evt.arg.fd
        name, arg = info.name, ref.name[len(info.name) + 1:]
    if arg is None and info.arg == ARG_REQUIRED:
        raise TransformError(f"field '{name}' requires an argument but none provided")
    if arg is not None and info.arg == ARG_NONE:
        raise TransformError(f"field '{name}' does not allow nor require an argument but one "
                             f"is provided: {arg}")
    if arg is not None and info.arg_kind == "index" and not _valid_index(arg):
        raise TransformError(f"field '{name}' has an invalid index argument: {arg}")
    try:
        if FILTER_ONLY in info.tags:  # a condition may test it (fields/base.py)
            fn = fieldset.extractor(name, arg, filtering=True)
        else:
            fn = fieldset.extractor(name, arg)
    except FieldError as exc:
        raise TransformError(exc.message, "nonexistent" in exc.message) from None
    return Operand(fn, info.type, info.is_list, ref.to_text(), [ref], tags=info.tags)


def _valid_index(arg: str) -> bool:
    return arg.isdigit() and (arg == "0" or not arg.startswith("0"))


def transform_operand(node: Transform, fieldset) -> Operand:
    if node.name in SINGLE:
        if len(node.args) != 1:
            raise TransformError(f"transformer '{node.name}' expects one argument")
        if node.arg is not None:
            raise TransformError(f"filter error: transformer '{node.name}' does not support "
                                 "field arguments")
        inner = compile_operand(node.args[0], fieldset) if not isinstance(
            node.args[0], (Literal, tuple)) else None
        if inner is None:
            raise TransformError(f"transformer '{node.name}' expects a field argument")
        return _single(node, inner)
    return _multi(node, fieldset)


def _type_error(node: Transform, inner: Operand):
    return TransformError(f"can't add field transformer: type '{inner.type}' is not supported "
                          f"by '{node.name}' transformer applied on field '{inner.text}'")


def _single(node: Transform, inner: Operand) -> Operand:
    fam, get = family(inner.type), inner.fn
    name, text = node.name, node.to_text()
    if name in ("tolower", "toupper", "basename"):
        if fam != "string" or (inner.is_list and name == "basename"):
            raise _type_error(node, inner)
        op = {"tolower": ascii_lower, "toupper": _ascii_upper, "basename": _basename}[name]
        if inner.is_list:
            fn = lambda ev: None if (v := get(ev)) is None else [op(x) for x in v]
        else:
            fn = lambda ev: None if (v := get(ev)) is None else op(v)
        return Operand(fn, "string", inner.is_list, text, inner.fields, True)
    if name == "b64":
        if fam not in ("string", "buffer") or inner.is_list:
            raise _type_error(node, inner)
        return Operand(lambda ev: _b64(get(ev)), "bytebuf", False, text, inner.fields, True)
    if fam not in ("string", "buffer") and not inner.is_list:
        raise _type_error(node, inner)
    return Operand(lambda ev: _length(get(ev)), "uint64", False, text, inner.fields, True)


def _ascii_upper(text: str) -> str:
    return text.upper() if text.isascii() else "".join(
        chr(ord(c) - 32) if "a" <= c <= "z" else c for c in text)


def _basename(text: str) -> str:
    return text.rpartition("/")[2]


def _b64(value):
    if value is None:
        return None
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    raw = raw.rstrip(b"=")
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _length(value):
    if value is None or (isinstance(value, list) and not value):  # no element = no value
        return None
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogateescape"))
    return len(value)


def _arg_fn(arg, fieldset):
    """A callable for one argument of join/concat/getopt, and its operand (or None)."""
    if isinstance(arg, Literal):
        value = arg.value
        return (lambda ev: value), None
    if isinstance(arg, tuple):
        fns = [_arg_fn(a, fieldset)[0] for a in arg]
        return (lambda ev: _all_or_none([f(ev) for f in fns])), None
    op = compile_operand(arg, fieldset)
    return op.fn, op


def _all_or_none(values):
    return None if any(v is None for v in values) else values


def _multi(node: Transform, fieldset) -> Operand:
    parts = [_arg_fn(a, fieldset) for a in node.args]
    fields = [f for _, op in parts if op is not None for f in op.fields]
    fns = [fn for fn, _ in parts]
    text = node.to_text()
    if node.name == "concat":
        if len(fns) < 2:
            raise TransformError("transformer 'concat' requires at least two arguments")
        fn = lambda ev: None if (v := _all_or_none([f(ev) for f in fns])) is None else "".join(
            str(x) for x in v)
        return Operand(fn, "string", False, text, fields, True)
    if node.name == "join":
        if len(fns) != 2:
            raise TransformError("transformer 'join' requires two arguments")
        sep_fn, list_fn = fns
        fn = lambda ev: None if (s := sep_fn(ev)) is None or (v := list_fn(ev)) is None else \
            s.join(str(x) for x in (v if isinstance(v, list) else [v]))
        return Operand(fn, "string", False, text, fields, True)
    if node.name == "getopt":
        return _getopt(node, fns, fields, text)
    raise TransformError(f"unknown transformer '{node.name}'")


def _getopt(node: Transform, fns, fields, text: str) -> Operand:
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
        return getopt_value(args, optstring, selector)

    return Operand(run, "string", selector is None, text, fields, True)
