"""Conditions and outputs evaluated in the core equal the Python compiler's, on
hypothesis-built records and conditions (operators, modifiers, transformers, computed
right sides, missing values) and outputs (widths, transformers, lists, missing values).

The Python path is the reference: a condition is first compiled by the Python compiler
(an invalid one is rejected), then written in the plain form (engine/native.py) and
compiled by the core; both evaluate the same plugin events.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scaptools.engine.condition.compiler import CompileError, Compiler
from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.parser import parse_condition
from scaptools.engine.native import FieldTable, Unsupported, condition, output
from scaptools.engine.output import OutputError, OutputFormat
from scaptools.events.event import Event
from scaptools.plugin.registry import Registry

from .coreutil import core_or_skip, one_rule

WORDS = ["ConsoleLogin", "consolelogin", "Success", "No", "alice", "ALICE", "a/b/c", "/var/run",
         "", "x y", "é", "a\"b", "10", "-3", "Root", "us-east-1", "QUJD", "a*b"]
STRING_FIELDS = ["ct.name", "ct.user", "ct.region", "ct.error", "ct.srcip", "ct.user.identitytype",
                 "json.value[/responseElements/ConsoleLogin]", "json.value[/a]",
                 "ct.request.username", "s3.bucket", "ct.src"]
NUMBER_FIELDS = ["evt.num", "s3.bytes", "len(ct.user)", "len(ec2.imageids)", "evt.rawtime.s"]
STRING_OPS = ["=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "startswith",
              "endswith", "glob", "iglob"]
MODIFIERS = ["anyof", "allof", "oneof"]


@pytest.fixture(scope="module")
def fieldset():
    return Registry.from_entry_points().fieldset("aws_cloudtrail")


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


values = st.sampled_from(WORDS)
string_operand = st.one_of(
    st.sampled_from(STRING_FIELDS),
    st.builds(lambda t, f: f"{t}({f})", st.sampled_from(["tolower", "toupper", "basename"]),
              st.sampled_from(STRING_FIELDS)),
    st.builds(lambda a, b: f"concat({a}, {b})", st.sampled_from(STRING_FIELDS),
              st.sampled_from(['"-"', "ct.name", '"x"'])),
    st.just('join(",", ec2.imageids)'))


@st.composite
def checks(draw):
    kind = draw(st.sampled_from(["string", "number", "list", "set", "modifier", "computed",
                                 "exists", "pmatch", "b64"]))
    if kind == "string":
        op = draw(st.sampled_from(STRING_OPS))
        return f"{draw(string_operand)} {op} {quoted(draw(values))}"
    if kind == "number":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"{draw(st.sampled_from(NUMBER_FIELDS))} {op} {draw(st.integers(-2, 40))}"
    if kind == "list":
        op = draw(st.sampled_from(["in", "intersects"]))
        items = draw(st.lists(st.sampled_from(["ami-1", "ami-2", "x"]), max_size=3))
        field = draw(st.sampled_from(["ec2.imageids", "tolower(ec2.imageids)"]))
        return f"{field} {op} ({', '.join(items)})"
    if kind == "set":
        items = draw(st.lists(values, max_size=4))
        op = draw(st.sampled_from(["in", "intersects"]))
        return f"{draw(string_operand)} {op} ({', '.join(quoted(i) for i in items)})"
    if kind == "modifier":
        op = draw(st.sampled_from(["=", "!=", "contains", "startswith", "endswith", "glob"]))
        items = draw(st.lists(values, max_size=3))
        mod = draw(st.sampled_from(MODIFIERS))
        return f"{draw(string_operand)} {op} {mod} ({', '.join(quoted(i) for i in items)})"
    if kind == "computed":
        op = draw(st.sampled_from(["=", "!=", "<", "contains", "icontains", "startswith",
                                   "endswith", "in"]))
        right = draw(st.sampled_from(["val(ct.user)", "val(ct.name)", "toupper(ct.user)",
                                      "tolower(ct.region)"]))
        return f"{draw(st.sampled_from(STRING_FIELDS))} {op} {right}"
    if kind == "pmatch":
        items = draw(st.lists(st.sampled_from(["/var/run", "/a", "a/*", "/"]), max_size=3))
        return f"{draw(string_operand)} pmatch ({', '.join(items)})"
    if kind == "b64":
        op = draw(st.sampled_from(["=", "bcontains", "bstartswith", "exists"]))
        text = "" if op == "exists" else " " + draw(st.sampled_from(["00", "41", "414243", "zz"]))
        return f"b64(ct.user) {op}{text}"
    field = draw(st.sampled_from(STRING_FIELDS + ["ec2.imageids", "s3.bytes"]))
    return f"{field} exists"


@st.composite
def conditions(draw, depth=2):
    if depth == 0 or draw(st.booleans()):
        text = draw(checks())
    else:
        kids = draw(st.lists(conditions(depth - 1), min_size=2, max_size=3))
        text = "(" + f" {draw(st.sampled_from(['and', 'or']))} ".join(kids) + ")"
    return f"not {text}" if draw(st.integers(0, 4)) == 0 else text


maybe = st.one_of(st.none(), values)
records = st.fixed_dictionaries({}, optional={
    "eventName": maybe, "errorCode": maybe, "awsRegion": maybe, "sourceIPAddress": maybe,
    "eventSource": st.sampled_from(["iam.amazonaws.com", "s3.amazonaws.com", "x"]),
    "userIdentity": st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["Root", "IAMUser", "AssumedRole"]), "userName": maybe,
        "arn": maybe}),
    "requestParameters": st.fixed_dictionaries({}, optional={
        "userName": maybe, "bucketName": maybe}),
    "responseElements": st.fixed_dictionaries({}, optional={
        "ConsoleLogin": maybe, "instancesSet": st.just({"items": [{"imageId": "ami-1"}]})}),
    "additionalEventData": st.fixed_dictionaries({}, optional={
        "bytesTransferredIn": st.integers(0, 50), "bytesTransferredOut": st.integers(0, 9)}),
    "a": st.one_of(values, st.integers(), st.booleans(), st.none(), st.lists(values)),
})
payloads = st.one_of(records.map(lambda r: json.dumps(r).encode()),
                     st.sampled_from([b"", b"not json", b"null", b"[1]", b'{"eventName":']))


def python_and_core(fieldset, text):
    """The Python function and the core's rules of condition ``text`` (or a rejection)."""
    try:
        tree = parse_condition(text)
        fn, _ = Compiler(fieldset).build(tree)
    except (LexError, CompileError):
        assume(False)
    table = FieldTable(fieldset)
    try:
        plain = condition(tree, table)
    except Unsupported:
        assume(False)
    return fn, one_rule(core_or_skip(), table, plain)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(text=conditions(), payload=payloads, num=st.integers(1, 30))
