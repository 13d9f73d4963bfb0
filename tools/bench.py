#!/usr/bin/env python3
"""Benchmarks of scaptools next to sysdig, on the same files, in the same run.

Not a test. Builds large captures with the project's own writer into
``bench-data/`` (git-ignored), then times each workload: library iteration and
``sysdig -r FILE -q``, median of N runs, printing events/s, the ratio and peak
RSS (each run in its own subprocess, RSS from ``getrusage(RUSAGE_CHILDREN)``).

    python tools/bench.py                      # every format workload
    python tools/bench.py -w syscall-1m -w gzip-1m --runs 5
    python tools/bench.py --list

Add a workload: write ``def bench_<name>(ctx) -> list[Result]`` and register it in
``WORKLOADS``. ``ctx`` gives the data folder, the shared folder and the run count.
"""
from __future__ import annotations

import argparse
import gzip as gzip_module
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scaptools.events.event import Event  # noqa: E402
from scaptools.format.reader import open_capture  # noqa: E402
from scaptools.format.writer import CaptureWriter  # noqa: E402

# Runs a command and reports its wall time and the peak RSS of the children.
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss_kb": use.ru_maxrss,
                  "code": out.returncode,
                  "stdout": out.stdout[-2000:], "stderr": out.stderr[-2000:]}))
"""

# Library iteration: reports its own event count and time (startup excluded).
ITERATE = """
import sys, time
from scaptools.format.reader import open_capture
t, c = time.perf_counter(), time.process_time()
n = 0
for ev in open_capture(sys.argv[1]):
    n += 1
print(n, time.perf_counter() - t, time.process_time() - c)
"""


@dataclass
class Context:
    data: Path
    shared: Path
    runs: int


@dataclass
class Result:
    workload: str
    tool: str
    events: int
    seconds: float
    cpu_seconds: float
    rss_mb: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        """Events per CPU second: steadier than wall time on a busy machine."""
        return self.events / self.cpu_seconds if self.cpu_seconds else 0.0


# Variables some shells and containers set that change how Python runs: every line a
# write(2), no bytecode cache. Tools are measured as a plain shell runs them.
_UNSET = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")


def child_env(extra: dict | None = None) -> dict:
    env = dict(os.environ, **(extra or {}))
    return {k: v for k, v in env.items() if k not in _UNSET}


def measured(argv: list[str], env: dict | None = None) -> dict:
    """Run ``argv`` in a fresh wrapper process; wall time, peak RSS, output."""
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True,
                          text=True, check=True, cwd=ROOT, env=env or child_env())
    res = json.loads(proc.stdout)
    if res["code"] != 0:
        raise RuntimeError(f"{argv[0]} failed: {res['stderr']}")
    return res


def summary(workload: str, tool: str, events: int, samples: list[dict]) -> Result:
    """A ``Result`` from ``measured`` samples: median wall and CPU, largest peak RSS."""
    return Result(workload, tool, events, statistics.median(s["wall"] for s in samples),
                  statistics.median(s["cpu"] for s in samples),
                  max(s["rss_kb"] for s in samples) / 1024)


def time_library(workload: str, path: Path, runs: int, *, env: dict | None = None,
                 tool: str = "scaptools") -> Result:
    """Median over ``runs`` of iterating every event with ``open_capture``."""
    samples = []
    for _ in range(runs):
        res = measured([sys.executable, "-c", ITERATE, str(path)], env=env)
        n, secs, cpu = res["stdout"].split()
        samples.append((float(secs), int(n), res["rss_kb"], float(cpu)))
    secs = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[3] for s in samples)
    return Result(workload, tool, samples[0][1], secs, cpu, max(s[2] for s in samples) / 1024)


def time_sysdig(workload: str, path: Path, runs: int, events: int) -> Result | None:
    """Median over ``runs`` of ``sysdig -r FILE -q`` (None if sysdig is missing)."""
    sysdig = shutil.which("sysdig")
    if sysdig is None:
        return None
    samples = [measured([sysdig, "-r", str(path), "-q"]) for _ in range(runs)]
    return summary(workload, "sysdig -q", events, samples)


def replicate(src: Path, dst: Path, count: int, *, gzip: bool = False) -> Path:
    """Write ``count`` events: ``src``'s metadata once, then its events repeated,
    each copy shifted by the span plus 1 ms so timestamps stay in order."""
    if dst.exists():
        return dst
    with open_capture(src) as reader:
        events = list(reader)
        metadata = list(reader.metadata)
    span = events[-1].ts - events[0].ts + 1_000_000
    tmp = dst.with_suffix(dst.suffix + ".part")
    with CaptureWriter(tmp, gzip=gzip, metadata=metadata) as writer:
        shift, written = 0, 0
        while written < count:
            for ev in events[:count - written]:
                ts = ev.ts + shift
                raw = struct.pack("<Q", ts) + ev.raw[8:]
                writer.write(Event(0, ts, ev.cpu, ev.tid, ev.type, ev.nparams, raw))
            written = writer.events_written
            shift += span
    tmp.rename(dst)
    return dst


def compare(ctx: Context, workload: str, path: Path) -> list[Result]:
    lib = time_library(workload, path, ctx.runs)
    ref = time_sysdig(workload, path, ctx.runs, lib.events)
    return [lib] + ([ref] if ref else [])


def curl_google(ctx: Context) -> Path:
    return ctx.shared / "captures" / "libs-e2e" / "curl_google.scap"


def bench_syscall_1m(ctx: Context) -> list[Result]:
    """1M syscall events, plain, replicated from curl_google.scap."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_1m.scap", 1_000_000)
    return compare(ctx, "syscall-1m", path)


