"""Falco's command-line behaviours in ``scap replay`` and ``scap validate``: -A and -i, -t with
-D/-T, -o refusals, log lines on stderr, diagnostics printed once and naming their file."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.events.event import Event
from scaptools.format.writer import CaptureWriter

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "captures" / "example.scap"
OURS = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
CASES = Path(__file__).parent / "falco_cases"
CTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000"
IGNORED = ["pread", "preadv", "pwrite", "pwritev", "read", "readv", "recv", "send", "sendfile",
           "write", "writev"]


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args],
                                              env={"TZ": "UTC", **(env or {})})


@pytest.fixture(scope="module")
def io_capture(tmp_path_factory) -> Path:
    """A thread opens a file, reads it, writes it and closes it."""
    i64, u32, u64 = (lambda v: struct.pack("<q", v)), (lambda v: struct.pack("<I", v)), \
        (lambda v: struct.pack("<Q", v))
    path, t = b"/srv/data/file\0", 1_700_000_000_000_000_000
    calls = [(306, [i64(-100), path, u32(1), u32(0)]),
             (307, [i64(3), i64(-100), path, u32(1), u32(0), u32(0x803), u64(0x1234)]),
             (6, [i64(3), u32(3)]), (7, [i64(3), b"abc", i64(3), u32(3)]),
             (8, [i64(3), u32(3)]), (9, [i64(3), b"xyz", i64(3), u32(3)]),
             (4, [i64(3)]), (5, [i64(0), i64(3)])]
    out = tmp_path_factory.mktemp("io") / "io.scap"
    with CaptureWriter(str(out)) as writer:
        for n, (etype, params) in enumerate(calls):
            writer.write(Event.from_params(etype, params, ts=t + n * 1000, tid=100))
    return out


@pytest.fixture(scope="module")
def io_rules(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("io") / "io_rules.yaml"
    out.write_text("- rule: Data Read\n  desc: d\n  condition: evt.type = read and evt.dir = <\n"
                   "  output: read %fd.num\n  priority: NOTICE\n"
                   "- rule: File Closed\n  desc: d\n  condition: evt.type = close and evt.dir = <\n"
                   "  output: close %evt.num\n  priority: NOTICE\n")
    return out


def test_i_lists_the_ignored_events():
    res = run("replay", "-i")
    assert res.exit_code == 0
    assert res.stdout == "Ignored syscall(s):\n" + "".join(f"- {n}\n" for n in IGNORED) + "\n"


def test_without_a_the_ignored_events_reach_no_rule(io_capture, io_rules):
    res = run("replay", io_capture, "-r", io_rules)
    assert res.exit_code == 0, res.stderr
    assert [line.split(": ", 2)[1] for line in res.stdout.splitlines()] == ["Notice close 8"]
    assert res.stderr.splitlines() == [
        "Loaded rules match syscalls that are not activated (e.g. were removed via config "
        "settings such as no -A flag or negative base_syscalls elements) or unsupported with "
        "current configuration: warning (unsupported-evttype): read",
        "If syscalls in rules include high volume syscalls (-> activate via `-A` flag), else "
        "syscalls may have been removed via base_syscalls option or might be associated with "
        "syscalls undefined on your architecture "
        "(https://marcin.juszkiewicz.com.pl/download/tables/syscalls.html)"]
    res = run("replay", io_capture, "-r", io_rules, "-A")
    assert [line.split(": ", 2)[1] for line in res.stdout.splitlines()] == [
        "Notice read 3", "Notice close 8"]
    assert res.stderr == ""


@pytest.mark.parametrize("flags", [("-t", "aws", "-D", "x"), ("-T", "aws", "-t", "cloud")])
def test_t_with_d_or_capital_t_is_refused_first(flags, tmp_path):
    res = run("replay", tmp_path / "missing.scap", "-r", OURS, *flags)
    assert (res.exit_code, res.stdout) == (1, "")
    assert res.stderr == "Error: You can not specify both disabled (-D/-T) and enabled (-t) rules\n"


@pytest.mark.parametrize("option,message", [
    ("json_output", 'Error parsing config option "json_output". Must be of the form key=val or '
                    "key.subkey=val"),
    ("json_outptu=true", "schema validation: failed for <root>: Object contains a property that "
                         "could not be validated using 'properties' or 'additionalProperties' "
                         "constraints: 'json_outptu'."),
    ("json_output=maybe", "schema validation: failed for <root>[json_output]: Value type not "
                          "permitted by 'type' constraint."),
    ("priority=loud", 'Unknown priority "loud"--must be one of emergency, alert, critical, error, '
                      "warning, notice, informational, debug"),
    ("rule_matching=best", 'Unknown rule matching strategy "best"--must be one of first, all'),
])
def test_o_refused_as_falco_refuses_it(option, message):
    res = run("replay", EXAMPLE, "-r", OURS, "-o", option)
    assert (res.exit_code, res.stdout, res.stderr) == (1, "", f"Error: {message}\n")


def test_o_accepts_falco_keys_it_does_not_use():
    res = run("replay", EXAMPLE, "-r", OURS, "-o", "stdout_output.enabled=true", "-o",
              "json_output=yes", "--min-priority", "critical")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith('{"hostname":')


def test_a_plugin_that_cannot_load_stops_the_run_with_a_log_line(tmp_path):
    cfg = tmp_path / "falco.yaml"
    cfg.write_text("plugins:\n  - name: cloudtrail\n    library_path: /nowhere/libct.so\n")
    text = ("Runtime error: plugin 'cloudtrail': can't load plugin dynamic library: "
            "/nowhere/libct.so: cannot open shared object file: No such file or directory. "
            "Exiting.")
    res = run("replay", EXAMPLE, "-r", OURS, "-c", cfg)
    assert res.exit_code == 1 and re.fullmatch(f"{CTIME}: {re.escape(text)}\n", res.stderr)
    res = run("replay", EXAMPLE, "-r", OURS, "-c", cfg, "-o", "time_format_iso_8601=true")
    assert res.exit_code == 1 and re.fullmatch(f"{ISO}: {re.escape(text)}\n", res.stderr)


def test_the_python_plugin_by_its_library_path(tmp_path):
    cfg = tmp_path / "falco.yaml"
    cfg.write_text("plugins:\n  - name: cloudtrail\n    library_path: scaptools:cloudtrail\n"
                   "  - name: json\n    library_path: 'scaptools:'\n")
    res = run("replay", EXAMPLE, "-r", OURS, "-c", cfg, "--min-priority", "critical")
    assert res.exit_code == 0, res.stderr
    assert "Critical Console sign-in without MFA" in res.stdout


def test_a_load_error_is_printed_once_and_names_its_file():
    bad = CASES / "output_unknown_field.yaml"
    res = run("replay", EXAMPLE, "-r", bad)
    assert res.exit_code == 1
    assert res.stderr == (f"Error: {bad}:4:11: rule 'Console Login': LOAD_ERR_COMPILE_OUTPUT: "
                          "unknown filter: ct.usr from %ct.srcip\n")


def test_a_failed_plugin_requirement_names_its_file(tmp_path):
    req = tmp_path / "req.yaml"
    req.write_text("- required_plugin_versions:\n  - name: cloudtrail\n    version: 9.0.0\n")
    res = run("validate", "-r", req)
    assert res.exit_code == 1
    assert f"{req}: Ok" not in res.stdout
    assert res.stdout.splitlines()[:4] == [
        f"{req}: Invalid | schema validation: ok", "1 Errors:", f"In rules content: ({req}:0:0)",
        f"    required plugin versions: ({req}:1:2)"]
    assert res.stdout.splitlines()[-2] == (
        "LOAD_ERR_VALIDATE (Error validating rule/macro/list/exception objects): Plugin "
        "'cloudtrail' version '0.17.1' is not compatible with required plugin version '9.0.0'")
    res = run("replay", EXAMPLE, "-r", req)
    assert res.stderr == (f"Error: {req}:2:5: required plugin versions entry 'cloudtrail': "
                          "LOAD_ERR_VALIDATE: Plugin 'cloudtrail' version '0.17.1' is not "
                          "compatible with required plugin version '9.0.0'\n")


def test_validate_reports_every_file_as_falco(tmp_path):
    bad, warn = CASES / "macro_append_missing.yaml", CASES / "unused_macro_and_list.yaml"
    res = run("validate", "-r", OURS, "-r", bad, "-r", warn, "-o", "time_format_iso_8601=true")
    assert res.exit_code == 1
    out = res.stdout.split("\n")
    assert out[0] == f"{OURS}: Ok | schema validation: ok"
    assert out[1] == f"{bad}: Invalid | schema validation: ok"
    assert out[-3:] == ["", f"{warn}: Ok, with warnings", ""]
    assert re.match(f"{ISO}: {re.escape(str(warn))}: Ok, with warnings \\| schema validation: ok\n"
                    "2 Warnings:\n", res.stderr)
    assert res.stderr.count("LOAD_UNUSED_") == 2
    res = run("validate", "-r", OURS)
    assert (res.exit_code, res.stdout, res.stderr) == (
        0, f"{OURS}: Ok | schema validation: ok\n", "")
