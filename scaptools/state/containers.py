"""Container metadata: ``container`` events (ids 228, 272, 324; docs/format.md §10.3).

Their JSON (``{"container": {"id", "name", "image", "imagerepo", "imagetag",
"imagedigest", "imageid", "privileged", "type", ...}}``) fills a table by
container id; a thread belongs to the container whose id appears in its
cgroups (``/docker/<id>``, ``cri-containerd-<id>.scope``, ...). Threads without
one run on the host (libsinsp's ``host``).
"""
from __future__ import annotations

import re

import orjson

_CGROUP_ID = re.compile(r"(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:$|/)")
CONTAINER_TYPES = {0: "docker", 1: "lxc", 2: "libvirt-lxc", 3: "mesos", 4: "rkt", 5: "custom",
                   6: "rkt", 7: "cri", 8: "containerd", 9: "cri-o", 10: "bpm", 11: "static",
                   12: "podman"}


def on_container(state, thread, event, params) -> None:
    """Store the container described by a container event."""
    if "json" in params:
        try:
            info = orjson.loads(params["json"] or b"{}").get("container") or {}
        except (orjson.JSONDecodeError, AttributeError):
            return
    else:  # the oldest event: id, type, name, image
        info = {"id": params.get("id"), "type": params.get("type"),
                "name": params.get("name"), "image": params.get("image")}
    cid = info.get("id")
    if isinstance(cid, str) and cid:
        state.containers[cid[:12]] = info


def container_id(thread) -> str:
    """The 12-character container id of a thread, or ``host``."""
    cached = getattr(thread, "_container", None)
    if cached is not None:
        return cached
    cid = "host"
    for item in thread.cgroups:
        m = _CGROUP_ID.search(item.partition("=")[2])
        if m:
            cid = m.group(1)[:12]
            break
    thread._container = cid
    return cid


def container_value(state, thread, key: str):
    """One field of the thread's container (``None`` when unknown)."""
    cid = container_id(thread)
    if key == "id":
        return cid
    if cid == "host":
        return "host" if key == "name" else None
    info = state.containers.get(cid) if state is not None else None
    if info is None:
        return None
    if key == "type":
        value = info.get("type")
        return CONTAINER_TYPES.get(value, str(value)) if isinstance(value, int) else value
    if key == "repository":
        return info.get("imagerepo") or (info.get("image") or "").rsplit(":", 1)[0] or None
    return info.get({"image": "image", "tag": "imagetag", "digest": "imagedigest",
                     "image_id": "imageid", "privileged": "privileged",
                     "name": "name"}.get(key, key))
