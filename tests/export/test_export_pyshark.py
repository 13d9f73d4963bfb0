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

import signal

import pytest

from scaptools.events.event import PLUGINEVENT

from .conftest import epoch_ns, json_paths, read_events

pyshark = pytest.importorskip("pyshark")


@pytest.fixture(autouse=True, scope="module")
def signal_state_put_back():
    """pyshark runs tshark through asyncio, which leaves a SIGCHLD handler and a signal
    wakeup fd behind. Nobody reads that fd: once it is full, every later child exit in
    this process prints "Exception ignored when trying to write to the signal wakeup
    fd" on stderr, and tests that compare stderr (replay -j) fail. Put both back."""
    handler = signal.getsignal(signal.SIGCHLD)
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    yield
    signal.signal(signal.SIGCHLD, handler)
    signal.set_wakeup_fd(wakeup)


def plugin_payloads(mixed_scap) -> list[bytes]:
    events = sorted(read_events(mixed_scap), key=lambda e: e.ts)
    return [e.payload for e in events if e.type == PLUGINEVENT]


def test_json_layer_values_equal_the_records(tshark_bin, mixed_scap, mixed_export):
    payloads = plugin_payloads(mixed_scap)
    cap = pyshark.FileCapture(str(mixed_export), display_filter="exported_pdu",
                              tshark_path=tshark_bin)
    try:
        packets = list(cap)
    finally:
        cap.close()
    assert len(packets) == len(payloads) == 41
    for pkt, payload in zip(packets, payloads):
        # "frame" is a layer here because of the packet comment (pyshark quirk)
        assert [layer.layer_name for layer in pkt.layers] == ["frame", "exported_pdu", "json"]
        got = [f.showname_value for f in pkt.json.get_field("path_with_value").all_fields]
        assert got == json_paths(payload)
        assert pkt.exported_pdu.get_field("col_proto_str") == "aws_cloudtrail"


def test_display_filter_through_pyshark(tshark_bin, mixed_scap, mixed_export):
    wanted = sum(1 for p in plugin_payloads(mixed_scap) if b'"eventName":"ConsoleLogin"' in p)
    cap = pyshark.FileCapture(str(mixed_export), tshark_path=tshark_bin,
                              display_filter='json.member_with_value == "eventName:ConsoleLogin"')
    try:
        names = [p.json.get_field("member_with_value").all_fields for p in cap]
    finally:
        cap.close()
    assert wanted == 5 and len(names) == wanted
    assert all(any(f.showname_value == "eventName:ConsoleLogin" for f in n) for n in names)


def test_documented_limitation_syscall_records_have_no_layers(tshark_bin, mixed_export):
    cap = pyshark.FileCapture(str(mixed_export), tshark_path=tshark_bin)
    try:
        packets = [cap[i] for i in range(6)]
    finally:
        cap.close()
    syscall = [p for p in packets if not p.layers]
    assert syscall, "expected syscall records without layers (pyshark PDML quirk)"
    for pkt in syscall:
        assert pkt.frame_info.layer_name == "sysdig"
        assert pkt.frame_info.get_field("event_type") is not None
        with pytest.raises(TypeError):
            pkt.sniff_time


def test_use_json_mode_with_exported_pdu_filter(tshark_bin, mixed_scap, mixed_export):
    cap = pyshark.FileCapture(str(mixed_export), use_json=True, display_filter="exported_pdu",
                              tshark_path=tshark_bin)
    try:
        stamps = [epoch_ns(p.sniff_timestamp) for p in cap if "json" in p]
    finally:
        cap.close()
    events = [e for e in read_events(mixed_scap) if e.type == PLUGINEVENT]
    assert stamps == sorted(e.ts for e in events)
