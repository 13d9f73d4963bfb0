"""The Wireshark export read back by the real tshark 4.0 (docs/wireshark-export.md §2.3)."""
from __future__ import annotations

import json
import struct

import pytest

from scaptools.events.event import PLUGINEVENT, Event
from scaptools.export.wireshark import export_wireshark
from scaptools.format.reader import open_capture

from .conftest import (EXAMPLE, PLUGIN_CAPTURES, SYSCALL_CAPTURES, epoch_ns, read_events,
                       shared_capture, split_counts, tshark_rows)

ROW_FIELDS = ["frame.protocols", "frame.time_epoch", "frame.interface_name"]


def export(src, dst, **kwargs):
    with open_capture(src) as reader, open(dst, "wb") as out:
        return export_wireshark(reader, out, source=str(src), **kwargs)


def check_export(tshark_bin, src, dst):
    """tshark reads the export without error, with one row per event, in time order."""
    events = read_events(src)
    stats = export(src, dst)
    n_syscall, n_plugin = split_counts(events)
    assert (stats.syscall, stats.plugin) == (n_syscall, n_plugin)
    rows = tshark_rows(tshark_bin, dst, ROW_FIELDS)
    protocols = [r[0] for r in rows]
    assert protocols.count("sysdig") == n_syscall
    assert protocols.count("exported_pdu:json") == n_plugin
    assert len(rows) == len(events)
    stamps = [epoch_ns(r[1]) for r in rows]
    assert stamps == sorted(e.ts for e in events)  # every event, in timestamp order
    assert all(r[2] == "aws_cloudtrail" for r in rows if r[0] != "sysdig")
    return events, rows


@pytest.mark.parametrize("name", SYSCALL_CAPTURES + PLUGIN_CAPTURES)
def test_shared_capture_export_reads_in_tshark(shared, tshark_bin, tmp_path, name):
    check_export(tshark_bin, shared_capture(shared, name), tmp_path / "out.pcapng")


def test_mixed_capture_export(tshark_bin, mixed_scap, tmp_path):
    events, rows = check_export(tshark_bin, mixed_scap, tmp_path / "mixed.pcapng")
    kinds = ["p" if r[0] != "sysdig" else "s" for r in rows]
    assert "sps" in "".join(kinds)  # the two kinds really interleave


@pytest.mark.parametrize("name", ["consolelogin", "putbucketpolicy"])
def test_display_filter_reaches_payload(shared, tshark_bin, mixed_scap, tmp_path, name):
    event_name = {"consolelogin": "ConsoleLogin", "putbucketpolicy": "PutBucketPolicy"}[name]
    dst = tmp_path / "mixed.pcapng"
    export(mixed_scap, dst)
    wanted = sorted(e.ts for e in read_events(mixed_scap)
                    if e.type == PLUGINEVENT and e.json.get("eventName") == event_name)
    assert wanted  # the shared capture holds these records
    rows = tshark_rows(tshark_bin, dst, ["frame.time_epoch", "frame.comment"],
                       "-Y", f'json.member_with_value == "eventName:{event_name}"')
    assert sorted(epoch_ns(r[0]) for r in rows) == wanted
    assert all("plugin_id=2" in r[1] for r in rows)


def test_columns_and_section_comment(tshark_bin, tmp_path):
    dst = tmp_path / "ct.pcapng"
    export(EXAMPLE, dst)
    rows = tshark_rows(tshark_bin, dst, ["_ws.col.Protocol", "exported_pdu.prot_name",
                                         "frame.interface_description"])
    assert {tuple(r) for r in rows} == {
        ("aws_cloudtrail/JSON", "json", "Falco plugin events, plugin id 2")}
    shb = dst.read_bytes()
    assert struct.unpack_from("<HH", shb, 12) == (1, 0)  # never 1.1 (§0 rule 1)
    assert b"events 13: 0 syscall, 13 plugin (aws_cloudtrail 13)" in shb[:600]


