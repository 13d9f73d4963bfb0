"""``scap replay --scheduler`` and ``scap test --scheduler`` on a real Dask cluster (a
scheduler and two worker processes on 127.0.0.1): the output is byte for byte the
output of one process, for every repository capture, for a million events in four
captures cut into units, for captures in S3, and around a damaged capture."""
from __future__ import annotations

import gzip
import re
import shutil
import struct
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="Dask is not installed (pip install 'scaptools[dask]')")

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
RULES = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
SYSCALL_RULES = CAPTURES / "rules" / "syscall_rules.yaml"

EVERY = ("- rule: every event\n  desc: d\n  condition: evt.num > 0\n"
         "  output: n=%evt.num rel=%evt.reltime name=%ct.name user=%ct.user\n"
         "  priority: INFO\n  source: aws_cloudtrail\n")


@pytest.fixture(scope="module")
def address(cluster) -> str:
    return cluster.scheduler_address


def repo_captures() -> list[Path]:
    return sorted(CAPTURES.glob("*.scap"))


def same_as_one_process(scap, one_process, files, *args, address: str):
    one = one_process("replay", *files, *args)
    many = scap("replay", *files, *args, "--scheduler", address)
    assert many.returncode == one.returncode, many.stderr
    assert many.stdout == one.stdout
    assert many.stderr == one.stderr
    return one


def test_every_repo_capture_gives_the_one_process_alerts(scap, one_process, address):
    one = same_as_one_process(scap, one_process, repo_captures(), "-r", RULES, "-r", SYSCALL_RULES,
                              address=address)
    assert one.returncode == 0 and one.stdout.count("\n") >= 60
    assert "Shadow file opened" in one.stdout  # the syscall capture (its state kept)


def test_json_output_and_a_folder_of_captures(scap, one_process, address):
    one = one_process("replay", *repo_captures(), "-r", RULES, "--json", "-o", "rule_matching=all")
    many = scap("replay", CAPTURES, "-r", RULES, "--json", "-o", "rule_matching=all",
                "--scheduler", address)
    assert one.returncode == many.returncode == 0, many.stderr
    assert many.stdout == one.stdout and one.stdout.count('"hostname"') >= 60


def test_captures_cut_into_many_units_keep_numbers_and_times(client, make_capture, tmp_path):
    """Units of a few KiB: every range numbers its events from the capture's start."""
    from scaptools.cluster.client import replay_on_client
    from scaptools.cluster.units import expand_captures
    big = [make_capture(tmp_path / f"c{k}.scap", 700 + k * 90, seed=k) for k in range(3)]
    files = [big[0], CAPTURES / "iam.scap", big[1], big[2]]
    want, bundle = one_process(files, EVERY, tmp_path)
    out = Text()
    stats = replay_on_client(client, bundle, expand_captures(files), out, split=True,
                             unit_bytes=16 << 10)
    assert out.text == want and want.count("\n") == stats.events == 700 * 3 + 270 + 17
    assert stats.cut == 3 and stats.units >= 3 * 20 and stats.errors == []
    assert len(stats.workers) == 2


def test_a_million_events_in_four_captures(scap, address, million, million_rules, million_alerts):
    many = scap("replay", *million, "-r", million_rules, "--stats", "--scheduler", address)
    assert many.returncode == 0, many.stderr
    assert many.stdout == million_alerts.stdout and many.stdout.count("\n") > 10_000
    ours = many.stderr.splitlines()
    assert "Events read: 1000000" in ours
    common = [line for line in million_alerts.stderr.splitlines()
              if not line.startswith("Elapsed")]
    assert [line for line in ours if not line.startswith("Elapsed")][:len(common)] == common
    extra = ours[len(common) + 1:]
    assert extra[0] == "Workers used: 2"
    counts = [int(re.search(r": (\d+) events in \d+ units \([\d,]+ events/s, [\d,]+ per "
                            r"CPU second\)", line)[1])
              for line in extra[1:3]]
    assert sum(counts) == 1_000_000 and min(counts) > 0
    cut = re.fullmatch(r"Units: (\d+) \((\d+) captures cut\); alerts fetched: [\d.]+ MB in "
                       r"[\d.]+ s", extra[3])
    assert int(cut[2]) == 4 and int(cut[1]) >= 8  # four units per worker: each capture cut


