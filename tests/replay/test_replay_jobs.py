"""``scap replay -j N``: byte-range shares of plain captures give the one-process output."""
from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli
from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.replay.parallel import RangeFile, plan

RULE = ("- rule: every\n  desc: d\n  condition: evt.num > 0\n"
        "  output: n=%evt.num rel=%evt.reltime name=%ct.name user=%ct.user\n"
        "  priority: INFO\n  source: aws_cloudtrail\n")


ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "captures" / "iam.scap"  # 17 CloudTrail records, shipped with the repository
OURS = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"TZ": "UTC"})


def count(path) -> int:
    with open_capture(path) as reader:
        return sum(1 for _ in reader)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """captures/iam.scap five times over (85 events), timestamps kept in order."""
    src = SMALL
    with open_capture(src) as reader:
        events, metadata = list(reader), list(reader.metadata)
    path = tmp_path_factory.mktemp("jobs") / "ct5.scap"
    span = events[-1].ts - events[0].ts + 1
    with CaptureWriter(path, metadata=metadata) as writer:
        for copy in range(5):
            for ev in events:
                ts = ev.ts + copy * span
                raw = struct.pack("<Q", ts) + ev.raw[8:]
                writer.write(Event(0, ts, ev.cpu, ev.tid, ev.type, ev.nparams, raw))
    return path


@pytest.mark.parametrize("jobs", [2, 3, 7])
def test_ranges_hold_every_event_once_in_order(capture, jobs):
    share = plan(str(capture), jobs)
    assert share.ranges is not None and len(share.ranges) == jobs
    with open_capture(capture) as reader:
        want = [(ev.num, ev.raw) for ev in reader]
    got = []
    for start, end, before in share.ranges:
        stream = RangeFile(str(capture), share.head, start, end)
        with open_capture(stream) as reader:
            got += [(ev.num + before, ev.raw) for ev in reader]
        stream.close()
    assert got == want
    assert share.ranges[0][0] == share.head and share.ranges[-1][1] == capture.stat().st_size


def test_gzip_and_tiny_captures_use_the_modulo_share(capture, tmp_path):
    packed = tmp_path / "iam.scap.gz"
    packed.write_bytes(gzip.compress(SMALL.read_bytes()))
    assert plan(str(packed), 2).ranges is None
    assert count(capture) == 85
    assert plan(str(capture), 400).ranges is None  # more workers than events


@pytest.mark.parametrize("jobs", ["2", "4"])
def test_parallel_output_equals_one_process(capture, tmp_path, jobs):
    rules = tmp_path / "r.yaml"
    rules.write_text(RULE)
    for args in (["-r", rules], ["-r", OURS, "-o", "rule_matching=all", "--json"]):
        one = run("replay", capture, capture, *args, "--stats")
        many = run("replay", capture, capture, *args, "--stats", "-j", jobs)
        assert one.exit_code == many.exit_code == 0, many.stderr
        assert one.stdout == many.stdout and one.stdout
        assert "Events read: 170" in many.stderr
        counts = [line for line in one.stderr.splitlines() if not line.startswith("Elapsed")]
        assert counts == [line for line in many.stderr.splitlines()
                          if not line.startswith("Elapsed")]


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_a_truncated_capture_fails_as_one_process_does(capture, tmp_path, jobs):
    """Same alerts before the fault, same error naming the offset in the real file."""
    cut = tmp_path / "cut.scap"
    cut.write_bytes(capture.read_bytes()[:-100])
    packed = tmp_path / "cut.scap.gz"  # read whole by every worker (the modulo share)
    whole = gzip.compress(capture.read_bytes())
    packed.write_bytes(whole[:len(whole) // 2])
    rules = tmp_path / "r.yaml"
    rules.write_text(RULE)
    for files in ([cut], [capture, cut, capture], [packed, capture]):
        one = run("replay", *files, "-r", rules)
        many = run("replay", *files, "-r", rules, "-j", jobs)
        assert one.exit_code == many.exit_code == 1
        assert re.search(r"offset 0x[0-9a-f]+", one.stderr)
        assert one.stderr == many.stderr and one.stdout == many.stdout != ""


def test_a_capture_too_small_to_cut_is_read_whole_by_one_worker(tmp_path):
    src = SMALL
    with open_capture(src) as reader:
        first, metadata = next(iter(reader)), list(reader.metadata)
    one_event = tmp_path / "one.scap"
    with CaptureWriter(one_event, metadata=metadata) as writer:
        writer.write(first)
    assert plan(str(one_event), 2).ranges is None
    rules = tmp_path / "r.yaml"
    rules.write_text(RULE)
    for files in ([one_event], [one_event, src]):
        one = run("replay", *files, "-r", rules)
        many = run("replay", *files, "-r", rules, "-j", "2", "--stats")
        assert one.exit_code == many.exit_code == 0, many.stderr
        assert one.stdout == many.stdout != ""
        assert f"Events read: {1 + 17 * (len(files) - 1)}" in many.stderr


@pytest.mark.parametrize("jobs", [2, 5])
def test_cuts_do_not_depend_on_the_mapped_window(tmp_path, monkeypatch, jobs):
    """Planning maps the file a window at a time; blocks cross windows, some are
    longer than half a window: the cuts are those of a walk over one big window."""
    import mmap

    import scaptools.format.ranges as ranges_module
    path = tmp_path / "sizes.scap"
    with CaptureWriter(path) as writer:
        for n in range(300):
            payload = b'{"eventName":"E%d","pad":"%s"}' % (n, b"x" * (37 * n % 9000))
            writer.write(Event.plugin(1_000 + n, 2, payload))
    want = plan(str(path), jobs)
    monkeypatch.setattr(ranges_module, "WINDOW", 2 * mmap.ALLOCATIONGRANULARITY)
    got = plan(str(path), jobs)
    assert want.ranges is not None and len(want.ranges) == jobs
    assert (got.head, got.ranges) == (want.head, want.ranges)
    seen = []
    for start, end, before in got.ranges:
        stream = RangeFile(str(path), got.head, start, end)
        with open_capture(stream) as reader:
            seen += [ev.num + before for ev in reader]
        stream.close()
    assert seen == list(range(1, 301))
