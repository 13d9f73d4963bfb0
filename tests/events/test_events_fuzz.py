"""Decoding and rendering never fail on arbitrary parameter bytes (mutated captures)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.events.event import Event
from scaptools.view.lines import default_line, json_line
from scaptools.events.params import decode_params
from scaptools.events.render import render_args
from scaptools.events.table import EVENTS
from scaptools.state import State

TYPES = [e["id"] for e in EVENTS if e["params"] and not e["large_payload"]]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TYPES), st.lists(st.binary(max_size=40), max_size=8),
       st.integers(min_value=0, max_value=2**16))
def test_any_parameter_bytes_decode_and_render(etype, params, tid):
    event = Event.from_params(etype, params, tid=tid, ts=1)
    decode_params(event)
    state = State()
    state.update(event)
    render_args(event, state)
    assert default_line(event, state).startswith("0 ")
    json_line(event, state)
