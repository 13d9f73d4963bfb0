"""Raw decoding of event parameters, driven by the event table (docs/format.md §10).

``decode_params(event)`` gives ``{name: value}`` with the values that sysdig's
``%evt.rawarg.NAME`` works with: integers for every numeric, flag, fd, pid, uid
and errno type; ``str`` for text and paths (trailing NUL removed); ``bytes``
for byte buffers; ``SockAddr`` / ``SockTuple`` for socket parameters; a list of
``(fd, flags)`` for ``PT_FDLIST``; a list of ``str`` for ``PT_CHARBUFARRAY``.
An empty parameter (length 0, "not available", §9.3) decodes to ``None``.
Rendering to sysdig's text lives in ``render.py``.
"""
from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from ..format.layout import LARGE_PAYLOAD_TYPES, PARAM_LENGTHS_AT, lengths_struct, param_data_at
from .table import EVENTS, TABLE

# Fixed-size numeric types -> struct format (docs/format.md §10.2).
NUMERIC = {
    "PT_INT8": "<b", "PT_INT16": "<h", "PT_INT32": "<i", "PT_INT64": "<q",
    "PT_UINT8": "<B", "PT_UINT16": "<H", "PT_UINT32": "<I", "PT_UINT64": "<Q",
    "PT_ERRNO": "<q", "PT_FD": "<q", "PT_PID": "<q", "PT_FD32": "<i", "PT_PID32": "<i",
    "PT_UID": "<I", "PT_GID": "<I", "PT_MODE": "<I", "PT_SIGSET": "<I", "PT_BOOL": "<I",
    "PT_FLAGS8": "<B", "PT_FLAGS16": "<H", "PT_FLAGS32": "<I",
    "PT_ENUMFLAGS8": "<B", "PT_ENUMFLAGS16": "<H", "PT_ENUMFLAGS32": "<I",
    "PT_SIGTYPE": "<B", "PT_L4PROTO": "<B", "PT_SOCKFAMILY": "<B", "PT_SYSCALLID": "<H",
    "PT_PORT": "<H", "PT_RELTIME": "<Q", "PT_ABSTIME": "<Q", "PT_DOUBLE": "<d",
}
_STRUCTS = {name: struct.Struct(fmt) for name, fmt in NUMERIC.items()}
TEXT_TYPES = frozenset(("PT_CHARBUF", "PT_FSPATH", "PT_FSRELPATH"))
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10  # PPM_AF_* (docs/format.md §10.2)


class SockAddr(NamedTuple):
    """A ``PT_SOCKADDR``: family, then ip text + port (inet) or path (unix)."""

    family: int
    addr: str = ""
    port: int = 0


class SockTuple(NamedTuple):
    """A ``PT_SOCKTUPLE``: inet/inet6 source and destination, or a unix pair.

    For unix tuples ``sip``/``dip`` hold the kernel pointers as ints and
    ``path`` the socket path.
    """

    family: int
    sip: object = ""
    sport: int = 0
    dip: object = ""
    dport: int = 0
    path: str = ""


def decode_value(ptype: str, data: bytes, dyn_table: str | None = None):
    """Decode one stored parameter value of table type ``ptype``.

    Values too short for their type decode to ``None`` (never an exception).
    """
    if not data:
        return None
    st = _STRUCTS.get(ptype)
    if st is not None:
        if len(data) < st.size:
            return None
        return st.unpack_from(data)[0]
    if ptype in TEXT_TYPES:
        return decode_text(data)
    if ptype == "PT_BYTEBUF":
        return bytes(data)
    if ptype == "PT_SOCKADDR":
        return decode_sockaddr(data)
    if ptype == "PT_SOCKTUPLE":
        return decode_socktuple(data)
    if ptype == "PT_FDLIST":
        return decode_fdlist(data)
    if ptype == "PT_DYN":
        return decode_dyn(data, dyn_table)[1]
    if ptype == "PT_CHARBUFARRAY":
        return [decode_text(s) for s in bytes(data).rstrip(b"\0").split(b"\0")]
    if ptype == "PT_IPV4ADDR":
        return str(ipaddress.IPv4Address(bytes(data[:4]))) if len(data) >= 4 else None
    if ptype == "PT_IPV6ADDR":
        return str(ipaddress.IPv6Address(bytes(data[:16]))) if len(data) >= 16 else None
    return bytes(data)


def decode_text(data: bytes) -> str:
    """Text up to the first NUL (§10.2: the stored length counts the NUL)."""
    end = data.find(b"\0")
    return bytes(data if end < 0 else data[:end]).decode("utf-8", "replace")


def decode_sockaddr(data: bytes) -> SockAddr:
    fam = data[0]
    if fam == AF_INET and len(data) >= 7:
        return SockAddr(fam, str(ipaddress.IPv4Address(bytes(data[1:5]))),
                        struct.unpack_from("<H", data, 5)[0])
    if fam == AF_INET6 and len(data) >= 19:
        return SockAddr(fam, str(ipaddress.IPv6Address(bytes(data[1:17]))),
                        struct.unpack_from("<H", data, 17)[0])
    if fam == AF_UNIX:
        return SockAddr(fam, decode_text(data[1:]))
    return SockAddr(fam)


