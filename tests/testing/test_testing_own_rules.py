"""The 30 rules of our own (after "Additional detections" in rules/aws_cloudtrail_rules.yaml)
against an independent reading of their conditions.

``OWN_RULES`` below holds one plain-Python predicate per rule, written from its
condition with Falco's field semantics (docs/cloudtrail-plugin.md §7, docs/rules-language.md
§6.1: a check on a missing field is false). They run over the parsed records of
``captures/logs/*.json``; ``scap replay`` of the matching ``captures/*.scap`` with
``rule_matching=all`` must give exactly the same (rule, eventID) alerts, and so must
the golden ``captures/*.alerts.jsonl`` files that ``scap test --update`` wrote.
"""
from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from scaptools.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules" / "aws_cloudtrail_rules.yaml"
ABSENT = object()
ADMIN_ARNS = ("arn:aws:iam::aws:policy/AdministratorAccess",
              "arn:aws:iam::aws:policy/IAMFullAccess")


def member(rec, pointer: str):
    """The JSON member at ``/a/b/0`` (a numeric segment indexes an array), or ABSENT."""
    for part in pointer.strip("/").split("/"):
        if isinstance(rec, dict) and part in rec:
            rec = rec[part]
        elif isinstance(rec, list) and part.isdigit() and int(part) < len(rec):
            rec = rec[int(part)]
        else:
            return ABSENT
    return rec


def jv(rec, pointer: str):
    """``json.value[pointer]``: a string's content, the compact JSON text of anything else."""
    value = member(rec, pointer)
    if value is ABSENT or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ct(rec, pointer: str):
    """A plain ``ct.*`` string field (§7.1): the string, ``""`` for other JSON types."""
    value = member(rec, pointer)
    return value if value is ABSENT or isinstance(value, str) else ""


def ct_user(rec):
    """``ct.user`` (§7.3)."""
    kind = member(rec, "/userIdentity/type")
    if kind in ("Root", "IAMUser"):
        return ct(rec, "/userIdentity/userName")
    if kind == "AWSService":
        return ct(rec, "/userIdentity/invokedBy")
    if kind == "AssumedRole":
        issuer = ct(rec, "/userIdentity/sessionContext/sessionIssuer/userName")
        return "AssumedRole" if issuer is ABSENT else issuer
    return kind if kind in ("AWSAccount", "FederatedUser") else ABSENT


def request_text(rec) -> str:
    """``ct.request``: the compact JSON text of requestParameters ("" when absent: no match)."""
    value = member(rec, "/requestParameters")
    return "" if value is ABSENT else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def named(*names):
    return lambda rec: ct(rec, "/eventName") in names


def ok(rec) -> bool:  # macro ct_succeeded: not ct.error exists
    return member(rec, "/errorCode") is ABSENT


def source(service: str):
    return lambda rec: ct(rec, "/eventSource") == f"{service}.amazonaws.com"


def both(*tests):
    return lambda rec: all(t(rec) for t in tests)


def other_user(rec) -> bool:
    """``ct.request.username != val(ct.user)``: false when either side is missing."""
    target, caller = ct(rec, "/requestParameters/userName"), ct_user(rec)
    return target is not ABSENT and caller is not ABSENT and target != caller


OWN_RULES = {
    "Console Login Failure": both(named("ConsoleLogin"),
                                  lambda r: jv(r, "/responseElements/ConsoleLogin") == "Failure"),
    "Access Key Created for Another User": both(named("CreateAccessKey"), ok, other_user),
    "Login Profile Created for User": both(named("CreateLoginProfile"), ok),
    "Admin Policy Attached": both(
        named("AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy"), ok,
        lambda r: jv(r, "/requestParameters/policyArn") in ADMIN_ARNS),
    "IAM Policy Version Set as Default": both(
        named("CreatePolicyVersion"), ok,
        lambda r: jv(r, "/requestParameters/setAsDefault") == "true"),
    "IAM Role Trust Policy Updated": both(named("UpdateAssumeRolePolicy"), ok),
    "Account Password Policy Deleted": both(named("DeleteAccountPasswordPolicy"), ok),
    "Security Group Opened to the World": both(
        named("AuthorizeSecurityGroupIngress"), ok,
        lambda r: "0.0.0.0/0" in request_text(r) or "::/0" in request_text(r)),
    "Network ACL Opened to the World": both(
        named("CreateNetworkAclEntry", "ReplaceNetworkAclEntry"), ok,
        lambda r: jv(r, "/requestParameters/cidrBlock") == "0.0.0.0/0",
        lambda r: jv(r, "/requestParameters/ruleAction") == "allow",
        lambda r: jv(r, "/requestParameters/egress") == "false"),
    "EBS Snapshot Shared": both(
        named("ModifySnapshotAttribute"), ok,
        lambda r: member(r, "/requestParameters/createVolumePermission/add") is not ABSENT),
    "RDS Snapshot Shared": both(
        named("ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"), ok,
        lambda r: jv(r, "/requestParameters/attributeName") == "restore",
        lambda r: member(r, "/requestParameters/valuesToAdd") is not ABSENT),
    "AMI Made Public": both(
        named("ModifyImageAttribute"), ok,
        lambda r: jv(r, "/requestParameters/launchPermission/add/items/0/group") == "all"),
    "Bucket Public Access Block Removed": both(named("DeleteBucketPublicAccessBlock"), ok),
    "Object ACL Made Public": both(
        named("PutObjectAcl"), ok,
        lambda r: "acs.amazonaws.com/groups/global/All" in request_text(r)),
    "S3 Bucket Deleted": both(named("DeleteBucket"), ok),
    "CloudTrail Trail Deleted": both(named("DeleteTrail"), ok),
    "CloudTrail Event Selectors Changed": both(named("PutEventSelectors", "UpdateTrail"),
                                               source("cloudtrail"), ok),
    "GuardDuty Detector Deleted": both(named("DeleteDetector"), source("guardduty"), ok),
    "GuardDuty Detector Disabled": both(named("UpdateDetector"), ok,
                                        lambda r: jv(r, "/requestParameters/enable") == "false"),
    "Config Recorder Stopped or Deleted": both(
        named("StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"),
        ok),
    "VPC Flow Logs Deleted": both(named("DeleteFlowLogs"), ok),
    "CloudWatch Log Group Deleted": both(named("DeleteLogGroup"), source("logs"), ok),
    "KMS Key Scheduled for Deletion": both(named("ScheduleKeyDeletion"), ok),
    "KMS Key Disabled": both(named("DisableKey"), source("kms"), ok),
    "Secret Deleted": both(named("DeleteSecret"), source("secretsmanager"), ok),
    "Lambda Function Made Public": both(
        lambda r: isinstance(member(r, "/eventName"), str)
        and r["eventName"].startswith("AddPermission20150331"), ok,
        lambda r: jv(r, "/requestParameters/principal") == "*"),
    "SSM Command Sent to Instances": both(named("SendCommand"), source("ssm"), ok),
    "Account Left Organization": both(named("LeaveOrganization"), ok),
    "Access Denied API Calls": lambda r: ct(r, "/errorCode") in (
        "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
        "Client.UnauthorizedOperation"),
    "Root Account API Call": both(lambda r: ct(r, "/userIdentity/type") == "Root",
                                  lambda r: ct(r, "/eventType") == "AwsApiCall", ok),
}
LOGS = sorted(p.stem for p in (ROOT / "captures" / "logs").glob("*.json"))


