"""The state as metadata blocks: process list V9, fd lists v2, user list v2.

Used by ``scap slice`` so a slice starts with lists that describe the threads,
fds and users as they were at its first event (docs/format.md §5, §6, §8).
Entries are built with the construct schema (``scaptools.format.schema``); the
V9 entries carry the old 5-byte tail (loginuid, exe_writable), which both
sysdig 0.29.3 and current readers decode correctly (§5, test Q2).
"""
from __future__ import annotations

import ipaddress
import struct

from construct import GreedyBytes, Struct

from ..format import constants
from ..format import schema
from ..format.blocks import Block
from .fds import (FD_FILE_V2, FD_IPV4_SERVSOCK, FD_IPV4_SOCK, FD_IPV6_SERVSOCK, FD_IPV6_SOCK,
                  FD_UNIX_SOCK)

_PROC = Struct(*schema.process_fields("<", 9), "extra" / GreedyBytes)
_U32 = struct.Struct("<I")


def _prefixed(body: bytes) -> bytes:
    return _U32.pack(len(body) + 4) + body


def _text(value) -> bytes:
    """A text field (at most 65535 bytes: its length is a u16)."""
    data = value.encode("utf-8", "replace") if isinstance(value, str) else bytes(value or b"")
    return data[:0xFFFF]


def _nul_joined(items) -> bytes:
    return b"".join(_text(item) + b"\0" for item in items)[:0xFFFF]


def _u(value, bits: int) -> int:
    """``value`` cut to an unsigned field of ``bits`` (a damaged capture can give a thread
    any value; the same low bits are written back)."""
    return (value if isinstance(value, int) else 0) & ((1 << bits) - 1)


def _i64(value) -> int:
    """``value`` in an i64 field: its low 64 bits, signed."""
    value = _u(value, 64)
    return value - (1 << 64) if value >> 63 else value


def process_entry(t) -> bytes:
    """One V9 process-list entry (length-prefixed) for ``ThreadInfo`` ``t``."""
    body = _PROC.build(dict(
        tid=_i64(t.tid), pid=_i64(t.pid), ptid=_i64(t.ptid), sid=_i64(t.sid),
        vpgid=_i64(t.vpgid), comm=_text(t.comm), exe=_text(t.exe), exepath=_text(t.exepath),
        args=_nul_joined(t.args), cwd=_text(t.cwd), fdlimit=_i64(t.fdlimit),
        flags=_u(t.flags, 32), uid=_u(t.uid, 32), gid=_u(t.gid, 32),
        vmsize_kb=_u(t.vmsize_kb, 32), vmrss_kb=_u(t.vmrss_kb, 32),
        vmswap_kb=_u(t.vmswap_kb, 32), pfmajor=_u(t.pfmajor, 64), pfminor=_u(t.pfminor, 64),
        env=_nul_joined(t.env), vtid=_i64(t.vtid), vpid=_i64(t.vpid),
        cgroups=_nul_joined(t.cgroups), root=_text(t.root),
        extra=struct.pack("<IB", _u(t.loginuid, 32), 1 if t.exe_writable else 0)))
    return _prefixed(body)


def _ip(text: str, size: int) -> bytes:
    try:
        packed = ipaddress.ip_address(text).packed
    except ValueError:
        packed = b""
    if size == 16 and len(packed) == 4:
        packed = ipaddress.IPv6Address("::ffff:" + text).packed
    return packed if len(packed) == size else bytes(size)


def fd_entry(fd) -> bytes | None:
    """One v2 fd-list entry, or ``None`` for placeholder fds."""
    if fd.type < 0:
        return None
    head = struct.pack("<qQB", _i64(fd.num), _u(fd.ino, 64), _u(fd.type, 8))
    if fd.type in (FD_IPV4_SOCK, FD_IPV6_SOCK):
        size = 4 if fd.type == FD_IPV4_SOCK else 16
        payload = (_ip(fd.sip, size) + _ip(fd.dip, size)
                   + struct.pack("<HHB", _u(fd.sport, 16), _u(fd.dport, 16), _u(fd.l4proto, 8)))
    elif fd.type in (FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK):
        size = 4 if fd.type == FD_IPV4_SERVSOCK else 16
        payload = _ip(fd.sip, size) + struct.pack("<HB", _u(fd.sport, 16), _u(fd.l4proto, 8))
    elif fd.type == FD_UNIX_SOCK:
        payload = struct.pack("<QQ", 0, 0) + _str16(fd.name)
    elif fd.type == FD_FILE_V2:
        payload = _U32.pack(_u(fd.flags, 32)) + _str16(fd.name) + _U32.pack(_u(fd.dev, 32))
    else:
        payload = _str16(fd.name)
    return _prefixed(head + payload)


def _str16(text: str) -> bytes:
    data = _text(text)[:1023]
    return struct.pack("<H", len(data)) + data


def _num(fd) -> int:
    return fd.num


def calls_in_progress(state) -> list:
    """The enter events of the calls the threads are in (their exits come later)."""
    pending = [t.last_enter for t in state.threads.values() if t.in_call and t.last_enter]
    return sorted(pending, key=lambda e: e.ts)


def state_blocks(state) -> list[Block]:
    """Process list, fd lists (one per main thread) and user list blocks for ``state``:
    threads in table order with main threads first, fds by number, users by uid, then
    groups by gid."""
    threads = sorted(state.threads.values(),
                     key=lambda t: t.tid != t.pid)  # main threads first: they own the fds
    blocks = [Block(constants.BLOCK_PL_V9, b"".join(process_entry(t) for t in threads))]
    seen = set()
    for t in threads:
        if id(t.fdtable) in seen:
            continue
        seen.add(id(t.fdtable))
        entries = [fd_entry(fd) for fd in sorted(t.fdtable.values(), key=_num)]
        body = struct.pack("<Q", _u(t.tid, 64)) + b"".join(e for e in entries if e)
        blocks.append(Block(constants.BLOCK_FDL_V2, body))
    users = [_prefixed(b"\0" + struct.pack("<II", _u(u["uid"], 32), _u(u["gid"], 32))
                       + _str16(u["name"])
                       + _str16(u["home"]) + _str16(u["shell"]))
             for _uid, u in sorted(state.users.items())]
    groups = [_prefixed(b"\1" + struct.pack("<I", _u(gid, 32)) + _str16(name))
              for gid, name in sorted(state.groups.items())]
    blocks.append(Block(constants.BLOCK_UL_V2, b"".join(users + groups)))
    return blocks
