"""``scap record``: time order over a whole run with ``--sort`` (bounded memory), file order
said in the help and counted by ``scap info``; records whose eventTime is not a time;
inputs that are not CloudTrail logs; a run that records nothing."""
from __future__ import annotations

import gzip
import json
import lzma
import subprocess
import sys
from pathlib import Path

import pytest

SCAP = [sys.executable, "-c", "from scaptools.cli.main import main; main()"]


def scap(*args):
    return subprocess.run(SCAP + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120)


def stamps_of(path) -> list[int]:
    from scaptools.format.reader import open_capture
    with open_capture(str(path)) as reader:
        return [e.ts for e in reader]


def test_record_sort_orders_the_whole_run_with_bounded_memory(logset, helpers, tmp_path,
                                                              monkeypatch):
    """Runs of about 20 kB (a few dozen records), merged 3 at a time."""
    import tempfile

    from click.testing import CliRunner

    from scaptools.cli.main import cli
    root = tmp_path / "logs"
    logset.copy_to(root)
    out = tmp_path / "sorted.scap"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr("scaptools.ops.timeorder.RUN_BUDGET", 20_000)
    monkeypatch.setattr("scaptools.ops.timeorder.FAN_IN", 3)
    result = CliRunner().invoke(cli, ["record", "-w", str(out), "--open", str(root), "--sort"])
    assert result.exit_code == 0, result.output
    stamps = stamps_of(out)
    assert stamps == sorted(stamps)
    helpers.same(helpers.read_events(out), logset.records())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "sorted.scap"]  # runs gone
    info = json.loads(scap("info", out, "--json").stdout)
    assert info["time_ordered"] and info["inversions"] == 0


def test_record_without_sort_keeps_file_order_and_says_so(logset, tmp_path):
    root = tmp_path / "logs"
    logset.copy_to(root)
    out = tmp_path / "files.scap"
    assert scap("record", "-w", out, "--open", root).returncode == 0
    stamps = stamps_of(out)
    steps = sum(1 for a, b in zip(stamps, stamps[1:]) if b < a)
    info = json.loads(scap("info", out, "--json").stdout)
    assert steps > 0 and info["inversions"] == steps and not info["time_ordered"]
    help_text = " ".join(scap("record", "--help").stdout.split())
    assert "file order" in help_text and "--sort" in help_text


def test_record_sort_with_rotation_and_max_events(logset, tmp_path):
    root = tmp_path / "logs"
    logset.copy_to(root)
    out = tmp_path / "r.scap"
    proc = scap("record", "-w", out, "--open", root, "--sort", "--max-events", 500,
                "--rotate-events", 200)
    assert proc.returncode == 0, proc.stderr
    parts = [tmp_path / f"r.scap.{i}" for i in range(3)]
    stamps = [ts for part in parts for ts in stamps_of(part)]
    assert len(stamps) == 500 and stamps == sorted(stamps)


def test_record_sort_refuses_a_queue(tmp_path):
    proc = scap("record", "-w", tmp_path / "q.scap", "--open", "sqs://queue", "--sort")
    assert proc.returncode == 2 and "--sort" in proc.stderr and "Traceback" not in proc.stderr


# -- records without a time ---------------------------------------------------------------

def write_log(path: Path, records) -> Path:
    path.write_text(json.dumps({"Records": records}, separators=(",", ":")))
    return path


