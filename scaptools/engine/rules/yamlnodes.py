"""Reading YAML as Falco does: scalars as raw text, positions for every node.

PyYAML's constructors would turn ``on`` into True and ``1.10`` into 1.1
(docs/rules-language.md §1.2), so the reader works on the composed node graph
(``yaml.compose_all``) and decodes scalars explicitly here, with Falco's
checks, messages and locations: a missing or empty key is reported at the
item, a value of the wrong shape at the value (``value for 'key'``), a bad
element of a sequence at the element (``list item``).
"""
from __future__ import annotations

import yaml

from scaptools.engine.diagnostics import LOAD_ERR_YAML_VALIDATE, Context, fail

try:  # libyaml is much faster on big rules files
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

NULL_TAG = "tag:yaml.org,2002:null"
_TRUE = {"true", "yes", "y", "on"}
_FALSE = {"false", "no", "n", "off"}


def compose_documents(text: str) -> list:
    """Every YAML document of ``text`` as a node (None for empty documents)."""
    return list(yaml.compose_all(text, Loader=_Loader))


def is_null(node) -> bool:
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG
                            and not node.style)  # libyaml gives '' for plain


def mapping(node) -> dict:
    """Keys (as text) to value nodes of a mapping node, in order."""
    return {k.value if isinstance(k, yaml.ScalarNode) else str(k.value): v for k, v in node.value}


def spelled_bool(text: str) -> bool | None:
    """yaml-cpp's boolean spellings: lower case, Capitalised or UPPER (§1.2)."""
    if text not in (text.lower(), text.capitalize(), text.upper()):
        return None
    low = text.lower()
    return True if low in _TRUE else False if low in _FALSE else None


class ItemReader:
    """Decodes the values of one item mapping, failing with Falco's messages (§1.2)."""

    def __init__(self, node, ctx: Context):
        self.node = node
        self.map = mapping(node)
        self.ctx = ctx

    def has(self, key: str) -> bool:
        return key in self.map

    def value_ctx(self, key: str, kind: str = "value for") -> Context:
        """The context of ``key``'s value (Falco's ``value for 'key'``)."""
        node = self.map.get(key)
        if node is None:
            return self.ctx
        return self.ctx.at(node.start_mark, kind, key if kind == "value for" else "")

    def _fail(self, message: str, ctx: Context | None = None):
        return fail(LOAD_ERR_YAML_VALIDATE, message, ctx or self.ctx)

    def scalar(self, key: str, required: bool = True, non_empty: bool = True) -> str | None:
        """The raw text of a scalar value (None when optional and absent)."""
        if key not in self.map:
            if required:
                raise self._fail(f"Item has no mapping for key '{key}'")
            return None
        node = self.map[key]
        if is_null(node):
            raise self._fail(f"Mapping for key '{key}' is empty")
        if not isinstance(node, yaml.ScalarNode):
            raise self._fail("Value is not a scalar value", self.value_ctx(key))
        if non_empty and node.value == "":
            raise self._fail("Value must be non-empty", self.value_ctx(key))
        return node.value

    def boolean(self, key: str) -> bool | None:
        text = self.scalar(key, required=False)
        if text is None:
            return None
        value = spelled_bool(text)
        if value is None:
            raise self._fail("Can't decode YAML scalar value", self.value_ctx(key))
        return value

    def integer(self, key: str) -> int | None:
        text = self.scalar(key, required=False)
        if text is None:
            return None
        try:
            return int(text, 10)
        except ValueError:
            raise self._fail("Can't decode YAML scalar value", self.value_ctx(key)) from None

    def strings(self, key: str, required: bool = False) -> list[str] | None:
        """A sequence of scalars as texts (None when optional and absent)."""
        if key not in self.map:
            if required:
                raise self._fail(f"Item has no mapping for key '{key}'")
            return None
        node, valctx = self.map[key], self.value_ctx(key)
        if not isinstance(node, yaml.SequenceNode):
            raise self._fail("Value is not a sequence", valctx)
        out = []
        for child in node.value:
            if not isinstance(child, yaml.ScalarNode) or is_null(child):
                raise self._fail("sequence value is not scalar",
                                 valctx.at(child.start_mark, "list item"))
            out.append(child.value)
        return out
