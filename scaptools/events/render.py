"""Parameter text as sysdig shows it (``evt.args``, ``%evt.arg.X``).

Each parameter renders to a pair ``(text, resolved)``: the value itself and an
optional resolution (errno name, fd name, thread name, flag names, ...);
``evt.args`` shows ``name=text(resolved)`` or ``name=text``. Resolutions that
need state (fd names, thread names, user names, the cwd of relative paths)
ask a resolver: any object with ``thread(tid)``, ``user_name(uid)`` and
``group_name(gid)`` (``scaptools.state.State`` is one); without a resolver,
nothing is resolved. Value encodings: docs/format.md §10.2.
"""
from __future__ import annotations

import json
import posixpath
import struct
from importlib import resources

from ..format.layout import LENGTH_SIZE, PARAM_LENGTHS_AT
from .params import (AF_INET, AF_INET6, AF_UNIX, DYNAMIC_TABLES, NUMERIC, decode_fdlist,
                     decode_sockaddr, decode_socktuple, param_infos)
from .table import EVENT_NAMES, TABLE

ERRNO_NAMES = {e["value"]: e["name"] for e in TABLE["errno"]}
FLAG_TABLES = TABLE["flag_tables"]
# libscap's syscall table (PPM_SC_* code -> name, category), as sysdig 0.29.3 ships it:
# generic events (ids 0/1) carry the code, and sysdig shows this name as evt.type (§10.1)
SYSCALL_NAMES = {int(k): v for k, v in json.loads(
    resources.files(__package__).joinpath("data/syscall_names.json").read_text()).items()}
SYSCALL_CATEGORIES = {int(k): v for k, v in json.loads(
    resources.files(__package__).joinpath("data/syscall_categories.json").read_text()).items()}
AT_FDCWD = -100  # PPM_AT_FDCWD
_U16 = struct.Struct("<H")
_AT, _WIDTH = PARAM_LENGTHS_AT, LENGTH_SIZE  # the u16 length array (docs/format.md §9.3)
MAX_BUF_LEN = 80  # sysdig's default cut of byte buffers in evt.args (without -v)
_SIGNED = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}
_SIGNALS = ("SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 "
            "SIGSEGV SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP "
            "SIGTSTP SIGTTIN SIGTTOU SIGURG SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH "
            "SIGIO SIGPWR SIGSYS").split()
_BUFFERS = frozenset(("PT_BYTEBUF", "PT_CHARBUF", "PT_CHARBUFARRAY"))
L4_CHARS = {2: "t", 3: "u", 4: "i", 5: "r"}  # scap_l4_proto -> sysdig's fd type suffix


GENERIC = (0, 1)  # generic events: evt.type is the syscall named by their first parameter


def event_type_name(event) -> str:
    """``evt.type``: the table name, or the real syscall for generic events (§10.1)."""
    etype = event.type
    if etype > 1:
        return EVENT_NAMES[etype] if etype < len(EVENT_NAMES) else "unknown"
    # generic events: param 0 is the u16 syscall id, right after the u16 length array
    raw, nparams = event.raw, event.nparams
    start = _AT + _WIDTH * nparams
    if nparams and len(raw) >= start + 2 and raw[_AT] == 2 and raw[_AT + 1] == 0:
        return SYSCALL_NAMES.get(_U16.unpack_from(raw, start)[0], "<unknown>")
    return event.name


def syscall_code(event) -> int | None:
    """The PPM_SC code of a generic event (its first parameter, a u16 right after the
    length array), or ``None``."""
    raw, nparams = event.raw, event.nparams
    if event.type > 1 or not nparams:
        return None
    start = _AT + _WIDTH * nparams
    if len(raw) < start + 2 or raw[_AT] != 2 or raw[_AT + 1] != 0:
        return None
    return _U16.unpack_from(raw, start)[0]


def sanitize(text: str) -> str:
    """Drop the characters sysdig removes from names (non-printable ASCII)."""
    if text.isascii() and text.isprintable():  # every character in " ".."~" already
        return text
    return "".join(c for c in text if " " <= c <= "~")


def buffer_text(data: bytes, limit: int | None = MAX_BUF_LEN) -> str:
    """Bytes as sysdig prints them: printable ASCII kept, the rest as ``.``."""
    text = "".join(chr(b) if 32 <= b <= 126 else "." for b in data)
    if limit and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def format_number(value: int, size: int, fmt: str, ptype: str) -> str:
    """A number in the table's print format (PF_DEC/HEX/OCT/10_PADDED_DEC)."""
    mask = (1 << (8 * size)) - 1
    if fmt == "PF_HEX":
        return f"{value & mask:X}"
    if fmt == "PF_OCT":
        return f"{value & mask:#o}".replace("0o", "0") if value else "0"
    # sysdig prints unsigned 32/64-bit values with a signed conversion
    if ptype in ("PT_UINT32", "PT_UINT64") and value >> (8 * size - 1):
        value -= 1 << (8 * size)
    return f"{value:09d}" if fmt == "PF_10_PADDED_DEC" else str(value)


