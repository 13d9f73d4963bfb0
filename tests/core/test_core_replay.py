"""`scap replay` gives the same alerts, text and JSON, the same statistics and the same
errors with the compiled core as on the pure-Python path (SCAPTOOLS_PURE=1).

Every capture of the repository and the small shared ones, a 5,000-event slice of the
shared 100k CloudTrail capture and a capture of the 3,273 real records of
../shared/cloudtrail are replayed through the upstream CloudTrail rules (shared) and
the repository's own rules, with Falco's options (-t, -T, -D, rule_matching all,
minimum priority, ISO times, JSON properties) and -j. The core's alerts are checked
both rendered by the core (a formatter whose options are known) and rendered by
Python (any other alert callback).
"""
from __future__ import annotations

import functools
import io
import subprocess
import sys
from pathlib import Path

import pytest

from scaptools.errors import FormatError
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.replay.config import (alert_formatter, load_ruleset, make_engine, merged_options,
                                     read_config)
from scaptools.replay.loop import AlertWriter, replay_files
from scaptools.replay.parallel import replay_parallel

from ..conftest import SHARED
from .coreutil import core_or_skip

ROOT = Path(__file__).resolve().parents[2]
OWN = ROOT / "rules"
UPSTREAM = SHARED / "rules-upstream" / "aws_cloudtrail_rules.yaml"
REPO_CAPTURES = sorted((ROOT / "captures").glob("*.scap"))
SHARED_CAPTURES = ["libscap-plugin/cloudtrail_small.scap", "libscap-plugin/cloudtrail_small.scap.gz",
                   "libs-e2e/sample.scap"]


def upstream() -> Path:
    if not UPSTREAM.is_file():
        pytest.skip("../shared/rules-upstream is absent (fresh clone without the reference data)")
    return UPSTREAM


def shared_capture(name: str) -> Path:
    path = SHARED / "captures" / name
    if not path.is_file():
        pytest.skip(f"../shared/captures/{name} is absent (fresh clone without the reference data)")
    return path


def replay(monkeypatch, paths, rules, *, pure: bool, render: bool = True, jobs: int = 1,
           overrides=(), tags=(), skip_tags=(), disabled=(), json_output=False):
    """Alerts written, --stats lines (without times and paths) and the error, if any."""
    if pure:
        monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    else:
        monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    registry, result = loaded(tuple(str(r) for r in rules))
    options = merged_options({}, overrides)
    options["json_output"] = options["json_output"] or json_output
    engine = make_engine(result, options, tags=tags, skip_tags=skip_tags, disabled=disabled)
    assert bool(engine.native) != pure or not engine.rules
    fmt = alert_formatter(options)
    if render:
        fmt.options = options  # the core renders the lines
    out, error, stats = io.StringIO(), None, None
    try:
        if jobs > 1:
            stats = replay_parallel([str(p) for p in paths], jobs,
                                    lambda: (engine, registry, fmt), out.write)
        else:
            on_alert = AlertWriter(fmt, out.write) if render else \
                (lambda alert: out.write(fmt(alert) + "\n"))
            stats = replay_files([str(p) for p in paths], engine, registry, on_alert)
    except FormatError as exc:
        error = (type(exc).__name__, str(exc))
    lines = []
    if stats is not None:
        lines = stats.lines()
        lines = [x for x in lines[:lines.index("Rules by evaluation path:")]
                 if not x.startswith("Elapsed")] if "Rules by evaluation path:" in lines else lines
    return out.getvalue(), lines, error


@functools.lru_cache(maxsize=8)
def loaded(rules: tuple):
    """The registry and the load of ``rules`` (loaded once: only the engine depends on the
    mode)."""
    _, registry = read_config(None)
    return registry, load_ruleset(list(rules), registry)


def same_both_ways(monkeypatch, paths, rules, **kw):
    """Replay in both modes (the core rendering and Python rendering the core's alerts)."""
    monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    core_or_skip()
    want = replay(monkeypatch, paths, rules, pure=True, **kw)
    assert replay(monkeypatch, paths, rules, pure=False, **kw) == want
    assert replay(monkeypatch, paths, rules, pure=False, render=False, **kw) == want
    return want


@pytest.fixture(scope="module")
def slice_5k(tmp_path_factory) -> Path:
    """The first 5,000 events of the shared 100k CloudTrail capture, plain."""
    src = shared_capture("libscap-plugin/cloudtrail_100k.scap.gz")
    path = tmp_path_factory.mktemp("core") / "ct5k.scap"
    with open_capture(src) as reader, CaptureWriter(path, metadata=()) as writer:
        for n, ev in enumerate(reader):
            if n == 5_000:
                break
            writer.write(ev)
    return path


