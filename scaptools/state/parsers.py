"""How events change thread and fd state (what libsinsp's parsers do).

Each handler gets ``(state, thread, event, params)`` for one event name and
direction; exit events see the matching enter event as ``thread.last_enter``.
Parameter names and meanings: the event table (docs/format.md §10).
"""
from __future__ import annotations

from ..events.params import AF_INET, AF_INET6, AF_UNIX, SockTuple, params_of
from .fds import (FD_DIRECTORY, FD_EVENT, FD_EVENTPOLL, FD_FIFO, FD_FILE, FD_INOTIFY,
                  FD_IPV4_SERVSOCK, FD_IPV4_SOCK, FD_IPV6_SERVSOCK, FD_IPV6_SOCK, FD_SIGNALFD,
                  FD_TIMERFD, FD_UNIX_SOCK, FD_UNKNOWN, FD_NETLINK, L4_TCP, L4_UDP, L4_ICMP,
                  L4_RAW, L4_UNKNOWN, FD_PENDING_FILE, FD_PENDING_OTHER, FdInfo, tuple_name)
from .threads import ThreadInfo, split_nul
from ..events.render import join_paths
from ..events.table import EVENTS

OPENS = frozenset(("open", "openat", "openat2", "creat", "open_by_handle_at"))
PPM_O_DIRECTORY = 1 << 10
PPM_O_CLOEXEC = 1 << 12
IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP = 6, 17, 1
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW = 1, 2, 3
AF_NETLINK = 16
EINPROGRESS = 115


# event name -> parameter names of its enter events (every version, event table §10)
ENTER_PARAMS: dict[str, set] = {}
for _info in EVENTS:
    if _info["direction"] == "enter":
        ENTER_PARAMS.setdefault(_info["name"], set()).update(p["name"] for p in _info["params"])


def _enter_params(thread: ThreadInfo, name: str) -> dict:
    ev = thread.last_enter
    return params_of(ev) if ev is not None and ev.name == name else {}


def _res(params: dict, key: str = "res"):
    value = params.get(key)
    return value if isinstance(value, int) else None


def on_open_exit(state, thread, event, params):
    """open/openat/openat2/creat/open_by_handle_at exit: a new file fd (or a directory)."""
    fd = _res(params, "fd")
    if fd is None or fd < 0:
        return
    enter = None  # the enter event's parameters, decoded only when the exit lacks one
    name = params.get("name")
    if not name:
        enter = _enter_params(thread, event.name)
        name = enter.get("name") or ""
    if "flags" in params:
        flags = params["flags"] or 0
    else:
        enter = enter if enter is not None else _enter_params(thread, event.name)
        flags = enter.get("flags", 0) or 0
    if "dirfd" in params:
        dirfd = params["dirfd"]
    elif "dirfd" in ENTER_PARAMS.get(event.name, ()):
        enter = enter if enter is not None else _enter_params(thread, event.name)
        dirfd = enter.get("dirfd")
    else:  # open/creat: no dirfd in any version of the enter event
        dirfd = None
    base = thread.cwd
    if isinstance(dirfd, int) and dirfd != -100 and not name.startswith("/"):
        dfd = thread.fd(dirfd)
        base = dfd.name if dfd is not None else ""
    path = join_paths(base, name) if name else ""
    ftype = FD_DIRECTORY if flags & PPM_O_DIRECTORY else FD_FILE
    info = FdInfo(fd, ftype, path, flags=flags, ino=params.get("ino") or 0)
    info.dev = params.get("dev") or 0
    thread.fdtable[fd] = info


_PENDING_BY_CALL = {"socket": FD_IPV4_SOCK, "accept": FD_IPV4_SOCK, "accept4": FD_IPV4_SOCK,
                    "socketpair": FD_UNIX_SOCK, "pipe": FD_FIFO,
                    "pipe2": FD_FIFO, "eventfd": FD_EVENT, "eventfd2": FD_EVENT,
                    "signalfd": FD_SIGNALFD, "signalfd4": FD_SIGNALFD, "timerfd_create": FD_TIMERFD,
                    "inotify_init": FD_INOTIFY, "inotify_init1": FD_INOTIFY,
                    "epoll_create": FD_EVENTPOLL, "epoll_create1": FD_EVENTPOLL}


def pending_type(call: str) -> int:
    """The placeholder fd type of an fd-creating call's enter event (see fds.py)."""
    if call in ("open", "openat", "openat2", "creat", "open_by_handle_at"):
        return FD_PENDING_FILE
    ftype = _PENDING_BY_CALL.get(call)
    return -100 - ftype if ftype is not None else FD_PENDING_OTHER


