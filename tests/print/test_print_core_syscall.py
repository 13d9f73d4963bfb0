"""``scap print`` of syscall and mixed captures in the compiled core
(scaptools/view/incore.py, core/src/print/): the core's output equals the Python path's
(``SCAPTOOLS_PURE=1``), line for line and error for error, and the core prints whenever
every field of the filter and the format is one it computes."""
from __future__ import annotations

import importlib.util
import struct
import time
from pathlib import Path

import pytest

from scaptools.events.event import Event
from scaptools.format.reader import open_capture
from scaptools.format.writer import CaptureWriter
from scaptools.view.printer import PrintOptions, installed_plugins, print_capture

ROOT = Path(__file__).resolve().parents[2]


def _sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"print_{name}",
                                                  Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FILTERS = _sibling("test_print_fields_sysdig").FILTERS  # the 22 filters compared with sysdig
PRINT_CORE = _sibling("test_print_core")  # scap print in either mode, the core or a skip
core_or_skip, cli_print = PRINT_CORE.core_or_skip, PRINT_CORE.run
SHELL = ROOT / "captures" / "syscall_shell.scap"
E2E = ["curl_google", "curl_google_comments", "sample", "single_ipv6_conn", "test_ipv6_client"]
# -p formats of many fields the core computes (the fields of each class, arguments, pad9
# and time fields); a format without ``*`` skips the events where one has no value
WIDE = ("%evt.num %evt.time %evt.datetime %evt.rawtime.ns %evt.latency.ns %evt.reltime.s "
        "%evt.cpu %evt.dir %evt.type %evt.category %evt.info %evt.res %evt.rawres %evt.failed "
        "%evt.is_io %evt.io_dir %evt.count.error.file %evt.abspath %proc.pid %proc.name "
        "%proc.args %proc.cmdline %proc.pname %proc.aname[2] %proc.apid[1] %proc.cwd "
        "%proc.exepath %proc.vmsize %thread.tid %thread.ismain %thread.cgroups %user.name "
        "%user.uid %group.name %fd.num %fd.type %fd.typechar %fd.name %fd.directory %fd.filename "
        "%fd.sip %fd.cport %fd.l4proto %fd.sockfamily %fd.name_changed %fdlist.names "
        "%evt.rawarg.res %evt.args")
FORMATS = [
    [],
    ["-j"],
    ["-p", "*" + WIDE],
    ["-p", WIDE],  # prints nothing: some field always lacks a value
    ["-p", "%evt.num %proc.name %fd.name"],
    ["-j", "-p", "*" + WIDE],
    ["-j", "-p", "%evt.num %evt.time %fd.name %evt.rawarg.fd %evt.info %fd.typechar"],
    ["-p", "*%evt.num %evt.arg.fd %evt.arg.name %evt.arg.res %evt.arg[0]"],
    ["-D", "-j"],
    ["-n", "40", "-D"],
]


def both(args, monkeypatch) -> tuple:
    """The CLI's result in both modes, asserted equal."""
    core = cli_print(args, False, monkeypatch)
    pure = cli_print(args, True, monkeypatch)
    assert core == pure, args
    return core


def printed(path, options: PrintOptions, monkeypatch, pure: bool = False):
    """``print_capture``'s lines, error (``repr``) and ``Printed``."""
    if pure:
        monkeypatch.setenv("SCAPTOOLS_PURE", "1")
    else:
        monkeypatch.delenv("SCAPTOOLS_PURE", raising=False)
    lines: list[str] = []
    try:
        done = print_capture(path, options, registry=installed_plugins(), write=lines.append)
        return "".join(lines), None, done
    except Exception as exc:  # noqa: BLE001 - the error is compared between the modes
        return "".join(lines), repr(exc), None


def same(path, options: PrintOptions, monkeypatch):
    """Assert the core and Python print the same; the core's ``Printed``."""
    core = printed(path, options, monkeypatch)
    pure = printed(path, options, monkeypatch, pure=True)
    assert core[:2] == pure[:2], options
    assert pure[2] is None or pure[2].path == "python"
    return core