@pytest.fixture(scope="module")
def real_records(tmp_path_factory) -> Path:
    """The real records of ../shared/cloudtrail as one capture."""
    from .test_core_fields import shared_records
    path = tmp_path_factory.mktemp("core") / "real.scap"
    with CaptureWriter(path) as writer:
        for n, payload in enumerate(shared_records()):
            writer.write(Event.plugin(1_600_000_000_000_000_000 + n * 1000, 2, payload))
    return path


def test_repository_captures_own_rules(monkeypatch):
    out, _, error = same_both_ways(monkeypatch, REPO_CAPTURES, [OWN])
    assert error is None and out.count("\n") > 40
    same_both_ways(monkeypatch, REPO_CAPTURES, [OWN], json_output=True)


def test_repository_captures_upstream_rules(monkeypatch):
    same_both_ways(monkeypatch, REPO_CAPTURES, [upstream()])


@pytest.mark.parametrize("name", SHARED_CAPTURES)
def test_shared_captures(monkeypatch, name):
    capture = shared_capture(name)
    for rules in ([upstream()], [OWN]):
        same_both_ways(monkeypatch, [capture], rules)
        same_both_ways(monkeypatch, [capture], rules, json_output=True)


def test_slice_of_the_100k_capture(monkeypatch, slice_5k):
    out, lines, error = same_both_ways(monkeypatch, [slice_5k], [upstream()])
    assert out.count("\n") > 1000 and error is None
    same_both_ways(monkeypatch, [slice_5k], [upstream()], json_output=True)


def test_real_records(monkeypatch, real_records):
    for rules in ([upstream()], [OWN]):
        same_both_ways(monkeypatch, [real_records], rules)
        same_both_ways(monkeypatch, [real_records], rules, json_output=True,
                       overrides=["rule_matching=all"])


OPTION_CASES = {
    "rule_matching all": {"overrides": ["rule_matching=all"]},
    "min priority": {"overrides": ["priority=warning"]},
    "-t": {"tags": ["aws_iam"]},
    "-T": {"skip_tags": ["aws_s3"]},
    "-D": {"disabled": ["Console", "Run"]},
    "iso times": {"overrides": ["time_format_iso_8601=true"]},
    "json properties": {"json_output": True, "overrides": [
        "json_include_output_property=false", "json_include_tags_property=false",
        "json_include_message_property=true", "time_format_iso_8601=true"]},
    "json without fields": {"json_output": True,
                            "overrides": ["json_include_output_fields_property=false"]},
}


@pytest.mark.parametrize("case", OPTION_CASES)
def test_falco_options(monkeypatch, slice_5k, case):
    captures = [slice_5k, ROOT / "captures" / "example.scap"]
    same_both_ways(monkeypatch, captures, [upstream()], **OPTION_CASES[case])


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_replay(monkeypatch, slice_5k, jobs):
    gz = shared_capture("libscap-plugin/cloudtrail_small.scap.gz")
    want = same_both_ways(monkeypatch, [slice_5k, gz], [upstream()], jobs=jobs)
    assert want[0] == replay(monkeypatch, [slice_5k, gz], [upstream()], pure=True)[0]


def test_mixed_capture_with_syscall_rules(monkeypatch):
    rules = [OWN, ROOT / "captures" / "rules" / "syscall_rules.yaml"]
    same_both_ways(monkeypatch, [ROOT / "captures" / "syscall_shell.scap",
                                 ROOT / "captures" / "example.scap"], rules)


def test_the_command_line(tmp_path):
    """`scap replay` itself, both modes, text and JSON, with --stats."""
    core_or_skip()
    capture = ROOT / "captures" / "example.scap"
    for extra in ([], ["--json"]):
        runs = []
        for pure in ("1", "0"):
            proc = subprocess.run([sys.executable, "-c", "from scaptools.cli.main import main; main()",
                                   "replay", str(capture), "-r", str(OWN), "--stats", *extra],
                                  capture_output=True, text=True,
                                  env={**__import__("os").environ, "SCAPTOOLS_PURE": pure})
            stats = [x for x in proc.stderr.splitlines() if not x.startswith(("Elapsed", "  aws"))]
            runs.append((proc.returncode, proc.stdout, stats))
        assert runs[0] == runs[1]
        assert runs[0][1].count("\n") == 9
