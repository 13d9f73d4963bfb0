"""``evt.*`` fields of syscall events (sysdig 0.29.3 meanings).

Parameter values come from the table-driven decoders (``scaptools.events``,
docs/format.md §10); ``evt.arg.X`` is the rendered text sysdig shows,
``evt.rawarg.X`` the raw value.
"""
from __future__ import annotations

import os
import re
import socket

from scaptools.events.params import param_index, param_infos
from scaptools.events.render import (ERRNO_NAMES, MAX_BUF_LEN, SYSCALL_CATEGORIES, event_info,
                                     event_type_name, render_param, syscall_code)
from scaptools.events.table import EVENTS
from scaptools.errors import FieldError
from scaptools.fields.base import FILTER_ONLY, WINDOW
from scaptools.fields.generic import PAD9, _time_fields
from scaptools.fields.syscall.common import FieldAdder, event_fd, event_state, event_thread

_NS = 1_000_000_000
CATEGORY = {e["id"]: e["category"] for e in EVENTS}
FLAGS = {e["id"]: frozenset(e["flags"]) for e in EVENTS}
BITS = {e["id"]: frozenset(e["category_bits"]) for e in EVENTS}
_IO_READ = frozenset(i for i, c in CATEGORY.items() if c == "EC_IO_READ")
_IO_WRITE = frozenset(i for i, c in CATEGORY.items() if c == "EC_IO_WRITE")
_WAIT = frozenset(i for i, flags in FLAGS.items() if "EF_WAITS" in flags)
_OPENS = ("open", "openat", "openat2", "creat", "open_by_handle_at")
PPM_O_RDONLY, PPM_O_WRONLY = 1, 2
PPM_O_RDWR = 3
_SYSLOG = ("/dev/log", "/run/systemd/journal/syslog")


def _res(ev):
    """The return value of an exit event: its ``res`` (or first ``fd``) parameter."""
    if ev.direction != "<" or not ev.nparams:
        return None
    infos = param_infos(ev.type)
    if infos and infos[0]["name"] in ("res", "fd"):
        value = ev.params.get(infos[0]["name"])
        if isinstance(value, int):
            return value - (1 << 64) if infos[0]["type"] == "PT_UINT64" and value >> 63 \
                else value
    return None


def _res_text(ev):
    res = _res(ev)
    if res is None:
        return None
    return "SUCCESS" if res >= 0 else ERRNO_NAMES.get(-res, str(res))


def _failed(ev):
    res = _res(ev)
    return res is not None and res < 0


def _count_error(kind: str | None):
    def extract(ev):
        if not _failed(ev):
            return None
        if kind is None:
            return 1
        return 1 if _error_kind(ev) == kind else None
    return extract


def _error_kind(ev) -> str:
    from scaptools.fields.syscall.fd import error_kind
    return error_kind(ev, CATEGORY.get(ev.type, ""))


def _latency(ev):
    if ev.direction != "<":
        # scheduler events repeat the latency of the thread's last call (libsinsp)
        return (ev.cache or {}).get("latency", 0)
    thread = event_thread(ev)
    enter = thread.last_enter if thread is not None else None
    if enter is None or enter.type != ev.type - 1:
        return 0
    return ev.ts - enter.ts


def _category(ev):
    cat = CATEGORY.get(ev.type, "EC_UNKNOWN")
    code = syscall_code(ev) if ev.type < 2 else None
    if code is not None:  # generic events: the category of the real syscall
        cat = SYSCALL_CATEGORIES.get(code, cat)
    if cat.startswith("EC_IO"):
        from scaptools.fields.syscall.fd import io_category
        return io_category(ev)
    if "EC_SCHEDULER" in BITS.get(ev.type, ()):
        return "scheduler"
    return "IPC" if cat == "EC_IPC" else cat[3:].lower()  # sysdig spells IPC in capitals


def _arg_factory(raw: bool):
    def factory(arg):
        def extract(ev):
            idx = int(arg) if arg.isdigit() else param_index(ev.type, arg)
            if idx is None or idx >= min(ev.nparams, len(param_infos(ev.type))):
                return None
            if raw:
                value = ev.params.get(param_infos(ev.type)[idx]["name"])
                if value is None or isinstance(value, (int, str)):
                    return value
                return render_param(ev, idx, None, None)[0]  # tuples, buffers: as text
            state = event_state(ev)
            text, resolved = render_param(ev, idx, state,
                                          state.buffer_limit if state is not None else MAX_BUF_LEN)
            return resolved if resolved and resolved != text else text
        return extract
    return factory


