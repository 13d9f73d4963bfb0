"""``fd.*`` and ``fdlist.*`` fields (sysdig 0.29.3 meanings).

The fd of an event is the one its ``fd`` parameter names (for exit events, the
enter event's, or the new fd of fd-creating calls), looked up in the thread's
fd table (``scaptools.state``; fd types: docs/format.md §6).
"""
from __future__ import annotations

import posixpath

from scaptools.state.fds import (FD_PENDING_OTHER, FD_DIRECTORY, FD_FILE, FD_FILE_V2,
                                 FD_IPV4_SERVSOCK, FD_IPV4_SOCK, FD_IPV6_SERVSOCK, FD_IPV6_SOCK,
                                 FD_UNIX_SOCK, L4_NAMES)
from scaptools.fields.base import FILTER_ONLY, SIDES
from scaptools.fields.syscall.common import FieldAdder, event_fd, event_thread, on_fd

_FILES = (FD_FILE, FD_FILE_V2, FD_DIRECTORY)
_ZERO = {FD_IPV4_SOCK: "0.0.0.0", FD_IPV4_SERVSOCK: "0.0.0.0", FD_IPV6_SOCK: "::",
         FD_IPV6_SERVSOCK: "::"}
_SUBCAT = {FD_FILE: "file", FD_FILE_V2: "file", FD_DIRECTORY: "file", FD_IPV4_SOCK: "net",
           FD_IPV6_SOCK: "net", 5: "net", 6: "net", 7: "ipc", FD_UNIX_SOCK: "ipc", 9: "ipc",
           11: "ipc", 13: "ipc"}


def io_category(ev) -> str:
    """sysdig's ``evt.category`` of an I/O event: by the type of its fd."""
    fd = event_fd(ev)
    if fd is None or fd.pending:
        return "unknown"
    return _SUBCAT.get(fd.type, "unknown")  # sysdig 0.29.3 knows no other subcategory


def error_kind(ev, category: str) -> str:
    """file/net/memory/other: which ``evt.count.error.*`` a failed call counts in."""
    fd = event_fd(ev)
    if fd is not None and not fd.pending:
        if fd.type in _FILES:
            return "file"
        if fd.is_socket:
            return "net"
    if ev.name in ("open", "openat", "openat2", "creat", "open_by_handle_at"):
        return "file"
    if category == "EC_NET":
        return "net"
    if category == "EC_MEMORY":
        return "memory"
    return "other"


def _is_ip(fd) -> bool:
    return fd.is_socket


def _client(fd, ev):
    return fd.sip if fd.is_socket and fd.dip else None


def _server(fd, ev):
    if not fd.is_socket:
        return None
    if fd.dip:
        return fd.dip
    return fd.sip or None if fd.type in (5, 6) else None


def _sides(ip: bool):
    """The (client, server) addresses or ports of an inet socket, the one of a listening
    socket (libsinsp's compare_ip/_net/_port read both ends; unset ones are zeros)."""
    def extract(fd, ev):
        if fd.type in (FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK):
            return (fd.sip or _ZERO[fd.type],) if ip else (fd.sport or 0,)
        if fd.type in (FD_IPV4_SOCK, FD_IPV6_SOCK):
            zero = _ZERO[fd.type]
            return (fd.sip or zero, fd.dip or zero) if ip else (fd.sport or 0, fd.dport or 0)
        return None
    return extract


def _cport(fd, ev):
    if not fd.is_socket:
        return None
    if fd.dip:
        return fd.sport
    return 0 if fd.type in (5, 6) else None  # a listening socket has no client


def _sport(fd, ev):
    if not fd.is_socket:
        return None
    if fd.dip:
        return fd.dport
    return fd.sport if fd.type in (5, 6) else None


def _local(pick_local: bool, ip: bool):
    """lip/rip/lport/rport: the server side of an accepted socket is local."""
    def extract(fd, ev):
        if not fd.is_socket or not fd.dip:
            return None
        local_is_source = not fd.is_server
        use_source = local_is_source if pick_local else not local_is_source
        if ip:
            return fd.sip if use_source else fd.dip
        return fd.sport if use_source else fd.dport
    return extract


