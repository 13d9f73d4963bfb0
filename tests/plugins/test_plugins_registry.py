"""Registry validation, Falco configuration, generic evt.* fields
(docs/plugin-api.md §2.9, docs/rules-language.md §11)."""
from __future__ import annotations

import pytest

from scaptools.errors import PluginError
from scaptools.events.event import Event
from scaptools.fields.base import FieldInfo
from scaptools.plugin.api import Checkpoint, ExtractorPlugin, PluginEvent, SourcePlugin
from scaptools.plugin.falco_config import read_falco_config, registry_from_config
from scaptools.plugin.registry import Registry


class DummySource(SourcePlugin, ExtractorPlugin):
    name, id, event_source, version = "dummy", 999, "dummy_src", "1.2.3"
    fields = [FieldInfo("dummy.len", "uint64")]

    def open(self, params):
        for i in range(int(params)):
            yield PluginEvent(i, b"x" * i)
        yield Checkpoint(info="done")

    def extract(self, event, field, arg):
        return len(event.payload)


class DummyExtractor(ExtractorPlugin):
    name, version = "dummyx", "0.1.0"
    fields = [FieldInfo("dummy.upper", "string")]
    extract_sources = ["dummy_src"]

    def extract(self, event, field, arg):
        return event.payload.decode().upper()


def test_entry_points_load_the_bundled_plugins():
    reg = Registry.from_entry_points()
    assert sorted(reg.by_name) == ["cloudtrail", "json"]
    assert reg.source_of(2) == "aws_cloudtrail" and reg.source_of(3) is None
    assert reg.sources() == ["syscall", "aws_cloudtrail"]
    versions = reg.versions()
    assert versions["cloudtrail"] == "0.17.1" and versions["json"] == "0.7.4"
    # container.* fields live in the syscall field set, as Falco's container plugin gives them
    assert versions.get("container") == ("0.4.0" if "container.id" in reg.fieldset("syscall")
                                         else None)
    assert reg.fieldset("nosuch") is None


def test_dummy_plugins_route_and_extract():
    reg = Registry.from_entry_points()
    reg.register(DummySource())
    reg.register(DummyExtractor())
    fs = reg.fieldset("dummy_src")
    ev = Event.plugin(5, 999, b"abc")
    assert fs.extractor("dummy.len")(ev) == 3
    assert fs.extractor("dummy.upper")(ev) == "ABC"
    assert fs.extractor("json.value", "/a")(ev) is None  # json is offered on every plugin source
    assert fs.lookup("ct.name") is None  # cloudtrail only extracts from its own source
    assert "dummy.len" not in reg.fieldset("aws_cloudtrail")
    items = list(DummySource().open("2"))
    assert items[:2] == [PluginEvent(0, b""), PluginEvent(1, b"x")]
    assert isinstance(items[2], Checkpoint) and items[2].ack() is None


@pytest.mark.parametrize("attrs,message", [
    ({"name": "cloudtrail"}, "already loaded"),
    ({"id": 2}, "plugin id 2 is already used"),
    ({"id": 0}, "invalid plugin id"),
    ({"event_source": "syscall"}, "invalid event source"),
    ({"version": "1.0"}, "invalid version"),
    ({"version": "1.0.0-rc1"}, "invalid version"),
    ({"required_api_version": "2.0.0"}, "requires plugin API 2.0.0"),
    ({"required_api_version": "1.9.0"}, "requires plugin API 1.9.0"),
    ({"fields": [FieldInfo("json.obj")]}, "'json.obj' .*overlapping for source 'dummy_src'"),
    ({"fields": [FieldInfo("evt.num")]}, "declared twice"),
    ({"fields": []}, "at least one field"),
    ({"fields": [FieldInfo("d.x", "float")]}, "unknown type"),
])
def test_registration_errors_name_the_plugin(attrs, message):
    reg = Registry.from_entry_points()
    plugin = DummySource()
    for key, value in attrs.items():
        setattr(plugin, key, value)
    with pytest.raises(PluginError, match=message) as info:
        reg.register(plugin)
    assert info.value.plugin == plugin.name
    assert str(info.value).startswith(f"plugin '{plugin.name}'")


def test_public_names_of_the_plugin_package():
    """``scaptools.plugin`` exports the author's contract, the registry and the Falco config."""
    import scaptools.plugin as package
    from scaptools.plugin import api, falco_config, registry
    homes = {name: next(m for m in (api, registry, falco_config) if hasattr(m, name))
             for name in package.__all__}
    assert all(getattr(package, name) is getattr(homes[name], name) for name in package.__all__)
    assert {"SourcePlugin", "ExtractorPlugin", "PluginEvent", "Checkpoint", "Registry",
            "registry_from_config"} <= set(package.__all__)


def test_extractor_clash_on_a_shared_source():
    reg = Registry()
    reg.register(DummySource())
    reg.register(DummyExtractor())
    other = DummyExtractor()
    other.name = "dummy2"
    with pytest.raises(PluginError, match="dummy.upper.*overlapping.*dummyx"):
        reg.register(other)
    other.extract_sources = ["elsewhere"]  # no common source: allowed
    reg.register(other)