def test_conditions_evaluate_as_in_python(fieldset, text, payload, num):
    fn, rules = python_and_core(fieldset, text)
    ev = Event.plugin(1_700_000_000_000_000_000 + num, 2, payload, num=num)
    got = rules.match_event(ev.raw, ev.num)
    assert got is not False, "the core handed a core rule back"
    assert bool(got) == bool(fn(ev)), text


OUTPUT_TOKENS = ["%ct.user", "%ct.name", "%20ct.region", "%3ct.user", "%evt.num",
                 "%evt.rawtime.ns", "%ec2.imageids", "%json.value[/a]", "%toupper(ct.user)",
                 "%len(ct.name)", "%evt.time.iso8601", "%ct.error", "%s3.bytes",
                 "%json.value[/userIdentity]", "%concat(ct.name, ct.user)"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokens=st.lists(st.sampled_from(OUTPUT_TOKENS + [" (", ", x=", "é"]), max_size=6),
       payload=payloads)
def test_outputs_render_as_in_python(fieldset, tokens, payload):
    text = "".join(tokens)
    try:
        fmt = OutputFormat(text, fieldset)
    except OutputError:
        assume(False)
    table = FieldTable(fieldset)
    rules = one_rule(core_or_skip(), table, ["true"], output(fmt, table))
    ev = Event.plugin(1_700_000_000_123_456_789, 2, payload, num=7)
    [(number, message, pairs)] = rules.match_event(ev.raw, ev.num)
    want_message, want_fields = fmt.render(ev)
    assert message == want_message
    assert dict(pairs) == want_fields
    assert [type(v) for v in dict(pairs).values()] == [type(v) for v in want_fields.values()]


def test_rules_the_core_cannot_do_stay_in_python(fieldset):
    core = core_or_skip()
    table = FieldTable(fieldset)
    with pytest.raises(Unsupported):
        condition(parse_condition('ct.name regex "Con.*"'), table)
    with pytest.raises(Unsupported):
        condition(parse_condition("evt.reltime > 5"), table)
    rules = core.Rules(json.dumps({"source": "aws_cloudtrail", "fields": [["ct.nope", None]],
                                   "rules": [{"name": "r", "cond": ["check", ["field", 0, False],
                                                                    "exists", None, None],
                                              "output": []}],
                                   "default": [[0, False]], "groups": {}}))
    assert rules.python[0] is not None
    ev = Event.plugin(1, 2, b"{}", num=1)
    assert rules.match_event(ev.raw, 1) is False


def test_a_source_whose_index_field_is_not_in_the_core_stays_in_python(fieldset):
    """Without its index field the core cannot pick an event's rules: every rule of the
    source runs on the Python path (and the engine keeps the Python matcher)."""
    from scaptools.engine.engine import Groups
    from scaptools.engine.native import source_plan
    core = core_or_skip()
    rule = type("R", (), {"name": "r", "tree": parse_condition("ct.name = X"), "priority_name":
                          "Critical", "tags": (), "source": "aws_cloudtrail",
                          "index_values": frozenset({"X"}), "output": OutputFormat("x", fieldset)})
    plan, reasons = source_plan("aws_cloudtrail", [rule], Groups("evt.reltime", {}, ()),
                                fieldset, True, "h")
    assert reasons[0].startswith("index field:")
    assert core.Rules(plan).python == reasons