def e2e(shared, name: str) -> Path:
    return shared / "captures" / "libs-e2e" / f"{name}.scap"


@pytest.mark.parametrize("flt", FILTERS)
def test_sysdig_filters_print_the_same_in_the_core(shared, flt, monkeypatch):
    core_or_skip()
    for name in ("curl_google", "sample"):
        out, err, done = same(e2e(shared, name), PrintOptions(flt, "%evt.num %evt.type"),
                              monkeypatch)
        assert err is None and done.path == "core", done
    out, err, done = same(SHELL, PrintOptions(flt), monkeypatch)
    assert done.path == "core"


# filters of both ends of a connection and of networks (fields for conditions only)
ENDS = ["fd.port=40251", "fd.port=domain", "fd.proto!=53", "fd.port in (https, 53)",
        "fd.ip=2600:1f18:262c:6542:9aa6:df7a:9a47:d29e", "fd.ip in (2001:4860:4860::8888)",
        "fd.net=2600:1f18::/32", "fd.net!=2600:1f18::/32", "fd.snet=2001:4860::/32",
        "fd.cnet = 2600:1f18::/32", "fd.sip = 2001:4860:4860::8888 or fd.rip exists"]


def test_connection_filters_print_the_same_in_the_core(shared, monkeypatch):
    core_or_skip()
    for flt in ENDS:
        out, err, done = same(e2e(shared, "curl_google"), PrintOptions(flt, "*%evt.num"),
                              monkeypatch)
        assert err is None and done.path == "core" and out, flt


@pytest.mark.parametrize("name", E2E)
def test_formats_print_the_same_in_the_core(shared, name, monkeypatch, utc):
    core_or_skip()
    path = e2e(shared, name)
    for args in FORMATS:
        code, out, err = both([path, *args], monkeypatch)
        assert code == 0 and not err, args


def test_every_mode_on_the_repo_capture(monkeypatch):
    core_or_skip()
    for args in FORMATS:
        code, out, _ = both([SHELL, *args], monkeypatch)
        assert code == 0, args
    for flt in ("evt.type=openat and fd.name contains /etc", "proc.name=cat", "evt.num > 5"):
        for args in FORMATS:
            assert both([SHELL, flt, *args], monkeypatch)[0] == 0


def test_the_core_prints_the_formats(shared, monkeypatch):
    """Every format above is printed by the core (none of its fields is left to Python)."""
    core_or_skip()
    for args in FORMATS:
        fmt = args[args.index("-p") + 1] if "-p" in args else None
        options = PrintOptions(fmt=fmt, as_json="-j" in args, show_internal="-D" in args,
                               count=int(args[args.index("-n") + 1]) if "-n" in args else None)
        out, err, done = same(e2e(shared, "curl_google"), options, monkeypatch)
        assert err is None and done.path == "core", (args, done)
        assert out or args == ["-p", WIDE]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/New_York"])
def test_default_lines_in_local_time(shared, zone, monkeypatch):
    """The time of default lines and time fields is local (the C library's, as Python's)."""
    core_or_skip()
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for name in ("curl_google", "sample"):
            out, err, done = same(e2e(shared, name), PrintOptions(), monkeypatch)
            assert done.path == "core" and out
            same(e2e(shared, name), PrintOptions(fmt="%evt.time %evt.datetime %evt.time.s"),
                 monkeypatch)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_fields_the_core_lacks_leave_the_print_to_python(monkeypatch):
    core_or_skip()
    for options in (PrintOptions(fmt="%evt.num %evt.deltatime"),
                    PrintOptions(fmt="%evt.num %evt.buffer"),
                    PrintOptions(filter="evt.around[1710400000000000000] = 1"),
                    PrintOptions(filter="evt.type = openat", fmt="%thread.cpu")):
        out, err, done = same(SHELL, options, monkeypatch)
        assert done.path == "python" and done.reason and done.lines == 0, options


def test_pure_forces_python(monkeypatch):
    out, err, done = printed(SHELL, PrintOptions(), monkeypatch, pure=True)
    assert done.path == "python" and out.count("\n") == 18


# -- mixed captures ----------------------------------------------------------------------------

