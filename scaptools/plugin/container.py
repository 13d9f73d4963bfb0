"""The ``container`` extractor plugin that Falco's rules require (host values only).

falco_rules.yaml requires a ``container`` plugin (>= 0.4.0). Its fields are
served by the syscall field set (``scaptools.fields.syscall.container``), so
this plugin only answers the version check; register it with
``Registry.register``.
"""
from __future__ import annotations

from scaptools.fields.syscall.container import container_fields
from scaptools.plugin.api import ExtractorPlugin


class ContainerPlugin(ExtractorPlugin):
    name = "container"
    version = "0.4.0"
    desc = "container.* fields of syscall events (host values without metadata)"
    extract_sources = ["syscall"]
    fields = [info for info, _factory in container_fields().items]

    def extract(self, event, field, arg):
        for info, factory in container_fields().items:
            if info.name == field:
                return factory(arg)(event)
        return None


def container_plugin() -> ContainerPlugin:
    """A new ``container`` plugin."""
    return ContainerPlugin()
