"""Byte builders for the pcapng blocks of the Wireshark export.

Layouts follow docs/wireshark-export.md §2.2: all pcapng fields little-endian, the
exported-PDU tags big-endian. Every function returns a complete block
(type, length, body, zero padding, trailing length).
"""
from __future__ import annotations

import struct

from ..events.table import LARGE_PAYLOAD
# the section header and sysdig's event blocks (0x216, 0x221 for large-payload types) are
# those of the capture format (docs/format.md §3, §9.1)
from ..format.constants import BLOCK_EV_V2, BLOCK_EV_V2_LARGE, BLOCK_SHB, SHB_MAGIC
from ..format.layout import BLOCK_HEADER, BLOCK_TRAILER, SHB_HEAD

BLOCK_IDB = 0x00000001
BLOCK_EPB = 0x00000006

LINKTYPE_WIRESHARK_UPPER_PDU = 252   # §2.2 IDB
EPB_MAX_CAPLEN = 262144              # §2.4: a larger EPB stops Wireshark 4.0 reading the file

OPT_END = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9

# exported-PDU tags (§2.2 "Exported-PDU packet data")
EXP_PDU_END = 0
EXP_PDU_DISSECTOR_NAME = 12
EXP_PDU_COL_PROTO = 33
EXP_PDU_COL_INFO = 36



def pad4(n: int) -> int:
    """Bytes of zero padding that bring ``n`` to a multiple of 4."""
    return -n % 4


def block(block_type: int, body: bytes) -> bytes:
    """Frame ``body`` as a pcapng block: header, body, zero padding, trailer."""
    total = 12 + len(body) + pad4(len(body))
    return b"".join((BLOCK_HEADER.pack(block_type, total), body, b"\0" * pad4(len(body)),
                     BLOCK_TRAILER.pack(total)))


def option(code: int, value: bytes) -> bytes:
    """One pcapng option: code u16, length u16, value padded to 4 (§2.2)."""
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad4(len(value))


def options(items: list[tuple[int, bytes]]) -> bytes:
    """An option list ended by ``opt_endofopt``; empty when there are no items."""
    if not items:
        return b""
    return b"".join(option(code, value) for code, value in items) + option(OPT_END, b"")


def section_header(comments: list[str | bytes] = (), application: str = "") -> bytes:
    """SHB version **1.0** (never 1.1, §0 rule 1) with optional comments."""
    opts = [(OPT_COMMENT, c if isinstance(c, bytes) else c.encode("utf-8")) for c in comments]
    if application:
        opts.append((SHB_USERAPPL, application.encode("utf-8")))
    body = SHB_HEAD.pack(SHB_MAGIC, 1, 0, -1) + options(opts)
    return block(BLOCK_SHB, body)


def interface_description(name: str, description: str) -> bytes:
    """IDB on LINKTYPE 252 with nanosecond timestamps (§2.2 IDB)."""
    opts = [(IF_NAME, name.encode("utf-8")), (IF_DESCRIPTION, description.encode("utf-8")),
            (IF_TSRESOL, b"\x09")]
    body = struct.pack("<HHI", LINKTYPE_WIRESHARK_UPPER_PDU, 0, 0) + options(opts)
    return block(BLOCK_IDB, body)


def exported_pdu_tags(dissector: str, protocol: str, info: str = "") -> bytes:
    """Exported-PDU TLVs (big-endian tag and length), ended by the end tag (§2.2)."""
    out = [_tlv(EXP_PDU_DISSECTOR_NAME, dissector.encode("ascii")),
           _tlv(EXP_PDU_COL_PROTO, protocol.encode("utf-8"))]
    if info:
        out.append(_tlv(EXP_PDU_COL_INFO, info.encode("utf-8")))
    out.append(_tlv(EXP_PDU_END, b""))
    return b"".join(out)


def exported_pdu_info(info: str) -> bytes:
    """The info-column tag (if any) and the end tag, to follow cached leading tags."""
    end = b"\0\0\0\0"
    return _tlv(EXP_PDU_COL_INFO, info.encode("utf-8")) + end if info else end


def _tlv(tag: int, value: bytes) -> bytes:
    value = value[:0xFFFF]
    return struct.pack(">HH", tag, len(value)) + value


def enhanced_packet(interface: int, ts: int, data: bytes, comments: list[str] = (),
                    snaplen: int = EPB_MAX_CAPLEN) -> tuple[bytes, bool]:
    """EPB holding ``data``, cut to ``snaplen`` bytes (original length kept).

    Returns ``(block bytes, truncated)``; the caller adds a comment saying so
    (§0 rule 4, §2.4).
    """
    origlen = len(data)
    truncated = origlen > snaplen
    if truncated:
        data = data[:snaplen]
    head = struct.pack("<IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(data), origlen)
    opts = options([(OPT_COMMENT, c.encode("utf-8")) for c in comments])
    body = b"".join((head, data, b"\0" * pad4(len(data)), opts))
    return block(BLOCK_EPB, body), truncated


def sysdig_event(cpu: int, raw: bytes, event_type: int) -> bytes:
    """A sysdig event block from an event in v2 layout (``Event.raw``).

    Large-payload types go to ``0x221`` (u32 lengths), all others to ``0x216``:
    Wireshark picks the length width by block type (docs/format.md §9.3). The
    flags word of EVF blocks is simply not written (§0 rule 3), and v1 events
    arrive already upgraded to v2, which lets 4.0 decode their values.
    """
    block_type = BLOCK_EV_V2_LARGE if event_type in LARGE_PAYLOAD else BLOCK_EV_V2
    return block(block_type, struct.pack("<H", cpu) + raw)

