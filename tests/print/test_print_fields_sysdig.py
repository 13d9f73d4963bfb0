"""``scap print -p`` field by field against ``sysdig -r F -p`` (0.29.3) on the shared captures.

One run of each tool per capture prints every compared field, separated by ``|``;
the columns are then compared per field and per event number.

Fields left out of the comparison on some captures (MOSTLY), and why:
- evt.num, evt.reltime(.ns), evt.deltatime(.ns) on sample.scap: it starts with 95
  user/group events that sysdig 0.29.3 drops (ids >= 336), so numbers and the first
  timestamp differ there.
- proc.tty, user.loginuid, user.loginname on sample.scap: sysdig 0.29.3 reads the first
  bytes of the current V9 process-entry tail as loginuid (docs/format.md §5, test Q); we
  decode the tail layout correctly.
- evt.latency.human on sample.scap: sysdig shows a stale value for events without a thread.
- thread/proc vm and page-fault counters, vtid/vpid of threads created by events,
  proc.fdopencount/fdusage, proc.nchilds, fd.is_server, fd.cport of listening sockets,
  group.gid (sysdig 0.29.3 prints a 33-bit value), fd.dev* (sysdig prints bytes it never
  read for sockets and pipes): libsinsp bookkeeping details not reproduced.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner

from scaptools.cli.main import cli

FIELDS = """
evt.time evt.time.s evt.time.iso8601 evt.datetime evt.datetime.s evt.rawtime evt.rawtime.s
evt.rawtime.ns evt.reltime.s evt.pluginname evt.plugininfo evt.latency evt.latency.s
evt.latency.ns evt.deltatime.s evt.dir evt.type evt.category evt.cpu evt.args evt.info
evt.buffer evt.buflen evt.res evt.rawres evt.failed evt.is_io evt.is_io_read evt.is_io_write
evt.io_dir evt.is_wait evt.wait_latency evt.is_syslog evt.count evt.count.error
evt.count.error.file evt.count.error.net evt.count.error.memory evt.count.error.other
evt.count.exit evt.abspath evt.is_open_read evt.is_open_write evt.is_open_exec proc.pid
proc.exe proc.name proc.args proc.env proc.cmdline proc.exeline proc.cwd proc.nthreads
proc.nchilds proc.ppid proc.pname proc.pcmdline proc.loginshellid proc.duration
proc.fdopencount proc.fdlimit proc.fdusage proc.vmsize proc.vmrss proc.vmswap thread.pfmajor
thread.pfminor thread.tid thread.ismain thread.exectime thread.totexectime thread.cgroups
thread.vtid proc.vpid thread.cpu thread.cpu.user thread.cpu.system thread.vmsize thread.vmrss
proc.sid proc.sname proc.exepath proc.vpgid proc.is_container_healthcheck
proc.is_container_liveness_probe proc.is_container_readiness_probe proc.is_exe_writable
user.uid user.name user.homedir user.shell group.name fd.num fd.type fd.typechar fd.name
fd.directory fd.filename fd.cip fd.sip fd.lip fd.rip fd.sport fd.lport fd.rport fd.l4proto
fd.sockfamily fd.is_server fd.uid fd.containername fd.containerdirectory fd.sproto fd.lproto
fd.rproto fd.connected fd.name_changed fd.cip.name fd.sip.name fd.lip.name fd.rip.name
fdlist.nums fdlist.names fdlist.cips fdlist.sips fdlist.cports fdlist.sports evt.args proc.args
evt.args proc.args evt.args proc.args evt.args proc.args evt.args proc.args evt.args proc.args
evt.args proc.args evt.args proc.args evt.args proc.args evt.arg.fd evt.arg.res evt.arg.name
evt.rawarg.res proc.aname[2] proc.apid[2]
""".split()
# compared on every capture except the named ones (reasons in the module doc; curl_google:
# threads created by events, whose counters and ids libsinsp fills differently)
MOSTLY = {
    "evt.deltatime": {'sample'},
    "evt.deltatime.ns": {'sample'},
    "evt.latency.human": {'sample'},
    "evt.num": {'sample'},
    "evt.reltime": {'sample'},
    "evt.reltime.ns": {'sample'},
    "fd.cport": {'sample'},
    "fd.cproto": {'sample'},
    "fd.dev": {'curl_google', 'single_ipv6_conn', 'test_ipv6_client'},
    "fd.dev.major": {'curl_google', 'single_ipv6_conn', 'test_ipv6_client'},
    "fd.dev.minor": {'curl_google', 'single_ipv6_conn', 'test_ipv6_client'},
    "group.gid": {'curl_google', 'sample'},
    "proc.tty": {'sample'},
    "user.loginname": {'sample'},
    "user.loginuid": {'sample'},
}
CAPTURES = ["curl_google", "sample", "single_ipv6_conn", "test_ipv6_client"]
OFFSET = {"sample": 95}


pytestmark = pytest.mark.usefixtures("utc")  # sysdig output was made with TZ=UTC


def columns(lines: list[str], offset: int, names: list[str]) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {name: {} for name in names}
    for line in lines:
        num, *values = line.split("\x1f")
        for name, value in zip(names, values):
            out[name][int(num) - offset] = value
    return out


@pytest.mark.parametrize("name", CAPTURES)
def test_fields_equal_sysdig(shared, sysdig_bin, name):
    path = shared / "captures" / "libs-e2e" / f"{name}.scap"
    names = FIELDS + [f for f, skip in MOSTLY.items() if name not in skip]
    fmt = "*%evt.num" + "".join(f"\x1f%{f}" for f in names)
    ref = subprocess.run([sysdig_bin, "-r", str(path), "-p", fmt], capture_output=True,
                         env=dict(os.environ, TZ="UTC"), check=True)
    res = CliRunner().invoke(cli, ["print", str(path), "-p", fmt])
    assert res.exit_code == 0, res.output
    theirs = columns(ref.stdout.decode("utf-8", "replace").splitlines(), 0, names)
    ours = columns([line for line in res.stdout.splitlines()
                    if "useradded" not in line and "groupadded" not in line],
                   OFFSET.get(name, 0), names)
    bad = {}
    for field in names:
        diff = [(n, v, ours[field].get(n)) for n, v in theirs[field].items()
                if ours[field].get(n) != v]
        if diff:
            bad[field] = diff[:3]
    assert bad == {}


def test_lines_with_missing_fields_are_skipped_without_star(shared, sysdig_bin):
    path = shared / "captures" / "libs-e2e" / "single_ipv6_conn.scap"
    fmt = "%evt.num %fd.name %fd.l4proto"
    ref = subprocess.run([sysdig_bin, "-r", str(path), "-p", fmt], capture_output=True,
                         env=dict(os.environ, TZ="UTC"), check=True).stdout.decode()
    res = CliRunner().invoke(cli, ["print", str(path), "-p", fmt])
    assert res.exit_code == 0 and res.stdout == ref and ref.count("\n") > 5


FILTERS = [
    "evt.type=open and fd.name contains /etc",
    "fd.l4proto=udp",
    "evt.res!=SUCCESS",
    "not evt.type in (switch, mmap, brk) and evt.num < 260",
    "fd.name startswith /usr and evt.rawres > 0",
    "evt.num >= 1000 and evt.num <= 1010",
    "proc.name glob 'cu*' and evt.type=read",
    "fd.sip exists and evt.dir = <",
    "proc.pname = bash or user.name icontains UBU",
    "evt.failed = true and evt.type != access",
    "fd.name endswith .conf",
    "fd.name pmatch (/etc, /usr/lib)",
    "evt.arg.flags contains O_CLOEXEC",
    "evt.rawarg.res < 0",
    "evt.rawarg.fd = 3 or evt.rawarg.flags = 4097",
    "fd.typechar in (f, 6) and evt.dir=>",
    "proc.aname[2] = sshd and evt.type = close",
    "fd.l4proto = tcp and fd.sport = 80",
    "user.uid = 1000 or group.name = ubuntu",
    "fd.sockfamily = ip and fd.rip exists",
    "evt.is_io_write = true",
    "fd.directory = /etc",
]


@pytest.mark.parametrize("flt", FILTERS)
def test_filters_select_the_same_events(shared, sysdig_bin, flt):
    path = shared / "captures" / "libs-e2e" / "curl_google.scap"
    ref = subprocess.run([sysdig_bin, "-r", str(path), "-p", "%evt.num", flt],
                         capture_output=True, check=True).stdout.decode().split()
    res = CliRunner().invoke(cli, ["print", str(path), flt, "-p", "%evt.num"])
    assert res.exit_code == 0, res.output
    assert res.stdout.split() == ref
