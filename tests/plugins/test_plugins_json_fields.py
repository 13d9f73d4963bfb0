"""The json plugin's fields (docs/json-plugin.md §3-7) on the spec's example and real records."""
from __future__ import annotations

import json

import orjson
import pytest

from scaptools.errors import FieldError
from scaptools.events.event import Event
from scaptools.plugin.registry import Registry

SPEC_PAYLOAD = (b'{"eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser","userName":"alice"},\n'
                b' "responseElements":{"ConsoleLogin":"Success"},"readOnly":false,\n'
                b' "additionalEventData":{"MFAUsed":"No"},"tags":[1,2.50,"x"],"errorCode":null,\n'
                b' "a/b":{"m~n":7}}')


@pytest.fixture(scope="module")
def fs():
    return Registry.from_entry_points().fieldset("aws_cloudtrail")


def val(fs, name, payload, arg=None, ts=1632360600000000000):
    return fs.extractor(name, arg)(Event.plugin(ts, 2, payload))


@pytest.mark.parametrize("pointer,want", [
    ("/responseElements/ConsoleLogin", "Success"),
    ("responseElements/ConsoleLogin", "Success"),
    ("/readOnly", "false"),
    ("/userIdentity", '{"type":"IAMUser","userName":"alice"}'),
    ("/tags/1", "2.50"),
    ("/tags/3", None),
    ("/tags/x", None),
    ("/tags/+01", "2.50"),  # Go Atoi accepts a sign and leading zeros
    ("/tags/-1", None),
    ("/errorCode", "null"),
    ("/a~1b/m~0n", "7"),
    ("/eventName/x", None),
    ("/nothere", None),
])
def test_spec_examples(fs, pointer, want):
    assert val(fs, "json.value", SPEC_PAYLOAD, pointer) == want
    assert val(fs, "jevt.value", SPEC_PAYLOAD, pointer) == want


def test_empty_pointer_is_the_whole_document_compact(fs):
    got = val(fs, "json.value", SPEC_PAYLOAD, "")
    assert got.startswith('{"eventName":"ConsoleLogin","userIdentity"') and "\n" not in got
    assert orjson.loads(got) == orjson.loads(SPEC_PAYLOAD)


def test_first_duplicate_key_wins_and_escapes_are_kept(fs):
    payload = b'{"k":1,"k":2,"s":{"t":"a\\"b\\u00e9"},"u":"caf\\u00e9"}'
    assert val(fs, "json.value", payload, "/k") == "1"
    assert val(fs, "json.value", payload, "/s") == '{"t":"a\\"b\\u00e9"}'
    assert val(fs, "json.value", payload, "/u") == "caf\u00e9"
    numbers = b'{"z":-0,"f":1.0,"i":12,"e":1E2,"n":null,"t":true}'
    assert [val(fs, "json.value", numbers, "/" + k) for k in "zfient"] == \
        ["-0", "1.0", "12", "1E2", "null", "true"]


@pytest.mark.parametrize("payload", [b"", b" {}", b'"str"', b"12", b'{"a":1} x', b'{"a":'])
def test_non_json_gives_no_value_for_every_field(fs, payload):
    for name in ("json.obj", "json.rawtime", "jevt.obj", "jevt.rawtime"):
        assert val(fs, name, payload) is None
    assert val(fs, "json.value", payload, "/a") is None


def test_obj_is_go_indent(fs):
    assert val(fs, "json.obj", b'{"a":1,"b":[true,{}]}') == \
        '{\n  "a": 1,\n  "b": [\n    true,\n    {}\n  ]\n}'
    assert val(fs, "json.obj", b'{"a" : [ ] , "b":{"c":"x y"}}\n') == \
        '{\n  "a": [],\n  "b": {\n    "c": "x y"\n  }\n}\n'


def test_obj_agrees_with_python_indent_on_real_records(fs, all_records):
    for raw in all_records[:400]:
        want = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        if "e+" in want or "." in raw.decode():  # float literals print differently
            continue
        assert val(fs, "json.obj", raw) == want


def test_rawtime_is_text(fs):
    assert val(fs, "json.rawtime", b"{}", ts=1632360600000000000) == "1632360600000000000"
    assert fs.lookup("json.rawtime").type == "string"


def test_value_on_real_records_matches_a_dict_walk(fs, all_records):
    pointers = ["/userIdentity/type", "/additionalEventData/MFAUsed", "/requestParameters",
                "/responseElements/instancesSet/items/0/instanceId", "/resources/0/ARN",
                "/readOnly"]
    for raw in all_records:
        rec = orjson.loads(raw)
        for pointer in pointers:
            node = rec
            for tok in pointer[1:].split("/"):
                if isinstance(node, dict) and tok in node:
                    node = node[tok]
                elif isinstance(node, list) and tok.isdigit() and int(tok) < len(node):
                    node = node[int(tok)]
                else:
                    node = KeyError
                    break
            got = val(fs, "json.value", raw, pointer)
            if node is KeyError:
                assert got is None
            elif isinstance(node, str):
                assert got == node
            else:
                assert orjson.loads(got) == node


def test_argument_rules(fs):
    with pytest.raises(FieldError, match="requires an argument"):
        fs.extractor("json.value")
    with pytest.raises(FieldError, match="argument"):
        fs.extractor("json.obj", "/a")
    assert fs.lookup("jevt.value").arg == "required"


def test_json_fields_not_offered_on_syscall():
    fs = Registry.from_entry_points().fieldset("syscall")
    assert fs.lookup("json.value") is None


def test_init_config():
    from scaptools.errors import PluginError
    from scaptools_plugins.json import JsonPlugin
    plugin = JsonPlugin()
    for ok in ("", "{}", '{"useAsync": false, "other": 1}'):
        plugin.init(ok)
    for bad in ("[1]", "{", '{"useAsync": "yes"}'):
        with pytest.raises(PluginError, match="plugin 'json'"):
            plugin.init(bad)