def bench_syscall_10m(ctx: Context) -> list[Result]:
    """10M syscall events, plain (about 600 MB): speed and flat memory."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_10m.scap", 10_000_000)
    return compare(ctx, "syscall-10m", path)


def bench_gzip_1m(ctx: Context) -> list[Result]:
    """1M syscall events, gzip."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_1m.scap.gz", 1_000_000, gzip=True)
    return compare(ctx, "gzip-1m", path)


def bench_plugin_1m(ctx: Context) -> list[Result]:
    """1M CloudTrail plugin events: cloudtrail_100k.scap.gz ten times."""
    src = ctx.shared / "captures" / "libscap-plugin" / "cloudtrail_100k.scap.gz"
    path = replicate(src, ctx.data / "plugin_1m.scap", 1_000_000)
    return compare(ctx, "plugin-1m", path)


def replicate_v1(src: Path, dst: Path, count: int) -> Path:
    """Like :func:`replicate`, but copying ``src``'s v1 (0x204) event blocks as they are,
    since the project's writer only writes v2 blocks (timestamps at block offset 10)."""
    if dst.exists():
        return dst
    data = gzip_module.decompress(src.read_bytes())
    pos, blocks = 0, []
    while pos < len(data):
        btype, total = struct.unpack_from("<II", data, pos)
        blocks.append((btype, data[pos:pos + total]))
        pos += total
    head = b"".join(b for t, b in blocks if t != 0x204)
    events = [b for t, b in blocks if t == 0x204]
    first, last = (struct.unpack_from("<Q", b, 10)[0] for b in (events[0], events[-1]))
    span, written, shift = last - first + 1_000_000, 0, 0
    with open(dst, "wb") as out:
        out.write(head)
        while written < count:
            for blk in events[:count - written]:
                ts = struct.unpack_from("<Q", blk, 10)[0] + shift
                out.write(blk[:10] + struct.pack("<Q", ts) + blk[18:])
                written += 1
            shift += span
    return dst


def bench_v1_1m(ctx: Context) -> list[Result]:
    """1M events in version-1.0 blocks (0x204), as 2014-2018 captures hold them."""
    path = replicate_v1(curl_google(ctx), ctx.data / "syscall_v1_1m.scap", 1_000_000)
    return compare(ctx, "v1-1m", path)


# Read + write: the library's convert of a capture, reporting its own time.
CONVERT = """
import sys, time
from scaptools.ops.convert import convert
t, c = time.perf_counter(), time.process_time()
n = convert(sys.argv[1], sys.argv[2], gzip=sys.argv[3] == "gz")
print(n, time.perf_counter() - t, time.process_time() - c)
"""


