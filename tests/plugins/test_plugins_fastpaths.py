"""The fast paths of the plugin fields give exactly what their exact paths give.

``json.fast.parsed`` against ``Event.json``; ``json.value`` against the byte-level
walker alone (docs/json-plugin.md §4: first duplicate wins, literal numbers, original
escapes); ``ct.name``'s bytes scan against the parsed record (docs/cloudtrail-plugin.md
§7.1). Inputs: the real records of the shared CloudTrail logs, and variants of
them that hypothesis builds (odd event names, duplicates, spacing, escapes).
"""
from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.events.event import Event, parse_json
from scaptools_plugins.cloudtrail.fields import ct_name
from scaptools_plugins.cloudtrail.record import string_at
from scaptools_plugins.json import value_extractor
from scaptools_plugins.json.fast import parsed, payload_bounds
from scaptools_plugins.json.rawjson import pointer_tokens, render, resolve

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def plugin_event(payload: bytes) -> Event:
    return Event.plugin(1_600_000_000_000_000_000, 2, payload)


def exact_value(payload: bytes, pointer: str):
    """``json.value[pointer]`` by the spec's steps only: first byte, validity, raw walk."""
    if not payload or payload[0] not in b"{[" or parse_json(payload) is None:
        return None
    span = resolve(payload, pointer_tokens(pointer))
    return None if span is None else render(payload, span)


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@st.composite
def pointers(draw, doc):
    """A JSON pointer into ``doc`` (sometimes one step past a leaf or to a missing key)."""
    node, tokens = doc, []
    while True:
        if isinstance(node, dict) and node and draw(st.integers(0, 4)):
            key = draw(st.sampled_from(sorted(node)))
            tokens.append(escape(key))
            node = node[key]
        elif isinstance(node, list) and node and draw(st.integers(0, 4)):
            index = draw(st.integers(0, len(node)))
            tokens.append(str(index))
            node = node[index] if index < len(node) else None
        else:
            if draw(st.booleans()):
                tokens.append(draw(st.sampled_from(["0", "x", "eventName", "-1"])))
            return "/" + "/".join(tokens)


def test_parsed_is_event_json(all_records):
    odd = [b"", b"not json", b"null", b" {}", b"[1, 2]", b"\x00{}\x00", b'{"a":1', b"\xff"]
    for payload in all_records + odd:
        assert parsed(plugin_event(payload)) == parse_json(payload), payload[:60]
    for params in ([b"\x02\x00\x00\x00"], [b"\x02\x00\x00\x00", b'{"a":1}', b"x"], []):
        ev = Event.from_params(322, params)
        want = Event.from_params(322, params).json
        assert parsed(ev) == want
    syscall = Event.from_params(1, [b"\x00\x00"])
    assert payload_bounds(syscall) is None and parsed(syscall) is None


def test_parsed_is_shared_with_event_json(all_records):
    ev = plugin_event(all_records[0])
    assert parsed(ev) is ev.json  # one parse per event, whoever asks first


@SETTINGS
@given(data=st.data())
def test_json_value_fast_path_equals_the_raw_walk(all_records, data):
    payload = data.draw(st.sampled_from(all_records))
    pointer = data.draw(pointers(orjson.loads(payload)))
    assert value_extractor(pointer)(plugin_event(payload)) == exact_value(payload, pointer)


def test_json_value_on_every_top_level_member(all_records):
    for payload in all_records[:400]:
        ev = plugin_event(payload)
        for key in orjson.loads(payload):
            pointer = "/" + escape(key)
            assert value_extractor(pointer)(ev) == exact_value(payload, pointer), (key, payload)


def test_json_value_duplicates_and_numbers_take_the_exact_path():
    payload = b'{"a":{"b":1},"a":{"b":2},"n":-0,"f":1.50,"e":1e2,"s":"x\\u0041"}'
    for pointer in ("/a/b", "/a", "/n", "/f", "/e", "/s"):
        assert value_extractor(pointer)(plugin_event(payload)) == exact_value(payload, pointer)
    assert value_extractor("/a/b")(plugin_event(payload)) == "1"  # the first one wins


names = st.one_of(st.text(max_size=12), st.sampled_from(["ConsoleLogin", 'a"b', "a\\b", "é", ""]))


@SETTINGS
@given(data=st.data(), name=names, nested=st.booleans(), spaced=st.booleans(),
       ascii_only=st.booleans(), duplicate=st.one_of(st.none(), names))
def test_ct_name_scan_equals_the_parsed_record(all_records, data, name, nested, spaced,
                                               ascii_only, duplicate):
    rec = orjson.loads(data.draw(st.sampled_from(all_records)))
    rec["eventName"] = name
    if nested:
        rec["requestParameters"] = {"eventName": "Nested"}
    if spaced:
        text = json.dumps(rec, ensure_ascii=ascii_only).encode()
    else:
        text = json.dumps(rec, ensure_ascii=ascii_only, separators=(",", ":")).encode()
    if duplicate is not None:  # a second top-level member, spelled with a space: the first wins
        text = text[:-1] + b', "eventName" : ' + json.dumps(duplicate).encode() + b"}"
    want = string_at(first_member_wins(text), ("eventName",))
    assert ct_name(plugin_event(text)) == want


def first_member_wins(text: bytes):
    """The record as upstream's parser reads it: a member named twice keeps its first value."""
    return json.loads(text, object_pairs_hook=lambda pairs: dict(reversed(pairs)))


def test_ct_name_scan_on_every_real_record(all_records):
    for payload in all_records:
        assert ct_name(plugin_event(payload)) == string_at(orjson.loads(payload), ("eventName",))


@pytest.mark.parametrize("payload,want", [
    (b'{"eventName":"A","x":"eventName"}', "A"),  # the key's text as a value: exact path
    (b'{"eventName":"A", "eventName" : "B"}', "A"),  # the first member, as upstream
    (b'{"eventName" : "A","eventName":"B"}', "A"),
    (b'{"eventName":"\\u0041","eventName":"B"}', "A"),
    (b'{"eventName":"caf\\u00e9"}', "caf\u00e9"),
    (b'{"eventName":null}', ""),
])
def test_ct_name_odd_payloads(payload, want):
    assert ct_name(plugin_event(payload)) == want
