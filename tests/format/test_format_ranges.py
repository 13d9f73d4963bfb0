"""The block walk of ``format/ranges.py`` against the reader's blocks (docs/format.md §2)."""
from __future__ import annotations

import mmap
import os
from pathlib import Path

import pytest

from scaptools.errors import FormatError
from scaptools.events.event import Event
from scaptools.format import ranges
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter

CAPTURES = Path(__file__).resolve().parents[2] / "captures"


def walked(path: Path, window: int | None = None) -> list:
    with open(path, "rb") as fh:
        return list(ranges.walk_blocks(fh, os.path.getsize(path), path=str(path),
                                       window=window))


def read(path: Path) -> list:
    with open_capture(path) as reader:
        return [offset for offset, _ in reader.blocks()]


@pytest.mark.parametrize("name", ["example.scap", "syscall_shell.scap", "iam.scap"])
def test_the_walk_finds_the_blocks_the_reader_reads(name):
    blocks = walked(CAPTURES / name)
    assert [b.offset for b in blocks] == read(CAPTURES / name)
    assert blocks[0].type == 0x0A0D0D0A  # the section header (§3)
    assert sum(b.length for b in blocks) == os.path.getsize(CAPTURES / name)


def test_blocks_across_and_longer_than_a_window(tmp_path):
    """Windows of two mapping granules: blocks cross them, some are longer than half a
    window (their trailer is read from the file); the walk is that of one big window."""
    path = tmp_path / "sizes.scap"
    with CaptureWriter(path) as writer:
        for n in range(200):
            writer.write(Event.plugin(n, 2, b"x" * (97 * n % 20000)))
    small = walked(path, window=2 * mmap.ALLOCATIONGRANULARITY)
    assert small == walked(path)
    assert max(b.length for b in small) > mmap.ALLOCATIONGRANULARITY


@pytest.mark.parametrize("cut, message", [
    (4, "capture ends inside a block"),
    (40, "runs past the end of the file"),
])
def test_a_cut_file_is_an_error_naming_the_offset(tmp_path, cut, message):
    data = (CAPTURES / "example.scap").read_bytes()
    last = read(CAPTURES / "example.scap")[-1]
    path = tmp_path / "cut.scap"
    path.write_bytes(data[:last + cut])
    with pytest.raises(FormatError, match=f"offset {last:#x}.*{message}"):
        walked(path)


def test_a_trailer_that_differs_is_an_error(tmp_path):
    data = bytearray((CAPTURES / "example.scap").read_bytes())
    data[-1] ^= 0xFF  # the last block's trailer
    path = tmp_path / "bad.scap"
    path.write_bytes(bytes(data))
    last = read(CAPTURES / "example.scap")[-1]
    with pytest.raises(FormatError, match=f"offset {last:#x}: block 0x221: block length"):
        walked(path)


def test_length_and_section_checks():
    assert ranges.length_fault(12) is None
    assert "multiple of 4" in ranges.length_fault(14)
    assert "must be >= 12" in ranges.length_fault(8)
    assert ranges.size_fault(0x216, 8 + 65537) is not None
    assert ranges.size_fault(0x221, 8 + 65537) is None
    head = (CAPTURES / "example.scap").read_bytes()[:28]
    assert ranges.section_order(head) == "<"
    assert ranges.section_order(head[:4] + head[4:8] + head[8:12][::-1]) == ">"
    assert ranges.section_order(b"\0" * 28) is None
    with pytest.raises(FormatError, match="bad byte-order magic"):
        ranges.section_order(head[:8] + b"\1\2\3\4")
