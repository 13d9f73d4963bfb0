"""The reader against the two oracles, on every shared capture (docs/format.md
"Verification"): tshark's per-record fields and sysdig's event list."""
from __future__ import annotations

import gzip
import subprocess

import pytest

from scaptools.format import constants
from scaptools.format.reader import open_capture

SYSDIG_MAX_TYPE = 336  # sysdig 0.29.3 drops newer event ids (§10.1)
SYSDIG_HIDDEN = {272}  # old container events: consumed as state, not printed (Verification)


def shared_captures(shared):
    return sorted(p for p in shared.joinpath("captures").rglob("*")
                  if p.name.endswith((".scap", ".scap.gz")))


def section_of(path):
    with open_capture(path) as reader:
        for _ in reader.blocks():
            return reader


def read_events(path):
    """Events (streamed) with the block kind: versions 1.0/1.1 use v1 event blocks (§3)."""
    with open_capture(path) as reader:
        for ev in reader:
            yield (constants.BLOCK_EV if reader.section.minor < 2 else constants.BLOCK_EV_V2), ev


def tshark_copy(path, tmp_path, reader):
    """tshark reads only versions 1.0 and 1.2: patch a 1.1/1.3 copy to 1.0 (§3)."""
    if reader.section.minor in (0, 2):
        return path
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    patched = tmp_path / "patched.scap"
    patched.write_bytes(data[:14] + b"\0\0" + data[16:])
    return patched


def tshark_rows(tshark_bin, path):
    fields = ["frame.time_epoch", "sysdig.cpu_id", "sysdig.thread_id", "sysdig.event_type",
              "sysdig.nparams", "sysdig.event_len", "frame.len"]
    cmd = [tshark_bin, "-r", str(path), "-T", "fields"] + [a for f in fields for a in ("-e", f)]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in text.splitlines()]


CAPTURES = ["libs-e2e/curl_google.scap", "libs-e2e/curl_google_comments.scap",
            "libs-e2e/sample.scap", "libs-e2e/single_ipv6_conn.scap",
            "libs-e2e/test_ipv6_client.scap", "libscap-plugin/cloudtrail_100k.scap.gz",
            "libscap-plugin/cloudtrail_small.scap", "libscap-plugin/cloudtrail_small.scap.gz"]


def test_every_shared_capture_is_listed(shared):
    """The parametrized tests below cover every capture in the shared folder."""
    found = [p.relative_to(shared / "captures").as_posix() for p in shared_captures(shared)]
    assert found == CAPTURES


@pytest.mark.parametrize("name", CAPTURES)
def test_events_equal_tshark_records(shared, tshark_bin, tmp_path, name):
    path = shared / "captures" / name
    rows = tshark_rows(tshark_bin, tshark_copy(path, tmp_path, section_of(path)))
    count = 0
    for (btype, ev), row in zip(read_events(path), rows):
        count += 1
        epoch, cpu, tid, etype, nparams, elen, flen = row
        assert ev.ts == int(epoch.replace(".", "")), (ev, row)
        if not etype:  # plugin record: tshark does not dissect it (§11 test F)
            assert ev.type == 322 and len(ev.raw) == int(flen)
            continue
        assert (ev.cpu, ev.tid, ev.type) == (int(cpu), int(tid), int(etype)), (ev, row)
        if btype in constants.EVENT_BLOCKS_V1:  # raw is the v2 form: 4 bytes of nparams more
            quirk = 3 if ev.type in constants.V1_LEN_QUIRK else 0
            assert len(ev.raw) == int(elen) + 4 - quirk
        else:
            assert (ev.nparams, len(ev.raw)) == (int(nparams or 0), int(elen)), (ev, row)
    assert count == len(rows) == sum(1 for _ in read_events(path))


def test_v1_events_split_exactly(shared):
    """v1 events get the parameter count whose lengths add up (§9.4)."""
    for path in (p for p in shared_captures(shared) if "100k" not in p.name):
        for btype, ev in read_events(path):
            if btype in constants.EVENT_BLOCKS_V1:
                assert 26 + 2 * ev.nparams + sum(map(len, ev.param_bytes)) == len(ev.raw)


def sysdig_rows(sysdig_bin, path):
    cmd = [sysdig_bin, "-D", "-r", str(path), "-p", "%evt.rawtime %evt.cpu %thread.tid"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, [tuple(line.split()) for line in proc.stdout.splitlines()]


def signed(tid):
    return tid - (1 << 64) if tid >= 1 << 63 else tid


@pytest.mark.parametrize("name", CAPTURES)
def test_events_equal_sysdig(shared, sysdig_bin, name):
    path = shared / "captures" / name
    code, rows = sysdig_rows(sysdig_bin, path)
    if section_of(path).section.options:
        assert code != 0  # sysdig 0.29.3 cannot read SHB options (§3)
        return
    assert code == 0
    shown = (ev for _, ev in read_events(path)
             if ev.type < SYSDIG_MAX_TYPE and ev.type not in SYSDIG_HIDDEN)
    count = 0
    for ev, row in zip(shown, rows):
        count += 1
        want = (str(ev.ts), str(ev.cpu), str(signed(ev.tid)))
        assert row == want or (ev.type == 322 and row[:2] == want[:2]), (ev, row)
    assert count == len(rows) and next(shown, None) is None