def bench_convert_1m(ctx: Context) -> list[Result]:
    """Rewrite 1M syscall events (read + CaptureWriter), next to `sysdig -r F -w OUT`."""
    src = replicate(curl_google(ctx), ctx.data / "syscall_1m.scap", 1_000_000)
    results = []
    for mode in ("plain", "gz"):
        out = ctx.data / f"convert_out.{mode}"
        samples = []
        for _ in range(ctx.runs):
            res = measured([sys.executable, "-c", CONVERT, str(src), str(out), mode])
            n, secs, cpu = res["stdout"].split()
            samples.append((int(n), float(secs), float(cpu), res["rss_kb"]))
        results.append(Result(f"convert-{mode[:2]}", "scaptools", samples[0][0],
                              statistics.median(s[1] for s in samples),
                              statistics.median(s[2] for s in samples),
                              max(s[3] for s in samples) / 1024))
        sysdig = shutil.which("sysdig")
        if sysdig:
            args = [sysdig, "-r", str(src), "-w", str(out)] + (["-z"] if mode == "gz" else [])
            ref = [measured(args) for _ in range(ctx.runs)]
            results.append(summary(f"convert-{mode[:2]}", "sysdig -w", samples[0][0], ref))
        out.unlink(missing_ok=True)
    return results


WORKLOADS = {
    "syscall-1m": bench_syscall_1m,
    "syscall-10m": bench_syscall_10m,
    "gzip-1m": bench_gzip_1m,
    "plugin-1m": bench_plugin_1m,
    "convert-1m": bench_convert_1m,
    "v1-1m": bench_v1_1m,
}


# -- replay workload (plugins engineer) ---------------------------------------------------
MFA_CONDITION = ("ct.name=ConsoleLogin and not ct.error exists and ct.user.identitytype!=AssumedRole"
                 " and ct.value[/responseElements/ConsoleLogin]=Success"
                 " and ct.value[/additionalEventData/MFAUsed]=No")


def bench_replay_1m(ctx: Context) -> list[Result]:
    """`scap replay` of 1M CloudTrail events with every upstream rule, next to sysdig+ctmini."""
    src = ctx.shared / "captures" / "libscap-plugin" / "cloudtrail_100k.scap.gz"
    return _replay(ctx, "replay-1m", replicate(src, ctx.data / "plugin_1m.scap", 1_000_000))


def bench_replay_100k(ctx: Context) -> list[Result]:
    """The same on the 100k sample alone (plain): quick iterations."""
    src = ctx.shared / "captures" / "libscap-plugin" / "cloudtrail_100k.scap.gz"
    return _replay(ctx, "replay-100k", replicate(src, ctx.data / "plugin_100k.scap", 100_000))


# `scap replay`'s loop as the command runs it, with the formatter's options known, so
# the compiled core writes the alert lines itself (docs/core.md); prints the event count.
REPLAY_LINES = """
import sys
from scaptools.replay.config import (alert_formatter, load_ruleset, make_engine,
                                     merged_options, read_config)
from scaptools.replay.loop import AlertWriter, replay_files
config, registry = read_config(None)
options = merged_options(config)
options["json_output"] = sys.argv[3] == "json"
engine = make_engine(load_ruleset([sys.argv[2]], registry), options)
fmt = alert_formatter(options)
fmt.options = options
stats = replay_files([sys.argv[1]], engine, registry, AlertWriter(fmt, sys.stdout.write))
sys.stdout.flush()
print(stats.events, file=sys.stderr)
"""


def upstream_or_condition(rules: Path) -> str:
    """The enabled upstream CloudTrail conditions joined by ``or``, lists expanded, with
    ctmini's ``ct.value`` for ``json.value`` (what sysdig can evaluate with ctmini)."""
    from scaptools.replay.config import load_ruleset, read_config
    _, registry = read_config(None)
    result = load_ruleset([str(rules)], registry)
    conds = [f"({r.condition})" for r in result.ruleset.rules if r.enabled]
    return " or ".join(conds).replace("json.value[", "ct.value[")


