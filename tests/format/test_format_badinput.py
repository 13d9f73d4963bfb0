"""Bad input never escapes as anything but a ScapError naming file and offset,
and every complete event before a fault is still delivered (issue 2 acceptance)."""
from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaptools.errors import FormatError, ScapError, TruncatedCapture
from scaptools.format.blocks import Block
from scaptools.format.reader import open_capture


def block_ends(data: bytes):
    """(end offset, is event) of every block of a little-endian capture."""
    pos, out = 0, []
    while pos < len(data):
        btype, total = struct.unpack_from("<II", data, pos)
        pos += total
        out.append((pos, btype in (0x204, 0x216, 0x221, 0x217)))
    return out


def read_all(source, **kw):
    """Events delivered before the error (or the end), and the error."""
    events, error = [], None
    try:
        with open_capture(source, **kw) as reader:
            for ev in reader:
                events.append(ev)
    except ScapError as exc:
        error = exc
    return events, error


@pytest.fixture(scope="module")
def sample(shared):
    return (shared / "captures/libs-e2e/sample.scap").read_bytes()


def cut_points(data):
    ends = block_ends(data)
    picks = {0, 1, 7, 8, 27, 28, 29, len(data) - 1}
    for end, _ in ends[::37]:
        picks.update({end - 1, end, end + 3, end + 9})
    return sorted(p for p in picks if 0 <= p < len(data))


def test_cut_at_many_offsets_delivers_every_complete_event(sample):
    ends = block_ends(sample)
    for cut in cut_points(sample):
        events, error = read_all(io.BytesIO(sample[:cut]), path="cut.scap")
        complete = sum(1 for end, is_event in ends if is_event and end <= cut)
        assert len(events) == complete, cut
        if cut in {end for end, _ in ends}:  # a cut between blocks leaves a valid file
            assert error is None, cut
            continue
        assert isinstance(error, FormatError), cut
        assert "cut.scap" in str(error)
        if cut > 28:
            assert isinstance(error, TruncatedCapture)
            assert f"offset {max(e for e, _ in ends if e <= cut):#x}" in str(error)


def test_cut_gzip_stream(sample):
    packed = gzip.compress(sample)
    for cut in (20, len(packed) // 3, len(packed) // 2, len(packed) - 4):
        events, error = read_all(io.BytesIO(packed[:cut]), path="cut.scap.gz")
        assert isinstance(error, TruncatedCapture) and "gzip" in str(error)
        assert "cut.scap.gz: offset 0x" in str(error)
        whole = [e for e in read_all(io.BytesIO(sample))[0]]
        assert [e.raw for e in events] == [e.raw for e in whole[:len(events)]]


def test_multi_member_gzip_reads_as_one_stream(sample):
    data = gzip.compress(sample[:100]) + gzip.compress(sample[100:])
    events, error = read_all(io.BytesIO(data))
    assert error is None and len(events) == 572


def test_flipped_length_byte(sample):
    ends = block_ends(sample)
    start = ends[10][0]  # a block in the middle
    bad = bytearray(sample)
    bad[start + 4] ^= 0x10
    events, error = read_all(io.BytesIO(bytes(bad)), path="flip.scap")
    assert isinstance(error, FormatError)
    assert f"offset {start:#x}" in str(error)
    assert len(events) == sum(1 for end, ev in ends if ev and end <= start)


def test_four_gigabyte_length_does_not_allocate(sample):
    ends = block_ends(sample)
    start = ends[200][0]
    bad = sample[:start + 4] + struct.pack("<I", 0xFFFFFFFC) + sample[start + 8:]
    events, error = read_all(io.BytesIO(bad), path="huge.scap")
    assert isinstance(error, FormatError) and f"offset {start:#x}" in str(error)
    assert len(events) == sum(1 for end, ev in ends if ev and end <= start)


def test_empty_and_foreign_files(tmp_path):
    empty = tmp_path / "empty.scap"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="empty.scap: offset 0x0"):
        list(open_capture(empty))
    foreign = tmp_path / "notes.txt"
    foreign.write_bytes(b"hello, this is not a capture at all\n" * 10)
    with pytest.raises(FormatError, match="notes.txt: offset 0x0: not a scap capture"):
        list(open_capture(foreign))
    with pytest.raises(FormatError, match="cannot open"):
        open_capture(tmp_path / "missing.scap")
    with open(foreign) as text, pytest.raises(FormatError, match="binary mode"):
        open_capture(text)


