"""Field-set assembly: the fields a rule may use on events of one source.

A plugin source gets the generic ``evt.*`` fields plus the fields of every
extractor that accepts it (docs/plugin-api.md §2.9); ``syscall`` gets the
syscall field set of ``scaptools.fields.syscall``. Each plugin field is wrapped
so that an unexpected exception of the plugin becomes a ``PluginError`` naming it.
"""
from __future__ import annotations

from dataclasses import replace

from scaptools.errors import FieldError, PluginError
from scaptools.fields.base import FieldInfo, FieldSet
from scaptools.plugin.api import SYSCALL_SOURCE, ExtractorPlugin, extract_sources_of


def build_fieldset(registry, source: str) -> FieldSet | None:
    """The field set of ``source`` with the plugins of ``registry``; ``None`` if unknown."""
    from scaptools.fields.generic import add_generic_fields
    if source == SYSCALL_SOURCE:
        from scaptools.fields.syscall import syscall_fieldset
        return syscall_fieldset()
    if source not in registry.sources():
        return None
    fs = FieldSet(source)
    add_generic_fields(fs, registry, source)
    for plugin in registry.extractors():
        accepted = extract_sources_of(plugin)
        if accepted is not None and source not in accepted:
            continue
        for info in plugin.fields:
            fs.add(with_provider(info, plugin.name), field_factory(plugin, info.name, source))
            if "index" in info.tags:  # the engine indexes rules by this field's values
                fs.index_field = info.name
    return fs


def with_provider(info: FieldInfo, provider: str) -> FieldInfo:
    """``info`` naming the plugin that provides it, unless it names one already."""
    return info if info.provider else replace(info, provider=provider)


def field_factory(plugin: ExtractorPlugin, name: str, source: str):
    """``make(arg) -> fn(event)`` for one plugin field on events of ``source``."""
    by_source = getattr(plugin, "extractor_for_source", None)  # C plugins want the source name

    def make(arg):
        try:
            return by_source(source, name, arg) if by_source else plugin.extractor(name, arg)
        except (FieldError, PluginError):
            raise
        except Exception as exc:
            raise PluginError(f"cannot extract field '{name}': {exc}", plugin.name) from exc
    return make


def common_sources(a: set | None, b: set | None) -> set:
    """The sources two extractors share; ``None`` stands for every plugin source (``*``)."""
    if a is None or b is None:
        return (a or b) if (a or b) is not None else {"*"}
    return a & b