def _replay(ctx: Context, workload: str, path: Path) -> list[Result]:
    """`scap replay` with every upstream rule: the command (compiled core, and
    SCAPTOOLS_PURE=1), text and JSON, -j 2; the replay loop with the core writing the
    lines (the command does once the formatter tells its options); sysdig with ctmini
    and the single "Console Login Without MFA" condition, and with all 20 enabled
    conditions joined by `or`."""
    rules = ctx.shared / "rules-upstream" / "aws_cloudtrail_rules.yaml"
    cmd = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "replay",
           str(path), "-r", str(rules), "--stats"]
    results, events = [], 0
    rows = [("scap replay", cmd, {}), ("scap replay --json", cmd + ["--json"], {}),
            ("scap replay -j 2", cmd + ["-j", "2"], {}),
            ("pure scap replay", cmd, {"SCAPTOOLS_PURE": "1"}),
            ("pure scap replay --json", cmd + ["--json"], {"SCAPTOOLS_PURE": "1"})]
    for tool, argv, env in rows:
        samples = [measured(_to_null(argv), child_env(env)) for _ in range(ctx.runs)]
        events = int(samples[0]["stderr"].split("Events read: ", 1)[1].split()[0])
        results.append(summary(workload, tool, events, samples))
    for form in ("text", "json"):
        argv = [sys.executable, "-c", REPLAY_LINES, str(path), str(rules), form]
        samples = [measured(_to_null(argv)) for _ in range(ctx.runs)]
        results.append(summary(workload, f"core lines {form}", events, samples))
    sysdig, build = shutil.which("sysdig"), ctx.shared / "tools" / "ctmini" / "build.sh"
    lib = ctx.data / "libctmini.so"
    if sysdig and not lib.exists():
        subprocess.run(["sh", str(build), str(ctx.data)], capture_output=True, check=False)
    if sysdig and lib.exists():
        for tool, cond in (("sysdig+ctmini 1 rule", MFA_CONDITION),
                           ("sysdig+ctmini 20 rules", upstream_or_condition(rules))):
            ref = [measured([sysdig, "-H", str(lib), "-r", str(path), "-q", cond])
                   for _ in range(ctx.runs)]
            results.append(summary(workload, tool, events, ref))
    return results


WORKLOADS["replay-1m"] = bench_replay_1m
WORKLOADS["replay-100k"] = bench_replay_100k


# -- record workloads (recording engineer) -------------------------------------------------
RECORD = """
import resource, sys, time
from scaptools.record.recorder import Recorder, RecordOptions
from scaptools_plugins.cloudtrail.source import open_source, parse_init_config
t, c = time.perf_counter(), time.process_time()
stream = open_source(parse_init_config(sys.argv[3]), sys.argv[1])
summary = Recorder(stream, 2, RecordOptions(out=sys.argv[2], gzip=sys.argv[4] == "1")).run()
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # a decoding helper process, if any
print(summary.events, stream.stats.objects_done, time.perf_counter() - t,
      time.process_time() - c + kids.ru_utime + kids.ru_stime,
      max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, kids.ru_maxrss))
"""


def _ct100k(ctx: Context) -> list[bytes]:
    """The 100k generated CloudTrail records (compact JSON, one per line in the source)."""
    import lzma
    text = lzma.decompress((ctx.shared / "captures" / "libscap-plugin" /
                            "cloudtrail_100k.json.xz").read_bytes())
    return [line.rstrip(b",") for line in text.splitlines()[1:-1]]


def _time_record(workload: str, params: str, config: str, ctx: Context, env=None, gzip=False,
                 tool="scaptools"):
    """Median of ``ctx.runs`` recordings (time from the source's open, imports excluded)."""
    samples = []
    for _ in range(ctx.runs):
        proc = subprocess.run([sys.executable, "-c", RECORD, params, str(ctx.data / "rec.scap"),
                               config, "1" if gzip else "0"], capture_output=True, text=True,
                              check=True, cwd=ROOT, env=child_env(env))
        events, objects, secs, cpu, rss_kb = proc.stdout.split()
        samples.append((float(secs), float(cpu), int(events), int(objects), int(rss_kb)))
    secs = statistics.median(x[0] for x in samples)
    cpu = statistics.median(x[1] for x in samples)
    print(f"{workload}: {samples[0][3] / secs:,.1f} objects/s, {samples[0][2] / secs:,.0f} "
          f"records/s ({samples[0][3]} objects)", file=sys.stderr)
    return Result(workload, tool, samples[0][2], secs, cpu, max(x[4] for x in samples) / 1024)