def test_records_without_a_time_take_a_neighbours_time(tmp_path):
    """A missing or unreadable eventTime takes the time of the record before it in its
    file, or of the first record after it; never 0 (1970)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    write_log(logs / "a.json", [{"eventID": "a0"},
                                {"eventID": "a1", "eventTime": "2024-03-12T10:00:05Z"},
                                {"eventID": "a2", "eventTime": "redacted"},
                                {"eventID": "a3", "eventTime": "2024-03-12T10:00:09Z"}])
    out = tmp_path / "t.scap"
    proc = scap("record", "-w", out, "--open", logs)
    assert proc.returncode == 0, proc.stderr
    from scaptools.format.reader import open_capture
    with open_capture(str(out)) as reader:
        got = {json.loads(e.payload)["eventID"]: e.ts for e in reader}
    t5, t9 = 1710237605 * 10**9, 1710237609 * 10**9
    assert got == {"a0": t5, "a1": t5, "a2": t5, "a3": t9}
    lines = proc.stderr.splitlines()
    assert any(line.endswith("a.json: record 0: no eventTime; given the time of the next "
                             "record with one") for line in lines), proc.stderr
    assert any("a.json: record 2: eventTime 'redacted' is not a time; given the time of the "
               "record before it" in line for line in lines)
    assert "2 without eventTime" in proc.stderr and "1970" not in proc.stderr


def test_a_file_without_any_time(tmp_path):
    """No record of the file has a time: the delivery time in a CloudTrail file name, else
    the record is not recorded (reported, counted)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    write_log(logs / "111122223333_CloudTrail_us-east-1_20240312T1005Z_x.json",
              [{"eventID": "n0"}])
    write_log(logs / "plain.json", [{"eventID": "p0", "eventTime": ""}])
    out = tmp_path / "t.scap"
    proc = scap("record", "-w", out, "--open", logs)
    assert proc.returncode == 0, proc.stderr
    assert stamps_of(out) == [1710237900 * 10**9]
    assert "plain.json: record 0: eventTime '' is not a time; not recorded" in proc.stderr
    assert "1 skipped (bad)" in proc.stderr


# -- inputs that are not CloudTrail logs -------------------------------------------------

def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("scap record: ")]


def good_text(n: int, prefix: str = "g") -> bytes:
    records = [{"eventID": f"{prefix}{i}", "eventTime": f"2024-03-12T10:{i % 60:02d}:00Z",
                "eventName": "GetObject" * (i % 7)} for i in range(n)]
    return json.dumps({"Records": records}).encode()


@pytest.mark.parametrize("name, data, why", [
    ("x.json.xz", lzma.compress(good_text(3000)), "xz"),
    ("t.json", b"hello, this is a text file\n" * 500, "not JSON"),
    ("n.json", b'{"foo": [1, 2, {"a": 1}], "bar": {"b": 2}}', "no Records"),
    ("b.json", bytes(range(256)) * 800, "not JSON"),
])
def test_record_of_a_file_that_is_no_log_is_one_line_and_exit_1(tmp_path, name, data, why):
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "o.scap"
    proc = scap("record", "-w", out, "--open", path)
    lines = problem_lines(proc.stderr)
    assert len(lines) == 1 and str(path) in lines[0] and why in lines[0], proc.stderr
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no event was recorded" in proc.stderr.splitlines()[-1]
    assert not out.exists()


def test_a_corrupt_gzip_is_reported_once_and_what_it_holds_is_kept(tmp_path):
    data = gzip.compress(good_text(4000))
    damaged = data[:len(data) * 3 // 5]  # a download cut short
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "d.json.gz").write_bytes(damaged)
    (logs / "ok.json").write_bytes(good_text(5, "ok"))
    out = tmp_path / "o.scap"
    proc = scap("record", "-w", out, "--open", logs)
    lines = problem_lines(proc.stderr)
    assert len(lines) == 1 and "d.json.gz" in lines[0] and "bad gzip" in lines[0], proc.stderr
    assert proc.returncode == 0
    kept = len(stamps_of(out))
    assert 5 < kept < 4005 and f"{kept - 5} records saved" in lines[0]


def test_record_lines_of_one_file_are_capped(tmp_path):
    path = write_log(tmp_path / "many.json",
                     [{"eventID": "first", "eventTime": "2024-03-12T10:00:00Z"}]
                     + [{"eventID": f"u{i}"} for i in range(40)])
    proc = scap("record", "-w", tmp_path / "o.scap", "--open", path)
    lines = problem_lines(proc.stderr)
    assert proc.returncode == 0 and len(lines) == 6, proc.stderr
    assert lines[-1].endswith("many.json: 35 more problems with its records (not shown)")
    assert "40 without eventTime" in proc.stderr
