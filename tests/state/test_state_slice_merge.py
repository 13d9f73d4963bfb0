"""``scap slice`` keeps field values (checked with sysdig); ``scap merge`` keeps every event."""
from __future__ import annotations

import os
import subprocess
from collections import Counter

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.format.reader import open_capture

# Not compared: proc.cwd and user.* of threads the original capture never described
# (sysdig shows an empty cwd and no user for them, but "/" and the user once they
# are in a process list).
FIELDS = ("*%evt.rawtime %evt.dir %evt.type %proc.name %thread.tid %proc.pid %fd.name %fd.num "
          "%proc.pname %proc.cmdline %proc.exe %evt.args")


def sysdig_lines(sysdig_bin, path, fmt=FIELDS) -> list[str]:
    out = subprocess.run([sysdig_bin, "-r", str(path), "-p", fmt], capture_output=True,
                         env=dict(os.environ, TZ="UTC"), check=True)
    return out.stdout.decode("utf-8", "replace").splitlines()


@pytest.mark.parametrize("start,end", [("+5.5s", "+5.52s"), ("+5.519s", "+5.6s"),
                                       ("+5.5146s", "+5.5147s"), ("+5.52s", "+5.53s")])
def test_slice_keeps_field_values(shared, sysdig_bin, tmp_path, start, end):
    full = shared / "captures" / "libs-e2e" / "curl_google.scap"
    out = tmp_path / "slice.scap"
    res = CliRunner().invoke(cli, ["slice", str(full), "-w", str(out), "--start", start,
                                   "--end", end])
    assert res.exit_code == 0, res.output
    whole = set(sysdig_lines(sysdig_bin, full))
    part = sysdig_lines(sysdig_bin, out)
    assert part and [line for line in part if line not in whole] == []


def test_slice_with_filter_and_empty_range(shared, sysdig_bin, tmp_path):
    full = shared / "captures" / "libs-e2e" / "curl_google.scap"
    out = tmp_path / "f.scap"
    res = CliRunner().invoke(cli, ["slice", str(full), "-w", str(out), "evt.type=read"])
    assert res.exit_code == 0, res.output
    kept = sysdig_lines(sysdig_bin, out, "%evt.type")
    assert "read" in kept and "mmap" not in kept
    whole = set(sysdig_lines(sysdig_bin, full))
    assert [x for x in sysdig_lines(sysdig_bin, out) if x not in whole] == []
    empty = tmp_path / "e.scap"
    res = CliRunner().invoke(cli, ["slice", str(full), "-w", str(empty), "--start", "+100s"])
    assert res.exit_code == 1 and "no event" in res.stderr and not empty.exists()
    res = CliRunner().invoke(cli, ["slice", str(full), "-w", str(empty), "--start", "+100s",
                                   "--allow-empty"])
    with open_capture(empty) as reader:
        assert res.exit_code == 0 and list(reader) == []


def test_merge_syscall_and_plugin_captures(shared, sysdig_bin, tshark_bin, tmp_path):
    sysc = shared / "captures" / "libs-e2e" / "sample.scap"
    plug = shared / "captures" / "libscap-plugin" / "cloudtrail_small.scap"
    out = tmp_path / "m.scap"
    res = CliRunner().invoke(cli, ["merge", str(sysc), str(plug), "-w", str(out)])
    assert res.exit_code == 0, res.output

    def events(path):
        with open_capture(path) as reader:
            return [(e.ts, e.tid, e.type, e.raw) for e in reader]
    merged = events(out)
    assert Counter(merged) == Counter(events(sysc) + events(plug))
    def steps_back(evs):
        return sum(1 for a, b in zip(evs, evs[1:]) if b[0] < a[0])
    # time-ordered, except where an input itself steps back (sample.scap does once)
    assert steps_back(merged) <= steps_back(events(sysc)) + steps_back(events(plug))
    shown = subprocess.run([sysdig_bin, "-D", "-r", str(out)], capture_output=True, check=True)
    assert len(shown.stdout.splitlines()) == 477 + 41  # sysdig drops ids >= 336 (§10.1)
    records = subprocess.run([tshark_bin, "-r", str(out), "-T", "fields", "-e", "frame.number"],
                             capture_output=True, check=True)
    assert len(records.stdout.split()) == len(merged)


def test_merge_refuses_two_machines(shared, tmp_path):
    a = shared / "captures" / "libs-e2e" / "sample.scap"
    b = shared / "captures" / "libs-e2e" / "curl_google.scap"
    res = CliRunner().invoke(cli, ["merge", str(a), str(b), "-w", str(tmp_path / "x.scap")])
    assert res.exit_code == 1 and "two hosts" in res.stderr


OWN_FIELDS = ("*%evt.rawtime %evt.type %proc.name %proc.pid %proc.ppid %proc.pname %proc.exe "
              "%proc.cmdline %thread.tid %fd.num %fd.name %fd.type %fd.l4proto %user.name "
              "%group.name %evt.args")


def own_lines(path) -> list[str]:
    res = CliRunner().invoke(cli, ["print", str(path), "-p", OWN_FIELDS])
    assert res.exit_code == 0, res.output
    return res.stdout.splitlines()


@pytest.mark.parametrize("name", ["curl_google", "sample", "single_ipv6_conn",
                                  "test_ipv6_client"])
def test_random_slices_keep_our_field_values(shared, tmp_path, name):
    import random
    full = shared / "captures" / "libs-e2e" / f"{name}.scap"
    with open_capture(full) as reader:
        stamps = [e.ts for e in reader]
    whole = set(own_lines(full))
    rng = random.Random(name)
    for i in range(6):
        a, b = sorted(rng.sample(stamps, 2))
        out = tmp_path / f"s{i}.scap"
        res = CliRunner().invoke(cli, ["slice", str(full), "-w", str(out), "--start", str(a),
                                       "--end", str(b)])
        assert res.exit_code == 0, res.output
        part = own_lines(out)
        assert [line for line in part if line not in whole] == []