def bench_record_local(ctx: Context) -> list[Result]:
    """`scap record` of 100k records (.json.gz, .json, -z) next to sysdig+ctmini -w (.json)."""
    import gzip
    plain, packed = ctx.data / "ct100k.json", ctx.data / "ct100k.json.gz"
    if not packed.exists():
        text = b'{"Records":[' + b",\n".join(_ct100k(ctx)) + b"]}"
        plain.write_bytes(text)
        packed.write_bytes(gzip.compress(text, 6))
    results = [_time_record("record-local", str(packed), "{}", ctx),
               _time_record("record-local", str(plain), "{}", ctx, tool="scaptools .json"),
               _time_record("record-local", str(packed), "{}", ctx, gzip=True,
                            tool="scaptools -z")]
    for tool, src in (("scap record CLI", packed), ("scap record CLI .json", plain)):
        argv = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "record",
                "-w", str(ctx.data / "rec.scap"), "--plugin", "cloudtrail", "--open", str(src)]
        runs = [measured(argv) for _ in range(ctx.runs)]  # the whole process, as sysdig's
        results.append(summary("record-local", tool, results[0].events, runs))
    sysdig, lib = shutil.which("sysdig"), ctx.data / "libctmini.so"
    if sysdig and not lib.exists():
        subprocess.run(["sh", str(ctx.shared / "tools" / "ctmini" / "build.sh"), str(ctx.data)],
                       capture_output=True, check=False)
    if sysdig and lib.exists():
        ref = [measured([sysdig, "-H", str(lib), "-I", f"{lib}:{plain}", "-w",
                         str(ctx.data / "rec-sysdig.scap")]) for _ in range(ctx.runs)]
        results.append(summary("record-local", "sysdig+ctmini -w", results[0].events, ref))
    return results


def bench_record_s3(ctx: Context) -> list[Result]:
    """`scap record` of s3:// (moto server on loopback): 200 objects of 500 records, concurrency 1/32."""
    import gzip
    import socket
    import time
    import boto3
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=url)
    try:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        for _ in range(100):
            try:
                s3.create_bucket(Bucket="bench")
                break
            except Exception:
                time.sleep(0.1)
        records = _ct100k(ctx)
        for i in range(200):
            body = b'{"Records":[' + b",".join(records[i * 500:(i + 1) * 500]) + b"]}"
            key = (f"AWSLogs/123456789012/CloudTrail/us-east-1/2022/03/16/123456789012_"
                   f"CloudTrail_us-east-1_20220316T{i // 60:02d}{i % 60:02d}Z_{i:04d}.json.gz")
            s3.put_object(Bucket="bench", Key=key, Body=gzip.compress(body))
        return [_time_record(f"record-s3-c{n}", "s3://bench/AWSLogs/123456789012/",
                             f'{{"s3DownloadConcurrency": {n}}}', ctx, env) for n in (1, 32)]
    finally:
        server.kill()
        server.wait()


WORKLOADS["record-local"] = bench_record_local
WORKLOADS["record-s3"] = bench_record_s3


# -- print workloads (syscall performance engineer) -----------------------------------------
PRINT_FILTER = "evt.type=open and fd.name contains /etc"


def _to_null(argv: list[str]) -> list[str]:
    """``argv`` with its standard output sent to /dev/null."""
    return ["sh", "-c", 'exec "$0" "$@" > /dev/null', *argv]


def _print_rows(ctx: Context, workload: str, path: Path, events: int, args: list[str],
                sysdig_args: list[str], extra_env: dict | None = None) -> list[Result]:
    """`scap print FILE ARGS` with the compiled core and with SCAPTOOLS_PURE=1, next to
    `sysdig -r FILE SYSDIG_ARGS`, output to /dev/null."""
    results = []
    sysdig = shutil.which("sysdig")
    if sysdig:
        argv = [sysdig, "-r", str(path), *sysdig_args]
        samples = [measured(_to_null(argv), env=child_env(extra_env)) for _ in range(ctx.runs)]
        results.append(summary(workload, "sysdig", events, samples))
    argv = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "print",
            str(path), *args]
    core = {k: v for k, v in child_env(extra_env).items() if k != "SCAPTOOLS_PURE"}
    pure = child_env(dict(extra_env or {}, SCAPTOOLS_PURE="1"))
    for mode, env in (("core", core), ("pure", pure)):
        samples = [measured(_to_null(argv), env=env) for _ in range(ctx.runs)]
        results.append(summary(workload, f"{mode} scap print", events, samples))
    return results


