"""The canonical writer: sysdig and tshark read its output, it reads back to the
same events and metadata, and an interrupted write leaves a valid capture."""
from __future__ import annotations

import gzip
import io
import os
import signal
import struct
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.cli.main import cli
from scaptools.errors import FormatError
from scaptools.events.event import Event
from scaptools.format import constants
from scaptools.format import schema
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter

SYSDIG_MAX_TYPE = 336


def captures(shared):
    return sorted(p for p in shared.joinpath("captures").rglob("*")
                  if p.name.endswith((".scap", ".scap.gz")) and "100k" not in p.name)


def snapshot(path):
    """Events and parsed metadata of a capture (the things convert must keep)."""
    with open_capture(path) as reader:
        events = [(e.ts, e.cpu, e.tid, e.type, e.nparams, e.raw) for e in reader]
        meta = [(b.type, b.parsed) for b in reader.metadata]
    return events, meta


def sysdig_count(sysdig_bin, path):
    proc = subprocess.run([sysdig_bin, "-D", "-r", str(path), "-p", "%evt.num"],
                          capture_output=True, text=True)
    return proc.returncode, len(proc.stdout.splitlines())


def tshark_count(tshark_bin, path):
    proc = subprocess.run([tshark_bin, "-r", str(path), "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, check=True)
    return len(proc.stdout.splitlines())


@pytest.mark.parametrize("compress", [False, True])
def test_convert_every_shared_capture(shared, sysdig_bin, tshark_bin, tmp_path, compress):
    runner = CliRunner()
    for src in captures(shared):
        out = tmp_path / (src.name + (".out.gz" if compress else ".out"))
        args = ["convert", str(src), "-w", str(out)] + (["-z"] if compress else [])
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        events, meta = snapshot(src)
        assert snapshot(out) == (events, meta)
        assert (out.read_bytes()[:2] == b"\x1f\x8b") == compress
        shown = sum(1 for e in events if e[3] < SYSDIG_MAX_TYPE and e[3] != 272)
        assert sysdig_count(sysdig_bin, out) == (0, shown), src.name
        assert tshark_count(tshark_bin, out) == len(events), src.name


def test_canonical_layout(shared, tmp_path):
    out = tmp_path / "c.scap"
    CliRunner().invoke(cli, ["convert", str(shared / "captures/libs-e2e/curl_google.scap"),
                             "-w", str(out)])
    data = out.read_bytes()
    assert data[:28] == struct.pack("<IIIHHqI", constants.BLOCK_SHB, 28, constants.SHB_MAGIC, 1, 2,
                                    -1, 28)
    pos, seen_event, types = 28, False, set()
    while pos < len(data):
        btype, total = struct.unpack_from("<II", data, pos)
        assert total % 4 == 0 and struct.unpack_from("<I", data, pos + total - 4)[0] == total
        seen_event |= btype in constants.EVENT_BLOCKS
        assert seen_event == (btype in constants.EVENT_BLOCKS)  # metadata only before events
        types.add(btype)
        pos += total
    assert types & constants.EVENT_BLOCKS == {constants.BLOCK_EV_V2}


def test_large_payload_events_go_to_0x221(tmp_path):
    buf = io.BytesIO()
    with CaptureWriter(buf) as w:
        w.write(Event.plugin(10, 2, b'{"x": 1}' * 20000))  # > 64 KiB: only 0x221 can hold it
        w.write(Event.from_params(3, [b"\x03\0\0\0\0\0\0\0"], ts=11, tid=5, cpu=1))
    data = buf.getvalue()
    assert struct.unpack_from("<I", data, 28)[0] == constants.BLOCK_EV_V2_LARGE
    events = list(open_capture(io.BytesIO(data)))
    assert events[0].plugin_id == 2 and len(events[0].payload) == 160000
    assert (events[1].type, events[1].cpu, events[1].tid) == (3, 1, 5)


def test_writer_without_metadata_is_read_by_sysdig(sysdig_bin, tmp_path):
    """No machine-info block is needed (§11 test A): close enter events, fd 3."""
    out = tmp_path / "bare.scap"
    with CaptureWriter(out) as w:
        for i in range(3):
            w.write(Event.from_params(4, [b"\x03\0\0\0\0\0\0\0"], ts=1000 + i, tid=7))
    assert sysdig_count(sysdig_bin, out) == (0, 3)


def test_flush_makes_gzip_readable_while_open(tmp_path):
    out = tmp_path / "live.scap.gz"
    with CaptureWriter(out, gzip=True) as w:
        for i in range(5):
            w.write(Event.plugin(i + 1, 2, b"{}"))
        w.flush()
        assert len(list(open_capture(out))) == 5  # complete member on disk
        w.write(Event.plugin(9, 2, b"{}"))
        w.flush()
        assert len(list(open_capture(out))) == 6
    assert gzip.decompress(out.read_bytes())[:4] == b"\n\r\r\n"


WRITER_SCRIPT = """
import sys
from scaptools.events.event import Event
from scaptools.format.writer import CaptureWriter
with CaptureWriter(sys.argv[1], gzip=sys.argv[2] == "gz") as w:
    i = 0
    while True:
        i += 1
        w.write(Event.plugin(i, 2, b'{"n": %d}' % i))
        if i == 2000:
            w.flush()
            print("ready", flush=True)
        if i == 3000 and sys.argv[3] == "raise":
            raise RuntimeError("boom")
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "raise"])
@pytest.mark.parametrize("mode", ["plain", "gz"])
def test_interrupted_writer_leaves_valid_capture(tmp_path, how, mode):
    out = tmp_path / "interrupted.scap"
    # a shell that runs tests in the background ignores SIGINT, and Python keeps an
    # inherited SIG_IGN: the writer is given the default disposition, as at a terminal
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(out), mode, how],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline().strip() == b"ready"
    if how != "raise":
        time.sleep(0.2)
        proc.send_signal(getattr(signal, how))
    proc.wait(timeout=30)
    assert proc.returncode != 0
    with open_capture(out) as reader:
        events = list(reader)
        assert not reader.truncated
    assert len(events) >= 2000
    assert [e.ts for e in events] == list(range(1, len(events) + 1))


def test_big_endian_section_reads_like_little_endian(shared):
    """Rebuild sample.scap big-endian through the schema (§1.2); events come out the same."""
    src = (shared / "captures/libs-e2e/sample.scap").read_bytes()
    pos, out = 0, []
    while pos < len(src):
        btype, total = struct.unpack_from("<II", src, pos)
        parsed = schema.block("<", btype).parse(src[pos:pos + total])
        if btype in constants.EVENT_BLOCKS_V2:  # parameter values stay as stored
            parsed.body.event.nparams = len(parsed.body.event.lengths)
        out.append(schema.block(">", btype).build(parsed))
        pos += total
    big = b"".join(out)
    with open_capture(io.BytesIO(big)) as reader:
        got = [(e.ts, e.tid, e.type, e.cpu, e.nparams, e.raw) for e in reader]
        assert reader.section.byte_order == "big"
        meta = [b.little_endian().body for b in reader.metadata]
    want, want_meta = snapshot_bytes(src)
    assert got == want and meta == want_meta


def snapshot_bytes(data):
    with open_capture(io.BytesIO(data)) as reader:
        events = [(e.ts, e.tid, e.type, e.cpu, e.nparams, e.raw) for e in reader]
        return events, [b.body for b in reader.metadata]


def test_pipe_input(shared):
    path = shared / "captures/libs-e2e/sample.scap"
    code = ("import sys;from scaptools.cli.main import main;"
            "sys.argv=['scap','info','-','--json'];main()")
    proc = subprocess.run([sys.executable, "-c", code], input=gzip.compress(path.read_bytes()),
                          capture_output=True)  # through a pipe, gzip: no seek anywhere
    assert proc.returncode == 0, proc.stderr
    assert b'"events": 572' in proc.stdout


def test_writer_never_closed_is_finished_at_exit(tmp_path):
    out = tmp_path / "noclose.scap.gz"
    code = ("import sys\nfrom scaptools.events.event import Event\n"
            "from scaptools.format.writer import CaptureWriter\n"
            "w = CaptureWriter(sys.argv[1], gzip=True)\n"
            "for i in range(10):\n    w.write(Event.plugin(i + 1, 2, b'{}'))\n")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, timeout=30)
    with open_capture(out) as reader:
        assert len(list(reader)) == 10 and not reader.truncated


params_strategy = st.lists(st.binary(max_size=300), max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([3, 4, 5, 322, 324, 402, 500]), params_strategy,
                          st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1),
                          st.integers(0, 65535)), max_size=20),
       st.booleans())
def test_written_events_read_back_identical(events, compress):
    buf = io.BytesIO()
    with CaptureWriter(buf, gzip=compress, handle_signals=False) as w:
        for etype, params, ts, tid, cpu in events:
            w.write(Event.from_params(etype, params, ts=ts, tid=tid, cpu=cpu))
    got = [(e.type, e.param_bytes, e.ts, e.tid, e.cpu) for e in open_capture(io.BytesIO(
        buf.getvalue()))]
    assert got == [(t, p, ts, tid, cpu) for t, p, ts, tid, cpu in events]


def test_event_with_wrong_length_is_refused():
    ev = Event.from_params(4, [b"\x03\0\0\0\0\0\0\0"])
    ev.raw = ev.raw + b"junk"
    with pytest.raises(FormatError, match="header length"):
        with CaptureWriter(io.BytesIO()) as w:
            w.write(ev)
    with pytest.raises(FormatError, match="u16"):
        with CaptureWriter(io.BytesIO()) as w:
            w.write(Event.from_params(4, [b"\x03\0\0\0\0\0\0\0"], cpu=70000))


@pytest.mark.parametrize("name", ["libs-e2e/curl_google.scap", "libs-e2e/sample.scap"])
def test_sysdig_resolves_the_same_names_after_convert(shared, sysdig_bin, tmp_path, name):
    """Carried-over metadata gives sysdig the same processes, fds and users (§11 test C)."""
    src, out = shared / "captures" / name, tmp_path / "converted.scap"
    assert CliRunner().invoke(cli, ["convert", str(src), "-w", str(out)]).exit_code == 0
    fmt = "*%evt.num %proc.name %proc.exe %proc.cwd %fd.name %user.name %evt.args"

    def view(path):
        return subprocess.run([sysdig_bin, "-r", str(path), "-p", fmt], capture_output=True,
                              text=True, check=True).stdout
    original = view(src)
    assert view(out) == original and original.count("\n") > 400


@pytest.mark.parametrize("compress", [False, True])
def test_write_plugin_events_equals_write(sysdig_bin, tmp_path, compress):
    """The batch path: the same bytes as one write(Event.plugin(...)) per item, past a chunk."""
    import random
    from scaptools.format.writer import BATCH_EVENTS
    rng = random.Random(7)
    items = [(rng.randrange(2**63), rng.randbytes(rng.randrange(0, 40)))
             for _ in range(BATCH_EVENTS + 37)]
    outs = []
    for batch in (False, True):
        buf = io.BytesIO()
        with CaptureWriter(buf, gzip=compress, handle_signals=False) as w:
            if batch:
                w.write_plugin_events(9, items[:5])
                w.write_plugin_events(9, [])
                w.write_plugin_events(9, items[5:])
            else:
                for ts, payload in items:
                    w.write(Event.plugin(ts, 9, payload))
            assert w.events_written == len(items)
        outs.append(gzip.decompress(buf.getvalue()) if compress else buf.getvalue())
    assert outs[0] == outs[1]
    out = tmp_path / "p.scap"
    out.write_bytes(outs[1])
    assert sysdig_count(sysdig_bin, out) == (0, len(items))
    got = [(e.ts, e.plugin_id, e.payload) for e in open_capture(out)]
    assert got == [(ts, 9, p) for ts, p in items]


def test_write_plugin_events_refuses_what_does_not_fit():
    with pytest.raises(FormatError, match="does not fit"):
        with CaptureWriter(io.BytesIO(), handle_signals=False) as w:
            w.write_plugin_events(2, [(2**64, b"{}")])
    w = CaptureWriter(io.BytesIO(), handle_signals=False)
    w.close()
    with pytest.raises(FormatError, match="closed"):
        w.write_plugin_events(2, [(1, b"{}")])


@pytest.mark.parametrize("compress", [False, True])
def test_background_writing_gives_the_same_bytes(tmp_path, monkeypatch, compress):
    """background=True: the thread writes (and compresses) the same bytes, in order,
    members ending at each flush; flush() returns once they are in the file."""
    import random
    from scaptools.format import writer as writer_module
    monkeypatch.setattr(writer_module, "SYNC_BYTES", 1000)  # an fsync now and then on the way
    rng = random.Random(3)
    items = [(rng.randrange(2**63), rng.randbytes(rng.randrange(0, 3000))) for _ in range(900)]
    outs = []
    for background in (False, True):
        path = tmp_path / f"{background}.scap"
        with open(path, "wb") as fh:
            with CaptureWriter(fh, gzip=compress, background=background) as w:
                w.write_plugin_events(4, items[:300])
                w.flush()
                flushed = path.read_bytes()
                w.write_plugin_events(4, items[300:])
        outs.append((flushed, path.read_bytes()))
    assert outs[0] == outs[1]
    got = [(e.ts, e.payload) for e in open_capture(tmp_path / "True.scap")]
    assert got == items


def test_background_write_error_is_raised_by_the_next_call():
    class Failing(io.BytesIO):
        def write(self, data):
            raise OSError(28, "No space left on device")
    w = CaptureWriter(Failing(), handle_signals=False, background=True)
    w.write_plugin_events(2, [(1, b"{}")])
    with pytest.raises(FormatError, match="No space left"):
        w.flush()
    with pytest.raises(FormatError, match="No space left"):
        w.close()
    assert w.closed


@pytest.mark.parametrize("background", [False, True])
def test_truncate_cuts_an_old_file_before_the_first_write(tmp_path, background):
    path = tmp_path / "old.scap"
    path.write_bytes(b"x" * 100_000)
    with open(path, "r+b") as fh:
        with CaptureWriter(fh, background=background, truncate=True) as w:
            w.write_plugin_events(2, [(1, b"{}")])
    assert [(e.ts, e.payload) for e in open_capture(path)] == [(1, b"{}")]
    assert path.stat().st_size < 1000


def test_written_out_formats_equal_the_schema():
    """The writer spells its struct formats out (no construct import when recording);
    the schema stays the source of truth (STYLE.md): the two must agree."""
    from scaptools.format import writer as writer_module

    def same(fmt: str) -> str:  # with "<" (standard sizes) L and I are both 4 bytes
        return fmt.replace("L", "I").replace("l", "i")
    prefix = schema.struct_format(schema.block_header("<"), schema.event_prefix("<", False))
    assert writer_module._EVENT_PREFIX.format == same(prefix)
    body = schema.section_header("<").build(dict(major=constants.SHB_MAJOR,
                                                 minor=constants.SHB_MINOR, section_length=-1,
                                                 options=[], rest=b""))
    assert writer_module.section_header() == writer_module.frame(constants.BLOCK_SHB, body)
    head = schema.struct_format(schema.block_header("<"), schema.event_prefix("<", False),
                           schema.event_header("<", True))
    assert writer_module._FIRST_HEAD.format == same(head) + "III"  # two lengths, plugin id


def test_recording_does_not_import_construct():
    import subprocess
    import sys
    code = ("import sys; import scaptools.record; "
            "print(any(m == 'construct' or m.startswith('construct.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_disk_is_an_error_not_a_silent_loss():
    """flush() promises durable bytes: ENOSPC must surface (a recorder then acknowledges
    nothing), from flush and from close, as FormatError naming the file."""
    for background in (False, True):
        writer = CaptureWriter("/dev/full", handle_signals=False, background=background)
        writer.write_plugin_events(2, [(1, b"{}")] * 10)
        with pytest.raises(FormatError, match="/dev/full: write failed: .*No space left"):
            writer.flush()
        with pytest.raises(FormatError):
            writer.close()


def test_flush_to_a_pipe_or_dev_null_is_fine(tmp_path):
    for target in ("/dev/null",):
        if os.path.exists(target):
            with CaptureWriter(target, handle_signals=False) as writer:
                writer.write_plugin_events(2, [(1, b"{}")])
                writer.flush()
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as pipe, CaptureWriter(pipe, handle_signals=False) as w:
        w.write_plugin_events(2, [(1, b"{}")])
        w.flush()  # fsync of a pipe fails with EINVAL: nothing to sync there
    with os.fdopen(read_fd, "rb") as fh:
        assert [ev.payload for ev in open_capture(fh)] == [b"{}"]
