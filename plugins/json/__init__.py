"""The ``json`` extractor plugin: ``json.value[/ptr]``, ``json.obj``, ``json.rawtime``
(docs/json-plugin.md).

It has no event source and declares no extraction sources, so its fields are
offered on every plugin source (docs/json-plugin.md §1.1; not on ``syscall``, the
deviation the spec allows). Every field has no value unless the payload starts
with ``{`` or ``[`` and is valid JSON (§4 steps 1-2, §7); validity comes from
``Event.json``, parsed once per event and shared with the other extractors.
"""
from __future__ import annotations

import orjson

from scaptools.errors import FieldError, PluginError
from scaptools.fields.base import ARG_NONE, ARG_REQUIRED, FieldInfo
from scaptools.plugin.api import ExtractorPlugin

from .fast import parsed, payload_bounds
from .rawjson import compact, go_atoi, indent, pointer_tokens, render, resolve

_VALUE_DESC = ("Extracts a value from a JSON-encoded input. Syntax is json.value[<json pointer>], "
               "where <json pointer> is a JSON pointer (RFC 6901)")
_OBJ_DESC = "The full JSON message as a text string, indented"
_RAWTIME_DESC = "The time of the event, identical to evt.rawtime, as a string"


def _fields() -> list[FieldInfo]:
    out = []
    for prefix in ("json", "jevt"):  # §3: jevt.* are exact aliases
        out += [
            FieldInfo(f"{prefix}.value", "string", arg=ARG_REQUIRED, arg_kind="key",
                      desc=_VALUE_DESC),
            FieldInfo(f"{prefix}.obj", "string", arg=ARG_NONE, desc=_OBJ_DESC),
            FieldInfo(f"{prefix}.rawtime", "string", arg=ARG_NONE, desc=_RAWTIME_DESC),
        ]
    return out


def json_payload(event) -> bytes | None:
    """The payload when it passes the first-byte check and parses as JSON (§4 steps 1-2)."""
    payload = event.payload
    if not payload or payload[0] not in (0x7B, 0x5B):  # '{' or '['
        return None
    if event.json is None:
        return None
    return payload


def value_extractor(pointer: str):
    """``json.value[pointer]`` (§4).

    Fast path: walk the parsed document (``Event.json``) when every key of the
    pointer occurs exactly once in the payload as ``"key":`` (so no object on
    the path has a duplicate of it) and the value reached is a string, a
    boolean, ``null`` or a non-zero integer, whose text cannot differ from the
    original. Otherwise the byte-level walker gives upstream's exact answer
    (first duplicate wins, literal numbers, original escapes).
    """
    if pointer == "":
        def whole(event):
            doc = json_payload(event)
            return None if doc is None else compact(doc).decode("utf-8", "replace")
        return whole
    tokens = pointer_tokens(pointer)
    keys = [orjson.dumps(t) + b":" for t in tokens]
    indexes = [go_atoi(t) for t in tokens]
    last = [None, None]  # (event, value): rules often ask twice for the same event

    def value(event):
        if last[0] is event:
            return last[1]
        rec, bounds = parsed(event), payload_bounds(event)
        result = None
        if bounds is None:  # not a plain plugin event: the general road
            doc = json_payload(event)
            if doc is not None:
                result = _fast_value(event.json, doc, 0, len(doc), tokens, keys, indexes)
        elif rec is not None and bounds[2] > bounds[1] and bounds[0][bounds[1]] in (0x7B, 0x5B):
            doc, start, end = bounds  # §4 step 1: '{' or '[' first; step 2: valid JSON
            result = _fast_value(rec, doc, start, end, tokens, keys, indexes)
            if result is _SLOW:
                doc = doc[start:end]
        if result is _SLOW:
            span = resolve(doc, tokens)
            result = None if span is None else render(doc, span)
        last[0], last[1] = event, result
        return result
    return value


_SLOW = object()
_LITERALS = {True: "true", False: "false", None: "null"}


def _fast_value(node, doc: bytes, start: int, end: int, tokens, keys, indexes):
    for tok, key, index in zip(tokens, keys, indexes):
        if isinstance(node, dict):
            if tok not in node:  # the parsed document has every key: absent is exact
                return None
            if doc.count(key, start, end) != 1:  # duplicates (first wins), escaped or spaced keys
                return _SLOW
            node = node[tok]
        elif isinstance(node, list):
            if index is None or not 0 <= index < len(node):
                return None
            node = node[index]
        else:
            return None
    if isinstance(node, str):
        return node
    if node is None or isinstance(node, bool):
        return _LITERALS[node]
    if isinstance(node, int) and node != 0:  # "-0" would print differently
        return str(node)
    return _SLOW


def obj(event):
    """``json.obj``: the payload indented with two spaces (§5)."""
    doc = json_payload(event)
    return None if doc is None else indent(doc)


def rawtime(event):
    """``json.rawtime``: the timestamp in ns as decimal text (§6)."""
    return None if json_payload(event) is None else str(event.ts)


class JsonPlugin(ExtractorPlugin):
    """Extractor of values from JSON payloads of any plugin source."""

    name = "json"
    version = "0.7.4"
    desc = "Extract values from any JSON payload"
    fields = _fields()
    extract_sources: list[str] = []

    def init(self, config: str) -> None:
        """Only ``useAsync`` (a boolean) is recognised and it changes nothing (§2)."""
        try:
            value = orjson.loads(config) if config and config.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise PluginError(f"init config is not JSON: {exc}", self.name) from exc
        if not isinstance(value, dict):
            raise PluginError("init config must be a JSON object", self.name)
        if not isinstance(value.get("useAsync", True), bool):
            raise PluginError("init config: useAsync must be a boolean", self.name)

    def extractor(self, field: str, arg: str | None):
        base = field.split(".", 1)[1]
        if base == "value":
            if arg is None:
                raise FieldError(f"filter {field} requires an argument but none provided")
            return value_extractor(arg)
        if arg is not None:
            raise FieldError(f"filter {field} does not allow nor require an argument "
                             f"but one is provided: {arg}")
        if base == "obj":
            return obj
        if base == "rawtime":
            return rawtime
        raise FieldError(f"filter_check called with nonexistent field {field}")

    def extract(self, event, field: str, arg: str | None):
        return self.extractor(field, arg)(event)
