"""``scap export`` through click's CliRunner, and its error paths."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.errors import TruncatedCapture
from scaptools.format.reader import open_capture

from .conftest import example_gz, read_events, shared_capture, tshark_rows


def run(*args):
    return CliRunner().invoke(cli, ["export", *map(str, args)])


def test_lua_path_points_at_the_script():
    result = run("--lua-path")
    assert result.exit_code == 0
    path = Path(result.stdout.strip())
    assert path.name == "falcoplugin.lua" and "register_postdissector" in path.read_text()


def test_format_follows_the_output_name(tshark_bin, tmp_path):
    src = example_gz(tmp_path)
    result = run(src, "-w", tmp_path / "ct.jsonl")
    assert result.exit_code == 0, result.output
    assert "events 13: 0 syscall, 13 plugin (aws_cloudtrail 13)" in result.stderr
    assert len((tmp_path / "ct.jsonl").read_text().splitlines()) == 13
    result = run(src, "-w", tmp_path / "ct.pcapng")
    assert result.exit_code == 0, result.output
    assert len(tshark_rows(tshark_bin, tmp_path / "ct.pcapng", ["frame.number"])) == 13


def test_jsonl_to_stdout(shared):
    result = run(shared_capture(shared, "test_ipv6_client.scap"), "-w", "-", "--format", "jsonl")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 326 and json.loads(lines[0])["num"] == 1


def test_missing_output_is_a_usage_error(shared):
    result = run(shared_capture(shared, "sample.scap"))
    assert result.exit_code == 2 and "-w OUT" in result.output


def test_not_a_capture_is_one_error_line(tmp_path):
    bad = tmp_path / "notes.scap"
    bad.write_text("this is not a capture file at all\n")
    result = run(bad, "-w", tmp_path / "out.pcapng")
    assert result.exit_code == 1
    assert "notes.scap" in result.stderr and "Traceback" not in result.output


def test_truncated_capture_exports_every_complete_event(shared, tshark_bin, tmp_path):
    whole = shared_capture(shared, "sample.scap").read_bytes()
    cut = tmp_path / "cut.scap"
    cut.write_bytes(whole[: len(whole) * 9 // 10])  # metadata fills the first ~70 %
    complete = []
    with pytest.raises(TruncatedCapture):
        with open_capture(cut) as reader:
            for event in reader:
                complete.append(event)
    assert 0 < len(complete) < len(read_events(shared_capture(shared, "sample.scap")))
    out = tmp_path / "cut.pcapng"
    result = run(cut, "-w", out)
    assert result.exit_code == 1
    assert "cut.scap" in result.stderr and "offset" in result.stderr
    rows = tshark_rows(tshark_bin, out, ["frame.protocols"])
    assert len(rows) == len(complete)


def test_full_disk_is_one_error_line(shared):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    result = run(shared_capture(shared, "sample.scap"), "-w", "/dev/full")
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "Traceback" not in result.output


def test_capture_from_stdin(tshark_bin, tmp_path):
    data = example_gz(tmp_path).read_bytes()
    out = tmp_path / "stdin.pcapng"
    result = CliRunner().invoke(cli, ["export", "-", "-w", str(out)], input=data)
    assert result.exit_code == 0, result.output
    assert len(tshark_rows(tshark_bin, out, ["frame.number"], "-Y", "json")) == 13
