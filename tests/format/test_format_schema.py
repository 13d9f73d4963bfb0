"""The construct schema is the truth: it parses and rebuilds every block of every
shared capture byte for byte, its compiled form agrees, and the reader's fast
path gives the same events (STYLE.md "construct and the fast path")."""
from __future__ import annotations

import gzip
import struct

import pytest

from scaptools.format import constants
from scaptools.format import schema
from scaptools.format.blocks import Block, event_from_v1
from scaptools.format.reader import open_capture


def roundtrip(order: str, raw: bytes):
    """Parse a whole block, rebuild it, compare compiled with interpreted parsing."""
    btype = struct.unpack_from(order + "I", raw)[0]
    full = schema.block(order, btype)
    parsed = full.parse(raw)
    assert full.build(parsed) == raw
    body = raw[8:-4]
    assert schema.compiled_body(order, btype).parse(body) == parsed.body
    assert schema.block_body(order, btype).build(parsed.body) == body
    return parsed


def decompressed(path):
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def captures(shared):
    return sorted(p for p in shared.joinpath("captures").rglob("*")
                  if p.name.endswith((".scap", ".scap.gz")) and "100k" not in p.name)


def check_capture(path):
    data = decompressed(path)
    seen = 0
    with open_capture(path) as reader:
        for offset, item in reader.blocks():
            total = struct.unpack_from("<I", data, offset + 4)[0]
            raw = data[offset:offset + total]
            parsed = roundtrip("<", raw)
            seen += 1
            if isinstance(item, Block):
                assert item.raw() == raw and item.parsed == parsed.body
                continue
            ev = parsed.body.event
            assert (item.ts, item.tid, item.type, item.cpu) == (ev.ts, ev.tid, ev.type,
                                                                parsed.body.cpu)
            if parsed.block_type in constants.EVENT_BLOCKS_V2:  # fast path == schema
                assert item.nparams == ev.nparams and list(ev.lengths) == \
                    [len(p) for p in item.param_bytes]
                assert item.raw == raw[10:10 + ev.len]
            else:  # v1: the schema keeps lengths+data raw; the reader prepends nparams
                assert item.raw[26:] == ev.rest
                slow = event_from_v1(parsed.block_type, raw[8:-4], "<")  # the slow path
                assert (slow.raw, slow.nparams) == (item.raw, item.nparams)
    return seen


def test_schema_roundtrips_every_shared_block(shared):
    total = sum(check_capture(p) for p in captures(shared))
    assert total > 5000


@pytest.mark.parametrize("order", ["<", ">"])
def test_section_header_both_orders_and_options(order):
    """SHB 1.0-1.3 with and without options, either byte order (§3)."""
    i = struct.Struct(order + "I")
    for minor in range(4):
        opt = struct.pack(order + "HH", 1, 5) + b"hello\0\0\0" + struct.pack(order + "HH", 0, 0)
        for options in (b"", opt):
            body = i.pack(constants.SHB_MAGIC) + struct.pack(order + "HHq", 1, minor, -1) + options
            total = i.pack(len(body) + 12)
            raw = i.pack(constants.BLOCK_SHB) + total + body + total
            parsed = roundtrip(order, raw)
            assert parsed.body.minor == minor
            assert [o.value for o in parsed.body.options][:1] == ([b"hello"] if options else [])


def mi_body(order):
    return struct.pack(order + "IQQ", 4, 1 << 33, 32768) + b"host".ljust(128, b"\0") + \
        struct.pack(order + "QQQQ", 7, 0, 0, 0)


def pl_entry(order, version):
    """A process entry of a given version with every field that version has (§5)."""
    s = lambda b: struct.pack(order + "H", len(b)) + b  # noqa: E731
    q = lambda *v: struct.pack(order + "q" * len(v), *v)  # noqa: E731
    out = q(10, 10, 1) + (q(10) if version >= 6 else b"") + (q(10) if version >= 8 else b"")
    out += s(b"bash") + s(b"/bin/bash") + (s(b"/usr/bin/bash") if version >= 7 else b"")
    out += s(b"-c\0ls\0") + s(b"/root") + q(1024) + struct.pack(order + "III", 0, 0, 0)
    if version >= 2:
        out += struct.pack(order + "IIIQQ", 1, 2, 3, 4, 5)
    if version >= 3:
        out += s(b"HOME=/root\0")
    if version >= 4:
        out += q(10, 10) + s(b"cpu=/\0")
    if version >= 5:
        out += s(b"/")
    if version == 9:
        out += struct.pack(order + "IB", 1000, 1)  # old tail: loginuid, exe_writable
        out = struct.pack(order + "I", len(out) + 4) + out
    return out