def test_oversize_payload_is_truncated_and_later_rows_survive(tshark_bin, tmp_path):
    big = json.dumps({"eventName": "Big", "blob": "x" * 300_000}).encode()
    events = [Event.plugin(1_700_000_000_000_000_000, 2, big, num=1),
              Event.plugin(1_700_000_001_000_000_000, 2, b'{"eventName":"After"}', num=2)]
    dst = tmp_path / "big.pcapng"
    with open(dst, "wb") as out:
        stats = export_wireshark(events, out)
    assert stats.truncated == 1
    rows = tshark_rows(tshark_bin, dst, ["frame.cap_len", "frame.len", "frame.comment",
                                         "json.member_with_value"])
    assert len(rows) == 2
    assert int(rows[0][0]) == 262144 and int(rows[0][1]) > 300_000
    assert "truncated" in rows[0][2]
    assert rows[1][3] == "eventName:After"


def _block(block_type: int, body: bytes) -> bytes:
    pad = -len(body) % 4
    total = 12 + len(body) + pad
    return struct.pack("<II", block_type, total) + body + b"\0" * pad + struct.pack("<I", total)


def test_flag_blocks_and_version_1_1_become_visible(tshark_bin, tmp_path):
    """0x217/0x222 blocks and an SHB 1.1 are invisible/refused in 4.0; the export shows all."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 1, -1))  # version 1.1
    close = Event.from_params(5, [struct.pack("<q", 0)], ts=10**18, tid=42, cpu=1)  # close <
    plug = Event.plugin(10**18 + 5, 2, b'{"eventName":"ConsoleLogin"}')
    src = tmp_path / "flags.scap"
    src.write_bytes(shb
                    # EVF_V2: cpu u16, flags u32, v2 event (docs/format.md §9.1)
                    + _block(0x217, struct.pack("<HI", 1, 1) + close.raw)
                    # EVF_V2_LARGE: the same with u32 parameter lengths
                    + _block(0x222, struct.pack("<HI", 0, 0) + plug.raw))
    dst = tmp_path / "flags.pcapng"
    export(src, dst)
    rows = tshark_rows(tshark_bin, dst, ["frame.protocols", "sysdig.event_type",
                                         "sysdig.thread_id", "json.member_with_value"])
    assert rows == [["sysdig", "5", "42", ""], ["exported_pdu:json", "", "", "eventName:ConsoleLogin"]]


def test_large_plugin_capture_export(shared, tshark_bin, tmp_path):
    """100 000 plugin events: tshark reads every row, in timestamp order.

    The JSON dissector is switched off here only to keep the test fast (it
    triples tshark's time); the small captures above check the dissection.
    """
    src = shared_capture(shared, "cloudtrail_100k.scap.gz")
    dst = tmp_path / "big.pcapng"
    stats = export(src, dst)
    assert (stats.syscall, stats.plugin, stats.out_of_order) == (0, 100_000, 0)
    rows = tshark_rows(tshark_bin, dst, ["frame.time_epoch", "exported_pdu.prot_name"],
                       "--disable-protocol", "json")
    assert len(rows) == 100_000 and {r[1] for r in rows} == {"json"}
    with open_capture(src) as reader:
        assert [epoch_ns(r[0]) for r in rows] == [e.ts for e in reader]


def test_v1_events_are_upgraded_so_tshark_decodes_values(shared, tshark_bin, tmp_path):
    """curl_google.scap has v1 (0x204) blocks: 4.0 shows only their lengths (§1.2).

    The export writes them as 0x216 with the parameter count the reader worked out,
    and 4.0 then decodes the values. (4.0 registers the generic parameter fields
    under the first syscall that uses the name, hence ``openat2.fd``/``infra.name``.)
    """
    src = shared_capture(shared, "curl_google.scap")
    dst = tmp_path / "cg.pcapng"
    export(src, dst)
    fields = ["sysdig.nparams", "sysdig.param.openat2.fd", "sysdig.param.infra.name"]
    opens = [e for e in read_events(src) if e.type == 3]  # open exit
    rows = tshark_rows(tshark_bin, dst, fields, "-Y", "sysdig.event_type == 3")
    assert [[str(e.nparams), str(e.params["fd"]), e.params["name"]] for e in opens] == rows
    raw_rows = tshark_rows(tshark_bin, src, fields, "-Y", "sysdig.event_type == 3")
    assert len(raw_rows) == len(opens) and all(r == ["", "", ""] for r in raw_rows)