def _buffer(ev):
    idx = param_index(ev.type, "data")
    if idx is None or idx >= ev.nparams:
        return None
    return ev.params.get("data") or b""


def _buflen(ev):
    fd = event_fd(ev)
    if not CATEGORY.get(ev.type, "").startswith("EC_IO") or fd is None or fd.pending:
        return None
    res = _res(ev)
    return res if res is not None and res >= 0 else None


def _io_dir(ev):
    if ev.type in _IO_READ:
        return "read"
    if ev.type in _IO_WRITE:
        return "write"
    return None


def _deltatime(ev):
    state = event_state(ev)
    prev = state.last_shown_ts if state is not None else None
    return ev.ts - prev if prev is not None else 0  # 0 for the first event shown


def _open_mode(ev, want: str):
    if ev.name not in _OPENS or ev.direction != "<":
        return False
    flags = ev.params.get("flags")
    if not isinstance(flags, int):
        return False
    mode = flags & PPM_O_RDWR
    if want == "r":
        return mode in (PPM_O_RDONLY, PPM_O_RDWR)
    return mode in (PPM_O_WRONLY, PPM_O_RDWR)


def _reltime(ev):
    state = event_state(ev)
    first = state.first_ts if state is not None and state.first_ts is not None else ev.ts
    return ev.ts - first


def _is_syslog(ev):
    fd = event_fd(ev)
    return ev.type in _IO_WRITE and fd is not None and fd.name in _SYSLOG


def _abspath(which: int):
    """The ``which``-th path relative to a dirfd, resolved against it (§10.2)."""
    def extract(ev):
        rel = [i for i, p in enumerate(param_infos(ev.type))
               if p["type"] == "PT_FSRELPATH" and p.get("dirfd_param") is not None]
        if which >= len(rel) or rel[which] >= ev.nparams:
            return None
        text, resolved = render_param(ev, rel[which], event_state(ev), None)
        return resolved or None
    return extract


def _human(ns: int) -> str:
    """sysdig's short duration text: 0ns, 252ns, 1.79us, 8.12ms, 3.12s."""
    if ns < 1000:
        return f"{ns}ns"
    for unit, div in (("us", 1e3), ("ms", 1e6)):
        if ns < div * 10:
            return f"{ns * 100 // int(div) / 100:.2f}{unit}"  # cut, not rounded
        if ns < div * 1000:
            return f"{ns // int(div)}{unit}"
    return f"{ns * 100 // 10**9 / 100:.2f}s" if ns < 10**10 else f"{ns // 10**9}s"


def _info(ev):
    """``evt.info``/``evt.args``: buffers cut at the state's ``buffer_limit`` (sysdig cuts
    them to 80 characters in text output, not in JSON)."""
    state = event_state(ev)
    return event_info(ev, state, state.buffer_limit if state is not None else MAX_BUF_LEN)


def _type_is_factory(arg):
    return lambda ev: event_type_name(ev) == arg


def _around_factory(arg: str):
    """The extractor of ``evt.around[T]``: (event time, T) for the compiler's window test.
    T is read as libsinsp's parseu64 reads it (sscanf ``%lu``, nothing after the number)."""
    m = re.fullmatch(r"\s*([+-]?)(\d+)", arg)
    if m is None:
        raise FieldError(f"{arg} is not a valid number")
    target = int(m.group(2)) * (-1 if m.group(1) == "-" else 1) % (1 << 64)
    return lambda ev: (ev.ts, target)