def _print_filter(ctx: Context, workload: str, path: Path, events: int) -> list[Result]:
    return _print_rows(ctx, workload, path, events, [PRINT_FILTER], [PRINT_FILTER])


def bench_print_filter(ctx: Context) -> list[Result]:
    """`scap print FILE "evt.type=open and fd.name contains /etc"` on 1M syscall events."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_1m.scap", 1_000_000)
    return _print_filter(ctx, "print-filter", path, 1_000_000)


def bench_print_filter_10m(ctx: Context) -> list[Result]:
    """The same on 10M syscall events (issue 5's benchmark)."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_10m.scap", 10_000_000)
    return _print_filter(ctx, "print-filter-10m", path, 10_000_000)


def bench_print_lines(ctx: Context) -> list[Result]:
    """`scap print FILE` default lines of 1M syscall events (TZ=UTC), next to `sysdig -r F`."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_1m.scap", 1_000_000)
    return _print_rows(ctx, "print-lines", path, 1_000_000, [], [], {"TZ": "UTC"})


WORKLOADS["print-filter"] = bench_print_filter
WORKLOADS["print-filter-10m"] = bench_print_filter_10m
WORKLOADS["print-lines"] = bench_print_lines


def bench_info(ctx: Context) -> list[Result]:
    """`scap info` and iteration, compiled core and SCAPTOOLS_PURE=1, 10M syscall events."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_10m.scap", 10_000_000)
    core = {k: v for k, v in child_env().items() if k != "SCAPTOOLS_PURE"}
    results = []
    for mode, env in (("core", core), ("pure", child_env({"SCAPTOOLS_PURE": "1"}))):
        results.append(time_library("info", path, ctx.runs, env=env, tool=f"{mode} iterate"))
        argv = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "info",
                str(path)]
        samples = [measured(_to_null(argv), env=env) for _ in range(ctx.runs)]
        results.append(summary("info", f"{mode} scap info", results[0].events, samples))
    ref = time_sysdig("info", path, ctx.runs, results[0].events)
    return ([ref] if ref else []) + results


WORKLOADS["info"] = bench_info


PRINT_PLUGIN_FILTER = "ct.name=ConsoleLogin"


def bench_print_plugin(ctx: Context) -> list[Result]:
    """`scap print` of 1M CloudTrail events with a ct.name filter, core/pure, sysdig+ctmini."""
    src = ctx.shared / "captures" / "libscap-plugin" / "cloudtrail_100k.scap.gz"
    path = replicate(src, ctx.data / "plugin_1m.scap", 1_000_000)
    results, events = [], 1_000_000  # replicate writes exactly that many
    sysdig, lib = shutil.which("sysdig"), ctx.data / "libctmini.so"
    if sysdig and not lib.exists():
        subprocess.run(["sh", str(ctx.shared / "tools" / "ctmini" / "build.sh"), str(ctx.data)],
                       capture_output=True, check=False)
    if sysdig and lib.exists():
        ref = [measured(_to_null([sysdig, "-H", str(lib), "-r", str(path), PRINT_PLUGIN_FILTER]))
               for _ in range(ctx.runs)]
        results.append(summary("print-plugin", "sysdig+ctmini", events, ref))
    argv = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "print",
            str(path), PRINT_PLUGIN_FILTER]
    core = {k: v for k, v in child_env().items() if k != "SCAPTOOLS_PURE"}
    for mode, env in (("core", core), ("pure", child_env({"SCAPTOOLS_PURE": "1"}))):
        samples = [measured(_to_null(argv), env=env) for _ in range(ctx.runs)]
        results.append(summary("print-plugin", f"{mode} scap print", events, samples))
    return results


WORKLOADS["print-plugin"] = bench_print_plugin


