"""``container.*`` fields: host values (captures without container metadata).

A thread whose cgroups name no container runs on the host: libsinsp then gives
``container.id`` = ``host`` and ``container.name`` = ``host``; the image fields
have no value (Falco's rules test them with ``exists``/``in``).
"""
from __future__ import annotations

from .common import FieldAdder, event_thread


def _host(value):
    def extract(ev):
        return value if event_thread(ev) is not None else None
    return extract


def container_fields() -> FieldAdder:
    a = FieldAdder()
    a.simple("container.id", "string", "container id (host)", _host("host"))
    a.simple("container.name", "string", "container name (host)", _host("host"))
    a.simple("container.privileged", "bool", "privileged container", lambda ev: None)
    a.simple("container.start_ts", "abstime", "container start", lambda ev: None)
    for name in ("container.image", "container.image.id", "container.image.repository",
                 "container.image.tag", "container.image.digest", "container.type"):
        a.simple(name, "string", f"{name} (no container metadata)", lambda ev: None)
    a.simple("k8s.ns.name", "string", "Kubernetes namespace (no metadata)", lambda ev: None)
    a.simple("k8s.pod.name", "string", "Kubernetes pod (no metadata)", lambda ev: None)
    return a


def container_plugin():
    """An extractor plugin named ``container`` for Falco's ``required_plugin_versions``.

    falco_rules.yaml requires a ``container`` plugin (>= 0.4.0). Its fields are
    served by the syscall field set above (host values), so this plugin only
    answers the version check; register it with ``Registry.register``.
    """
    from ..plugin import ExtractorPlugin

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

    return ContainerPlugin()
