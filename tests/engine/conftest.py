"""Fixtures for the rule-engine tests.

CloudTrail rules run through the real cloudtrail plugin: ``ct_fieldset`` is the
``aws_cloudtrail`` field set of a registry loaded from the entry points (a fresh
one per test, so a test may change its index attributes), and ``ct_event(record)``
is a plugin event (``Event.plugin``) whose payload is the record's JSON.

The operator and semantics tests use ``typed_fieldset``: test fields ``t.<key>``
of every type, read from the top-level keys of a plain JSON record carried by
``FakeEvent`` (``.json``, ``.ts``, ``.num``), with the missing-value convention of
fields/base.py (None = no value).
"""
from __future__ import annotations

import orjson
import pytest

from scaptools.events.event import Event
from scaptools.fields.base import FieldInfo, FieldSet
from scaptools.plugin.registry import Registry

CLOUDTRAIL_ID = 2  # the cloudtrail plugin's id (docs/cloudtrail-plugin.md §1)


class FakeEvent:
    """An event with a parsed JSON record, a timestamp and a number (typed test fields only)."""

    __slots__ = ("json", "ts", "num", "cache", "type")

    def __init__(self, record, ts: int = 1632360600 * 10**9, num: int = 1):
        self.json = record
        self.ts = ts
        self.num = num
        self.cache = None
        self.type = 322


def cloudtrail_event(record: dict, ts: int = 1632360600 * 10**9, num: int = 1) -> Event:
    """A cloudtrail plugin event carrying ``record`` as its JSON payload."""
    return Event.plugin(ts, CLOUDTRAIL_ID, orjson.dumps(record), num=num)


def make_typed_fieldset() -> FieldSet:
    """Fields of every type read from the top-level keys of the record: t.<key>."""
    fs = FieldSet("test")
    types = {"s": "string", "n": "uint64", "b": "bool", "ip": "ipaddr", "net": "ipnet",
             "buf": "bytebuf", "d": "double", "i": "int64"}
    for key, ftype in types.items():
        fs.add(FieldInfo(f"t.{key}", ftype, provider="test"), _raw(key, ftype))
    fs.add(FieldInfo("t.l", "string", is_list=True, provider="test"), _raw("l", "list"))
    fs.add(FieldInfo("t.s2", "string", provider="test"), _raw("s2", "string"))
    fs.add(FieldInfo("t.nl", "uint64", is_list=True, provider="test"), _raw("nl", "list"))
    fs.add(FieldInfo("t.args", "string", is_list=True, provider="test"), _raw("args", "list"))
    fs.add(FieldInfo("t.b64", "string", provider="test"), _raw("b64", "string"))
    return fs


def _raw(key: str, ftype: str):
    def factory(arg):
        def get(ev):
            v = ev.json.get(key)
            if v is not None and ftype == "bytebuf" and isinstance(v, str):
                return v.encode()
            return v
        return get
    return factory


@pytest.fixture
def ct_fieldset() -> FieldSet:
    return Registry.from_entry_points().fieldset("aws_cloudtrail")


@pytest.fixture
def ct_fieldsets(ct_fieldset):
    return lambda source: ct_fieldset if source == "aws_cloudtrail" else None


@pytest.fixture(scope="session")
def ct_event():
    return cloudtrail_event


@pytest.fixture
def typed_fieldset():
    return make_typed_fieldset()


@pytest.fixture(scope="session")
def event():
    return FakeEvent


@pytest.fixture(scope="session")
def typed_fieldset_factory():
    return make_typed_fieldset