def run_scap(*args, limit_memory=False):
    code = ("import resource,sys;"
            "resource.setrlimit(resource.RLIMIT_AS,(1<<30,1<<30));" if limit_memory else
            "import sys;")
    code += "from scaptools.cli.main import main;sys.argv=['scap']+sys.argv[1:];main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_cli_reports_one_line_and_exit_1(sample, tmp_path):
    ends = block_ends(sample)
    cases = {
        "cut.scap": sample[:ends[300][0] + 30],
        "empty.scap": b"",
        "text.scap": b"not a capture\n" * 4,
        "gzcut.scap.gz": gzip.compress(sample)[:5000],
        "huge.scap": sample[:ends[5][0] + 4] + b"\xfc\xff\xff\xff" + sample[ends[5][0] + 8:],
        "badlist.scap": damaged_process_list(sample),
        "badparam.scap": damaged_event(sample, ends[300][0])[0],
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        proc = run_scap("info", path, limit_memory=True)
        assert proc.returncode == 1, (name, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (name, proc.stderr)
        assert str(path) in lines[0] and "offset 0x" in lines[0], lines[0]


def test_cli_warns_in_one_line(sample, tmp_path):
    """An unknown block is skipped with one warning line (not Python's two-line format)."""
    start = next(start for start, _ in block_ends(sample)
                 if struct.unpack_from("<I", sample, start)[0] == 0x215)
    path = tmp_path / "unknown.scap"
    path.write_bytes(sample[:start] + struct.pack("<I", 0x7777) + sample[start + 4:])
    proc = run_scap("print", "-D", path)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 572
    assert proc.stderr.splitlines() == [
        f"Warning: {path}: offset {start:#x}: skipping unknown block type 0x7777"]


def damaged_process_list(data: bytes) -> bytes:
    """``data`` with the first entry of its process list made longer than the list (the
    schema's error message spans two lines: the CLI must still print one)."""
    start = next(start for start, _ in block_ends(data)  # each end starts the next block
                 if struct.unpack_from("<I", data, start)[0] == 0x215)
    return data[:start + 8] + struct.pack("<I", 0xFFFFFF) + data[start + 12:]


def damaged_event(data: bytes, after: int) -> tuple[bytes, int]:
    """``data`` with the first parameter of the first event block at or after ``after``
    made 1000 bytes longer than its event; and that block's offset."""
    for start, _ in block_ends(data):  # the end of a block is the start of the next
        if start >= after and is_event_block(data, start) \
                and struct.unpack_from("<I", data, start + 32)[0]:  # nparams
            length = struct.unpack_from("<H", data, start + 36)[0]
            return data[:start + 36] + struct.pack("<H", length + 1000) + data[start + 38:], start
    raise AssertionError("no event with parameters")


def is_event_block(data: bytes, pos: int) -> bool:
    return pos < len(data) and struct.unpack_from("<I", data, pos)[0] == 0x216


def test_damaged_event_is_delivered_and_names_its_offset(sample):
    """The reader yields an event whose parameters run past its end (its block is whole);
    reading the parameters raises DamagedEvent with the file and the block's offset."""
    from scaptools.errors import DamagedEvent
    data, offset = damaged_event(sample, block_ends(sample)[200][0])
    events, error = read_all(io.BytesIO(data), path="param.scap")
    assert error is None and len(events) == 572
    damaged = next(ev for ev in events if ev.offset == offset)
    with pytest.raises(DamagedEvent, match=f"^<stream>: offset {offset:#x}: event "
                                           f"{damaged.num} .*: damaged: parameter 1 "):
        damaged.param_bytes
    with pytest.raises(DamagedEvent, match=f"^param.scap: offset {offset:#x}: "):
        with open_capture(io.BytesIO(data), path="param.scap") as reader:
            for ev in reader:
                ev.params  # the reader names its file when the error leaves it


@pytest.mark.parametrize("name,packed", [("sample.scap", False), ("sample.scap", True),
                                         ("curl_google.scap", False)])
def test_every_event_knows_its_block_offset(shared, monkeypatch, name, packed):
    """Event.offset is the offset of the event's block: the fast v2 and v1 loops, gzip,
    blocks cut by chunk ends (tiny chunks)."""
    from scaptools.format import reader as reader_module
    data = (shared / "captures/libs-e2e" / name).read_bytes()
    with open_capture(io.BytesIO(data)) as reader:
        expected = [offset for offset, item in reader.blocks() if hasattr(item, "ts")]
    source = gzip.compress(data) if packed else data
    assert [ev.offset for ev in read_all(io.BytesIO(source))[0]] == expected
    monkeypatch.setattr(reader_module, "CHUNK", 997)
    assert [ev.offset for ev in read_all(io.BytesIO(source))[0]] == expected


def test_slow_path_events_know_their_offset(sample):
    """A flags-word block (0x217) goes through the reader's slow path."""
    from scaptools.format.writer import frame
    start = next(start for start, _ in block_ends(sample) if is_event_block(sample, start))
    total, cpu = struct.unpack_from("<IH", sample, start + 4)
    elen = struct.unpack_from("<I", sample, start + 10 + 16)[0]
    block = frame(0x217, struct.pack("<HI", cpu, 0) + sample[start + 10:start + 10 + elen])
    data = sample[:start] + block + sample[start + total:]
    events = read_all(io.BytesIO(data))[0]
    assert events[0].flags == 0 and [ev.offset for ev in events[:2]] == [start,
                                                                        start + len(block)]
    assert events[0].raw == read_all(io.BytesIO(sample))[0][0].raw


def test_convert_of_cut_file_keeps_complete_events(sample, tmp_path):
    ends = block_ends(sample)
    cut = tmp_path / "cut.scap"
    cut.write_bytes(sample[:ends[400][0] + 50])
    out = tmp_path / "out.scap"
    proc = run_scap("convert", cut, "-w", out)
    assert proc.returncode == 1 and "offset 0x" in proc.stderr
    events, error = read_all(out)
    assert error is None
    assert len(events) == sum(1 for end, ev in ends if ev and end <= ends[400][0])


def mutate(data: bytes, edits) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf)


def exercise(data: bytes) -> None:
    """Read everything a user could ask for; only ScapError may escape."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with open_capture(io.BytesIO(data), path="fuzz.scap") as reader:
                for _, item in reader.blocks():
                    if isinstance(item, Block):
                        if item.known:
                            item.parsed
                    else:
                        item.param_bytes, item.name, item.direction, item.plugin_id
        except ScapError:
            pass


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1,
                max_size=6), st.integers(200, 30000))
def test_mutated_captures_raise_only_scap_errors(shared, edits, keep):
    small = (shared / "captures/libs-e2e/sample.scap").read_bytes()[:keep]
    exercise(mutate(small, edits))
    plugin = (shared / "captures/libscap-plugin/cloudtrail_small.scap").read_bytes()[:keep]
    exercise(mutate(plugin, edits))
