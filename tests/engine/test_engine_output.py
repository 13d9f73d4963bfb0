"""Outputs and alert formats (docs/rules-language.md §8-§10) and engine options (§7)."""
from __future__ import annotations

import json
import time

import pytest

from scaptools.engine import Engine, format_json, format_text, load_rules
from scaptools.engine.output import Alert, Clock, OutputError, OutputFormat
from scaptools.errors import RuleError

REC = {"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser", "userName": "alice"},
       "sourceIPAddress": "1.2.3.4", "awsRegion": "us-east-1",
       "responseElements": {"ConsoleLogin": "Success",
                            "instancesSet": {"items": [{"imageId": "ami-1"},
                                                       {"imageId": "ami-2"}]}},
       "additionalEventData": {"MFAUsed": "No", "bytesTransferredIn": 12}}


pytestmark = pytest.mark.usefixtures("utc")  # sysdig output was made with TZ=UTC


RENDER = [
    ("user=%ct.user,ip=%ct.srcip", "user=alice,ip=1.2.3.4"),
    ("%ct.username", "alicename"),  # longest valid field prefix
    ("(%json.value[/responseElements/ConsoleLogin])", "(Success)"),
    ("%ct.error|", "<NA>|"),
    ("[%8ct.user]", "[alice   ]"), ("[%3ct.user]", "[ali]"),
    ("%toupper(ct.user)!", "ALICE!"),
    ("%ec2.imageids %ec2.imageids[1] %ec2.imageid", "(ami-1,ami-2) (ami-2) ami-1"),  # §7.5
    ("%ct.info", "alice via 1.2.3.4 \u2190 ConsoleLogin Size=12"),  # §7.4
    ("%s3.bytes.in B", "12 B"),
    ("%evt.is_async", "false"),
    ("*%ct.error", "<NA>"),
    ("no fields", "no fields"),
]


@pytest.mark.parametrize("fmt,text", RENDER)
def test_output_rendering(fmt, text, ct_fieldset, ct_event):
    assert OutputFormat(fmt, ct_fieldset).render(ct_event(REC))[0] == text


def test_output_fields_typed_and_transformer_inner_fields(ct_fieldset, ct_event):
    fmt = OutputFormat("%toupper(ct.user) %ct.error %ec2.imageids %s3.bytes.in", ct_fieldset)
    _, fields = fmt.render(ct_event(REC))
    assert fields == {"ct.user": "alice", "ct.error": None, "ec2.imageids": ["ami-1", "ami-2"],
                      "s3.bytes.in": 12}


@pytest.mark.parametrize("fmt,message", [
    ("100%", "invalid formatting syntax: formatting cannot end with a %"),
    ("%12", "invalid formatting syntax: formatting cannot end with a number"),
    ("%(ct.user)", "unknown filter: (ct.user)"),
    ("%toupper (ct.user)", "unknown filter: toupper (ct.user)"),
    ("%nope.field", "unknown filter: nope.field"),
])
def test_output_errors(fmt, message, ct_fieldset):
    with pytest.raises(OutputError, match=None) as info:
        OutputFormat(fmt, ct_fieldset)
    assert str(info.value) == message


SPEC_ALERT = Alert("Console Login Without MFA", "Critical", 1632360600 * 10**9,
                   "Detected a console login without MFA (requesting user=alice, requesting "
                   "IP=1.2.3.4, AWS region=us-east-1)",
                   {"ct.user": "alice", "ct.srcip": "1.2.3.4", "ct.region": "us-east-1"},
                   "aws_cloudtrail", ["cloud", "aws", "aws_console", "aws_iam"], "host1")


