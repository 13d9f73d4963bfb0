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
