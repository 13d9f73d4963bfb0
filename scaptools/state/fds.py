"""File descriptor records: one ``FdInfo`` per open fd of a process.

Types are libscap's ``scap_fd_type`` values (docs/format.md §6); the one-letter
type characters are the ones sysdig shows in ``<f>/etc/passwd``.
"""
from __future__ import annotations

import ipaddress

FD_UNKNOWN, FD_FILE, FD_DIRECTORY, FD_IPV4_SOCK, FD_IPV6_SOCK = 0, 1, 2, 3, 4
FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK, FD_FIFO, FD_UNIX_SOCK, FD_EVENT = 5, 6, 7, 8, 9
FD_UNSUPPORTED, FD_SIGNALFD, FD_EVENTPOLL, FD_INOTIFY, FD_TIMERFD = 10, 11, 12, 13, 14
FD_NETLINK, FD_FILE_V2, FD_BPF, FD_USERFAULTFD, FD_IOURING, FD_MEMFD, FD_PIDFD = (
    15, 16, 17, 18, 19, 20, 21)

# placeholders for the enter event of an fd-creating call (no fd yet): sysdig shows
# fd.num -1 and a type letter, but no name or type
FD_PENDING_FILE, FD_PENDING_OTHER = -1, -2
TYPE_CHARS = {
    FD_PENDING_FILE: "f", FD_PENDING_OTHER: "o",
    FD_FILE: "f", FD_FILE_V2: "f", FD_DIRECTORY: "d", FD_IPV4_SOCK: "4", FD_IPV6_SOCK: "6",
    FD_IPV4_SERVSOCK: "4", FD_IPV6_SERVSOCK: "6", FD_FIFO: "p", FD_UNIX_SOCK: "u",
    FD_EVENT: "e", FD_UNSUPPORTED: "X", FD_SIGNALFD: "s", FD_EVENTPOLL: "l",
    FD_INOTIFY: "i", FD_TIMERFD: "t", FD_NETLINK: "n",
}
# sysdig's fd.type text for each type
TYPE_NAMES = {
    FD_FILE: "file", FD_FILE_V2: "file", FD_DIRECTORY: "directory", FD_IPV4_SOCK: "ipv4",
    FD_IPV6_SOCK: "ipv6", FD_IPV4_SERVSOCK: "ipv4", FD_IPV6_SERVSOCK: "ipv6", FD_FIFO: "pipe",
    FD_UNIX_SOCK: "unix", FD_EVENT: "event", FD_UNSUPPORTED: "unknown", FD_SIGNALFD: "signalfd",
    FD_EVENTPOLL: "eventpoll", FD_INOTIFY: "inotify", FD_TIMERFD: "timerfd",
    FD_NETLINK: "netlink", FD_BPF: "bpf", FD_USERFAULTFD: "userfaultfd",
    FD_IOURING: "io_uring", FD_MEMFD: "memfd", FD_PIDFD: "pidfd",
}
L4_UNKNOWN, L4_NA, L4_TCP, L4_UDP, L4_ICMP, L4_RAW = 0, 1, 2, 3, 4, 5
L4_NAMES = {L4_TCP: "tcp", L4_UDP: "udp", L4_ICMP: "icmp", L4_RAW: "raw"}


class FdInfo:
    """One open file descriptor.

    ``name`` is what sysdig calls ``fd.name`` (a path, ``sip:sport->dip:dport``,
    ``pipe:[ino]``, ...). Sockets also keep their endpoints (``sip``, ``sport``,
    ``dip``, ``dport`` as text/int) and ``l4proto``.
    """

    __slots__ = ("num", "type", "name", "l4proto", "sip", "sport", "dip", "dport",
                 "flags", "ino", "dev", "pending_l4", "is_server", "client", "pdip")

    def __init__(self, num: int, type: int, name: str = "", l4proto: int = L4_UNKNOWN,
                 flags: int = 0, ino: int = 0):
        self.num = num
        self.type = type
        self.name = name
        self.l4proto = l4proto
        self.sip = self.dip = ""
        self.sport = self.dport = 0
        self.flags = flags
        self.ino = ino
        self.dev = 0
        self.pending_l4 = l4proto  # protocol known from socket(), shown once the socket has a role
        self.is_server = type in (FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK)
        self.client = False  # connected by connect(): libsinsp's client role
        self.pdip = ""  # the address a connect() enter asked for (fd.is_server reads it)

    @property
    def typechar(self) -> str:
        if self.type <= -100:  # placeholder of a known kind (parsers.pending_type)
            return TYPE_CHARS.get(-100 - self.type, "o")
        return TYPE_CHARS.get(self.type, "o")

    @property
    def type_name(self) -> str | None:
        return TYPE_NAMES.get(self.type, "unknown") if self.type >= 0 else None

    @property
    def pending(self) -> bool:
        return self.type < 0

    @property
    def is_socket(self) -> bool:
        return self.type in (FD_IPV4_SOCK, FD_IPV6_SOCK, FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK)

    def copy(self, num: int) -> "FdInfo":
        other = FdInfo(num, self.type, self.name, self.l4proto, self.flags, self.ino)
        for attr in ("sip", "sport", "dip", "dport", "dev", "pending_l4", "is_server", "client",
                     "pdip"):
            setattr(other, attr, getattr(self, attr))
        return other

    def __repr__(self) -> str:
        return f"FdInfo({self.num}, <{self.typechar}>{self.name})"


def ip_text(raw: bytes) -> str:
    """IPv4/IPv6 bytes (network order, §12) as text."""
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    return str(ipaddress.IPv6Address(raw))


def tuple_name(sip: str, sport: int, dip: str, dport: int) -> str:
    return f"{sip}:{sport}->{dip}:{dport}"


def fd_from_list_entry(entry) -> FdInfo:
    """An ``FdInfo`` from one fd-list block entry (docs/format.md §6).

    ``entry`` has attributes or keys ``fd``, ``ino``, ``type`` and the
    type-specific payload (``name``, ``sip``/``dip``/``sport``/``dport``/``l4proto``,
    ``ip``/``port``, ``open_flags``, ``source``/``destination``).
    """
    get = entry.get if isinstance(entry, dict) else (lambda k, d=None: getattr(entry, k, d))
    ftype = get("type", FD_UNKNOWN)
    fd = FdInfo(get("fd"), ftype, flags=get("open_flags", 0) or 0, ino=get("ino", 0) or 0)
    if ftype in (FD_IPV4_SOCK, FD_IPV6_SOCK):
        fd.sip, fd.dip = ip_text(bytes(get("sip"))), ip_text(bytes(get("dip")))
        fd.sport, fd.dport = get("sport"), get("dport")
        fd.l4proto = fd.pending_l4 = get("l4proto", 0)
        fd.name = tuple_name(fd.sip, fd.sport, fd.dip, fd.dport)
    elif ftype in (FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK):
        fd.sip, fd.sport = ip_text(bytes(get("ip"))), get("port")
        fd.l4proto = fd.pending_l4 = get("l4proto", 0)
        fd.name = f"{fd.sip}:{fd.sport}"
    else:
        name = get("name", "") or ""
        fd.name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    if ftype == FD_FILE_V2:
        fd.dev = get("dev", 0) or 0
    return fd