def test_a_damaged_capture_among_good_ones(scap, one_process, address, tmp_path):
    """Its error line and the alerts before its fault, as one process gives them; the
    captures after it are still replayed; exit code 1."""
    bad = tmp_path / "damaged.scap"
    data = bytearray((CAPTURES / "compute.scap").read_bytes())
    at = block_offsets(CAPTURES / "compute.scap")[6]
    struct.pack_into("<I", data, at + 4, 13)  # a block length that is not a multiple of 4
    bad.write_bytes(bytes(data))
    good = [CAPTURES / "iam.scap", CAPTURES / "s3.scap"]
    rules = ["-r", RULES, "-o", "rule_matching=all"]
    parts = [one_process("replay", path, *rules) for path in (good[0], bad, good[1])]
    assert [p.returncode for p in parts] == [0, 1, 0]
    assert re.fullmatch(r"Error: \S+damaged\.scap: offset 0x[0-9a-f]+: .*\n", parts[1].stderr)
    many = scap("replay", good[0], bad, good[1], *rules, "--scheduler", address)
    assert many.returncode == 1
    assert many.stdout == "".join(p.stdout for p in parts) and parts[1].stdout
    assert many.stderr == parts[1].stderr


def test_a_fault_inside_a_cut_capture(client, make_capture, tmp_path):
    """The fault is in a middle range (in an event, not in the block frames the planner
    checks): the alerts before it and the error naming the offset in the real file, as
    one process gives them."""
    from scaptools.cluster.client import replay_on_client
    from scaptools.cluster.units import expand_captures
    from scaptools.errors import FormatError
    path = make_capture(tmp_path / "cut.scap", 900)
    data = bytearray(path.read_bytes())
    at = block_offsets(path)[600]  # past the walk's checks: the block's frame is sane,
    struct.pack_into("<I", data, at + 40, 1 << 30)  # the event's payload runs past its end
    path.write_bytes(bytes(data))
    after = CAPTURES / "iam.scap"
    with pytest.raises(FormatError) as fault:
        one_process([path], EVERY, tmp_path)
    want_before = fault.value.partial
    want_after, bundle = one_process([after], EVERY, tmp_path)
    out = Text()
    stats = replay_on_client(client, bundle, expand_captures([path, after]), out, split=True,
                             unit_bytes=32 << 10)
    assert stats.units > 10
    assert stats.errors == [str(fault.value)] and f"offset {at:#x}" in stats.errors[0]
    assert out.text == want_before + want_after


def test_captures_in_s3_read_with_the_aws_block_of_the_config(scap, one_process, address,
                                                             moto_endpoint, tmp_path, unique):
    """Client and workers list and read the objects with the credentials and endpoint
    named in falco.yaml's aws block (no AWS variable in their environments)."""
    import boto3
    bucket = unique("caps")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    objects = {"run/a/iam.scap": (CAPTURES / "iam.scap").read_bytes(),
               "run/b/console.scap.gz": gzip.compress((CAPTURES / "console.scap").read_bytes()),
               "run/compute.scap": (CAPTURES / "compute.scap").read_bytes(),
               "run/notes.txt": b"not a capture", "other/s3.scap": b"outside the prefix"}
    local = tmp_path / "local"
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        (local / key).write_bytes(body)
    (tmp_path / "aws-config").write_text(f"[default]\nregion = us-east-1\n"
                                         f"endpoint_url = {moto_endpoint}\n")
    (tmp_path / "aws-credentials").write_text("[default]\naws_access_key_id = testing\n"
                                              "aws_secret_access_key = testing\n")
    config = tmp_path / "falco.yaml"
    config.write_text(f"aws:\n  config: {tmp_path / 'aws-config'}\n"
                      f"  credentials: {tmp_path / 'aws-credentials'}\n")
    in_order = [local / "run/a/iam.scap", local / "run/b/console.scap.gz",
                local / "run/compute.scap"]
    one = one_process("replay", *in_order, "-r", RULES, "--json")
    many = scap("replay", f"s3://{bucket}/run/", "-r", RULES, "--json", "-c", config,
                "--scheduler", address, env=NO_AWS)
    assert one.returncode == many.returncode == 0, many.stderr
    assert many.stdout == one.stdout and one.stdout.count("\n") >= 10