def records(log: str) -> list[dict]:
    return json.loads((ROOT / "captures" / "logs" / f"{log}.json").read_text())["Records"]


def alert_time(rec: dict) -> str:
    """The JSON alert ``time`` of the record's event (its eventTime, in UTC)."""
    when = datetime.fromisoformat(rec["eventTime"].replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{when.microsecond * 1000:09d}Z"


def by_time(log: str) -> dict[str, str]:
    ids = {alert_time(rec): rec["eventID"] for rec in records(log)}
    assert len(ids) == len(records(log))  # one record per second: times name records
    return ids


def predicted(log: str) -> set[tuple[str, str]]:
    return {(rule, rec["eventID"]) for rec in records(log)
            for rule, test in OWN_RULES.items() if test(rec)}


def test_every_own_rule_has_a_predicate_and_fires_somewhere():
    items = yaml.safe_load(RULES.read_text())
    names = [i["rule"] for i in items if isinstance(i, dict) and "rule" in i]
    upstream = UPSTREAM.RULE_ORDER
    assert names[:len(upstream)] == upstream
    assert names[len(upstream):] == list(OWN_RULES)  # in file order, all 30
    assert len(OWN_RULES) == 30
    fired = {rule for log in LOGS for rule, _ in predicted(log)}
    assert fired == set(OWN_RULES)


@pytest.mark.parametrize("log", LOGS)
def test_replay_alerts_equal_the_predicates(log):
    res = CliRunner().invoke(cli, ["replay", str(ROOT / "captures" / f"{log}.scap"), "-r",
                                   str(RULES), "-o", "rule_matching=all", "--json"])
    assert res.exit_code == 0, res.output
    ids = by_time(log)
    alerts = [json.loads(line) for line in res.stdout.splitlines()]
    got = [(a["rule"], ids[a["time"]]) for a in alerts if a["rule"] in OWN_RULES]
    assert len(got) == len(set(got))
    assert set(got) == predicted(log)


def _upstream_module():
    spec = importlib.util.spec_from_file_location(
        "replay_conftest", ROOT / "tests" / "replay" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPSTREAM = _upstream_module()  # upstream_rules_for: the same kind of reading, upstream rules
def cloudtrail_golden(path: Path) -> bool:
    spec = yaml.safe_load(path.read_text())
    return "alerts" in spec.get("expect", {}) and \
        spec["rules"][0] == "../rules/aws_cloudtrail_rules.yaml"


SPECS = sorted(p for p in (ROOT / "captures").glob("*.scaptest.yaml") if cloudtrail_golden(p))


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_golden_alerts_equal_the_predicates(path):
    spec = yaml.safe_load(path.read_text())
    log = Path(spec["capture"]).stem
    golden = [json.loads(line) for line in
              (path.parent / spec["expect"]["alerts"]).read_text().splitlines()]
    ids = by_time(log)
    got = {(a["rule"], ids[a["time"]]) for a in golden if a["rule"] in OWN_RULES}
    if spec.get("options", {}).get("rule_matching") == "all":
        assert got == predicted(log)
        return
    # Falco's default: the first matching rule only; upstream rules come first in the file
    assert len(spec["rules"]) == 1  # no overlay enabling other rules
    want = set()
    for rec in records(log):
        if [r for r in UPSTREAM.upstream_rules_for(rec) if r not in UPSTREAM.DISABLED]:
            continue
        first = next((rule for rule, test in OWN_RULES.items() if test(rec)), None)
        if first is not None:
            want.add((first, rec["eventID"]))
    assert got == want
