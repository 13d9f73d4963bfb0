#!/usr/bin/env python3
"""Benchmark of ``scap replay --scheduler`` (scaptools/cluster) next to one process and -j 2.

Not a test. Eight captures of one million CloudTrail events each are made in
``bench-data/cluster/`` (git-ignored): the first with ``tools/bench.py``'s
``replicate`` from the reference folder's 100k CloudTrail capture (or from the
repository's captures when that folder is absent), the other seven copies of it.
Then, each in a fresh process, with every alert sent to /dev/null:

* ``one``: ``scap replay`` in one process; ``j2``: ``-j 2``;
* ``cluster``: a scheduler and two workers started here on 127.0.0.1 (as ``local:2``
  starts them), ``scap replay --scheduler tcp://...`` run against it; its ``--stats``
  give per-worker events/s and the alert transfer, the workers' peak RSS is asked of
  them afterwards, and Dask's own cost per task is measured with empty tasks;
* ``local2``: ``scap replay --scheduler local:2`` end to end (cluster start included).

    python tools/bench_cluster.py                 # everything (about 20 min here)
    python tools/bench_cluster.py -m cluster -m one --captures 2
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

# Runs a command with its stdout sent to /dev/null; wall time, CPU and peak RSS of the
# command's processes (the largest one), its stderr.
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss_kb": use.ru_maxrss,
                  "code": out.returncode, "stderr": out.stderr[-4000:]}))
"""
SCAP = [sys.executable, "-c", "from scaptools.cli.main import main; main()"]
EVENTS = 1_000_000


def measured(argv: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED",)}
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True,
                          text=True, check=True, cwd=ROOT, env=env)
    res = json.loads(proc.stdout)
    if res["code"] != 0:
        raise RuntimeError(f"{argv} failed: {res['stderr']}")
    return res


def make_captures(folder: Path, count: int, shared: Path) -> list[Path]:
    """``count`` captures of a million CloudTrail events (made once, then reused)."""
    from bench import replicate
    folder.mkdir(parents=True, exist_ok=True)
    src = shared / "captures" / "libscap-plugin" / "cloudtrail_100k.scap.gz"
    if not src.exists():
        src = ROOT / "captures" / "iam.scap"
    first = replicate(src, folder / "ct1m_0.scap", EVENTS)
    paths = [first]
    for k in range(1, count):
        path = folder / f"ct1m_{k}.scap"
        if not path.exists():
            shutil.copyfile(first, path.with_suffix(".part"))
            path.with_suffix(".part").rename(path)
        paths.append(path)
    return paths


def stats_of(stderr: str) -> dict:
    """Figures from ``--stats``: events, and for a cluster run its worker lines."""
    out = {"events": int(re.search(r"Events read: (\d+)", stderr)[1])}
    workers = re.findall(r"  (tcp://\S+): (\d+) events in (\d+) units \(([\d,]+) events/s, "
                         r"([\d,]+) per CPU second\)", stderr)
    if workers:
        out["workers"] = [{"address": a, "events": int(e), "units": int(u),
                           "rate": int(r.replace(",", "")), "cpu_rate": int(c.replace(",", ""))}
                          for a, e, u, r, c in workers]
        units = re.search(r"Units: (\d+) \((\d+) captures cut\); alerts fetched: ([\d.]+) MB "
                          r"in ([\d.]+) s", stderr)
        out.update(units=int(units[1]), fetched_mb=float(units[3]),
                   fetch_seconds=float(units[4]))
    return out


def run_one(paths, rules, extra=()) -> dict:
    res = measured([*SCAP, "replay", *map(str, paths), "-r", str(rules), "--stats", *extra])
    return dict(stats_of(res["stderr"]), wall=res["wall"], cpu=res["cpu"],
                rss_mb=res["rss_kb"] / 1024)


def run_cluster(paths, rules) -> dict:
    """Against a scheduler and two workers started here; then their peak RSS and Dask's
    cost of an empty task (submitted all at once, and one after the other)."""
    import resource

    from scaptools.cluster.connect import connect
    with connect("local:2") as client:
        client.wait_for_workers(2)
        address = client.scheduler.address
        res = run_one(paths, rules, ["--scheduler", address])
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        res["worker_rss_mb"] = {k: v / 1024 for k, v in peaks.items()}
        res["client_rss_mb"] = res.pop("rss_mb")
        res["task_ms_batch"], res["task_ms_round_trip"] = _task_costs(client)
    busy = sum(w["events"] / w["rate"] for w in res["workers"] if w["rate"])
    res["overhead_ms_per_unit"] = (2 * res["wall"] - busy) / res["units"] * 1000
    return res


def _noop(k):
    return k


def _task_costs(client, count: int = 2000, trips: int = 200) -> tuple[float, float]:
    start = time.perf_counter()
    client.gather([client.submit(_noop, k, pure=False) for k in range(count)])
    batch = (time.perf_counter() - start) / count * 1000
    start = time.perf_counter()
    for k in range(trips):
        client.submit(_noop, k, pure=False).result()
    return batch, (time.perf_counter() - start) / trips * 1000


def planning_cost(path: Path) -> float:
    """Seconds per million events of the -j planner's walk (the cluster's planning task)."""
    from scaptools.replay.parallel import plan
    start = time.perf_counter()
    plan(str(path), 16)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--mode", action="append",
                        choices=["one", "j2", "cluster", "local2"])
    parser.add_argument("--captures", type=int, default=8)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules" / "aws_cloudtrail_rules.yaml")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data" / "cluster")
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("SCAPTOOLS_SHARED", ROOT.parent / "shared")))
    args = parser.parse_args(argv)
    paths = make_captures(args.data, args.captures, args.shared)
    print(json.dumps({"captures": len(paths), "bytes_each": paths[0].stat().st_size,
                      "plan_seconds_per_1m": planning_cost(paths[0]),
                      "load_before": os.getloadavg()}), flush=True)
    runs = {"one": lambda: run_one(paths, args.rules),
            "j2": lambda: run_one(paths, args.rules, ["-j", "2"]),
            "cluster": lambda: run_cluster(paths, args.rules),
            "local2": lambda: run_one(paths, args.rules, ["--scheduler", "local:2"])}
    for mode in args.mode or list(runs):
        res = runs[mode]()
        res["events_per_s"] = res["events"] / res["wall"]
        print(json.dumps({"mode": mode, **res, "load_after": os.getloadavg()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
