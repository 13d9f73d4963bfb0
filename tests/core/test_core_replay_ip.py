"""IP address and network checks in the core (cond/ip.rs) hold exactly where the Python
compiler's do (``ip_check`` over ``_ipaddr`` and ``_ip_any``, ``sides_check`` over both
ends), on hypothesis-built addresses (IPv4, IPv6, mapped, invalid texts) and constants
(addresses and networks of both versions); and the plain form native.py writes for
syscall address and both-ends checks."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaptools.engine.condition.compiler import _ip_any, _ipaddr
from scaptools.engine.condition.parser import parse_condition
from scaptools.engine.native import FieldTable, Unsupported, condition
from scaptools.events.event import Event
from scaptools.plugin.registry import Registry

from .coreutil import core_or_skip, one_rule

v4 = st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0, 2**32 - 1))
v6 = st.builds(lambda n: str(ipaddress.IPv6Address(n)), st.integers(0, 2**128 - 1))
mapped = st.builds(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}", st.integers(0, 2**32 - 1))
near = st.sampled_from(["10.0.0.1", "10.255.255.255", "11.0.0.0", "127.0.0.1", "::1",
                        "fd00::1", "fe80::1", "0.0.0.0", "::", "192.168.1.1"])
bad = st.sampled_from(["", "x", "1.2.3", "01.2.3.4", "1.2.3.4 ", "256.1.1.1", ":::", "1::2::3",
                       "fe80::1%eth0", "1.2.3.4/8"])
addresses = st.one_of(v4, v6, mapped, near, bad)


@st.composite
def constants(draw):
    if draw(st.booleans()):
        return draw(st.one_of(v4, v6, near))
    addr = draw(st.one_of(v4, v6, near))
    bits = draw(st.integers(0, 32 if "." in addr else 128))
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def parsed(text: str):
    return ipaddress.ip_network(text) if "/" in text else ipaddress.ip_address(text)


def python_ip(value: str, op: str, consts: list) -> bool:
    """What the compiled Python condition gives (``Compiler.ip_check``)."""
    addr = _ipaddr(value)
    if addr is None:
        return False
    held = _ip_any(addr, [parsed(c) for c in consts])
    return not held if op == "!=" else held


def core_check(core, right, op: str):
    table = FieldTable(Registry.from_entry_points().fieldset("aws_cloudtrail"))
    table.rows.append(["ct.name", None])
    rules = one_rule(core, table, ["check", ["field", 0, False], op, right, None])
    return lambda text: rules.match_event(
        Event.plugin(1, 2, ('{"eventName": "%s"}' % text).encode()).raw, 1) is not None


@settings(max_examples=300, deadline=None)
@given(value=addresses, op=st.sampled_from(["=", "!=", "in", "intersects"]),
       consts=st.lists(constants(), min_size=1, max_size=3))
def test_address_checks_as_python(value, op, consts):
    core = core_or_skip()
    if op in ("=", "!="):
        consts = consts[:1]
    assert core_check(core, ["ip", consts], op)(value) == python_ip(value, op, consts)


@settings(max_examples=200, deadline=None)
@given(ends=st.lists(addresses, min_size=1, max_size=2), op=st.sampled_from(["=", "!=", "in"]),
       consts=st.lists(constants(), min_size=1, max_size=3))
def test_both_ends_as_python(ends, op, consts):
    """``sides_check``: each end tested as '=' (one test per constant for 'in'), any end
    for '='/'in', every end for '!=' (the ends: a list field's items here)."""
    core = core_or_skip()
    if op != "in":
        consts = consts[:1]
    tests = [lambda v, c=c: python_ip(v, "=", [c]) for c in consts] if op == "in" \
        else [lambda v: python_ip(v, op, consts)]
    combine = all if op == "!=" else any
    want = combine(any(t(end) for t in tests) for end in ends)
    table = FieldTable(Registry.from_entry_points().fieldset("aws_cloudtrail"))
    table.rows.append(["ec2.imageids", None])
    rules = one_rule(core, table, ["check", ["field", 0, True], op, ["sides", "ip", consts],
                                   None])
    items = ",".join('{"imageId": "%s"}' % end for end in ends if end)
    payload = '{"responseElements": {"instancesSet": {"items": [%s]}}}' % items
    got = rules.match_event(Event.plugin(1, 2, payload.encode()).raw, 1) is not None
    if all(ends):  # an empty id is left out of the list
        assert got == want


def test_scoped_constants_stay_in_python():
    core = core_or_skip()
    table = FieldTable(Registry.from_entry_points().fieldset("aws_cloudtrail"))
    table.rows.append(["ct.name", None])
    rules = one_rule(core, table, ["check", ["field", 0, False], "=", ["ip", ["fe80::1%eth0"]],
                                   None])
    assert rules.python[0] is not None


@pytest.fixture(scope="module")
def syscall_table():
    core = core_or_skip()
    return lambda: FieldTable(Registry.from_entry_points().fieldset("syscall"), core)


@pytest.mark.parametrize("text, right", [
    ("fd.sip = 10.0.0.1", ["ip", ["10.0.0.1"]]),
    ("fd.rip != ::1", ["ip", ["::1"]]),
    ("fd.snet in (10.0.0.0/8, 192.168.0.0/16)", ["ip", ["10.0.0.0/8", "192.168.0.0/16"]]),
    ("fd.ip != 0.0.0.0", ["sides", "ip", ["0.0.0.0"]]),
    ("fd.net = 127.0.0.0/8", ["sides", "ip", ["127.0.0.0/8"]]),
    ("fd.port in (22, 2222)", ["sides", "port", [{"int": "22"}, {"int": "2222"}]]),
    ("fd.proto > 1024", ["sides", "port", [{"int": "1024"}]]),
])
def test_plain_form_of_address_checks(syscall_table, text, right):
    table = syscall_table()
    plain = condition(parse_condition(text), table)
    assert plain[0] == "check" and plain[3] == right
    assert table.rows[plain[1][1]][0] == text.split()[0]


@pytest.mark.parametrize("text", ["fd.net intersects (10.0.0.0/8)", "fd.sip = val(fd.cip)",
                                  "toupper(fd.sip) = X"])
def test_address_checks_the_core_leaves_to_python(syscall_table, text):
    with pytest.raises(Unsupported):
        condition(parse_condition(text), syscall_table())