SUITE = {"iam", "iam_negative", "syscall_shell", "console", "rules"}  # specs, and their rules
NO_AWS = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
          "AWS_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}


def test_scap_test_gives_the_same_report_and_junit(scap, address, tmp_path):
    suite = tmp_path / "suite"
    shutil.copytree(CAPTURES, suite, ignore=lambda folder, names: [  # four of the specs
        n for n in names if Path(folder) == CAPTURES and n.split(".")[0] not in SUITE])
    shutil.copytree(RULES.parent, tmp_path / "rules")
    golden = suite / "iam.alerts.jsonl"  # one changed alert: that spec fails the same way
    golden.write_text(golden.read_text().replace("Critical", "Warning", 1))
    one = scap("test", suite, "--junit", tmp_path / "one.xml", cwd=tmp_path)
    many = scap("test", suite, "--junit", tmp_path / "many.xml", "--scheduler", address,
                cwd=tmp_path)
    assert one.returncode == many.returncode == 1
    assert many.stdout == one.stdout and "4 specs: 3 passed, 1 failed" in one.stdout
    assert untimed(tmp_path / "many.xml") == untimed(tmp_path / "one.xml")


# -- helpers -------------------------------------------------------------------------------
class Text:
    """A text stream that keeps what is written."""

    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def one_process(files, rules_text: str, folder):
    """The alert text of one process (``replay_files``) and the bundle of the same rules;
    a fault raises its FormatError with the text before it as ``partial``."""
    from scaptools.cluster.bundle import make_bundle
    from scaptools.replay.config import (alert_formatter, load_ruleset, make_engine,
                                         merged_options, read_config)
    from scaptools.replay.loop import replay_files
    rules = folder / "rules.yaml"
    rules.write_text(rules_text)
    config, registry = read_config(None)
    result = load_ruleset([rules], registry)
    options = merged_options(config)
    engine, fmt, lines = make_engine(result, options), alert_formatter(options), []
    try:
        replay_files([str(f) for f in files], engine, registry,
                     lambda alert: lines.append(fmt(alert) + "\n"))
    except Exception as exc:
        exc.partial = "".join(lines)
        raise
    return "".join(lines), make_bundle(result, config, options)


def block_offsets(path) -> list[int]:
    """Offsets of the event blocks of a plain capture."""
    import os

    from scaptools.format.constants import EVENT_BLOCKS
    from scaptools.format.ranges import walk_blocks
    with open(path, "rb") as fh:
        return [b.offset for b in walk_blocks(fh, os.path.getsize(path), path=str(path))
                if b.type in EVENT_BLOCKS]


def untimed(path) -> str:
    return re.sub(r' time="[0-9.]+"', "", path.read_text())


def test_a_scheduler_file_and_a_progress_bar_on_a_terminal(scap, one_process, address,
                                                           tmp_path):
    import os
    import pty
    (tmp_path / "scheduler.json").write_text(f'{{"address": "{address}"}}')
    files = [CAPTURES / "iam.scap", CAPTURES / "console.scap"]
    one = one_process("replay", *files, "-r", RULES)
    master, slave = pty.openpty()
    try:
        many = scap("replay", *files, "-r", RULES, "--scheduler-file",
                    tmp_path / "scheduler.json", stderr=slave)
        os.close(slave)
        terminal = read_all(master)
    finally:
        os.close(master)
    assert many.returncode == 0 and many.stdout == one.stdout
    assert "] units 2/2, 25 events replayed\r\x1b[K" in terminal
    assert terminal.endswith("\r\x1b[K")  # the bar is cleared at the end


def read_all(fd) -> str:
    import os
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal's other end is closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode()
