"""Native Falco plugins of the API 3.x: a C test plugin (native3/testplugin.c) compiled here.

The plugin computes every field from the ``n`` of its ``{"n":N}`` payloads; ``expected``
below is the same computation written independently in Python.
"""
from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from scaptools.plugin.native import api3_abi as abi
from scaptools.errors import FieldError, PluginError
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.plugin.native import load_native_plugin
from scaptools.plugin.api import Checkpoint, PluginEvent, SourcePlugin
from scaptools.plugin.falco_config import read_falco_config, registry_from_config
from scaptools.plugin.registry import Registry

from ..conftest import missing_oracle

SOURCE = Path(__file__).parent / "native3" / "testplugin.c"
TS0 = 1_700_000_000_000_000_000


def build(folder: Path, name: str = "libtest3.so", *defines: str) -> Path:
    """Compile the test plugin with ``defines`` into ``folder`` (skips without gcc; fails in CI)."""
    if shutil.which("gcc") is None:
        missing_oracle("gcc is not installed: the C test plugin cannot be built")
    out = folder / name
    subprocess.run(["gcc", "-std=c11", "-shared", "-fPIC", "-O1", *defines, str(SOURCE), "-o",
                    str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def lib3(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("native3"))


def falco_yaml(folder: Path, lib: Path, init: str = "''", params: str = "8,3") -> Path:
    cfg = folder / "falco.yaml"
    cfg.write_text(f"plugins:\n  - name: native3test\n    library_path: {lib}\n"
                   f"    init_config: {init}\n    open_params: '{params}'\n"
                   "load_plugins: [native3test]\n")
    return cfg


@pytest.fixture(scope="module")
def registry(lib3, tmp_path_factory) -> Registry:
    cfg = falco_yaml(tmp_path_factory.mktemp("cfg"), lib3)
    return registry_from_config(read_falco_config(cfg))


def expected(n: int, ts: int, num: int) -> dict:
    return {"test.n": n, "test.name": None if n % 4 == 3 else f"evt{n}",
            "test.even": n % 2 == 0, "test.tags": [f"t{j}" for j in range(n % 3)] or None,
            ("test.mul", "3"): 3 * n, ("test.mul", "0"): 0, ("test.kv", "user"): f"user={n}",
            "test.kv": f"nokey={n}", "test.dur": n * 1000, "test.ts": ts,
            "test.ip": f"10.0.0.{n}", "test.ip6": f"fe80::{n:x}", "test.evtnum": num,
            "test.src": "testsrc", "test.secret": None}


def test_struct_sizes_match_appendix_a():
    sizes = {abi.EventHeader: 26, abi.EventInput: 24, abi.ByteBuffer: 16, abi.ValueOffsets: 16,
             abi.ExtractField: 64, abi.FieldExtractInput: 80, abi.InitInput: 40,
             abi.InitTablesInput: 72, abi.ReaderVtable: 32, abi.ReaderVtableExt: 48,
             abi.WriterVtable: 48, abi.FieldsVtable: 24}
    assert {c.__name__: ctypes.sizeof(c) for c in sizes} == \
        {c.__name__: n for c, n in sizes.items()}
    offsets = {"res_len": 8, "field_id": 16, "field": 24, "arg_key": 32, "arg_index": 40,
               "arg_present": 48, "ftype": 52, "flist": 56}
    assert {k: getattr(abi.ExtractField, k).offset for k in offsets} == offsets
    assert abi.FieldExtractInput.table_reader_ext.offset == 64
    assert abi.InitTablesInput.fields_ext.offset == 48


def test_identity_and_fields(registry):
    plugin = registry.by_name["native3test"]
    assert (plugin.id, plugin.event_source, plugin.version, plugin.native_api) == \
        (999, "testsrc", "0.2.1", "3.12.0")
    assert registry.source_of(999) == "testsrc" and "testsrc" in registry.sources()
    fs = registry.fieldset("testsrc")
    got = {f.name: (f.type, f.is_list, f.arg, f.arg_kind) for f in fs
           if f.name.startswith("test.")}
    assert got == {
        "test.n": ("uint64", False, "none", "key"), "test.name": ("string", False, "none", "key"),
        "test.even": ("bool", False, "none", "key"), "test.tags": ("string", True, "none", "key"),
        "test.mul": ("uint64", False, "required", "index"),
        "test.kv": ("string", False, "optional", "key"),
        "test.dur": ("reltime", False, "none", "key"), "test.ts": ("abstime", False, "none", "key"),
        "test.ip": ("ipaddr", False, "none", "key"), "test.ip6": ("ipaddr", False, "none", "key"),
        "test.evtnum": ("uint64", False, "none", "key"),
        "test.src": ("string", False, "none", "key"),
        "test.secret": ("string", False, "none", "key")}
    assert fs.lookup("test.secret").tags == ("hidden",)
    assert fs.lookup("test.n").provider == "native3test"


def test_extracted_values(registry):
    fs = registry.fieldset("testsrc")
    for num, n in enumerate(range(1, 13), start=40):
        ts = TS0 + 7 * n
        event = Event.plugin(ts, 999, b'{"n":%d}' % n, num=num)
        want = expected(n, ts, num)
        got = {key: (fs.extractor(*key) if isinstance(key, tuple) else fs.extractor(key))(event)
               for key in want}
        assert got == want, n


def test_no_value_for_other_payloads_and_event_types(registry):
    fs = registry.fieldset("testsrc")
    not_ours = Event.plugin(TS0, 999, b"not json", num=1)
    assert fs.extractor("test.n")(not_ours) is None
    assert fs.extractor("evt.plugininfo")(not_ours) == "payload not json (8 bytes)"
    syscall = Event.from_params(3, [b"\x01\x00\x00\x00\x00\x00\x00\x00"], ts=TS0, num=2)
    assert registry.by_name["native3test"].extractor("test.n", None)(syscall) is None


def test_argument_checks(registry):
    fs = registry.fieldset("testsrc")
    event = Event.plugin(TS0, 999, b'{"n":5}', num=1)
    with pytest.raises(FieldError, match="requires an argument"):
        fs.extractor("test.mul")
    with pytest.raises(FieldError, match="invalid index"):
        fs.extractor("test.mul", "07")
    with pytest.raises(FieldError, match="does not support an argument"):
        fs.extractor("test.n", "1")
    assert fs.extractor("test.mul", str(2**64 - 1))(event) == (5 * (2**64 - 1)) % 2**64


def test_refused_api_versions(tmp_path):
    for version in ("4.0.0", "3.99.0", "3.12.1", "2.0.0"):
        lib = build(tmp_path, f"lib{version}.so", f'-DREQ_API="{version}"')
        with pytest.raises(PluginError) as err:
            load_native_plugin(str(lib), "native3test")
        assert str(err.value).startswith("plugin 'native3test': ")
        assert version in str(err.value)
    older = build(tmp_path, "libold.so", '-DREQ_API="3.0.0"')
    assert load_native_plugin(str(older), "native3test").native_api == "3.0.0"


def test_broken_libraries(tmp_path):
    cases = {"-DOMIT_CONTACT": "plugin_get_contact not present",
             "-DOMIT_CLOSE": "sourcing capability incomplete (plugin_close not present)",
             "-DBAD_FIELDS": "field 'test.n': an argument is required but neither index nor key"}
    for i, (define, message) in enumerate(cases.items()):
        lib = build(tmp_path, f"lib{i}.so", define)
        with pytest.raises(PluginError, match=r"plugin 'native3test': .*" + re.escape(message)):
            load_native_plugin(str(lib), "native3test")


def test_extractor_only_library(tmp_path):
    lib = build(tmp_path, "libx.so", "-DNO_SOURCE")
    plugin = load_native_plugin(str(lib), "native3test")
    assert not isinstance(plugin, SourcePlugin)
    assert plugin.extract_sources == ["testsrc"]
    event = Event.plugin(TS0, 999, b'{"n":4}', num=9)
    assert plugin.extract(event, "test.tags", None) == ["t0"]
    assert plugin.extract(event, "test.src", None) == "testsrc"


def test_a_library_path_loads_that_library_not_the_python_plugin(lib3, tmp_path):
    """An entry named like a bundled Python plugin but pointing at a real library gets the
    library, as Falco would; ``scaptools:NAME`` is how a configuration asks for ours."""
    from scaptools_plugins.cloudtrail import CloudTrailPlugin
    cfg = tmp_path / "falco.yaml"
    cfg.write_text(f"plugins:\n  - name: cloudtrail\n    library_path: {lib3}\n"
                   "load_plugins: [cloudtrail]\n")
    registry = registry_from_config(read_falco_config(cfg))
    assert list(registry.by_name) == ["native3test"]
    assert registry.sources() == ["syscall", "testsrc"]
    cfg.write_text("plugins:\n  - name: cloudtrail\n    library_path: scaptools:cloudtrail\n"
                   f"  - name: native3test\n    library_path: {lib3}\n")
    registry = registry_from_config(read_falco_config(cfg))
    assert isinstance(registry.by_name["cloudtrail"], CloudTrailPlugin)
    assert "native3test" in registry.by_name


def test_init_failure_names_the_plugin(lib3, tmp_path):
    cfg = falco_yaml(tmp_path, lib3, init="'please fail'")
    with pytest.raises(PluginError) as err:
        registry_from_config(read_falco_config(cfg))
    assert str(err.value) == "plugin 'native3test': init failed: init refused: config 'please fail'"


def test_init_config_is_checked_against_the_plugin_schema(tmp_path):
    lib = build(tmp_path, "libschema.so", "-DINIT_SCHEMA")
    for init in ("''", "'{\"level\": 3}'"):  # empty means {} when a schema exists
        cfg = falco_yaml(tmp_path, lib, init=init)
        assert "native3test" in registry_from_config(read_falco_config(cfg)).by_name
    cases = {"'{\"level\": \"high\"}'": "init config error: 'high' is not of type 'integer'",
             "'{\"other\": 1}'": "init config error: Additional properties are not allowed "
                                 "('other' was unexpected)",
             "'level=3'": "init config is not valid JSON"}
    for init, message in cases.items():
        cfg = falco_yaml(tmp_path, lib, init=init)
        with pytest.raises(PluginError) as err:
            registry_from_config(read_falco_config(cfg))
        assert str(err.value).startswith(f"plugin 'native3test': {message}")


def test_table_requests_are_refused_with_the_owner_error(lib3):
    plugin = load_native_plugin(str(lib3), "native3test")
    with pytest.raises(PluginError) as err:
        plugin.init('{"tables": true}')
    assert str(err.value) == ("plugin 'native3test': init failed: no threads table: this "
                              "framework provides no state tables to plugins")


# -- sourcing ------------------------------------------------------------------------------
def test_open_yields_the_generated_events(registry, monkeypatch):
    plugin = registry.by_name["native3test"]
    clock = iter(range(10**18, 10**18 + 10**6, 7))  # the framework's clock, made exact
    stamps = []

    def time_ns():
        stamps.append(next(clock))
        return stamps[-1]
    monkeypatch.setattr(time, "time_ns", time_ns)
    for count, batch in [(8, 3), (7, 1), (5, 16), (16, 16), (0, 4)]:
        stamps.clear()
        items = list(plugin.open(f"{count},{batch}"))
        assert isinstance(items[-1], Checkpoint) and items[-1].info == "eof"
        events = items[:-1]
        assert all(isinstance(e, PluginEvent) for e in events)
        assert [e.payload for e in events] == [b'{"n":%d}' % i for i in range(1, count + 1)]
        for i, event in enumerate(events, start=1):
            if i % 3:
                assert event.ts == TS0 + i * 1000
            else:  # (u64)-1: stamped by the framework when read
                assert event.ts in stamps
        assert sorted(e.ts for i, e in enumerate(events, 1) if i % 3 == 0) == stamps


def test_open_failure_names_the_plugin(registry):
    plugin = registry.by_name["native3test"]
    with pytest.raises(PluginError) as err:
        list(plugin.open("nope"))
    assert str(err.value) == "plugin 'native3test': open failed: bad open params 'nope'"


def cli(*args):
    from click.testing import CliRunner

    from scaptools.cli.main import cli as main
    res = CliRunner().invoke(main, [str(a) for a in args], env={"TZ": "UTC"})
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def test_record_then_replay_with_the_plugin_fields(lib3, tmp_path):
    cfg = falco_yaml(tmp_path, lib3, params="8,3")
    out = tmp_path / "test3.scap"
    cli("record", "-w", out, "--plugin", "native3test", "-c", cfg)
    with open_capture(str(out)) as reader:
        stored = list(reader)
    assert [(e.plugin_id, e.payload) for e in stored] == \
        [(999, b'{"n":%d}' % i) for i in range(1, 9)]
    assert [e.ts for e in stored if json.loads(e.payload)["n"] % 3] == \
        [TS0 + i * 1000 for i in (1, 2, 4, 5, 7, 8)]
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- rule: big\n  desc: d\n  condition: test.mul[3] > 12 and test.name exists\n"
        "  output: n=%test.n name=%test.name ip=%test.ip info=%evt.plugininfo\n"
        "  priority: WARNING\n  source: testsrc\n"
        "- rule: picked\n  desc: d\n  condition: test.ip = 10.0.0.4 or test.kv[k] = \"k=2\"\n"
        "  output: n=%test.n even=%test.even\n  priority: INFO\n  source: testsrc\n")
    lines = cli("replay", out, "-r", rules, "-c", cfg).stdout.splitlines()
    got = [line.split(": ", 1)[1] for line in lines]  # the output escapes quotes
    assert got == [
        "Informational n=2 even=true", "Informational n=4 even=true",
        r'Warning n=5 name=evt5 ip=10.0.0.5 info=payload {\"n\":5} (7 bytes)',
        r'Warning n=6 name=evt6 ip=10.0.0.6 info=payload {\"n\":6} (7 bytes)',
        r'Warning n=8 name=evt8 ip=10.0.0.8 info=payload {\"n\":8} (7 bytes)']


def test_list_plugins_and_fields(lib3, tmp_path):
    cfg = falco_yaml(tmp_path, lib3)
    out = cli("list-plugins", "-c", cfg).stdout
    assert "native3test 0.2.1" in out
    assert "source (id 999, event source testsrc)" in out
    assert "extractor (13 fields; sources: testsrc)" in out
    fields = cli("list-fields", "--source", "testsrc", "-c", cfg).stdout
    assert re.search(r"test\.tags +string list +t0", fields)
    assert re.search(r"test\.mul +uint64 +n times the index \[arg required\]", fields)
    assert "test.secret" not in fields  # "hidden" keeps a field out of listings (§2.7)


def test_events_before_a_failure_are_delivered(registry):
    plugin = registry.by_name["native3test"]
    got = []
    with pytest.raises(PluginError) as err:
        for item in plugin.open("10,3,5"):
            got.append(item.payload)
    assert got == [b'{"n":%d}' % i for i in range(1, 6)]
    assert str(err.value) == "plugin 'native3test': next_batch failed: stopped after 5 events"


def test_events_of_another_plugin_id_are_refused(tmp_path):
    plugin = load_native_plugin(str(build(tmp_path, "libid.so", "-DBAD_ID")), "native3test")
    with pytest.raises(PluginError, match="plugin 'native3test': event with plugin id 5, "
                                          "expected 999"):
        list(plugin.open("3,3"))


def test_cli_reports_a_refused_library_in_one_line(tmp_path):
    from click.testing import CliRunner

    from scaptools.cli.main import cli as main
    lib = build(tmp_path, "lib4.so", '-DREQ_API="4.0.0"')
    cfg = falco_yaml(tmp_path, lib)
    rules = tmp_path / "rules.yaml"
    rules.write_text("- rule: r\n  desc: d\n  condition: test.n > 0\n  output: o\n"
                     "  priority: INFO\n  source: testsrc\n")
    for args in (["list-plugins", "-c", cfg], ["replay", tmp_path / "x.scap", "-r", rules,
                                               "-c", cfg]):
        res = CliRunner().invoke(main, [str(a) for a in args])
        assert res.exit_code == 1, res.output
        assert "plugin 'native3test'" in res.stderr and "requires API 4.0.0" in res.stderr
        assert "Traceback" not in res.output and len(res.stderr.strip().splitlines()) == 1