# -- slice workloads -----------------------------------------------------------------------
def _written(path: Path) -> str:
    """The size of a capture and the events the reader finds in it (and why it stopped)."""
    from scaptools.ops.info import summarize
    report, fault = summarize(str(path))
    text = f"{path.stat().st_size:,} bytes, {report['events']:,} events"
    return text + (f" (then: {fault})" if fault else "")


def _slice_rows(ctx: Context, workload: str, path: Path, events: int, args: list[str],
                sysdig_args: list[str]) -> list[Result]:
    """`scap slice FILE -w OUT ARGS` with the compiled core and with SCAPTOOLS_PURE=1,
    next to `sysdig -r FILE -w OUT SYSDIG_ARGS`; rates count the input events. OUT lies
    in a temporary folder and is deleted after each run; what each tool wrote goes to
    standard error."""
    results = []
    with tempfile.TemporaryDirectory(prefix="scap-bench-slice-") as folder:
        out = Path(folder) / "out.scap"
        rows = []
        sysdig = shutil.which("sysdig")
        if sysdig:
            rows.append(("sysdig -w", [sysdig, "-r", str(path), "-w", str(out), *sysdig_args],
                         child_env()))
        argv = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "slice",
                str(path), "-w", str(out), *args]
        core = {k: v for k, v in child_env().items() if k != "SCAPTOOLS_PURE"}
        rows += [("core scap slice", argv, core),
                 ("pure scap slice", argv, child_env({"SCAPTOOLS_PURE": "1"}))]
        for tool, cmd, env in rows:
            samples, written = [], ""
            for _ in range(ctx.runs):
                samples.append(measured(cmd, env=env))
                written = _written(out)
                out.unlink()
            print(f"{workload}: {tool} wrote {written}", file=sys.stderr)
            results.append(summary(workload, tool, events, samples))
    return results


