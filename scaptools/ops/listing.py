"""What the loaded plugins provide (``scap list-fields`` and ``scap list-plugins``)."""
from __future__ import annotations

from typing import Iterator

from scaptools.errors import OptionError
from scaptools.plugin.api import is_extractor, is_source


def field_lines(registry, source: str | None = None) -> Iterator[str]:
    """The fields of every event source of ``registry`` (or of ``source``): name, type,
    description, one line each, a heading per source.

    Raises OptionError for a source the registry does not know.
    """
    for name in [source] if source else registry.sources():
        fields = registry.fieldset(name)
        if fields is None:
            raise OptionError(f"unknown event source '{name}' "
                              f"(known: {', '.join(registry.sources())})")
        yield f"Event source: {name}"
        for info in fields:
            if "hidden" in info.tags:  # a plugin field kept out of listings (docs/plugin-api.md §2.7)
                continue
            kind = f"{info.type} list" if info.is_list else info.type
            arg = {"required": " [arg required]", "optional": " [arg optional]"}.get(info.arg, "")
            yield f"  {info.name:<42} {kind:<12} {info.desc}{arg}"
        yield ""


def plugin_lines(registry) -> Iterator[str]:
    """Every loaded plugin: name, version, description, capabilities with plugin id,
    event source and field count."""
    for name, plugin in sorted(registry.by_name.items()):
        yield f"{name} {plugin.version}"
        yield f"  {plugin.desc}"
        if is_source(plugin):
            yield f"  source (id {plugin.id}, event source {plugin.event_source})"
        if is_extractor(plugin):
            sources = ", ".join(plugin.extract_sources) or (
                plugin.event_source if is_source(plugin) else "all plugin sources")
            yield f"  extractor ({len(plugin.fields)} fields; sources: {sources})"