def evt_fields() -> FieldAdder:
    a = FieldAdder()
    a.items.extend((info, lambda arg, fn=fn: fn) for info, fn in _time_fields())
    a.simple("evt.reltime", "reltime", "ns since the first event", _reltime)
    a.simple("evt.reltime.s", "reltime", "s since the first event", lambda ev: _reltime(ev) // _NS)
    a.simple("evt.reltime.ns", "reltime", "ns part", lambda ev: _reltime(ev) % _NS,
             tags=(PAD9,))
    a.simple("evt.latency", "reltime", "exit - enter time", _latency)
    a.simple("evt.latency.s", "reltime", "latency, s part", lambda ev: _latency(ev) // _NS)
    a.simple("evt.latency.ns", "reltime", "latency, ns part", lambda ev: _latency(ev) % _NS,
             tags=(PAD9,))
    a.with_arg("evt.around", "uint64", "evt.around[T] = D: events within D ms of time T "
               "(ns since the epoch; filter only, '=' only)", _around_factory, kind="key",
               tags=(FILTER_ONLY, WINDOW))
    a.simple("evt.dir", "string", "direction: > enter, < exit", lambda ev: ev.direction)
    a.simple("evt.type", "string", "event type (syscall name)", event_type_name)
    a.with_arg("evt.type.is", "bool", "whether the type is ARG", _type_is_factory)
    a.simple("evt.category", "string", "event category", _category)
    a.simple("evt.cpu", "int64", "cpu number", lambda ev: ev.cpu)
    a.simple("evt.args", "string", "all arguments", lambda ev: _info(ev))
    a.simple("evt.info", "string", "arguments, as in the default output",
             lambda ev: _info(ev))
    _add_arg_and_result_fields(a)
    return a


def _add_arg_and_result_fields(a: FieldAdder) -> None:
    a.with_arg("evt.arg", "string", "one argument by name or index", _arg_factory(False),
               kind="dotted")
    # numeric in filters (sysdig types it by the parameter; numbers are what filters compare)
    a.with_arg("evt.rawarg", "int64", "one argument, raw", _arg_factory(True), kind="dotted")
    a.simple("evt.buffer", "bytebuf", "the data buffer", _buffer)
    a.simple("evt.buflen", "uint64", "length of the data buffer", _buflen)
    a.simple("evt.res", "string", "SUCCESS or the error name", _res_text)
    a.simple("evt.rawres", "int64", "the return value", _res)
    a.simple("evt.failed", "bool", "whether the call failed", _failed)
    a.simple("evt.is_io", "bool", "reads or writes", lambda ev: ev.type in _IO_READ
             or ev.type in _IO_WRITE)
    a.simple("evt.is_io_read", "bool", "reads", lambda ev: ev.type in _IO_READ)
    a.simple("evt.is_io_write", "bool", "writes", lambda ev: ev.type in _IO_WRITE)
    a.simple("evt.io_dir", "string", "r or w", _io_dir)
    a.simple("evt.is_wait", "bool", "waits", lambda ev: ev.type in _WAIT)
    _add_count_and_misc_fields(a)


def _add_count_and_misc_fields(a: FieldAdder) -> None:
    a.simple("evt.count", "uint64", "1 for every event", lambda ev: 1)
    a.simple("evt.count.exit", "uint64", "1 for exit events",
             lambda ev: 1 if ev.direction == "<" else None)
    a.simple("evt.count.error", "uint64", "1 for failed calls", _count_error(None))
    for kind in ("file", "net", "memory", "other"):
        a.simple(f"evt.count.error.{kind}", "uint64", f"1 for failed {kind} calls",
                 _count_error(kind))
    a.simple("evt.deltatime", "reltime", "ns since the previous event", _deltatime)
    a.simple("evt.deltatime.s", "reltime", "s part", lambda ev: _deltatime(ev) // _NS)
    a.simple("evt.deltatime.ns", "reltime", "ns part", lambda ev: _deltatime(ev) % _NS,
             tags=(PAD9,))
    a.simple("evt.is_syslog", "bool", "write to syslog", _is_syslog)
    a.simple("evt.is_open_read", "bool", "open for reading", lambda ev: _open_mode(ev, "r"))
    a.simple("evt.is_open_write", "bool", "open for writing", lambda ev: _open_mode(ev, "w"))
    a.simple("evt.is_open_exec", "bool", "open of an executable", lambda ev: False)
    a.simple("evt.source", "string", "event source", lambda ev: "syscall")
    a.simple("evt.latency.human", "string", "latency as text", lambda ev: _human(_latency(ev)))
    a.simple("evt.wait_latency", "reltime", "time spent waiting (waiting calls)",
             lambda ev: _latency(ev) if ev.type in _WAIT and ev.direction == "<" else None)
    a.simple("evt.pluginname", "string", "plugin name (plugin events only)", lambda ev: None)
    a.simple("evt.plugininfo", "string", "plugin text (plugin events only)", lambda ev: None)
    a.simple("evt.abspath", "string", "absolute path of the path argument of *at calls",
             _abspath(0))
    a.simple("evt.abspath.src", "string", "absolute source path (renameat, linkat)",
             _abspath(0))
    a.simple("evt.abspath.dst", "string", "absolute destination path (renameat, linkat)",
             _abspath(1))
    a.simple("syscall.type", "string", "system call name (syscall events only)",
             lambda ev: event_type_name(ev) if "EC_SYSCALL" in BITS.get(ev.type, ()) else None)
    host = os.environ.get("FALCO_HOSTNAME") or socket.gethostname()
    a.simple("evt.hostname", "string", "host name", lambda ev: host)