def _name(fd, ev):
    if not fd.pending:
        return fd.name
    if (fd.num >= 0 or fd.type == FD_PENDING_OTHER) and ev.direction == "<":
        return ""  # an fd the capture never described, after its call returned
    return fd.name or None


def _directory(fd, ev):
    if fd.pending:
        name = _name(fd, ev)
        return (posixpath.dirname(name) or "/") if name is not None else None
    if fd.type in _FILES:
        return fd.name if fd.type == FD_DIRECTORY else posixpath.dirname(fd.name)
    return None


def _filename(fd, ev):
    if fd.type in (FD_FILE, FD_FILE_V2):
        return posixpath.basename(fd.name)
    return None


def _fdnum(ev):
    fd = event_fd(ev)
    return fd.num if fd is not None else None


def _name_changed(ev):
    fd = event_fd(ev)
    if fd is None or fd.pending:
        return None
    return bool(ev.cache.get("fd_new")) if ev.cache else False


def _l4proto(fd, ev):
    # sysdig gives the text "<NA>" (a value, not a missing field) for other fds
    return L4_NAMES.get(fd.l4proto, "<NA>") if fd.is_socket else "<NA>"


def _is_server(fd, ev):
    """libsinsp: a listening socket is a server; a connected or unconnected inet socket is one
    when its server address (unset: zeros; from a connect enter on: the address asked for)
    belongs to the machine (State.is_local: the capture's interface list)."""
    if fd.type in (FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK):
        return True
    if fd.type not in (FD_IPV4_SOCK, FD_IPV6_SOCK):
        return False
    state = ev.cache.get("state") if ev.cache else None
    dip = fd.dip or fd.pdip
    return state is not None and state.is_local(dip, ":" in dip or (
        not dip and fd.type == FD_IPV6_SOCK))


def _sockfamily(fd, ev):
    if fd.is_socket:
        return "ip"
    if fd.type == FD_UNIX_SOCK:
        return "unix"
    return None


def _proto(fd, port):
    """sysdig 0.29.3 shows the port of connected sockets, nothing for listening ones."""
    if port is None:
        return None
    return str(port) if fd.is_socket and fd.dip else ""


def _fdlist(kind: str):
    """sysdig 0.29.3 gives these as one comma-separated string."""
    inner = _fdlist_values(kind)

    def extract(ev):
        values = inner(ev)
        return ",".join(str(v) for v in values) if values else None
    return extract


def _fdlist_values(kind: str):
    def extract(ev):
        fds = ev.params.get("fds")
        thread = event_thread(ev)
        if not isinstance(fds, list) or thread is None:
            return None
        out = []
        for num, _flags in fds:
            info = thread.fd(num)
            if kind == "nums":
                out.append(num)
            elif info is None:
                continue
            elif kind == "names":
                out.append(info.name)
            elif info.is_socket and info.dip:
                out.append({"cips": info.sip, "sips": info.dip, "cports": info.sport,
                            "sports": info.dport}[kind])
        return out or None
    return extract


