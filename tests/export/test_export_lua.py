"""The bundled Lua postdissector in the real tshark 4.0 (docs/wireshark-export.md §3.2)."""
from __future__ import annotations

import struct

from scaptools.export import lua_path
from scaptools.events.event import PLUGINEVENT

from .conftest import EXAMPLE, EXAMPLE_LOG, read_events, tshark_rows

FIELDS = ["frame.protocols", "falcoplugin.plugin_id", "falcoplugin.source",
          "falcoplugin.len_width", "falcoplugin.name", "_ws.col.Protocol", "_ws.col.Info"]


def lua_rows(tshark_bin, path, *args):
    return tshark_rows(tshark_bin, path, FIELDS, "-X", f"lua_script:{lua_path()}", *args)


def test_native_plugin_capture_shows_falcoplugin_fields(tshark_bin):
    src = EXAMPLE
    events = read_events(src)
    rows = lua_rows(tshark_bin, src)
    assert len(rows) == len(events) == 13
    for row, event in zip(rows, events):
        protocols, plugin_id, source, width, name, proto_col, info = row
        assert protocols == "data"  # set before postdissectors run
        assert (plugin_id, source, width) == ("2", "aws_cloudtrail", "4")
        assert name == event.json["eventName"]
        assert proto_col == "aws_cloudtrail/JSON"
        assert info.startswith(f"{name} ({event.json['eventSource']})")


def test_without_the_script_plugin_events_are_raw_data(tshark_bin):
    src = EXAMPLE
    rows = tshark_rows(tshark_bin, src, ["frame.protocols"])
    assert {r[0] for r in rows} == {"data"}  # the problem the script solves (§1.3)


def test_json_filter_on_native_capture(tshark_bin):
    import json
    logins = [r for r in json.loads(EXAMPLE_LOG.read_text())["Records"]
              if r["eventName"] == "ConsoleLogin"]
    rows = lua_rows(tshark_bin, EXAMPLE, "-Y", 'json.member_with_value == "eventName:ConsoleLogin"'
                    ' && falcoplugin.plugin_id == 2')
    assert len(rows) == len(logins) == 3


def test_native_mixed_capture_leaves_syscalls_alone(tshark_bin, mixed_scap):
    events = read_events(mixed_scap)
    rows = lua_rows(tshark_bin, mixed_scap)
    assert len(rows) == len(events)
    plugin_rows = [r for r in rows if r[1]]
    assert len(plugin_rows) == sum(1 for e in events if e.type == PLUGINEVENT)
    assert all(r[0] == "sysdig" for r in rows if not r[1])


def test_script_adds_fields_to_the_wireshark_export(tshark_bin, mixed_export):
    rows = lua_rows(tshark_bin, mixed_export, "-Y", "exported_pdu")
    assert len(rows) == 41
    assert {(r[1], r[2]) for r in rows} == {("2", "aws_cloudtrail")}
    assert all(r[4] and r[6].startswith(r[4]) for r in rows)  # Info = "Name (service) by user"


def test_pluginevent_with_16_bit_lengths(tshark_bin, tmp_path):
    """A pluginevent written in a 0x216 block (u16 lengths) is recognised too (§3.2)."""
    payload = b'{"eventName":"UserLogin","eventSource":"okta"}'
    lengths = struct.pack("<HH", 4, len(payload))
    event = (struct.pack("<QQIHI", 10**18, 2**64 - 1, 26 + 4 + 4 + len(payload), 322, 2)
             + lengths + struct.pack("<I", 7) + payload)   # header, lens, plugin id, data
    body = struct.pack("<H", 0) + event                     # cpu id, event
    pad = -len(body) % 4
    total = 12 + len(body) + pad
    shb = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 2, -1, 28)
    src = tmp_path / "u16.scap"
    src.write_bytes(shb + struct.pack("<II", 0x216, total) + body + b"\0" * pad
                    + struct.pack("<I", total))
    rows = lua_rows(tshark_bin, src)
    assert rows == [["data", "7", "okta", "2", "UserLogin", "okta/JSON",
                     "UserLogin (okta)"]]
