"""Fixtures of the cluster tests: a real Dask scheduler and two worker processes on
127.0.0.1 (one per test module), the moto S3 server of the recording tests, and a
set of captures of one million CloudTrail events made from the repository's own.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
RULES = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
SYSCALL_RULES = CAPTURES / "rules" / "syscall_rules.yaml"
ENV = {"TZ": "UTC", "FALCO_HOSTNAME": "scap-test-host"}

# the moto server fixtures of tests/record (a real server on 127.0.0.1), reused as they are
_spec = importlib.util.spec_from_file_location("record_conftest",
                                               ROOT / "tests" / "record" / "conftest.py")
_record = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_record)
moto_endpoint = _record.moto_endpoint
aws_env = _record.aws_env
boto = _record.boto
unique = _record.unique


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two worker processes (one thread each) on 127.0.0.1, no dashboard."""
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client
    with Client(cluster, set_as_default=False) as dask_client:
        yield dask_client


MAIN = "from scaptools.cli.main import main; main()"
SCAP = [sys.executable, "-c", MAIN]


def run_scap(*args, env: dict | None = None, prelude: str = "", **kwargs):
    """``scap ARGS`` in a subprocess (the console script's code, after the Python code
    ``prelude``), text output, in UTC and with a fixed host name."""
    full = dict(os.environ, **ENV, **(env or {}))
    command = [sys.executable, "-c", f"{prelude}; {MAIN}"] if prelude else SCAP
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([*command, *map(str, args)], text=True, env=full, **kwargs)


@pytest.fixture(scope="session")
def scap():
    """``scap(*args, env=None, **subprocess_kwargs)`` -> CompletedProcess (see run_scap)."""
    return run_scap


@pytest.fixture
def one_process(utc):
    """``one_process(*args)`` -> ``scap ARGS`` run in this process (no cluster: the
    reference output), with the environment of ``run_scap``; exit code, stdout, stderr."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    from scaptools.cli.main import cli

    def run(*args):
        res = CliRunner().invoke(cli, [str(a) for a in args], env=ENV)
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise res.exception
        return SimpleNamespace(returncode=res.exit_code, stdout=res.stdout, stderr=res.stderr)
    return run


@pytest.fixture(scope="session")
def scap_popen():
    """``scap_popen(*args, **popen_kwargs)`` -> a running ``scap ARGS`` (binary pipes)."""
    def start(*args, **kwargs):
        return subprocess.Popen([*SCAP, *map(str, args)], env=dict(os.environ, **ENV),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    return start


@pytest.fixture(scope="session")
def make_capture():
    """``make_capture(path, events, seed=0)``: see write_capture."""
    return write_capture


def cloudtrail_captures() -> list[Path]:
    return [p for p in sorted(CAPTURES.glob("*.scap")) if p.name != "syscall_shell.scap"]


def write_capture(path: Path, events: int, seed: int = 0) -> Path:
    """A capture of ``events`` CloudTrail events: the repository's records one after
    another (timestamps moved on by a round each time), written by the project's
    writer as a block of 4,096 events, then that block's bytes repeated."""
    from scaptools.events.event import Event
    from scaptools.format.reader import open_capture
    from scaptools.format.writer import CaptureWriter
    from scaptools.replay.parallel import plan
    records, metadata = [], None
    for src in cloudtrail_captures():
        with open_capture(src) as reader:
            records += list(reader)
            metadata = metadata or list(reader.metadata)
    span = max(e.ts for e in records) - min(e.ts for e in records) + 1
    block = path.with_suffix(".block")
    with CaptureWriter(block, metadata=metadata) as writer:
        for n in range(min(events, 4096)):
            ev = records[(n + seed) % len(records)]
            ts = ev.ts + (n // len(records) + seed) * span
            writer.write(Event(0, ts, ev.cpu, ev.tid, ev.type, ev.nparams,
                               struct.pack("<Q", ts) + ev.raw[8:]))
    data = block.read_bytes()
    head = plan(str(block), 2).head
    with open(path, "wb") as out:
        out.write(data)
        left = events - min(events, 4096)
        while left > 0:  # whole repeats of the block, then a cut at an event boundary
            if left >= 4096:
                out.write(memoryview(data)[head:])
                left -= 4096
            else:
                out.write(memoryview(data)[head:_offset_after(block, head, left)])
                left = 0
    block.unlink()
    return path


def _offset_after(path: Path, head: int, count: int) -> int:
    """The offset just after the first ``count`` event blocks."""
    from scaptools.format.constants import EVENT_BLOCKS
    from scaptools.format.ranges import walk_blocks
    seen = 0
    with open(path, "rb") as fh:
        for block in walk_blocks(fh, os.path.getsize(path), head, path=str(path)):
            if block.type in EVENT_BLOCKS:
                seen += 1
                if seen == count:
                    return block.offset + block.length
    raise AssertionError("not enough events")


@pytest.fixture(scope="session")
def million(tmp_path_factory) -> list[Path]:
    """Four captures of 250,000 CloudTrail events each (about 240 MB each)."""
    folder = tmp_path_factory.mktemp("million")
    paths = [write_capture(folder / f"part{k}.scap", 250_000, seed=k) for k in range(4)]
    yield paths
    shutil.rmtree(folder, ignore_errors=True)


LOGINS = ("- rule: logins\n  desc: d\n  condition: ct.name=ConsoleLogin\n"
          "  output: n=%evt.num rel=%evt.reltime user=%ct.user ip=%ct.srcip\n"
          "  priority: WARNING\n  source: aws_cloudtrail\n")


@pytest.fixture(scope="session")
def million_rules(tmp_path_factory) -> Path:
    """A rule on console logins: about one event in twenty alerts."""
    path = tmp_path_factory.mktemp("million-rules") / "logins.yaml"
    path.write_text(LOGINS)
    return path


@pytest.fixture(scope="session")
def million_alerts(million, million_rules):
    """``scap replay`` of the million events in one process, with ``--stats``."""
    proc = run_scap("replay", *million, "-r", million_rules, "--stats")
    assert proc.returncode == 0, proc.stderr
    return proc