def test_text_and_json_alert_exactly_as_spec():
    assert format_text(SPEC_ALERT) == (
        "01:30:00.000000000: Critical Detected a console login without MFA (requesting "
        "user=alice, requesting IP=1.2.3.4, AWS region=us-east-1)")
    assert format_json(SPEC_ALERT) == (
        '{"hostname":"host1","output":"01:30:00.000000000: Critical Detected a console login '
        'without MFA (requesting user=alice, requesting IP=1.2.3.4, AWS region=us-east-1)",'
        '"output_fields":{"ct.region":"us-east-1","ct.srcip":"1.2.3.4","ct.user":"alice",'
        '"evt.time":1632360600000000000},"priority":"Critical","rule":"Console Login Without '
        'MFA","source":"aws_cloudtrail","tags":["aws","aws_console","aws_iam","cloud"],'
        '"time":"2021-09-23T01:30:00.000000000Z"}')


def test_iso8601_and_json_options():
    assert format_text(SPEC_ALERT, iso8601=True).startswith(
        "2021-09-23T01:30:00.000000000+0000: Critical ")
    obj = json.loads(format_json(SPEC_ALERT, include_output=False, include_tags=False,
                                 iso8601=True, include_message=True))
    assert sorted(obj) == ["hostname", "message", "output_fields", "priority", "rule", "source",
                           "time"]
    assert obj["output_fields"]["evt.time.iso8601"] == 1632360600000000000
    assert obj["message"] == SPEC_ALERT.output


def test_text_line_escaping():
    alert = Alert("R", "Notice", 5, 'q"b\\s\tt\x01\nü', {}, "s", [], "h")
    assert format_text(alert) == '00:00:00.000000005: Notice q\\"b\\\\s\\tt\\u0001\\nü'


def test_json_time_string_fields_are_integers():
    alert = Alert("R", "Notice", 7, "m", {"evt.time": "00:00:00.000000007", "evt.datetime": "x",
                                          "ct.user": None}, "s", ["b", "a", "a"], "h")
    obj = json.loads(format_json(alert))
    assert obj["output_fields"] == {"evt.time": 7, "evt.datetime": 7, "ct.user": None}
    assert obj["tags"] == ["a", "b"]


RULES = """
- rule: First
  desc: d
  condition: ct.name = ConsoleLogin
  output: first %ct.user
  priority: CRITICAL
  source: aws_cloudtrail
  tags: [a, login]
- rule: Broad
  desc: d
  condition: ct.region exists
  output: broad
  priority: INFO
  source: aws_cloudtrail
  tags: [b]
- rule: Later
  desc: d
  condition: ct.name in (ConsoleLogin, X)
  output: later
  priority: WARNING
  source: aws_cloudtrail
  tags: [login]
- rule: Off
  desc: d
  condition: ct.name = ConsoleLogin
  output: off
  priority: DEBUG
  source: aws_cloudtrail
  enabled: false
  tags: [off]
"""


@pytest.mark.parametrize("options,expected", [
    ({}, ["First"]),
    ({"rule_matching": "all"}, ["First", "Broad", "Later"]),
    ({"rule_matching": "all", "min_priority": "warning"}, ["First", "Later"]),
    ({"rule_matching": "all", "disabled": ["ir"]}, ["Broad", "Later"]),
    ({"rule_matching": "all", "skip_tags": ["login"]}, ["Broad"]),
    ({"rule_matching": "all", "tags": ["login", "off"]}, ["First", "Later", "Off"]),
    ({"min_priority": "ERROR", "rule_matching": "all"}, ["First"]),
])
def test_engine_options(options, expected, ct_fieldsets, ct_event):
    res = load_rules([("r.yaml", RULES)], ct_fieldsets)
    assert res.ok
    engine = Engine(res.ruleset, hostname="h", **options)
    alerts = engine.process(ct_event(REC), "aws_cloudtrail")
    assert [a.rule for a in alerts] == expected


def test_events_of_other_sources_and_unindexed_names(ct_fieldsets, ct_event):
    res = load_rules([("r.yaml", RULES)], ct_fieldsets)
    eng = Engine(res.ruleset, rule_matching="all")
    assert eng.process(ct_event(REC), "syscall") == []
    other = dict(REC, eventName="Nothing")
    assert [a.rule for a in eng.process(ct_event(other), "aws_cloudtrail")] == ["Broad"]
    later = eng.process(ct_event({"eventName": "X"}), "aws_cloudtrail")
    assert [a.rule for a in later] == ["Later"]


