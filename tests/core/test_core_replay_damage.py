"""Damaged syscall events in the core's replay: the fields whose Python extractors read an
event's parameters (and so raise DamagedEvent when they run past its end) are the ones
core/src/replay/damage.rs names, event by event; and a replay whose rule reads such a
field on a damaged event stops with the Python path's error after the same alerts."""
from __future__ import annotations

from pathlib import Path

import pytest

from scaptools.errors import DamagedEvent
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.plugin.registry import Registry
from scaptools.state import State, tracked_events

from ..conftest import SHARED
from .coreutil import core_or_skip
from .test_core_replay_syscall import same

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = [ROOT / "captures" / "syscall_shell.scap"] + \
    [SHARED / "captures" / "libs-e2e" / n for n in ("sample.scap", "curl_google.scap",
                                                    "test_ipv6_client.scap")]
FIELDS = [("evt.res", None), ("evt.rawres", None), ("evt.failed", None),
          ("evt.count.error", None), ("evt.count.error.file", None), ("evt.buflen", None),
          ("evt.args", None), ("evt.info", None), ("evt.arg", "fd"), ("evt.arg", "0"),
          ("evt.arg", "3"), ("evt.rawarg", "name"), ("evt.rawarg", "res"),
          ("evt.is_open_read", None), ("evt.is_open_write", None), ("evt.abspath", None),
          ("evt.abspath.dst", None), ("fdlist.names", None), ("evt.type", None),
          ("proc.name", None), ("fd.name", None), ("evt.category", None),
          ("evt.latency", None), ("evt.count.exit", None), ("user.name", None)]


def damaged_copy(ev) -> Event:
    """``ev`` with its last parameter's length past its end (the same cache)."""
    raw = bytearray(ev.raw)
    at = 26 + 2 * (ev.nparams - 1)
    raw[at:at + 2] = (0xFFF0).to_bytes(2, "little")
    copy = Event(ev.num, ev.ts, ev.cpu, ev.tid, ev.type, ev.nparams, bytes(raw))
    cache = getattr(ev, "_cache", None)
    if cache is not None:
        copy._cache = cache
    return copy


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_fields_that_read_parameters_are_the_python_ones(path):
    core = core_or_skip()
    if not path.is_file():
        pytest.skip(f"{path.name} is absent (fresh clone without ../shared)")
    fieldset = Registry.from_entry_points().fieldset("syscall")
    extractors = [(name, arg, fieldset.extractor(name, arg)) for name, arg in FIELDS]
    walk = core.StateWalk(str(path))
    checked = 0
    with open_capture(path) as reader:
        for ev in tracked_events(reader, State()):
            assert walk.step()[0] == ev.num
            if ev.is_plugin or ev.nparams == 0 or ev.type in (322,):
                continue
            broken = damaged_copy(ev)
            for name, arg, fn in extractors:
                try:
                    fn(broken)
                    raised = False
                except DamagedEvent:
                    raised = True
                assert core.Rules.reads_params(name, arg, walk) == raised, \
                    (ev.num, ev.name, ev.direction, name, arg)
                checked += 1
    assert checked > 100


RULES = """
- rule: Exit results
  desc: the results of some exits
  condition: evt.type in (open, close, read, mmap) and evt.dir = < and evt.rawres >= 0
  output: "%evt.type %evt.res %proc.name"
  priority: INFO
- rule: Header only
  desc: fields that never read parameters
  condition: evt.type = fstat and proc.name exists
  output: "%evt.num %proc.name %fd.name"
  priority: INFO
"""


@pytest.mark.parametrize("which, direction", [
    ("open", "<"), ("close", ">"), ("close", "<"), ("read", ">"), ("read", "<"),
    ("fstat", ">"), ("fstat", "<"), ("mmap", ">"), ("mmap", "<")])
def test_replay_stops_where_python_stops(monkeypatch, tmp_path, which, direction):
    """The first event of a type and direction damaged: the same alerts, then the same
    DamagedEvent or none (a rule that reads only the header goes on)."""
    core_or_skip()
    source = SHARED / "captures" / "libs-e2e" / "curl_google.scap"
    if not source.is_file():
        pytest.skip("../shared/captures/libs-e2e is absent")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    with open_capture(source) as reader:
        events, metadata = list(reader), None
        metadata = list(reader.metadata)
    hit = next((n for n, ev in enumerate(events)
                if ev.name == which and ev.direction == direction and ev.nparams), None)
    if hit is None:
        pytest.skip(f"no {which} {direction} event")
    events[hit] = damaged_copy(events[hit])
    path = tmp_path / "damaged.scap"
    with CaptureWriter(path, metadata=metadata) as writer:
        for ev in events:
            writer.write(ev)
    same(monkeypatch, [path], [rules])
