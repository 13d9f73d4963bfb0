"""A CloudTrail record with a member named twice: every field takes the first occurrence, as the
upstream plugin's JSON parser does (docs/cloudtrail-plugin.md §7.1)."""
from __future__ import annotations

import json

import orjson
import pytest

from scaptools.events.event import Event
from scaptools.plugin.registry import Registry
from scaptools_plugins.cloudtrail.fields import FIELDS

# arguments of the fields that take one, chosen to reach into the records
ARGS = {"ec2.imageids": (None, "0", "1")}
JSON_TEXTS = {"ct.request", "ct.response", "ct.additionaleventdata", "json.value"}  # spec §7.2
JSON_POINTERS = ("/eventName", "/userIdentity/type", "/requestParameters",
                 "/responseElements/instancesSet/items/0/instanceId", "/additionalEventData/MFAUsed")


def other(value):
    """A different value of another kind, for the second occurrence."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return 987654321
    if isinstance(value, str):
        return {"duplicate": value}
    if value is None:
        return "not null"
    return "duplicate"


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def doubled(value) -> str:
    """``value`` as compact JSON where every member of every object is written twice: first
    as it is, then once more with another value."""
    if isinstance(value, dict):
        firsts = [f"{dumps(k)}:{doubled(v)}" for k, v in value.items()]
        seconds = [f"{dumps(k)}:{dumps(other(v))}" for k, v in value.items()]
        return "{" + ",".join(firsts + seconds) + "}"
    if isinstance(value, list):
        return "[" + ",".join(doubled(v) for v in value) + "]"
    return dumps(value)


@pytest.fixture(scope="module")
def fs():
    return Registry.from_entry_points().fieldset("aws_cloudtrail")


def values(fs, payload: bytes) -> dict:
    out = {}
    for info in FIELDS:
        for arg in ARGS.get(info.name, (None,)):
            out[info.name, arg] = fs.extractor(info.name, arg)(Event.plugin(1, 2, payload))
    for pointer in JSON_POINTERS:
        out["json.value", pointer] = fs.extractor("json.value", pointer)(
            Event.plugin(1, 2, payload))
    return out


def expected(key, value):
    """A field's value on the doubled record: the same, except that a value rendered as JSON
    text is the text of the first occurrence, which shows its own members twice."""
    if key[0] in JSON_TEXTS and isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return doubled(json.loads(value))
        except ValueError:
            return value
    return value


def test_every_field_takes_the_first_of_duplicate_members(fs, shipped_payloads):
    checked = 0
    for payload in shipped_payloads.values():
        twice = doubled(orjson.loads(payload)).encode()
        assert len(json.loads(twice, object_pairs_hook=list)) > len(orjson.loads(payload))
        assert values(fs, twice) == {k: expected(k, v) for k, v in values(fs, payload).items()}
        checked += 1
    assert checked >= 200


def test_event_json_keeps_the_first_member():
    event = Event.plugin(1, 2, b'{"eventName":"A","userIdentity":{"type":"Root","type":"IAMUser"},'
                               b'"note":"say \\":\\" twice","eventName":"B"}')
    assert event.json == {"eventName": "A", "userIdentity": {"type": "Root"},
                          "note": 'say ":" twice'}