def test_alert_object(ct_fieldsets, ct_event):
    res = load_rules([("r.yaml", RULES)], ct_fieldsets)
    alert = Engine(res.ruleset, hostname="h").process(ct_event(REC, ts=10**9 + 5),
                                                      "aws_cloudtrail")[0]
    assert (alert.rule, alert.priority, alert.ts, alert.output, alert.output_fields, alert.source,
            alert.tags, alert.hostname) == ("First", "Critical", 10**9 + 5, "first alice",
                                            {"ct.user": "alice"}, "aws_cloudtrail",
                                            ["a", "login"], "h")
    assert format_text(alert) == "00:00:01.000000005: Critical first alice"


def test_bad_engine_options(ct_fieldsets):
    res = load_rules([("r.yaml", RULES)], ct_fieldsets)
    with pytest.raises(RuleError):
        Engine(res.ruleset, rule_matching="some")
    with pytest.raises(RuleError):
        Engine(res.ruleset, min_priority="loud")
    with pytest.raises(RuleError, match=r"You can not specify both disabled \(-D/-T\) and "
                                        r"enabled \(-t\) rules"):
        Engine(res.ruleset, tags=["a"], disabled=["x"])


def test_empty_list_field_is_missing(ct_fieldset, ct_event):
    """§6.1: a list field with zero elements has no value: <NA> in text, null in JSON."""
    fmt = OutputFormat("ids=%ec2.imageids", ct_fieldset)
    text, fields = fmt.render(ct_event({"responseElements": {"instancesSet": {"items": []}}}))
    assert text == "ids=<NA>"
    alert = Alert("R", "Notice", 0, text, fields, "s", [], "h")
    assert json.loads(format_json(alert))["output_fields"]["ec2.imageids"] is None


def test_pad9_tag_pads_numbers_in_text(ct_event):
    from scaptools.fields.base import FieldInfo, FieldSet
    fs = FieldSet("s")
    fs.add(FieldInfo("evt.rawtime.ns", "abstime", tags=("pad9",)), lambda a: lambda ev: 5)
    fs.add(FieldInfo("evt.num", "uint64"), lambda a: lambda ev: 5)
    text, fields = OutputFormat("%evt.rawtime.ns %evt.num", fs).render(ct_event({}))
    assert (text, fields) == ("000000005 5", {"evt.rawtime.ns": 5, "evt.num": 5})


@pytest.mark.parametrize("now,expected", [
    (1625140800, "14:00:00"),  # formatted on 2021-07-01T12:00:00Z: summer time, UTC+2
    (1610712000, "13:00:00"),  # formatted on 2021-01-15T12:00:00Z: winter time, UTC+1
])
def test_local_time_uses_the_current_utc_offset(monkeypatch, now, expected):
    """§10: the offset in effect when formatting applies, even to a date with another one.
    The wall clock is pinned, so the expectation does not depend on the day the test runs."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    clock = Clock(wall=lambda: now)
    winter = 1609502400 * 10**9  # 2021-01-01T12:00:00Z
    alert = Alert("R", "Notice", winter, "m", {}, "s", [], "h")
    assert format_text(alert, clock=clock).startswith(f"{expected}.000000000: ")


def test_clocks_keep_their_own_state(monkeypatch):
    """Two clocks used in turn (two runs in one process) do not share what they keep, and a
    clock notices a change of zone (time.tzset) within the same wall-clock second."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        summer, winter = Clock(wall=lambda: 1625140800), Clock(wall=lambda: 1610712000)
        noon = 1609502400 * 10**9  # 2021-01-01T12:00:00Z
        for _ in range(2):
            assert summer.local(noon) == "14:00:00.000000000"
            assert winter.local(noon) == "13:00:00.000000000"
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        assert summer.local(noon) == "12:00:00.000000000"
    finally:
        monkeypatch.undo()
        time.tzset()