def _l4_of(stype: int, proto: int) -> int:
    stype &= 0xF
    if proto == IPPROTO_TCP:
        return L4_RAW if stype == SOCK_RAW else L4_TCP
    if proto == IPPROTO_UDP:
        return L4_RAW if stype == SOCK_RAW else L4_UDP
    if proto == IPPROTO_ICMP:
        return L4_RAW if stype == SOCK_RAW else L4_ICMP
    if proto == 0:
        return {SOCK_STREAM: L4_TCP, SOCK_DGRAM: L4_UDP, SOCK_RAW: L4_RAW}.get(stype, L4_UNKNOWN)
    return L4_UNKNOWN


def on_socket_exit(state, thread, event, params):
    fd = _res(params, "fd")
    if fd is None or fd < 0:
        return
    enter = _enter_params(thread, "socket")
    domain = params.get("domain", enter.get("domain"))
    l4 = _l4_of(params.get("type", enter.get("type", 0)) or 0,
                params.get("proto", enter.get("proto", 0)) or 0)
    ftype = {AF_INET: FD_IPV4_SOCK, AF_INET6: FD_IPV6_SOCK, AF_UNIX: FD_UNIX_SOCK,
             AF_NETLINK: FD_NETLINK}.get(domain, FD_UNKNOWN)
    info = FdInfo(fd, ftype)
    # libsinsp knows the protocol at once but shows it (fd.l4proto, the letter of <4t>) only
    # once the socket has a role, client or server (connect, accept, bind, a datagram), but
    # a raw one at once: sinsp_fdinfo::get_l4proto, sysdig 0.29.3 and Falco's libs alike
    info.pending_l4 = l4
    info.l4proto = l4 if l4 == L4_RAW else L4_UNKNOWN
    thread.fdtable[fd] = info


def on_connect_enter(state, thread, event, params):
    """libsinsp keeps the address a connect() asks for as the socket's destination at once
    (its role stays none until the exit): fd.is_server of the enter event tests it."""
    fd, addr = params.get("fd"), params.get("addr")
    info = thread.fd(fd) if isinstance(fd, int) else None
    if info is None or addr is None or getattr(addr, "family", None) not in (AF_INET, AF_INET6):
        return
    if info.type in (FD_IPV4_SOCK, FD_IPV6_SOCK) and addr.addr:
        info.pdip = _unmap(addr.addr)


def _event_fd(thread, event, params):
    fd = params.get("fd")
    if not isinstance(fd, int):
        fd = _enter_params(thread, event.name).get("fd")
    return thread.fd(fd) if isinstance(fd, int) else None


def _set_tuple(info: FdInfo, tup: SockTuple, server_side: bool = False):
    if tup.family == AF_UNIX:
        info.type = FD_UNIX_SOCK
        info.name = f"{tup.sip:x}->{tup.dip:x} {tup.path}"
        return
    if tup.family not in (AF_INET, AF_INET6) or tup.sip == "":
        return
    if server_side:  # accept: the tuple is peer -> local
        pass
    info.sip, info.sport, info.dip, info.dport = tup.sip, tup.sport, tup.dip, tup.dport
    info.type = FD_IPV4_SOCK if tup.family == AF_INET else FD_IPV6_SOCK
    info.name = tuple_name(_unmap(tup.sip), tup.sport, _unmap(tup.dip), tup.dport)
    info.l4proto = info.pending_l4


def _unmap(ip: str) -> str:
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


def on_connect_exit(state, thread, event, params):
    res = _res(params)
    info = _event_fd(thread, event, params)
    tup = params.get("tuple")
    if info is not None and isinstance(tup, SockTuple) and tup.family == AF_UNIX:
        if res is not None and res < 0 and res != -EINPROGRESS:
            shown = info.copy(info.num)  # a failed connect names the fd for this event only
            _set_tuple(shown, tup)
            return shown
        _set_tuple(info, tup)
        return None
    if info is None or res is None or (res < 0 and res != -EINPROGRESS):
        return
    # a socket that already has its own address keeps its first tuple (as libsinsp shows it)
    if isinstance(tup, SockTuple) and not (info.sport and info.dip):
        fresh = not info.name  # a socket named by bind/sendto keeps its role
        _set_tuple(info, tup)
        info.client = info.client or fresh


def on_datagram(state, thread, event, params):
    """sendto/sendmsg/recvfrom/recvmsg: an unconnected socket takes the tuple it used."""
    tup = params.get("tuple")
    if not isinstance(tup, SockTuple):
        tup = _enter_params(thread, event.name).get("tuple")
    info = _event_fd(thread, event, params)
    if info is None or not isinstance(tup, SockTuple) or info.name or not info.is_socket:
        return
    if event.name.startswith("recv"):
        tup = SockTuple(tup.family, tup.dip, tup.dport, tup.sip, tup.sport, tup.path)
    if tup.sip in ("::", "0.0.0.0"):  # unbound source: libsinsp shows the peer address
        tup = tup._replace(sip=tup.dip)
    _set_tuple(info, tup)


