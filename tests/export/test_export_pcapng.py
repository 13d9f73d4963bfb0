"""Byte layouts of the Wireshark export blocks against docs/wireshark-export.md §2.2."""
from __future__ import annotations

import io
import struct

from scaptools.events.event import Event
from scaptools.export import pcapng
from scaptools.export.wireshark import WiresharkWriter, info_text


def test_idb_matches_the_verified_bytes():
    expected = bytes.fromhex(
        "01000000" "58000000"          # block type 1, total length 88
        "fc00" "0000" "00000000"       # linktype 252, reserved, snaplen 0
        "0200" "0e00") + b"aws_cloudtrail" + bytes.fromhex("0000") + bytes.fromhex(
        "0300" "2000") + b"Falco plugin events, plugin id 2" + bytes.fromhex(
        "0900" "0100" "09000000"       # if_tsresol = 9 (ns), padded
        "00000000"                     # end of options
        "58000000")                    # trailing length
    assert pcapng.interface_description("aws_cloudtrail",
                                        "Falco plugin events, plugin id 2") == expected


def test_exported_pdu_tags_match_the_verified_bytes():
    info = "ConsoleLogin (signin.amazonaws.com) by alice "
    expected = (bytes.fromhex("000c0004") + b"json"              # dissector name (tag 12)
                + bytes.fromhex("0021000e") + b"aws_cloudtrail"  # protocol column (tag 33)
                + bytes.fromhex("0024002d") + info.encode()      # info column (tag 36)
                + bytes.fromhex("00000000"))                     # end of options
    assert pcapng.exported_pdu_tags("json", "aws_cloudtrail", info) == expected


def test_epb_header_matches_the_verified_bytes():
    data = b"x" * 681
    blk, truncated = pcapng.enhanced_packet(0, 0x177610DF_B09FB52F, data)
    assert not truncated
    # type 6 | (length: the verified block also had a comment) | interface 0,
    # ts high, ts low, caplen = origlen = 681
    assert blk[:4] == bytes.fromhex("06000000")
    assert blk[8:28] == bytes.fromhex("00000000 df107617 2fb59fb0 a9020000 a9020000")
    assert len(blk) == 28 + 684 + 4 and blk[-4:] == blk[4:8]  # data padded to 4


def test_epb_is_cut_at_the_wireshark_limit():
    blk, truncated = pcapng.enhanced_packet(1, 5, b"y" * 300_000)
    caplen, origlen = struct.unpack_from("<II", blk, 20)
    assert truncated and (caplen, origlen) == (262144, 300_000)


def test_shb_is_version_1_0_and_padded():
    blk = pcapng.section_header(["hello"], "app")
    assert struct.unpack_from("<IIIHHq", blk) == (0x0A0D0D0A, len(blk), 0x1A2B3C4D, 1, 0, -1)
    assert len(blk) % 4 == 0 and blk[-4:] == blk[4:8]


def test_sysdig_event_block_picks_the_length_width_by_type():
    close = Event.from_params(5, [struct.pack("<q", 0)], ts=7, tid=9, cpu=3)
    blk = pcapng.sysdig_event(close.cpu, close.raw, close.type)
    assert struct.unpack_from("<IIH", blk) == (0x216, len(blk), 3)
    assert blk[10:10 + len(close.raw)] == close.raw
    plug = Event.plugin(7, 2, b"{}")
    assert struct.unpack_from("<I", pcapng.sysdig_event(0, plug.raw, plug.type))[0] == 0x221


def test_reorder_window_sorts_and_counts_what_it_cannot():
    stamps = [10, 30, 20, 40, 50, 5]  # 20 fits in a window of 2; 5 comes too late
    out = io.BytesIO()
    writer = WiresharkWriter(out, window=2)
    for i, ts in enumerate(stamps):
        writer.write(Event.from_params(5, [b"\0" * 8], ts=ts, tid=1, num=i + 1))
    stats = writer.close()
    assert (stats.syscall, stats.out_of_order) == (6, 1)
    written, data = [], out.getvalue()
    pos = struct.unpack_from("<I", data, 4)[0]  # skip the SHB
    while pos < len(data):
        btype, length = struct.unpack_from("<II", data, pos)
        written.append(struct.unpack_from("<Q", data, pos + 10)[0])
        pos += length
    assert written == [10, 20, 30, 5, 40, 50]


def test_info_text_for_cloudtrail_records():
    record = {"eventName": "AssumeRole", "eventSource": "sts.amazonaws.com",
              "userIdentity": {"type": "AssumedRole",
                               "sessionContext": {"sessionIssuer": {"userName": "ci"}}}}
    assert info_text(record) == "AssumeRole (sts.amazonaws.com) by ci | "
    assert info_text({"no": "name"}) == "" and info_text(None) == ""


def test_source_names_ask_the_plugin_registry_first():
    from scaptools.export import SourceNames
    from scaptools.plugin.api import SourcePlugin
    from scaptools.plugin.registry import Registry

    class Dummy(SourcePlugin):
        name, id, event_source, version = "dummy", 999, "dummy_events", "0.1.0"

    registry = Registry()
    registry.register(Dummy())
    names = SourceNames(registry)
    assert names(999) == "dummy_events"   # from the registry
    assert names(2) == "aws_cloudtrail"   # not loaded: the registry table's id
    assert names(4242) == "plugin_4242"
    assert SourceNames()(2) == "aws_cloudtrail"  # installed entry points