def fd_fields() -> FieldAdder:
    a = FieldAdder()
    a.simple("fd.num", "int64", "fd number", _fdnum)
    a.simple("fd.type", "string", "fd type", on_fd(lambda fd, ev: fd.type_name))
    a.simple("fd.typechar", "string", "fd type letter",
             on_fd(lambda fd, ev: fd.typechar, pending=True))
    a.simple("fd.name", "string", "fd name (path, tuple, ...)", on_fd(_name, pending=True))
    a.simple("fd.nameraw", "string", "fd name as stored", on_fd(lambda fd, ev: fd.name))
    a.simple("fd.directory", "string", "directory of a file fd", on_fd(_directory, pending=True))
    a.simple("fd.filename", "string", "file name without directory", on_fd(_filename))
    a.simple("fd.ip", "ipaddr", "matches the client or the server ip (filter only)",
             on_fd(_sides(True)), tags=(FILTER_ONLY, SIDES))
    a.simple("fd.cip", "ipaddr", "client ip", on_fd(_client))
    a.simple("fd.sip", "ipaddr", "server ip", on_fd(_server))
    a.simple("fd.lip", "ipaddr", "local ip", on_fd(_local(True, True)))
    a.simple("fd.rip", "ipaddr", "remote ip", on_fd(_local(False, True)))
    a.simple("fd.port", "port", "matches the client or the server port (filter only)",
             on_fd(_sides(False)), tags=(FILTER_ONLY, SIDES))
    a.simple("fd.net", "ipnet", "matches the client or the server network (filter only)",
             on_fd(_sides(True)), tags=(FILTER_ONLY, SIDES))
    a.simple("fd.cnet", "ipnet", "matches the client network (filter only)", on_fd(_client),
             tags=(FILTER_ONLY,))
    a.simple("fd.snet", "ipnet", "matches the server network (filter only)", on_fd(_server),
             tags=(FILTER_ONLY,))
    a.simple("fd.lnet", "ipnet", "matches the local network (filter only)",
             on_fd(_local(True, True)), tags=(FILTER_ONLY,))
    a.simple("fd.rnet", "ipnet", "matches the remote network (filter only)",
             on_fd(_local(False, True)), tags=(FILTER_ONLY,))
    a.simple("fd.cport", "port", "client port", on_fd(_cport))
    a.simple("fd.sport", "port", "server port", on_fd(_sport))
    a.simple("fd.lport", "port", "local port", on_fd(_local(True, False)))
    a.simple("fd.rport", "port", "remote port", on_fd(_local(False, False)))
    _add_socket_details(a)
    return a


def _add_socket_details(a: FieldAdder) -> None:
    a.simple("fd.l4proto", "string", "tcp/udp/icmp/raw", on_fd(_l4proto))
    for side, fn in (("c", _cport), ("s", _sport), ("l", _local(True, False)),
                     ("r", _local(False, False))):
        a.simple(f"fd.{side}proto", "string", f"{side} port (no service names)",
                 on_fd(lambda fd, ev, fn=fn: _proto(fd, fn(fd, ev))))
    a.simple("fd.proto", "port", "matches the client or the server port, a number or a "
             "service name (filter only)", on_fd(_sides(False)), tags=(FILTER_ONLY, SIDES))
    a.simple("fd.sockfamily", "string", "ip or unix", on_fd(_sockfamily))
    a.simple("fd.is_server", "bool", "server side of a connection", on_fd(_is_server))
    a.simple("fd.connected", "bool", "connected socket",
             on_fd(lambda fd, ev: bool(fd.is_socket and fd.dip)))
    a.simple("fd.name_changed", "bool", "name changed by this event", _name_changed)
    for side in ("cip", "sip", "lip", "rip"):
        a.simple(f"fd.{side}.name", "string", f"domain name of {side} (not resolved)",
                 lambda ev: None)
    a.simple("fd.dev", "uint64", "device number", on_fd(lambda fd, ev: fd.dev))
    a.simple("fd.containername", "string", "container name and fd name",
             on_fd(lambda fd, ev: None if _name(fd, ev) is None else ":" + _name(fd, ev),
                   pending=True))
    a.simple("fd.containerdirectory", "string", "container name and directory",
             on_fd(lambda fd, ev: None if _directory(fd, ev) is None
                   else ":" + _directory(fd, ev), pending=True))
    a.simple("fd.dev.major", "uint64", "device major", on_fd(lambda fd, ev: fd.dev >> 20))
    a.simple("fd.dev.minor", "uint64", "device minor", on_fd(lambda fd, ev: fd.dev & 0xFFFFF))
    a.simple("fd.ino", "uint64", "inode", on_fd(lambda fd, ev: fd.ino))
    a.simple("fd.uid", "string", "thread id and fd number",
             on_fd(lambda fd, ev: f"{ev.tid}{fd.num}", pending=True))
    a.simple("fd.types", "string", "types of every fd of the process",
             _fd_types, is_list=True)
    for kind, type_ in (("nums", "int64"), ("names", "string"), ("cips", "ipaddr"),
                        ("sips", "ipaddr"), ("cports", "port"), ("sports", "port")):
        a.simple(f"fdlist.{kind}", "string", f"poll fds: {kind}", _fdlist(kind))


def _fd_types(ev):
    thread = event_thread(ev)
    if thread is None:
        return None
    seen = []
    for fd in thread.fdtable.values():
        if fd.type_name not in seen:
            seen.append(fd.type_name)
    return seen