def on_bind_exit(state, thread, event, params):
    res = _res(params)
    info = _event_fd(thread, event, params)
    addr = params.get("addr")
    if info is None or res is None or res < 0 or addr is None:
        return
    if addr.family in (AF_INET, AF_INET6) and addr.addr:
        info.name = f"{addr.addr}:{addr.port}"
        info.sip, info.sport = addr.addr, addr.port
        if addr.port:
            info.type = FD_IPV4_SERVSOCK if addr.family == AF_INET else FD_IPV6_SERVSOCK
            info.is_server = True
            info.l4proto = info.pending_l4
    elif addr.family == AF_UNIX:
        info.name = addr.addr


def on_accept_exit(state, thread, event, params):
    fd = _res(params, "fd")
    if fd is None or fd < 0:
        return
    tup = params.get("tuple")
    info = FdInfo(fd, FD_UNKNOWN)
    info.pending_l4 = L4_TCP
    if isinstance(tup, SockTuple):
        _set_tuple(info, tup)
    thread.fdtable[fd] = info


def on_close_exit(state, thread, event, params):
    res = _res(params)
    if res is None or res < 0:
        return
    fd = _enter_params(thread, "close").get("fd", params.get("fd"))
    if isinstance(fd, int):
        # removed once this event is done with it (libsinsp erases the fd after the event)
        state.schedule_fd_removal(thread.fdtable, fd)


def on_dup_exit(state, thread, event, params):
    res = _res(params)
    if res is None or res < 0:
        return
    old = params.get("oldfd", _enter_params(thread, event.name).get("fd"))
    src = thread.fd(old) if isinstance(old, int) else None
    if src is not None:
        thread.fdtable[res] = src.copy(res)


def on_pipe_exit(state, thread, event, params):
    if (_res(params) or 0) < 0:
        return
    ino = params.get("ino") or 0
    for key in ("fd1", "fd2"):
        fd = params.get(key)
        if isinstance(fd, int) and fd >= 0:
            thread.fdtable[fd] = FdInfo(fd, FD_FIFO, "", ino=ino)


def simple_fd(ftype: int, name: str = ""):
    def handler(state, thread, event, params):
        res = _res(params)
        if res is not None and res >= 0:
            thread.fdtable[res] = FdInfo(res, ftype, name)
    return handler


def on_chdir_exit(state, thread, event, params):
    if _res(params) != 0:
        return
    path = params.get("path")
    if isinstance(path, str):
        thread.cwd = join_paths(thread.cwd, path).rstrip("/") + "/"


def on_fchdir_exit(state, thread, event, params):
    if _res(params) != 0:
        return
    info = _event_fd(thread, event, params)
    if info is not None:
        thread.cwd = info.name.rstrip("/") + "/"


def on_setuid_exit(state, thread, event, params):
    if _res(params) == 0:
        uid = _enter_params(thread, "setuid").get("uid", params.get("uid"))
        if isinstance(uid, int):
            thread.uid = uid


def on_setgid_exit(state, thread, event, params):
    if _res(params) == 0:
        gid = _enter_params(thread, "setgid").get("gid", params.get("gid"))
        if isinstance(gid, int):
            thread.gid = gid


def on_procexit(state, thread, event, params):
    thread.exited = True
    state.schedule_removal(thread.tid)


def on_user_added(state, thread, event, params):
    state.add_user(params.get("uid"), params.get("gid"), params.get("name") or "",
                   params.get("home") or "", params.get("shell") or "")


def on_group_added(state, thread, event, params):
    state.add_group(params.get("gid"), params.get("name") or "")


def update_memory(thread: ThreadInfo, params: dict) -> None:
    """Memory and page-fault counters carried by brk/mmap/munmap/switch/... events."""
    for key, attr in (("vm_size", "vmsize_kb"), ("vm_rss", "vmrss_kb"), ("vm_swap", "vmswap_kb"),
                      ("pgft_maj", "pfmajor"), ("pgft_min", "pfminor")):
        value = params.get(key)
        if isinstance(value, int):
            setattr(thread, attr, value)


def apply_process_params(thread: ThreadInfo, params: dict) -> None:
    """Copy the process fields of a clone/execve exit event into ``thread``."""
    for key in ("exe", "cwd", "comm"):
        value = params.get(key)
        if isinstance(value, str) and value:
            setattr(thread, key, value)
    for key in ("args", "env", "cgroups"):
        value = params.get(key)
        if isinstance(value, bytes):
            setattr(thread, key, split_nul(value))
    for key in ("fdlimit", "vtid", "vpid", "uid", "gid", "loginuid", "tty", "vpgid", "pgid"):
        value = params.get(key)
        if isinstance(value, int):
            setattr(thread, key, value)
    for key, attr in (("vm_size", "vmsize_kb"), ("vm_rss", "vmrss_kb"), ("vm_swap", "vmswap_kb"),
                      ("pgft_maj", "pfmajor"), ("pgft_min", "pfminor")):
        if isinstance(params.get(key), int):
            setattr(thread, attr, params[key])
    if thread.cwd and not thread.cwd.endswith("/"):
        thread.cwd += "/"
