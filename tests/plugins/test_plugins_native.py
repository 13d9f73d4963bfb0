"""Native Falco plugins (API 0.3.0) through ctypes, checked against sysdig with the same library."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from scaptools.errors import PluginError
from scaptools.format.reader import open_capture
from scaptools.plugin.native import load_native_plugin
from scaptools.plugin.versions import compatible, parse_library_version, parse_semver
from scaptools.plugin.falco_config import read_falco_config, registry_from_config

from ..conftest import missing_oracle


@pytest.fixture(scope="module")
def ctmini(shared, tmp_path_factory):
    """libctmini.so built with the shared build script (skips without gcc or the header;
    fails in CI, where .ci/run installs both)."""
    if shutil.which("gcc") is None:
        missing_oracle("gcc is not installed")
    out = tmp_path_factory.mktemp("ctmini")
    res = subprocess.run(["sh", str(shared / "tools" / "ctmini" / "build.sh"), str(out)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        missing_oracle(f"cannot build ctmini: {res.stderr.strip()}")
    return out / "libctmini.so"


@pytest.fixture(scope="module")
def registry(ctmini, tmp_path_factory):
    cfg = tmp_path_factory.mktemp("cfg") / "falco.yaml"
    cfg.write_text(f"plugins:\n  - name: ctmini\n    library_path: {ctmini}\n"
                   "    init_config: ''\nload_plugins: [ctmini]\n")
    return registry_from_config(read_falco_config(cfg))


def test_version_rules():
    assert parse_library_version("3.10.0-rc1", "p") == (3, 10, 0)
    with pytest.raises(PluginError):
        parse_library_version("3.10", "p")
    assert compatible((0, 3, 0), (0, 2, 0)) and compatible((0, 3, 0), (0, 3, 0))
    assert not compatible((0, 3, 0), (0, 3, 1)) and not compatible((0, 3, 0), (1, 0, 0))
    assert compatible((3, 12, 0), (3, 10, 5)) and not compatible((3, 12, 0), (3, 13, 0))


def test_one_semver_reading():
    """Whole strings for Python plugins and rules files, a prefix for C libraries."""
    assert parse_semver("0.17.1") == (0, 17, 1)
    assert parse_semver("0.17.1-rc1") is None and parse_semver("0.17") is None
    assert parse_semver("0.17.1-rc1", prefix=True) == (0, 17, 1)
    assert parse_semver("v0.17.1", prefix=True) is None
    assert compatible((0, 17, 1), (0, 9, 0)) and not compatible((0, 17, 1), (1, 0, 0))


def test_identity(registry):
    plugin = registry.by_name["ctmini"]
    assert (plugin.id, plugin.event_source, plugin.version) == (2, "aws_cloudtrail", "0.1.0")
    assert registry.source_of(2) == "aws_cloudtrail"
    assert [f.name for f in plugin.fields][:3] == ["ct.id", "ct.error", "ct.time"]


def test_extraction_matches_sysdig(registry, shared):
    """Every field of sysdig's -p output for the small capture, extracted through our host."""
    folder = shared / "captures" / "libscap-plugin"
    fs = registry.fieldset("aws_cloudtrail")
    names = ["ct.id", "ct.time", "ct.name", "ct.src", "ct.shortsrc", "ct.user",
             "ct.user.identitytype", "ct.user.accountid", "ct.region", "ct.srcip", "ct.error",
             "ct.request.username"]
    lines = (folder / "cloudtrail_small.sysdig-fields.txt").read_text().splitlines()
    infos = [json.loads(x) for x in
             (folder / "cloudtrail_small.sysdig-json.txt").read_text().splitlines()]
    with open_capture(str(folder / "cloudtrail_small.scap")) as reader:
        events = list(reader)
    assert len(events) == len(lines) == 41
    for ev, line, info in zip(events, lines, infos):
        got = [fs.extractor(n)(ev) for n in names]
        got.append(fs.extractor("ct.value", "/additionalEventData/MFAUsed")(ev))
        got.append(fs.extractor("ct.payloadlen")(ev))
        assert ["<NA>" if v is None else str(v) for v in got] == line.split(" ")[3:], line
        assert fs.extractor("evt.plugininfo")(ev) == info["evt.plugininfo"]
        assert fs.extractor("evt.pluginname")(ev) == "ctmini"


def test_open_yields_the_records(registry, shared):
    folder = shared / "captures" / "libscap-plugin"
    plugin = registry.by_name["ctmini"]
    items = list(plugin.open(str(folder / "cloudtrail_small.json")))
    with open_capture(str(folder / "cloudtrail_small.scap")) as reader:
        stored = [(ev.ts, ev.payload) for ev in reader]
    assert [(e.ts, e.payload) for e in items[:-1]] == stored
    with pytest.raises(PluginError, match="plugin 'ctmini': open failed"):
        list(plugin.open("/no/such/file.json"))


def test_bad_libraries(tmp_path):
    with pytest.raises(PluginError) as err:  # libsinsp's words, then dlerror()'s
        load_native_plugin(str(tmp_path / "missing.so"), "x")
    assert str(err.value) == (f"plugin 'x': can't load plugin dynamic library: {tmp_path}/"
                              "missing.so: cannot open shared object file: No such file or "
                              "directory")
    lib = tmp_path / "libempty.so"
    src = tmp_path / "empty.c"
    src.write_text("int nothing(void) { return 0; }\n")
    if shutil.which("gcc") is None:
        missing_oracle("gcc is not installed")
    subprocess.run(["gcc", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    with pytest.raises(PluginError, match="plugin_get_required_api_version not present"):
        load_native_plugin(str(lib), "empty")


def test_replay_with_a_native_plugin(ctmini, shared, tmp_path):
    """README of the captures: this filter selects events 2, 3 and 5."""
    from click.testing import CliRunner

    from scaptools.cli.main import cli
    cfg = tmp_path / "falco.yaml"
    cfg.write_text(f"plugins:\n  - name: ctmini\n    library_path: {ctmini}\n")
    rules = tmp_path / "r.yaml"
    rules.write_text("- rule: no mfa\n  desc: d\n  condition: ct.name=ConsoleLogin and "
                     "ct.value[/additionalEventData/MFAUsed]=No\n  output: n=%evt.num "
                     "%evt.plugininfo\n  priority: INFO\n  source: aws_cloudtrail\n")
    scap = shared / "captures" / "libscap-plugin" / "cloudtrail_small.scap"
    res = CliRunner().invoke(cli, ["replay", str(scap), "-r", str(rules), "-c", str(cfg)],
                             env={"TZ": "UTC"})
    assert res.exit_code == 0, res.stderr
    assert [line.split("n=")[1].split()[0] for line in res.stdout.splitlines()] == \
        ["2", "3", "5"]
