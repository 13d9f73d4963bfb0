"""``container.*`` fields, from the container events of the capture (``state/containers.py``).

A thread whose cgroups name no container runs on the host: as in libsinsp,
``container.id`` and ``container.name`` are then ``host`` and the image fields
have no value (Falco's rules test them with ``exists``/``in``).
"""
from __future__ import annotations

from scaptools.state.containers import container_value
from scaptools.fields.syscall.common import FieldAdder, event_state, event_thread


def _field(key: str):
    def extract(ev):
        thread = event_thread(ev)
        return container_value(event_state(ev), thread, key) if thread is not None else None
    return extract


def container_fields() -> FieldAdder:
    a = FieldAdder()
    for name, key, type_ in (("container.id", "id", "string"), ("container.name", "name", "string"),
                             ("container.image", "image", "string"),
                             ("container.image.id", "image_id", "string"),
                             ("container.image.repository", "repository", "string"),
                             ("container.image.tag", "tag", "string"),
                             ("container.image.digest", "digest", "string"),
                             ("container.type", "type", "string"),
                             ("container.privileged", "privileged", "bool")):
        a.simple(name, type_, f"{name} (container events; host values without)", _field(key))
    a.simple("container.start_ts", "abstime", "container start (not recorded)", lambda ev: None)
    a.simple("k8s.ns.name", "string", "Kubernetes namespace (no metadata)", lambda ev: None)
    a.simple("k8s.pod.name", "string", "Kubernetes pod (no metadata)", lambda ev: None)
    return a