def flag_names(value: int, table: list[dict], exact: bool) -> str:
    """Names of the flags set in ``value``, in table order, ``|``-joined."""
    names, rest = [], value
    for entry in table:
        flag = entry["value"]
        if flag == value:
            names.append(entry["name"])
            break
        if exact:
            continue
        if (flag == 0 and value == 0) or (flag and value and rest & flag == flag):
            names.append(entry["name"])
            rest &= ~flag
    return "|".join(names)


def render_param(event, index: int, resolver=None, limit: int | None = MAX_BUF_LEN):
    """``(text, resolved)`` for parameter ``index`` of ``event``; empty -> ``("NULL", "")``."""
    infos = param_infos(event.type)
    info = infos[index]
    data = event.param_bytes[index]
    if not data:  # sysdig 0.29.3 prints empty buffers as nothing, other types as NULL
        return ("", "") if info["type"] in _BUFFERS else ("NULL", "")
    ptype, fmt = info["type"], info["fmt"]
    if ptype == "PT_DYN":
        entries = DYNAMIC_TABLES.get(info.get("dynamic_table", ""), ())
        if data[0] < len(entries):
            ptype, data = entries[data[0]]["type"], data[1:]
    return _render_value(event, info, ptype, fmt, data, resolver, limit)


def _render_value(event, info, ptype, fmt, data, resolver, limit):
    if ptype in NUMERIC and ptype not in ("PT_DOUBLE",):
        return _render_numeric(event, info, ptype, fmt, data, resolver)
    if ptype == "PT_CHARBUF":
        return _cstr(data), ""
    if ptype in ("PT_FSPATH", "PT_FSRELPATH"):
        return _render_path(event, info, data, resolver)
    if ptype in ("PT_BYTEBUF", "PT_CHARBUFARRAY"):
        return buffer_text(bytes(data), limit), ""
    if ptype == "PT_SOCKADDR":
        return _render_sockaddr(data), ""
    if ptype == "PT_SOCKTUPLE":
        return _render_socktuple(data), ""
    if ptype == "PT_FDLIST":
        return _render_fdlist(event, data, resolver), ""
    if ptype == "PT_DOUBLE":
        return (str(struct.unpack_from("<d", data)[0]), "") if len(data) >= 8 else ("NULL", "")
    return buffer_text(bytes(data), limit), ""


def _cstr(data: bytes) -> str:
    end = data.find(b"\0")
    return bytes(data if end < 0 else data[:end]).decode("utf-8", "replace")


def _render_numeric(event, info, ptype, fmt, data, resolver):
    size = struct.calcsize(NUMERIC[ptype])
    if len(data) < size:
        return "NULL", ""
    raw = struct.unpack_from(NUMERIC[ptype], data)[0]
    if ptype == "PT_ERRNO" and fmt == "PF_HEX" and raw >= 0:
        return f"{raw:X}", ""  # addresses returned by mmap/brk-like calls
    if ptype in ("PT_FD", "PT_FD32", "PT_ERRNO", "PT_PID", "PT_PID32"):
        return str(raw), _resolve_numeric(event, ptype, raw, resolver)
    if ptype in ("PT_UID", "PT_GID"):
        return _render_id(event, ptype, raw, resolver)
    if ptype.startswith(("PT_FLAGS", "PT_ENUMFLAGS")) or ptype == "PT_MODE":
        table = FLAG_TABLES.get(info.get("flags_table", ""), [])
        text = format_number(raw, size, fmt, ptype) if ptype == "PT_MODE" else str(raw)
        return text, flag_names(raw, table, ptype.startswith("PT_ENUMFLAGS"))
    if ptype == "PT_SYSCALLID":
        return str(raw), SYSCALL_NAMES.get(raw, "")
    if ptype == "PT_SIGTYPE":
        return str(raw), _SIGNALS[raw - 1] if 1 <= raw <= len(_SIGNALS) else ""
    if ptype == "PT_RELTIME":
        if raw == 0xFFFFFFFFFFFFFFFF:
            return "none", ""
        return str(raw), f"{_format_g(raw / 1e9)}s"
    if ptype == "PT_SIGSET":
        return " ".join(_SIGNALS[i] for i in range(min(32, len(_SIGNALS)))
                        if raw & (1 << i)), ""
    return format_number(raw, size, fmt, ptype), ""


def _format_g(value: float) -> str:
    """C's ``%lg``."""
    return f"{value:g}"


