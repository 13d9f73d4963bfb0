"""Reader behaviour on hand-built captures: unknown blocks, v1 conversion,
flags-word blocks, several sections, numbering and offsets."""
from __future__ import annotations

import io
import struct
import warnings

import pytest

from scaptools import open_capture as top_level_open
from scaptools.errors import FormatError
from scaptools.events.event import Event
from scaptools.format import constants
from scaptools.format.blocks import Block
from scaptools.format.reader import open_capture
from scaptools.format.writer import event_block, frame, section_header


def shb(minor=2):
    return frame(constants.BLOCK_SHB, struct.pack("<IHHq", constants.SHB_MAGIC, 1, minor, -1))


def close_event(ts, fd=3):
    return Event.from_params(4, [struct.pack("<q", fd)], ts=ts, tid=42, cpu=1)


def v1_block(btype, etype, params, ts=5, flags=None, extra_len=0):
    """A v1 event block: cpuid, [flags], 22-byte header without nparams (§9.1, §9.2)."""
    lens = struct.pack(f"<{len(params)}H", *map(len, params))
    data = lens + b"".join(params)
    head = struct.pack("<QQIH", ts, 42, 22 + len(data) + extra_len, etype)
    prefix = struct.pack("<H", 2) + (struct.pack("<I", flags) if flags is not None else b"")
    return frame(btype, prefix + head + data)


