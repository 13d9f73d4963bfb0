"""The event table (vendored ``data/event_table.json``), loaded once at import."""
from __future__ import annotations

import json
from importlib import resources

TABLE = json.loads(resources.files(__package__).joinpath("data/event_table.json").read_text())
EVENTS = TABLE["events"]
EVENT_NAMES: list[str] = [e["name"] for e in EVENTS]
EVENT_DIRECTIONS: list[str] = [">" if e["direction"] == "enter" else "<" for e in EVENTS]
LARGE_PAYLOAD: frozenset[int] = frozenset(e["id"] for e in EVENTS if e["large_payload"])
EVENT_NPARAMS: list[int] = [e["nparams"] for e in EVENTS]


def ignored_by_default() -> frozenset[str]:
    """The event types Falco leaves out unless ``-A``: the syscalls whose events are of the
    high-volume I/O categories (EC_IO_READ, EC_IO_WRITE), less those libsinsp needs for its
    state (an event flagged EF_MODIFIES_STATE; no I/O syscall is UF_NEVER_DROP), as their
    event names (libsinsp's ``io_sc_set().diff(sinsp_state_sc_set())``)."""
    io = {e["name"] for e in EVENTS if e["category"] in ("EC_IO_READ", "EC_IO_WRITE")}
    state = {e["name"] for e in EVENTS if "EF_MODIFIES_STATE" in e["flags"]}
    return frozenset(io - state)