def decode_socktuple(data: bytes) -> SockTuple:
    fam = data[0]
    if fam == AF_INET and len(data) >= 13:
        sport, = struct.unpack_from("<H", data, 5)
        dport, = struct.unpack_from("<H", data, 11)
        return SockTuple(fam, str(ipaddress.IPv4Address(bytes(data[1:5]))), sport,
                         str(ipaddress.IPv4Address(bytes(data[7:11]))), dport)
    if fam == AF_INET6 and len(data) >= 37:
        sport, = struct.unpack_from("<H", data, 17)
        dport, = struct.unpack_from("<H", data, 35)
        return SockTuple(fam, str(ipaddress.IPv6Address(bytes(data[1:17]))), sport,
                         str(ipaddress.IPv6Address(bytes(data[19:35]))), dport)
    if fam == AF_UNIX and len(data) >= 17:
        src, dst = struct.unpack_from("<QQ", data, 1)
        return SockTuple(fam, src, 0, dst, 0, decode_text(data[17:]))
    return SockTuple(fam)


def decode_fdlist(data: bytes) -> list[tuple[int, int]]:
    """``u16 count`` then ``count x (i64 fd, u16 flags)``; cut at the data end."""
    if len(data) < 2:
        return []
    count, = struct.unpack_from("<H", data)
    out = []
    for i in range(count):
        pos = 2 + 10 * i
        if pos + 10 > len(data):
            break
        out.append(struct.unpack_from("<qH", data, pos))
    return out


def decode_dyn(data: bytes, dyn_table: str | None) -> tuple[dict | None, object]:
    """A ``PT_DYN`` value: u8 index into the dynamic table, then that type's value."""
    entries = DYNAMIC_TABLES.get(dyn_table or "", ())
    idx = data[0]
    if idx >= len(entries):
        return None, bytes(data[1:])
    info = entries[idx]
    return info, decode_value(info["type"], data[1:])


DYNAMIC_TABLES: dict[str, list] = {
    name: sorted(entries, key=lambda e: e["index"])
    for name, entries in TABLE["dynamic_tables"].items()}


def param_infos(event_type: int) -> list[dict]:
    """The table's parameter descriptions for an event id (empty if unknown)."""
    return EVENTS[event_type]["params"] if event_type < len(EVENTS) else []


def decode_params(event) -> dict:
    """Parameter name -> raw decoded value, for the parameters actually stored.

    Parameters beyond the table's list (newer producer) are ignored; missing
    trailing ones (older producer) are simply absent (docs/format.md §9.4 step 6).
    """
    etype = event.type
    decoders = _DECODERS.get(etype)
    if decoders is None:
        decoders = _DECODERS[etype] = _build_decoders(etype)
    raw, nparams = event.raw, event.nparams
    if 0 < nparams <= _MAX_DIRECT and etype not in _LARGE:
        pos = param_data_at(nparams)
        lens = _LENS[nparams].unpack_from(raw, PARAM_LENGTHS_AT) if pos <= len(raw) else None
        if lens is not None and pos + sum(lens) <= len(raw):
            return _decode_direct(raw, pos, lens, decoders)
    out = {}
    for (name, fn, _), data in zip(decoders, event.param_bytes):
        out[name] = fn(data) if data else None
    return out


def _decode_direct(raw: bytes, pos: int, lens, decoders) -> dict:
    """The parameters of a well-framed v2 event (§9.3), numerics unpacked in place."""
    out = {}
    for (name, fn, st), size in zip(decoders, lens):
        if not size:
            out[name] = None
        elif st is not None:
            out[name] = st.unpack_from(raw, pos)[0] if size >= st.size else None
        else:
            out[name] = fn(raw[pos:pos + size])
        pos += size
    return out


def params_of(event) -> dict:
    """``event.params``: decoded once, kept in the event's lazy slot (event.py)."""
    try:
        return event._params
    except AttributeError:
        params = event._params = decode_params(event)
        return params


_DECODERS: dict[int, list] = {}
_MAX_DIRECT = 32
_LENS = [lengths_struct(n) for n in range(_MAX_DIRECT + 1)]
_LARGE = LARGE_PAYLOAD_TYPES


def _build_decoders(event_type: int) -> list:
    """``(name, fn(bytes) -> value, struct or None)`` per parameter; numerics get a
    direct unpack."""
    out = []
    for info in param_infos(event_type):
        st = _STRUCTS.get(info["type"])
        if st is not None:
            fn = (lambda data, st=st: st.unpack_from(data)[0] if len(data) >= st.size else None)
        else:
            fn = (lambda data, t=info["type"], d=info.get("dynamic_table"):
                  decode_value(t, data, d))
        out.append((info["name"], fn, st))
    return out


def param_index(event_type: int, name: str) -> int | None:
    """The position of parameter ``name`` in an event type, or ``None``."""
    for i, info in enumerate(param_infos(event_type)):
        if info["name"] == name:
            return i
    return None