def test_unknown_blocks_are_skipped_with_one_warning():
    unknown = frame(0x300, b"abcdefgh")
    data = (shb() + unknown + event_block(close_event(1)) + unknown + unknown +
            event_block(close_event(2)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = list(open_capture(io.BytesIO(data)))
    assert [e.ts for e in events] == [1, 2] and [e.num for e in events] == [1, 2]
    assert len([w for w in caught if "0x300" in str(w.message)]) == 1


def test_v1_blocks_become_v2_events():
    params = [struct.pack("<q", 3), b"/etc/passwd\0"]
    quirk = v1_block(constants.BLOCK_EV, 280, [b"id\0", b"desc\0"], ts=8, extra_len=3)  # §9.4
    data = shb(0) + v1_block(constants.BLOCK_EV, 4, params[:1]) + \
        v1_block(constants.BLOCK_EV_INT, 4, params[:1], ts=6) + \
        v1_block(constants.BLOCK_EVF, 4, params[:1], ts=7, flags=1) + quirk
    events = list(open_capture(io.BytesIO(data)))
    assert [(e.ts, e.type, e.nparams, e.cpu, e.flags) for e in events] == [
        (5, 4, 1, 2, 0), (6, 4, 1, 2, 0), (7, 4, 1, 2, 1), (8, 280, 2, 2, 0)]
    assert events[0].param_bytes == [params[0]]
    assert events[3].param_bytes == [b"id\0", b"desc\0"]
    assert struct.unpack_from("<I", events[0].raw, 16)[0] == len(events[0].raw)


def test_v1_fewer_params_than_the_table():
    """An older producer wrote fewer parameters: the largest count that adds up wins."""
    params = [struct.pack("<q", 3), b"/srv/x\0", struct.pack("<I", 1)]  # open exit has 6 now
    events = list(open_capture(io.BytesIO(shb(0) + v1_block(constants.BLOCK_EV, 3, params))))
    assert events[0].nparams == 3 and events[0].param_bytes == params


def test_flags_blocks_and_large_blocks():
    ev = close_event(9)
    body = struct.pack("<HI", 1, 1) + ev.raw
    plugin = Event.plugin(10, 7, b"payload")
    data = (shb() + frame(constants.BLOCK_EVF_V2, body) +
            frame(constants.BLOCK_EVF_V2_LARGE, struct.pack("<HI", 0, 1) + plugin.raw) +
            event_block(plugin))
    events = list(open_capture(io.BytesIO(data)))
    assert [(e.ts, e.flags) for e in events] == [(9, 1), (10, 1), (10, 0)]
    assert events[1].plugin_id == 7 and events[2].payload == b"payload"


def test_several_sections_and_offsets():
    first = shb() + event_block(close_event(1))
    data = first + shb(0) + event_block(close_event(2))
    reader = open_capture(io.BytesIO(data))
    items = list(reader.blocks())
    offsets = [off for off, _ in items]
    assert offsets == [0, 28, len(first), len(first) + 28]
    assert [type(item) for _, item in items] == [Block, Event, Block, Event]
    assert [s.version for s in reader.sections] == ["1.2", "1.0"]
    assert [item.num for _, item in items if isinstance(item, Event)] == [1, 2]


def test_top_level_api_and_errors():
    data = section_header() + event_block(close_event(1))
    assert [e.ts for e in top_level_open(io.BytesIO(data))] == [1]
    with pytest.raises(FormatError, match="unsupported format version 2.0"):
        head = struct.pack("<IHHq", constants.SHB_MAGIC, 2, 0, -1)
        list(open_capture(io.BytesIO(frame(constants.BLOCK_SHB, head))))
    bad_trailer = bytearray(data)
    bad_trailer[-1] = 9
    with pytest.raises(FormatError, match=r"offset 0x1c: block 0x216: block length"):
        list(open_capture(io.BytesIO(bytes(bad_trailer)), path="t.scap"))
    too_long = section_header() + frame(constants.BLOCK_EV_V2, struct.pack("<H", 0) + bytes(70000))
    with pytest.raises(FormatError, match="65536"):
        list(open_capture(io.BytesIO(too_long)))


@pytest.mark.parametrize("compress", [False, True])
def test_blocks_larger_than_a_read_chunk(tmp_path, compress):
    """Blocks of several MB (big process lists, big plugin payloads) span many reads."""
    from scaptools.format.writer import CaptureWriter
    entry = struct.pack("<qQB", 3, 1, constants.FD_FILE) + struct.pack("<H", 1000) + b"x" * 1000
    fdl = Block(constants.BLOCK_FDL, struct.pack("<Q", 1) + entry * 3000)
    out = tmp_path / "big.scap"
    payload = bytes(range(256)) * 12000  # 3 MB
    with CaptureWriter(out, gzip=compress, metadata=[fdl]) as w:
        w.write(close_event(1))
        w.write(Event.plugin(2, 5, payload))
        w.write(close_event(3))
    with open_capture(out) as reader:
        events = list(reader)
        assert len(reader.metadata[0].parsed.list.entries) == 3000
    assert [e.ts for e in events] == [1, 2, 3] and events[1].payload == payload


def test_param_lengths_that_do_not_fit_are_not_read():
    """A large-payload event whose u32 parameter lengths run past it: its parameters are
    not read, they raise DamagedEvent naming the event's offset. A length array that
    does not fit the event is refused while walking, wherever its block lies."""
    from scaptools.errors import DamagedEvent
    from scaptools.format.blocks import HEADER
    raw = HEADER.pack(1, 2, 26 + 8, 322, 2) + struct.pack("<II", 4, 1000)
    ev = list(open_capture(io.BytesIO(section_header() + event_block(
        Event(0, 1, 0, 2, 322, 2, raw)))))[0]
    for read in (lambda: ev.param_bytes, lambda: ev.plugin_id):
        with pytest.raises(DamagedEvent, match="offset 0x1c: event 1 .*has length 4 but"):
            read()
    raw = HEADER.pack(1, 2, 26 + 8, 322, 4) + bytes(8)
    with pytest.raises(FormatError, match="offset 0x1c: block 0x221: 4 parameter lengths"):
        list(open_capture(io.BytesIO(section_header() + event_block(
            Event(0, 1, 0, 2, 322, 4, raw)))))


@pytest.mark.parametrize("chunk", [1, 7, 36, 100, 997, 4096])
def test_any_chunk_size_gives_the_same_blocks(shared, monkeypatch, chunk):
    """Blocks cut by chunk ends are joined on their own (reader._split): same result."""
    import gzip

    from scaptools.format import reader as reader_module
    data = (shared / "captures/libs-e2e/sample.scap").read_bytes()[:60000]
    plugin = (shared / "captures/libscap-plugin/cloudtrail_small.scap").read_bytes()

    def walk(blob):
        out, err = [], None
        try:
            for off, item in open_capture(io.BytesIO(blob)).blocks():
                out.append((off, item.raw if isinstance(item, Event) else item.body))
        except FormatError as exc:
            err = str(exc)
        return out, err
    want = [walk(d) for d in (data, plugin, gzip.compress(data), data[:55555])]
    monkeypatch.setattr(reader_module, "CHUNK", chunk)
    assert [walk(d) for d in (data, plugin, gzip.compress(data), data[:55555])] == want