def _resolve_numeric(event, ptype, raw, resolver):
    if ptype == "PT_ERRNO":
        return ERRNO_NAMES.get(-raw, "") if raw < 0 else ""
    if resolver is None:
        return ""
    if ptype in ("PT_PID", "PT_PID32"):
        th = resolver.thread(raw)
        return th.comm if th is not None else ""
    th = resolver.thread(event.tid)
    if th is None:
        return ""
    if raw >= 0:
        fd = th.fd(raw)
        return fd_text(fd) if fd is not None else ""
    if raw == AT_FDCWD:
        return "AT_FDCWD"
    return ERRNO_NAMES.get(-raw, "")


def fd_text(fd) -> str:
    """``<type>name`` as sysdig resolves an fd (``<4t>1.2.3.4:5->...``)."""
    l4 = L4_CHARS.get(fd.l4proto, "") if fd.typechar in "46" else ""
    return f"<{fd.typechar}{l4}>{sanitize(fd.name)}"


def _render_id(event, ptype, raw, resolver):
    if raw == 0xFFFFFFFF:
        return "-1", "<NONE>"
    if resolver is None or resolver.thread(event.tid) is None:
        return str(raw), ""
    name = resolver.user_name(raw) if ptype == "PT_UID" else resolver.group_name(raw)
    return str(raw), sanitize(name) if name is not None else "<NA>"


def _render_path(event, info, data, resolver):
    text = sanitize(_cstr(data))
    th = resolver.thread(event.tid) if resolver is not None else None
    if th is None or text == "<NA>":
        return text, ""
    base = th.cwd
    dirfd = info.get("dirfd_param")
    if info["type"] == "PT_FSRELPATH" and dirfd is not None and dirfd < event.nparams:
        raw = event.param_bytes[dirfd]
        if len(raw) == 8:
            fdnum = struct.unpack("<q", raw)[0]
            if fdnum != AT_FDCWD:
                fd = th.fd(fdnum)
                base = (sanitize(fd.name) + "/") if fd is not None and fd.name else ""
    return text, join_paths(base, text)


def join_paths(base: str, path: str) -> str:
    """``path`` made absolute against ``base`` and normalised (sysdig's path join)."""
    if not path.startswith("/"):
        if not base:
            return ""
        path = base.rstrip("/") + "/" + path
    if path[0] == "/" and "//" not in path and "/." not in path and path[-1] != "/":
        return path  # already normal: no empty, "." or ".." parts, no trailing slash
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/") if norm != "/" else "/"


def _render_sockaddr(data: bytes) -> str:
    sa = decode_sockaddr(data)
    if sa.family == AF_UNIX:
        return sanitize(sa.addr)
    if sa.family in (AF_INET, AF_INET6) and sa.addr:
        return f"{sa.addr}:{sa.port}"
    return f"family {sa.family}"


def _render_socktuple(data: bytes) -> str:
    st = decode_socktuple(data)
    if st.family == AF_UNIX and isinstance(st.sip, int):  # else too short for the pair
        return f"{st.sip:x}->{st.dip:x} {sanitize(st.path)}"
    if st.family in (AF_INET, AF_INET6) and st.sip != "":
        sip, dip = _unmap(st.sip), _unmap(st.dip)
        return f"{sip}:{st.sport}->{dip}:{st.dport}"
    return f"family {st.family}"


def _unmap(ip: str) -> str:
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


def _render_fdlist(event, data, resolver) -> str:
    th = resolver.thread(event.tid) if resolver is not None else None
    if th is None:
        return ""
    parts = []
    for fdnum, flags in decode_fdlist(data):
        fd = th.fd(fdnum)
        parts.append(f"{fdnum}:{fd.typechar if fd is not None else '?'}{flags:x}")
    return " ".join(parts)


def render_args(event, resolver=None, limit: int | None = MAX_BUF_LEN) -> str:
    """sysdig's ``evt.args``: ``name=value(resolved)`` for every stored parameter."""
    infos = param_infos(event.type)
    out = []
    for i in range(min(event.nparams, len(infos))):
        text, resolved = render_param(event, i, resolver, limit)
        name = infos[i]["name"]
        if resolved and resolved != text:
            out.append(f"{name}={text}({resolved})")
        else:
            out.append(f"{name}={text}")
    return " ".join(out)


def event_info(event, resolver=None, limit: int | None = MAX_BUF_LEN) -> str:
    """``evt.info`` for a syscall event: its arguments, each followed by a space.

    Byte buffers are cut to ``limit`` characters in text output; JSON output
    (``limit=None``) keeps them whole, as sysdig does.
    """
    if event.type in GENERIC:
        return ""
    args = render_args(event, resolver, limit)
    return args + " " if args else ""
