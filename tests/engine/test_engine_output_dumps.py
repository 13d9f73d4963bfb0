"""The alert text helpers (§10) against the standard library: ``dumps_sorted`` writes what
``json.dumps`` writes; the time texts are what ``time.strftime`` gives."""
from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.engine.output import Clock, dumps_sorted

scalars = st.one_of(st.text(), st.characters(), st.integers(-2**70, 2**70), st.none(),
                    st.booleans(), st.floats(allow_nan=True, allow_infinity=True))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.lists(st.lists(scalars)))


def reference(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@settings(max_examples=500, deadline=None)
@given(fields=st.dictionaries(st.text(), values), rule=st.text(), tags=st.lists(st.text()))
def test_same_text_as_json_dumps(fields, rule, tags):
    obj = {"output_fields": fields, "rule": rule, "tags": tags, "time": "x"}
    assert dumps_sorted(obj, fields.values()) == reference(obj)


def test_odd_values_take_the_json_module():
    for value in ("lone \ud800 surrogate", 2**64, -2**63 - 1, 1e16, float("nan"), [[1.5]],
                  "\x00\x1f\x7f\u2028 \"q\" \\", "\U0001f600 < \uffff"):
        obj = {"output_fields": {"k": value, "\U0001f600": 1, "\uffff": 2}, "b": value}
        assert dumps_sorted(obj, obj["output_fields"].values()) == reference(obj)


@settings(max_examples=300, deadline=None)
@given(ts=st.integers(0, 2**64 - 1))
def test_iso_time_text_equals_strftime(ts):
    sec, ns = divmod(ts, 10**9)
    want = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ns:09d}Z"
    assert Clock().iso(ts, "Z") == want


JANUARY, JULY = 1610712000, 1626350400  # 2021-01-15 and 2021-07-15, 12:00:00Z


@pytest.mark.parametrize("zone,now,offset", [
    ("UTC", JANUARY, 0), ("UTC", JULY, 0),
    ("Asia/Kolkata", JANUARY, 19800), ("Asia/Kolkata", JULY, 19800),
    ("America/St_Johns", JANUARY, -12600), ("America/St_Johns", JULY, -9000),
    ("Pacific/Chatham", JANUARY, 49500), ("Pacific/Chatham", JULY, 45900),
])
def test_local_time_text_equals_strftime(monkeypatch, zone, now, offset):
    """The wall clock is pinned: the offsets of the zone at that date are written out."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    clock = Clock(wall=lambda: now)
    try:
        for ts in (0, 1_647_388_807_123_456_789, 2**64 - 1, 86_399 * 10**9):
            sec, ns = divmod(ts, 10**9)
            want = time.strftime("%H:%M:%S", time.gmtime(sec + offset)) + f".{ns:09d}"
            assert clock.local(ts) == want
    finally:
        monkeypatch.undo()
        time.tzset()