def mixed(tmp_path) -> Path:
    """syscall_shell.scap's events with example.scap's CloudTrail events between them."""
    with open_capture(SHELL) as reader:
        syscalls = list(reader)
        metadata = list(reader.metadata)
    with open_capture(ROOT / "captures" / "example.scap") as reader:
        plugins = list(reader)
    out = tmp_path / "mixed.scap"
    with CaptureWriter(out, metadata=metadata) as writer:
        for i, ev in enumerate(syscalls):
            writer.write(ev)
            if i < len(plugins):
                p = plugins[i]
                writer.write(Event.plugin(ev.ts + 1, p.plugin_id, p.payload))
    return out


def test_mixed_capture(tmp_path, monkeypatch):
    core_or_skip()
    path = mixed(tmp_path)
    filters = ["", "evt.type in (openat, close)", "ct.name = ConsoleLogin",
               "ct.name regex 'Get.*'", "evt.num > 10", "proc.name = cat"]
    formats = [[], ["-j"], ["-p", "%evt.num %evt.type %proc.name %fd.name"],
               ["-p", "*%evt.num %ct.name %ct.user"], ["-j", "-p", "%evt.num %ct.name"],
               ["-n", "15"]]
    for flt in filters:
        for args in formats:
            code, out, err = both([path, *([flt] if flt else []), *args], monkeypatch)
            assert code == 0, (flt, args)
        out, err, done = same(path, PrintOptions(flt), monkeypatch)
        assert done.path == "core"
    lines = both([path], monkeypatch)[1].splitlines()
    assert sum("[cloudtrail]" in line for line in lines) == 13 and len(lines) == 31


# -- damaged captures ---------------------------------------------------------------------------

def test_cut_capture_same_lines_then_same_error(shared, tmp_path, monkeypatch):
    core_or_skip()
    data = e2e(shared, "sample").read_bytes()
    cut = tmp_path / "cut.scap"
    for size in (100, 20_000, len(data) // 2, len(data) - 5001, len(data) - 1):
        cut.write_bytes(data[:size])
        for args in ([], ["-j", "-D"], ["evt.type = openat", "-p", "%evt.num %fd.name"]):
            code, out, err = both([cut, *args], monkeypatch)
            assert code == 1 and "cut.scap" in err and "offset" in err, (size, args)


def damaged(src: Path, dst: Path, num: int) -> Path:
    """``src`` (v2 event blocks) with event ``num``'s first parameter length past its end."""
    with open_capture(src) as reader:
        offset = next(ev.offset for ev in reader if ev.num == num)
    data = bytearray(src.read_bytes())
    struct.pack_into("<H", data, offset + 8 + 2 + 26, 0x7FFF)  # block header, cpu, event header
    dst.write_bytes(bytes(data))
    return dst


def test_damaged_event_same_lines_then_same_error(tmp_path, monkeypatch):
    core_or_skip()
    path = damaged(SHELL, tmp_path / "damaged.scap", 9)
    for args in ([], ["-j"], ["-p", "%evt.num %proc.name"], ["-p", "%evt.num %evt.args"]):
        both([path, *args], monkeypatch)
    # the core prints up to the damaged event, Python the rest (and the error)
    out, err, done = same(path, PrintOptions(), monkeypatch)
    assert "event 9" in err
    options = PrintOptions(fmt="%evt.num %proc.name")
    out, err, done = same(path, options, monkeypatch)
    assert err is None and done.path == "python" and done.lines == 8 and out.count("\n") == 18


def test_unknown_block_warns_once_in_both_modes(tmp_path, monkeypatch):
    core_or_skip()
    body = b"\0" * 8
    block = struct.pack("<II", 0x1A16, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    path = tmp_path / "unknown.scap"
    data = SHELL.read_bytes()
    with open_capture(SHELL) as reader:
        offset = next(ev.offset for ev in reader if ev.num == 5)
    path.write_bytes(data[:offset] + block + data[offset:] + block)
    code, out, err = both([path], monkeypatch)
    assert code == 0 and out.count("\n") == 18 and err.count("unknown block type") == 1