def frame(order, btype, body):
    pad = b"\0" * (-len(body) % 4)
    total = 12 + len(body) + len(pad)
    i = struct.Struct(order + "I")
    return i.pack(btype) + i.pack(total) + body + pad + i.pack(total)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("btype", sorted(constants.PL_VERSIONS))
def test_process_lists_every_version(order, btype):
    version = constants.PL_VERSIONS[btype]
    parsed = roundtrip(order, frame(order, btype, pl_entry(order, version) * 2))
    entries = parsed.body.entries
    assert len(entries) == 2
    entry = entries[0].entry if version == 9 else entries[0]
    assert (entry.comm, entry.cwd, entry.tid) == (b"bash", b"/root", 10)
    if version == 9:
        assert schema.pl_tail(entry.extra, order) == {"loginuid": 1000, "exe_writable": 1}


@pytest.mark.parametrize("order", ["<", ">"])
def test_metadata_blocks_both_orders(order):
    s = lambda b: struct.pack(order + "H", len(b)) + b  # noqa: E731
    roundtrip(order, frame(order, constants.BLOCK_MI, mi_body(order)))
    fd_file = struct.pack(order + "qQB", 3, 99, constants.FD_FILE) + s(b"/etc/passwd")
    fd_v4 = struct.pack(order + "qQB", 4, 1, constants.FD_IPV4_SOCK) + bytes(8) + \
        struct.pack(order + "HHB", 80, 4242, 2)
    v1 = roundtrip(order, frame(order, constants.BLOCK_FDL, struct.pack(order + "Q", 7) + fd_file
                                + fd_v4))
    assert [e.info.get("name") for e in v1.body.list.entries] == [b"/etc/passwd", None]
    entry = struct.pack(order + "qQBI", 5, 1, constants.FD_FILE_V2, 2) + s(b"/srv/x") + b"\1\0\0\0"
    v2 = roundtrip(order, frame(order, constants.BLOCK_FDL_V2, struct.pack(order + "Q", 7) +
                                struct.pack(order + "I", len(entry) + 4) + entry))
    assert v2.body.list.entries[0].entry.extra == b"\1\0\0\0"  # dev, kept for later
    iface = (struct.pack(order + "HH", constants.IF_IPV4, 2) + bytes(12)
             + struct.pack(order + "Q", 1) + b"lo")
    roundtrip(order, frame(order, constants.BLOCK_IL, iface))
    entry = struct.pack(order + "I", len(iface)) + iface
    roundtrip(order, frame(order, constants.BLOCK_IL_V2, entry))
    user = b"\0" + struct.pack(order + "II", 0, 0) + s(b"root") + s(b"/root") + s(b"/bin/sh")
    group = b"\1" + struct.pack(order + "I", 0) + s(b"root")
    for btype in (constants.BLOCK_UL, constants.BLOCK_UL_INT):
        assert len(roundtrip(order, frame(order, btype, user + group)).body.entries) == 2
    v2u = b"".join(struct.pack(order + "I", len(x) + 4) + x for x in (user, group))
    roundtrip(order, frame(order, constants.BLOCK_UL_V2, v2u))


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("btype", sorted(constants.EVENT_BLOCKS))
def test_event_blocks_every_kind(order, btype):
    """Every event block id parses and rebuilds (§9.1); large types use u32 lengths."""
    etype = 322 if btype in (constants.BLOCK_EV_V2_LARGE, constants.BLOCK_EVF_V2_LARGE) else 3
    prefix = struct.pack(order + "H", 1)
    if btype in constants.FLAGS_BLOCKS:
        prefix += struct.pack(order + "I", 1)
    params = [b"\x05\0\0\0", b"data!"]
    code = "I" if etype == 322 else "H"
    lens = struct.pack(order + code * 2, *map(len, params))
    if btype in constants.EVENT_BLOCKS_V1:
        head = struct.pack(order + "QQIH", 1, 2, 22 + len(lens) + 9, etype)
    else:
        head = struct.pack(order + "QQIHI", 1, 2, 26 + len(lens) + 9, etype, 2)
    parsed = roundtrip(order, frame(order, btype, prefix + head + lens + b"".join(params)))
    assert parsed.body.event.type == etype
    if btype in constants.EVENT_BLOCKS_V2:
        assert list(parsed.body.event.lengths) == [4, 5]


def test_fast_path_formats_equal_the_schema():
    from scaptools.format.fastpath import FORMATS
    for order in "<>":  # block header, cpuid, event header
        expected = schema.struct_format(schema.block_header(order),
                                        schema.event_prefix(order, False),
                                        schema.event_header(order, True))
        assert FORMATS[order].event.format == expected.replace("L", "I")
        assert FORMATS[order].event.size == 8 + 2 + 26
