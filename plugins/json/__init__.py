"""The ``json`` extractor plugin: ``json.value[/ptr]``, ``json.obj``, ``json.rawtime`` (json-plugin.md).

It has no event source and declares no extraction sources, so its fields are
offered on every plugin source (json-plugin.md §1.1; not on ``syscall``, the
deviation the spec allows). Every field has no value unless the payload starts
with ``{`` or ``[`` and is valid JSON (§4 steps 1-2, §7); validity comes from
``Event.json``, parsed once per event and shared with the other extractors.
"""
from __future__ import annotations

from scaptools.errors import FieldError
from scaptools.fields.base import ARG_NONE, ARG_REQUIRED, FieldInfo
from scaptools.plugin import ExtractorPlugin

from .rawjson import compact, indent, pointer_tokens, render, resolve

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
    """``json.value[pointer]`` (§4)."""
    if pointer == "":
        def whole(event):
            doc = json_payload(event)
            return None if doc is None else compact(doc).decode("utf-8", "replace")
        return whole
    tokens = pointer_tokens(pointer)

    def value(event):
        doc = json_payload(event)
        if doc is None:
            return None
        span = resolve(doc, tokens)
        return None if span is None else render(doc, span)
    return value


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
        """Only ``useAsync`` is recognised and it changes nothing (§2)."""

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
