"""pyshark (driving the real tshark) on the Wireshark export of a mixed capture.

pyshark limitations this test pins down (docs/wireshark-export.md §5):

* In the default PDML mode, syscall records come through without layers: tshark's
  PDML has no ``geninfo`` for them, so ``pkt.layers`` is empty, ``pkt.sniff_time``
  raises ``TypeError`` and the sysdig fields are reachable only as
  ``pkt.frame_info`` (the ``sysdig`` protocol).
* ``use_json=True`` crashes on the first syscall record (``KeyError: 'frame'``); it
  works with ``display_filter='exported_pdu'``, which keeps only plugin rows.
* With a packet comment (every exported plugin event has one), pyshark moves
  ``frame`` into ``pkt.layers`` and ``pkt.frame_info`` is the ``pkt_comment`` protocol.

Advice for users: filter to ``exported_pdu`` (or ``json``) and read the ``json`` layer.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scaptools.events.event import PLUGINEVENT

from .conftest import epoch_ns, json_paths, read_events

pytest.importorskip("pyshark")

# pyshark runs tshark through asyncio and installs a process-wide child watcher and
# SIGCHLD handler. In the test process, which has started thousands of children by
# then, that watcher once found its tshark already reaped by other code and reported
# exit code 255 (a failure on a correct run). Each reading therefore runs in a fresh
# Python process whose only children are its tshark runs; it prints what it saw as JSON.
OPEN = """
import json, sys, pyshark
path, tshark = sys.argv[1], sys.argv[2]
def capture(**kwargs):
    return pyshark.FileCapture(path, tshark_path=tshark, **kwargs)
"""


def pyshark_reads(code: str, path, tshark: str):
    """Run ``code`` (after ``OPEN``) in a fresh process; what it prints, parsed as JSON."""
    proc = subprocess.run([sys.executable, "-c", OPEN + code, str(path), tshark],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def plugin_payloads(mixed_scap) -> list[bytes]:
    events = sorted(read_events(mixed_scap), key=lambda e: e.ts)
    return [e.payload for e in events if e.type == PLUGINEVENT]


def test_json_layer_values_equal_the_records(tshark_bin, mixed_scap, mixed_export):
    payloads = plugin_payloads(mixed_scap)
    packets = pyshark_reads("""
cap = capture(display_filter="exported_pdu")
try:
    print(json.dumps([[[layer.layer_name for layer in pkt.layers],
                       [f.showname_value for f in pkt.json.get_field("path_with_value").all_fields],
                       pkt.exported_pdu.get_field("col_proto_str")] for pkt in cap]))
finally:
    cap.close()
""", mixed_export, tshark_bin)
    assert len(packets) == len(payloads) == 41
    for (layers, paths, proto), payload in zip(packets, payloads):
        # "frame" is a layer here because of the packet comment (pyshark quirk)
        assert layers == ["frame", "exported_pdu", "json"]
        assert paths == json_paths(payload)
        assert proto == "aws_cloudtrail"


def test_display_filter_through_pyshark(tshark_bin, mixed_scap, mixed_export):
    wanted = sum(1 for p in plugin_payloads(mixed_scap) if b'"eventName":"ConsoleLogin"' in p)
    names = pyshark_reads("""
cap = capture(display_filter='json.member_with_value == "eventName:ConsoleLogin"')
try:
    print(json.dumps([[f.showname_value for f in p.json.get_field("member_with_value").all_fields]
                      for p in cap]))
finally:
    cap.close()
""", mixed_export, tshark_bin)
    assert wanted == 5 and len(names) == wanted
    assert all("eventName:ConsoleLogin" in n for n in names)


def test_documented_limitation_syscall_records_have_no_layers(tshark_bin, mixed_export):
    packets = pyshark_reads("""
cap = capture()
seen = []
try:
    for pkt in (cap[i] for i in range(6)):
        try:
            pkt.sniff_time
            stamp = "a time"
        except TypeError:
            stamp = "TypeError"
        seen.append([len(pkt.layers), pkt.frame_info.layer_name,
                     pkt.frame_info.get_field("event_type") is not None, stamp])
finally:
    cap.close()
print(json.dumps(seen))
""", mixed_export, tshark_bin)
    syscall = [p for p in packets if p[0] == 0]
    assert syscall, "expected syscall records without layers (pyshark PDML quirk)"
    assert all(p[1:] == ["sysdig", True, "TypeError"] for p in syscall)


def test_use_json_mode_with_exported_pdu_filter(tshark_bin, mixed_scap, mixed_export):
    stamps = pyshark_reads("""
cap = capture(use_json=True, display_filter="exported_pdu")
try:
    print(json.dumps([p.sniff_timestamp for p in cap if "json" in p]))
finally:
    cap.close()
""", mixed_export, tshark_bin)
    events = [e for e in read_events(mixed_scap) if e.type == PLUGINEVENT]
    assert [epoch_ns(s) for s in stamps] == sorted(e.ts for e in events)
