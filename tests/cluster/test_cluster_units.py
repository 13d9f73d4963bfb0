"""The parts of a cluster run that need no cluster: which captures a run names and in
which order, their units from the planner of ``-j``, S3 listing and ranged reads (on
the moto server), the rules bundle compiled again."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from scaptools.cluster.bundle import compile_bundle, make_bundle
from scaptools.cluster.s3 import S3File, list_captures
from scaptools.cluster.units import (LARGEST, SMALLEST, expand_captures, pieces,
                                     plan_units, unit_size, whole_unit)
from scaptools.errors import ScapError
from scaptools.format.reader import open_capture
from scaptools.replay.parallel import RangeFile

pytest.importorskip("distributed", reason="Dask is not installed (pip install 'scaptools[dask]')")

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
RULES = ROOT / "rules" / "aws_cloudtrail_rules.yaml"


def test_files_folders_and_globs_in_the_order_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("logs/b/y.scap.gz", "logs/a/x.scap", "logs/a/notes.txt", "logs/z.scap",
                 "one.scap", "more/m2.scap", "more/m1.scap"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(b"x" * len(name))
    got = expand_captures(["one.scap", "logs", "more/*.scap", "missing.scap"])
    assert [c.name for c in got] == ["one.scap", "logs/a/x.scap", "logs/b/y.scap.gz",
                                     "logs/z.scap", "more/m1.scap", "more/m2.scap",
                                     "missing.scap"]
    assert got[0].location == str(tmp_path / "one.scap") and got[0].size == 8
    assert got[-1].size is None  # reported by the worker that opens it, as one process does
    (tmp_path / "empty").mkdir()
    for bad, message in (("-", "a cluster cannot read standard input"),
                         ("more/*.pcap", "more/\\*.pcap: no capture matches this pattern"),
                         ("empty", "empty: no .scap or .scap.gz file in this folder")):
        with pytest.raises(ScapError, match=message):
            expand_captures([bad])


def test_units_are_the_ranges_of_the_j_planner(make_capture, tmp_path):
    path = make_capture(tmp_path / "c.scap", 1000)
    capture = expand_captures([path])[0]
    units = plan_units(3, capture, 7)
    assert len(units) == 7 and {u.capture for u in units} == {3}
    assert [u.part for u in units] == list(range(7))
    assert units[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(units, units[1:]))
    with open_capture(path) as reader:
        want = [(ev.num, ev.ts, ev.raw) for ev in reader]
    got = []
    for unit in units:
        assert unit.first_ts == want[0][1] and unit.before == len(got)
        stream = RangeFile(str(path), unit.head, unit.start, unit.end)
        with open_capture(stream) as reader:
            got += [(ev.num + unit.before, ev.ts, ev.raw) for ev in reader]
        stream.close()
    assert got == want


def test_which_captures_are_cut(make_capture, tmp_path):
    plain = expand_captures([make_capture(tmp_path / "c.scap", 600)])[0]
    packed = tmp_path / "c.scap.gz"
    packed.write_bytes(gzip.compress(Path(plain.location).read_bytes()))
    packed = expand_captures([packed])[0]
    size = plain.size
    assert pieces(plain, True, size // 5) == 5
    assert pieces(plain, True, size * 2 // 3) == 2  # the nearest count of units
    assert pieces(plain, True, size * 2 // 3 + 2) == 1  # under one and a half: read whole
    assert pieces(plain, False, size // 5) == 1  # rules with state (syscall)
    assert pieces(packed, True, 1024) == 1  # gzip: no index to cut at
    tiny = expand_captures([CAPTURES / "example.scap"])[0]
    assert plan_units(0, tiny, 400) == [whole_unit(0, tiny)]  # more units than events
    mib = plain._replace(size=256 << 20)
    assert unit_size([mib] * 8, 2) == 256 << 20  # four units per worker: none is cut
    assert unit_size([mib] * 8, 4) == 128 << 20
    assert unit_size([mib], 64) == SMALLEST and unit_size([mib] * 99, 1) == LARGEST


def test_s3_listing_and_ranged_reads(aws_env, boto, unique):
    from scaptools.cluster.s3 import make_client
    s3, bucket = boto("s3"), unique("caps")
    s3.create_bucket(Bucket=bucket)
    data = (CAPTURES / "iam.scap").read_bytes()
    for key in ("p/b.scap", "p/a/c.scap.gz", "p/a.txt", "q/d.scap", "p/a/b.scap"):
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    client = make_client({})
    assert [o.key for o in list_captures(f"s3://{bucket}/p/", client)] == \
        ["p/a/b.scap", "p/a/c.scap.gz", "p/b.scap"]
    assert [o.key for o in list_captures(f"s3://{bucket}/q/d.scap", client)] == ["q/d.scap"]
    obj = list_captures(f"s3://{bucket}/p/b.scap", client)[0]
    assert obj.size == len(data) and obj.url == f"s3://{bucket}/p/b.scap"
    stream = S3File(client, obj, chunk=1000)  # many ranged GETs
    assert stream.read(10) == data[:10] and stream.tell() == 10
    stream.seek(-50, os.SEEK_END)
    assert stream.read() == data[-50:]
    stream.seek(0)
    assert stream.read() == data
    with open_capture(S3File(client, obj, chunk=4096), path=obj.url) as reader:
        assert sum(1 for _ in reader) == 17
    s3.put_object(Bucket=bucket, Key="p/b.scap", Body=data[::-1])  # replaced meanwhile
    stream.seek(5000)
    with pytest.raises(ScapError, match=r"p/b.scap: cannot read bytes 5000-5999: the object "
                                        r"was replaced during the run"):
        stream.read(10)
    with pytest.raises(ScapError, match=r"s3://no-such-bucket-x/: cannot list the captures: "
                                        r"NoSuchBucket"):
        list_captures("s3://no-such-bucket-x/", client)


def test_the_bundle_carries_the_rules_as_loaded(tmp_path):
    from scaptools.replay.config import load_ruleset, merged_options, read_config
    config, registry = read_config(None)
    result = load_ruleset([RULES], registry)
    options = merged_options(config, ["rule_matching=all"])
    bundle = make_bundle(result, config, options, disabled=("Run Instances",))
    assert bundle.rules == ((str(RULES), RULES.read_text()),)
    assert bundle.digest == make_bundle(result, config, options,
                                        disabled=("Run Instances",)).digest
    assert bundle.digest != make_bundle(result, config, options).digest
    runtime = compile_bundle(bundle)  # no rules file is read again
    assert not runtime.track
    assert "Run Instances" not in [r.name for r in runtime.engine.rules_for("aws_cloudtrail")]
    from dataclasses import replace
    with pytest.raises(ScapError, match="the worker runs scaptools .* the client 0.0.1"):
        compile_bundle(replace(bundle, version="0.0.1"))
