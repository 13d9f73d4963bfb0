"""`scap replay` of syscall and mixed captures with the syscall source in the compiled
core gives the alerts (text and JSON), their order and the statistics of the pure-Python
path (SCAPTOOLS_PURE=1), and the same error after the same alerts on damaged captures.

The rules exercise the evt.type index (one type, several, a negated type, none),
exceptions, outputs with syscall fields (proc, user, fd, evt, a transformer, widths),
priorities and rule_matching=all. Each replay checks which path the syscall source took:
the core when every selected rule runs there, else Python with the rules named.
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.errors import FormatError
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.replay.config import (alert_formatter, load_ruleset, make_engine, merged_options,
                                     read_config)
from scaptools.replay.loop import AlertWriter, replay_files

from ..conftest import SHARED
from .coreutil import core_or_skip

ROOT = Path(__file__).resolve().parents[2]
SHELL = ROOT / "captures" / "syscall_shell.scap"
CLOUDTRAIL = ROOT / "captures" / "example.scap"
OWN_CLOUDTRAIL = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
E2E = SHARED / "captures" / "libs-e2e"
FALCO = SHARED / "rules-upstream" / "falco_rules.yaml"

RULES = """
- list: quiet_readers
  items: [sshd, passwd]
- macro: opened
  condition: evt.type in (open, openat, openat2) and evt.dir = <
- rule: Open below etc
  desc: index by three types, an exception, fields of every class in the output
  condition: opened and fd.name startswith /etc and not proc.name in (quiet_readers)
  output: >
    %evt.type %fd.name %fd.num %fd.typechar %proc.name %proc.pname %proc.cmdline
    %user.name %user.uid %evt.num %evt.time %evt.res [%8proc.name] %toupper(proc.name)
  priority: WARNING
  tags: [files, etc]
  exceptions:
    - name: noisy
      fields: [proc.name, fd.name]
      values:
        - [cat, /etc/ld.so.cache]
- rule: Any open
  desc: the same events again, met under rule_matching=all only
  condition: opened
  output: "%proc.name opened %fd.name (%evt.rawres) %evt.args"
  priority: NOTICE
- rule: Execs
  desc: one type only
  condition: evt.type = execve and evt.dir = <
  output: "%proc.exepath %proc.cmdline %proc.aname[2] %thread.tid %user.loginuid"
  priority: CRITICAL
- rule: Not close
  desc: a negated type, every type but one
  condition: not evt.type = close and evt.dir = < and proc.name in (curl, cat)
  output: "%evt.type %proc.name %evt.latency"
  priority: INFO
- rule: No type
  desc: no type restriction, the default group
  condition: proc.name = python3 and evt.failed = true
  output: "%evt.type %evt.info"
  priority: DEBUG
- rule: Address checks
  desc: addresses, networks and both ends of connections
  condition: >
    evt.type in (connect, sendto, recvfrom, accept, socket) and evt.dir = < and
    (fd.sip = 8.8.8.8 or fd.snet in (172.16.0.0/12, 2a00::/16) or fd.rip != ::1
     or fd.ip = 127.0.0.1 or fd.net != 10.0.0.0/8 or fd.port in (53, 80) or fd.proto > 1024)
  output: "%fd.sip %fd.cip %fd.lip %fd.rip %fd.sport %fd.l4proto"
  priority: NOTICE
- rule: Connects
  desc: connections
  condition: evt.type = connect and evt.dir = < and fd.typechar in (4, 6)
  output: "%fd.name %fd.sport %fd.cport %fd.l4proto %proc.name"
  priority: ERROR
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "syscall_test_rules.yaml"
    path.write_text(RULES)
    return path


def e2e(name: str) -> Path:
    path = E2E / name
    if not path.is_file():
        pytest.skip(f"../shared/captures/libs-e2e/{name} is absent (fresh clone without it)")
    return path


def falco() -> Path:
    if not FALCO.is_file():
        pytest.skip("../shared/rules-upstream is absent (fresh clone without the reference data)")
    return FALCO


@functools.lru_cache(maxsize=8)
def loaded(rules: tuple):
    _, registry = read_config(None)
    return registry, load_ruleset(list(rules), registry)