def bench_slice_filter_10m(ctx: Context) -> list[Result]:
    """`scap slice FILE -w OUT "evt.type=open and fd.name contains /etc"`, 10M syscall events."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_10m.scap", 10_000_000)
    return _slice_rows(ctx, "slice-filter-10m", path, 10_000_000, [PRINT_FILTER],
                       [PRINT_FILTER])


def bench_slice_window_10m(ctx: Context) -> list[Result]:
    """`scap slice FILE -w OUT --start +X --end +Y`: the middle tenth by time of 10M events."""
    from scaptools.ops.info import summarize
    path = replicate(curl_google(ctx), ctx.data / "syscall_10m.scap", 10_000_000)
    report = summarize(str(path))[0]
    first, span = report["first_ts"], report["last_ts"] - report["first_ts"]
    low, high = span * 45 // 100, span * 55 // 100  # offsets from the first event
    args = ["--start", f"+{low}ns", "--end", f"+{high}ns"]
    # sysdig has no window option: the same bounds as a filter
    cond = f"evt.rawtime >= {first + low} and evt.rawtime <= {first + high}"
    return _slice_rows(ctx, "slice-window-10m", path, report["events"], args, [cond])


WORKLOADS["slice-filter-10m"] = bench_slice_filter_10m
WORKLOADS["slice-window-10m"] = bench_slice_window_10m


# -- replay of syscall and mixed captures through the upstream Falco rules -------------

def _replay_rows(ctx: Context, workload: str, path: Path, events: int,
                 rules: list[Path], label: str = "") -> list[Result]:
    """`scap replay FILE -r RULES...` with the compiled core and with SCAPTOOLS_PURE=1,
    alerts to /dev/null."""
    argv = [sys.executable, "-c", "from scaptools.cli.main import main; main()", "replay",
            str(path)]
    for rules_file in rules:
        argv += ["-r", str(rules_file)]
    core = {k: v for k, v in child_env().items() if k != "SCAPTOOLS_PURE"}
    pure = child_env({"SCAPTOOLS_PURE": "1"})
    results = []
    for mode, env in (("core", core), ("pure", pure)):
        samples = [measured(_to_null(argv), env=env) for _ in range(ctx.runs)]
        results.append(summary(workload, f"{mode} scap replay{label}", events, samples))
    return results


def bench_replay_syscall_10m(ctx: Context) -> list[Result]:
    """10M syscall events through the upstream falco_rules.yaml, next to
    `sysdig -r FILE -q` (which reads and parses every event, without rules)."""
    path = replicate(curl_google(ctx), ctx.data / "syscall_10m.scap", 10_000_000)
    rules = [ctx.shared / "rules-upstream" / "falco_rules.yaml"]
    ref = time_sysdig("replay-sys-10m", path, ctx.runs, 10_000_000)
    rows = _replay_rows(ctx, "replay-sys-10m", path, 10_000_000, rules)
    return ([ref] if ref else []) + rows


def bench_replay_mixed(ctx: Context) -> list[Result]:
    """A mixed capture (1M syscall events of curl_google.scap and 1M CloudTrail events
    merged in time order) replayed with both upstream rule files, next to the two
    single-source captures replayed the same way. The issue's measure: the mixed rate
    over the sum of the two single rates."""
    from scaptools.ops.merge import merge
    syscall = replicate(curl_google(ctx), ctx.data / "syscall_1m.scap", 1_000_000)
    src = ctx.shared / "captures" / "libscap-plugin" / "cloudtrail_100k.scap.gz"
    plugin = replicate(src, ctx.data / "plugin_1m.scap", 1_000_000)
    mixed = ctx.data / "mixed_2m.scap"
    if not mixed.exists():
        part = mixed.with_suffix(".part")
        merge([str(syscall), str(plugin)], str(part))
        part.rename(mixed)
    rules = [ctx.shared / "rules-upstream" / name
             for name in ("falco_rules.yaml", "aws_cloudtrail_rules.yaml")]
    results = []
    for name, path, events in (("syscall", syscall, 1_000_000), ("plugin", plugin, 1_000_000),
                               ("mixed", mixed, 2_000_000)):
        results += _replay_rows(ctx, "replay-mixed", path, events, rules, f" {name}")
    for mode in ("core", "pure"):
        rate = {r.tool.rsplit(" ", 1)[1]: r.rate for r in results if r.tool.startswith(mode)}
        share = rate["mixed"] / (rate["syscall"] + rate["plugin"])
        print(f"replay-mixed {mode}: mixed {rate['mixed']:,.0f} events/s = {share:.2f}x the "
              f"sum of the single runs ({rate['syscall']:,.0f} + {rate['plugin']:,.0f})",
              file=sys.stderr)
    return results


WORKLOADS["replay-sys-10m"] = bench_replay_syscall_10m
WORKLOADS["replay-mixed"] = bench_replay_mixed


def report(results: list[Result]) -> None:
    print(f"{'workload':<12} {'tool':<24} {'events':>9} {'wall s':>7} {'events/s':>11} "
          f"{'ratio':>6} {'cpu s':>7} {'events/cpu-s':>12} {'ratio':>6} {'peak RSS':>9}")
    ref = {}
    for r in results:  # the first sysdig row of a workload is its reference
        if r.tool.startswith("sysdig"):
            ref.setdefault(r.workload, r)
    for r in results:
        base = ref.get(r.workload)
        other = base is not None and base is not r
        ratio = f"{r.rate / base.rate:.3f}" if other else "-"
        cpu_ratio = f"{r.cpu_rate / base.cpu_rate:.3f}" if other and base.cpu_rate else "-"
        print(f"{r.workload:<12} {r.tool:<24} {r.events:>9} {r.seconds:>7.3f} {r.rate:>11,.0f} "
              f"{ratio:>6} {r.cpu_seconds:>7.3f} {r.cpu_rate:>12,.0f} {cpu_ratio:>6} "
              f"{r.rss_mb:>7.1f}MB")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--workload", action="append", choices=sorted(WORKLOADS),
                        help="run only these (repeatable); default: all")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("SCAPTOOLS_SHARED", ROOT.parent / "shared")))
    parser.add_argument("--list", action="store_true", help="list the workloads")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in WORKLOADS.items():
            print(f"{name:<14} {fn.__doc__}")
        return 0
    args.data.mkdir(parents=True, exist_ok=True)
    # the bytecode an installed package has (a checkout may have none yet)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "scaptools", "plugins"], cwd=ROOT,
                   check=False, capture_output=True)
    ctx = Context(args.data, args.shared, args.runs)
    results = []
    for name in args.workload or list(WORKLOADS):
        results += WORKLOADS[name](ctx)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