def test_falco_config_selects_and_initialises_plugins(tmp_path):
    cfg = tmp_path / "falco.yaml"
    cfg.write_text("plugins:\n"
                   "  - name: json\n    library_path: 'scaptools:'\n    init_config: ''\n"
                   "  - name: cloudtrail\n    library_path: scaptools:cloudtrail\n"
                   "    init_config: {}\n    open_params: ''\n"
                   "load_plugins: [json]\njson_output: true\n")
    config = read_falco_config(cfg)
    assert config["json_output"] is True
    reg = registry_from_config(config)
    assert list(reg.by_name) == ["json"]
    assert reg.sources() == ["syscall"]


def test_falco_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("plugins: [\n")
    with pytest.raises(PluginError, match="bad.yaml:.*invalid YAML"):
        read_falco_config(bad)
    with pytest.raises(PluginError) as err:  # Falco does not start: neither do we
        registry_from_config({"plugins": [{"name": "nope", "library_path": "/no/such.so"}]})
    assert str(err.value) == ("plugin 'nope': can't load plugin dynamic library: /no/such.so: "
                              "cannot open shared object file: No such file or directory")
    with pytest.raises(PluginError) as err:  # relative: in Falco's plugins folder
        registry_from_config({"plugins": [{"name": "cloudtrail",
                                           "library_path": "libnot-installed-here.so"}]})
    assert "/usr/share/falco/plugins/libnot-installed-here.so: cannot open" in str(err.value)
    with pytest.raises(PluginError, match="plugin 'json': no library_path: give a Falco plugin "
                                          "library, or 'scaptools:json'"):
        registry_from_config({"plugins": [{"name": "json"}]})
    with pytest.raises(PluginError, match="no Python plugin 'ghost' is installed"):
        registry_from_config({"plugins": [{"name": "g", "library_path": "scaptools:ghost"}]})
    with pytest.raises(PluginError, match="plugin 'ghost'.*load_plugins"):
        registry_from_config({"plugins": [{"name": "json", "library_path": "scaptools:"}],
                              "load_plugins": ["json", "ghost"]})


def test_generic_fields_on_a_plugin_event(monkeypatch, utc):
    monkeypatch.setenv("FALCO_HOSTNAME", "host1")
    reg = Registry.from_entry_points()
    fs = reg.fieldset("aws_cloudtrail")
    ev = Event.plugin(1632360600_000000042, 2, b'{"eventName":"X"}', num=7)
    want = {"evt.num": 7, "evt.time": "01:30:00.000000042", "evt.time.s": "01:30:00",
            "evt.time.iso8601": "2021-09-23T01:30:00.000000042+0000",
            "evt.datetime": "2021-09-23 01:30:00.000000042", "evt.datetime.s": "2021-09-23 01:30:00",
            "evt.rawtime": 1632360600_000000042, "evt.rawtime.s": 1632360600,
            "evt.rawtime.ns": 42, "evt.source": "aws_cloudtrail", "evt.type": "pluginevent",
            "evt.is_async": False, "evt.asynctype": None, "evt.pluginname": "cloudtrail",
            "evt.plugininfo": "<invalid JSON: event did not contain a source>"}
    for name, value in want.items():
        assert fs.extractor(name)(ev) == value, name
    reg = Registry.from_entry_points()
    fs = reg.fieldset("aws_cloudtrail")
    assert fs.extractor("evt.hostname")(ev) == "host1"
    reg.first_ts = ev.ts - 2_500_000_000
    assert [fs.extractor(n)(ev) for n in ("evt.reltime", "evt.reltime.s", "evt.reltime.ns")] == \
        [2_500_000_000, 2, 500_000_000]
    assert fs.lookup("evt.time").tags == ("time_string",)


def test_cloudtrail_plugin_delegates_to_its_source():
    """init/open go to plugins/cloudtrail/source.py: one checkpoint per log file."""
    import json
    from pathlib import Path

    from scaptools_plugins.cloudtrail import CloudTrailPlugin
    logs = Path(__file__).resolve().parents[2] / "captures" / "logs"
    records = [r for p in sorted(logs.glob("*.json")) for r in json.loads(p.read_text())["Records"]]
    plugin = CloudTrailPlugin()
    plugin.init("")
    items = list(plugin.open(str(logs)))
    events = [i for i in items if isinstance(i, PluginEvent)]
    assert len(events) == len(records) == 206
    assert sum(isinstance(i, Checkpoint) for i in items) == 14
    assert sorted(json.loads(e.payload)["eventID"] for e in events) == \
        sorted(r["eventID"] for r in records)
    ev = Event.plugin(events[0].ts, 2, events[0].payload)
    region = json.loads(events[0].payload)["awsRegion"]
    assert plugin.event_to_string(ev).startswith(f"{region} ")
    with pytest.raises(PluginError, match="plugin 'cloudtrail'"):
        plugin.init('{"sqsDelete": 5}')