def replay(monkeypatch, paths, rules, *, pure: bool, render: bool = True, overrides=()):
    """The lines written, the --stats lines (without times), the error and the rules
    each path evaluated."""
    if pure:
        monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    else:
        monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    registry, result = loaded(tuple(str(r) for r in rules))
    options = merged_options({}, overrides)
    engine = make_engine(result, options)
    fmt = alert_formatter(options)
    out, error, stats = io.StringIO(), None, None
    on_alert = AlertWriter(fmt, out.write) if render else \
        (lambda alert: out.write(fmt(alert) + "\n"))
    try:
        stats = replay_files([str(p) for p in paths], engine, registry, on_alert)
    except FormatError as exc:
        error = (type(exc).__name__, str(exc))
    lines = paths_taken = None
    if stats is not None:
        lines = stats.lines()
        lines = lines[:lines.index("Rules by evaluation path:")]
        lines = [x for x in lines if not x.startswith("Elapsed")]
        paths_taken = stats.paths
    return out.getvalue(), lines, error, paths_taken


def same(monkeypatch, paths, rules, *, core: bool = True, **kw):
    """Replay in both modes (the core writing the lines, then Python writing the core's
    alerts; chunks of the default size, and of 37 events walked on another thread or
    not); ``core``: the syscall source must run in the core."""
    import scaptools.replay.loop as loop
    made = core_or_skip()
    want = replay(monkeypatch, paths, rules, pure=True, **kw)
    replay_class = made.Replay
    for render, chunk, threads in ((True, 0, 0), (False, 37, 0), (True, 37, 1)):
        monkeypatch.setattr(made, "Replay", functools.partial(replay_class, chunk_events=chunk))
        monkeypatch.setattr(loop, "syscall_threads", lambda threads=threads: threads)
        got = replay(monkeypatch, paths, rules, pure=False, render=render, **kw)
        assert got[:3] == want[:3], (render, chunk, threads)
    monkeypatch.setattr(made, "Replay", replay_class)
    if got[3] is None:  # an error: no statistics
        return (*want[:3], None)
    syscall = got[3]["syscall"]
    if core:
        assert syscall["python"] == [] and syscall["core"], syscall
    else:
        assert syscall["core"] == [] and syscall["why"], syscall
    return (*want[:3], got[3])


@pytest.mark.parametrize("overrides", [(), ("json_output=true",), ("rule_matching=all",),
                                       ("priority=notice", "json_output=true"),
                                       ("time_format_iso_8601=true",)])
def test_repository_capture(monkeypatch, rules, overrides):
    out, _, error, _ = same(monkeypatch, [SHELL], [rules], overrides=overrides)
    assert error is None and out.count("\n") >= 2


@pytest.mark.parametrize("name", ["sample.scap", "curl_google.scap", "curl_google_comments.scap",
                                  "single_ipv6_conn.scap", "test_ipv6_client.scap"])
@pytest.mark.parametrize("overrides", [(), ("json_output=true", "rule_matching=all")])
def test_shared_captures(monkeypatch, rules, name, overrides):
    same(monkeypatch, [e2e(name)], [rules], overrides=overrides)


def test_every_shared_capture_in_one_replay(monkeypatch, rules):
    paths = [e2e(n) for n in ("sample.scap", "curl_google.scap", "test_ipv6_client.scap")]
    out, stats, _, _ = same(monkeypatch, paths + [SHELL], [rules],
                            overrides=("rule_matching=all",))
    assert out.count("\n") > 50 and any(x.startswith("  Critical") for x in stats)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """sample.scap's events with example.scap's CloudTrail records between them."""
    path = tmp_path_factory.mktemp("mixed") / "mixed.scap"
    source = E2E / "sample.scap"
    if not source.is_file():
        pytest.skip("../shared/captures/libs-e2e/sample.scap is absent")
    with open_capture(CLOUDTRAIL) as reader:
        records = [ev.payload for ev in reader if ev.is_plugin]
    with open_capture(source) as reader:
        events = list(reader)
        metadata = list(reader.metadata)
    with CaptureWriter(path, metadata=metadata) as writer:
        for n, ev in enumerate(events):
            writer.write(ev)
            if n % 40 == 0 and records:
                writer.write(Event.plugin(ev.ts, 2, records.pop(0)))
    return path


