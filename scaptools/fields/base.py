"""What the rule engine knows about fields: ``FieldInfo`` and per-source ``FieldSet``.

Every provider of fields (generic ``evt.*`` fields, extractor plugins, the
syscall fields) fills a ``FieldSet``; the engine compiles conditions and
outputs only through ``FieldSet.lookup`` / ``FieldSet.extractor``.

An extractor is a callable ``fn(event) -> value``; it returns ``None`` when the
field has no value for that event (Falco's "missing field", docs/rules-language.md §6.1).
Value types by ``FieldInfo.type``: ``string`` -> str, ``uint64``/``int64``/
``reltime``/``abstime``/``port`` -> int, ``bool`` -> bool, ``ipaddr``/``ipnet`` -> str;
a list field returns a list of those (possibly empty).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import FieldError

FIELD_TYPES = ("string", "uint64", "int64", "bool", "reltime", "abstime", "ipaddr", "ipnet",
               "port", "double", "bytebuf")
ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED = "none", "optional", "required"
# FieldInfo.tags: libsinsp's EPF_FILTER_ONLY (a condition may test the field, an output or a
# format string may not show it); SIDES: the extractor gives the values of both ends of a
# connection as a tuple and a check holds when one of them passes ('!=': when none is equal);
# WINDOW: the extractor gives (event time, T) and '= D' holds when T is within D ms of it
FILTER_ONLY, SIDES, WINDOW = "filter_only", "sides", "window"

Extractor = Callable[[object], object]
Factory = Callable[[str | None], Extractor]  # builds an extractor for one argument


@dataclass(frozen=True)
class FieldInfo:
    """One field: name, value type, list-ness, argument kind and description.

    ``arg`` tells whether the field takes an argument (``none``/``optional``/
    ``required``); ``arg_kind`` is ``index`` (``[0]``), ``key`` (``[/a/b]``) or
    ``dotted`` (``evt.arg.name`` style, also accepted as ``evt.arg[name]``).
    """

    name: str
    type: str = "string"
    is_list: bool = False
    arg: str = ARG_NONE
    arg_kind: str = "key"
    desc: str = ""
    provider: str = ""  # plugin or module that provides the field
    tags: tuple = field(default=())


class FieldSet:
    """The fields available for one event source."""

    def __init__(self, source: str):
        self.source = source
        self._infos: dict[str, FieldInfo] = {}
        self._factories: dict[str, Factory] = {}
        self._cache: dict[tuple[str, str | None], Extractor] = {}

    def add(self, info: FieldInfo, factory: Factory) -> None:
        """Register a field; a second provider for the same name is an error."""
        if info.name in self._infos:
            other = self._infos[info.name].provider
            raise FieldError(f"field '{info.name}' for source '{self.source}' is provided by "
                             f"both '{other}' and '{info.provider}'", code="LOAD_ERR_VALIDATE")
        self._infos[info.name] = info
        self._factories[info.name] = factory

    def __iter__(self) -> Iterator[FieldInfo]:
        return iter(self._infos.values())

    def __contains__(self, name: str) -> bool:
        return self.lookup(name) is not None

    def lookup(self, name: str) -> FieldInfo | None:
        """The field named ``name``; a dotted-argument field also matches ``name.arg``."""
        info = self._infos.get(name)
        if info is not None:
            return info
        base, arg = split_dotted(name, self._infos)
        return self._infos.get(base) if arg is not None else None

    def extractor(self, name: str, arg: str | None = None, filtering: bool = False) -> Extractor:
        """A callable giving the value of ``name[arg]`` for an event (or ``None``).

        Raises ``FieldError`` for an unknown field or a missing/unexpected argument, and
        for a filter-only field unless ``filtering`` (a condition asks for it).
        """
        info = self._infos.get(name)
        if info is None:
            base, dotted = split_dotted(name, self._infos)
            if dotted is None:
                raise FieldError(f"filter_check called with nonexistent field {name}")
            info, arg = self._infos[base], dotted
            name = base
        if arg is None and info.arg == ARG_REQUIRED:
            raise FieldError(f"filter {name} requires an argument")
        if arg is not None and info.arg == ARG_NONE:
            raise FieldError(f"filter {name} does not support an argument")
        if not filtering and FILTER_ONLY in info.tags:
            raise FieldError(f"{name} is filter only and cannot be used as a display field")
        key = (name, arg)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._cache[key] = self._factories[name](arg)
        return fn


def split_dotted(name: str, infos: dict[str, FieldInfo]) -> tuple[str, str | None]:
    """``evt.arg.fd`` -> (``evt.arg``, ``fd``) when ``evt.arg`` takes a dotted argument."""
    pos = name.rfind(".")
    while pos > 0:
        base = name[:pos]
        info = infos.get(base)
        if info is not None and info.arg_kind == "dotted":
            return base, name[pos + 1:]
        pos = name.rfind(".", 0, pos)
    return name, None
