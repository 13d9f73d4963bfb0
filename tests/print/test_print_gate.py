"""The ``evt.type`` gate of print filters selects exactly what the condition alone selects."""
from __future__ import annotations

import pytest

from scaptools.engine import compile_filter as engine_filter
from scaptools.view.filtering import compile_filter, gate_types, type_names
from scaptools.fields.syscall import syscall_fieldset
from scaptools.format.reader import open_capture
from scaptools.state import tracked_events

CAPTURES = ["curl_google.scap", "sample.scap", "single_ipv6_conn.scap"]
CONDITIONS = [
    "evt.type=open and fd.name contains /etc",
    "evt.type in (open, openat, close) and evt.dir = <",
    "evt.type = mprotect or evt.type = clock_gettime",  # generic events (ids 0/1)
    "not evt.type in (switch, mmap, brk, mprotect)",
    "evt.type != read and evt.num < 400",
    "(evt.type = read or proc.name = curl) and evt.dir = >",
    "evt.type = syscall",
    "evt.type = open and not evt.type = open",
    "evt.type exists and evt.type startswith clo",
    "fd.num = 3",
]


@pytest.mark.parametrize("name", CAPTURES)
def test_gated_filter_selects_what_the_condition_selects(shared, name):
    path = shared / "captures" / "libs-e2e" / name
    gated = [compile_filter(text) for text in CONDITIONS]
    plain = [engine_filter(text, syscall_fieldset()) for text in CONDITIONS]
    hits = [0] * len(CONDITIONS)
    with open_capture(path) as reader:
        for event in tracked_events(reader):
            for i, (a, b) in enumerate(zip(gated, plain)):
                got = a(event)
                assert got == b(event), (CONDITIONS[i], event)
                gate = a.types
                assert gate is None or not got or event.type in gate
                hits[i] += got
    assert hits[3] > 0 and hits[4] > 0 and sum(hits) > hits[3] + hits[4], hits
    if name == "curl_google.scap":  # opens of /etc files and generic events
        assert hits[0] > 0 and hits[2] > 0


def test_gate_types():
    assert gate_types(type_names("evt.type=open")) >= {2, 3}
    assert 0 in gate_types(type_names("evt.type=mprotect"))  # a generic event's syscall
    assert 0 not in gate_types(type_names("evt.type=procexit"))
    assert type_names("fd.num = 3 or evt.type = open") is None
    assert 2 not in gate_types(type_names("not evt.type = open"))


def test_plugin_events_without_plugins_match_nothing():
    from scaptools.events.event import Event
    assert compile_filter("evt.num > 0")(Event.plugin(1, 2, b"{}", num=1)) is False