def test_mixed_capture(monkeypatch, rules, mixed):
    for overrides in ((), ("json_output=true",), ("rule_matching=all",)):
        out, stats, error, _ = same(monkeypatch, [mixed], [rules, OWN_CLOUDTRAIL],
                                    overrides=overrides)
        assert error is None and "  source aws_cloudtrail: 13" in stats


def test_python_rule_keeps_the_whole_syscall_source_in_python(monkeypatch, rules, tmp_path):
    extra = tmp_path / "ip.yaml"
    extra.write_text("- rule: Re\n  desc: a regex\n  condition: evt.type = connect and "
                     "proc.name regex \"^c.*\"\n  output: \"%fd.sip\"\n  priority: INFO\n")
    *_, taken = same(monkeypatch, [e2e("sample.scap"), SHELL], [rules, extra], core=False)
    assert taken["syscall"]["why"] == {"Re": "regex is evaluated in Python"}


def test_falco_rules(monkeypatch, rules):
    """The upstream rules: in the core once all their fields are, else on the Python path
    (naming why); the alerts are the same either way."""
    core = core_or_skip()
    registry, result = loaded((str(falco()),))
    from scaptools.replay.loop import native_loop
    engine = make_engine(result, merged_options({}, ()))
    monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    loop = native_loop(engine, registry, syscall=True)
    in_core = loop is not None and loop[1].syscall is not None
    assert core is not None
    paths = [e2e("sample.scap"), e2e("curl_google.scap"), SHELL]
    same(monkeypatch, paths, [falco(), rules], core=in_core,
         overrides=("json_output=true", "rule_matching=all"))


CAPTURE = SHELL.read_bytes()


def damaged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "damaged.scap"
    path.write_bytes(data)
    return path


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cut=st.integers(0, len(CAPTURE) - 1))
def test_cut_short(monkeypatch, tmp_path, rules, cut):
    same(monkeypatch, [damaged(tmp_path, CAPTURE[:cut])], [rules])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(at=st.integers(0, len(CAPTURE) - 1), byte=st.integers(0, 255))
def test_bytes_changed(monkeypatch, tmp_path, rules, at, byte):
    data = bytearray(CAPTURE)
    data[at] = byte
    same(monkeypatch, [damaged(tmp_path, bytes(data))], [rules],
         overrides=("rule_matching=all",))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_bytes_changed_with_the_upstream_rules(monkeypatch, tmp_path, rules, data):
    """A byte of a libs-e2e capture changed (in the events part): the upstream rules and
    the test rules give the same alerts and error in both modes."""
    source = e2e("curl_google.scap").read_bytes()
    at = data.draw(st.integers(len(source) // 10, len(source) - 1))
    changed = bytearray(source)
    changed[at] = data.draw(st.integers(0, 255))
    same(monkeypatch, [damaged(tmp_path, bytes(changed))], [falco(), rules])


def test_parameter_past_the_end_of_an_event_the_state_reads(monkeypatch, tmp_path, rules):
    """An openat exit whose name runs past its end: the alerts before it, then the
    DamagedEvent of the Python state, naming the file and offset."""
    with open_capture(SHELL) as reader:
        events = list(reader)
        metadata = list(reader.metadata)
    exits = [n for n, ev in enumerate(events) if ev.name == "openat" and ev.direction == "<"]
    last = exits[-1]
    ev = events[last]
    raw = bytearray(ev.raw)
    raw[26 + 2 * 2:26 + 2 * 3] = (0xFFF0).to_bytes(2, "little")  # the third length: name
    events[last] = Event(ev.num, ev.ts, ev.cpu, ev.tid, ev.type, ev.nparams, bytes(raw))
    path = tmp_path / "past.scap"
    with CaptureWriter(path, metadata=metadata) as writer:
        for event in events:
            writer.write(event)
    out, _, error, _ = same(monkeypatch, [path], [rules])
    assert error is not None and error[0] == "DamagedEvent" and str(path) in error[1]
    assert out.count("\n") >= 1
