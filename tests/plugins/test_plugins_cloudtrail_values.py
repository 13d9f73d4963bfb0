"""Every cloudtrail field on the records the repository ships, against values written by hand.

The expected values below were read off the records and the field definitions of
docs/cloudtrail-plugin.md §7.2-7.5, never computed by the plugin's own tables. Records
are named by the first characters of their ``eventID`` in ``captures/logs/*.json``
and read as plugin events from ``captures/*.scap``; the names in ``EDITS`` are
copies of shipped records with members added or changed, for the members those
logs never carry (``tlsDetails``, ``addendum``, odd JSON types...).
"""
from __future__ import annotations

import orjson
import pytest

from scaptools.events.event import Event
from scaptools.plugin.registry import Registry

DROP = object()  # an EDITS value: remove the member

ALICE = "65034412"  # example.json: alice (IAMUser) calls sts GetCallerIdentity, read-only
OBJECT_ACL = "a1b03752"  # s3.json: bob's PutObjectAcl on finance-reports/2024/q1.xlsx
ROLE = "97d5517f"  # compute.json: ecs CreateService by the assumed role deploy-pipeline
RUN = "3c8d5c32"  # compute.json: bob's RunInstances in eu-west-1

EDITS = {
    "extras": (ALICE, {
        "userIdentity.accountId": "444455556666",
        "apiVersion": "2011-06-15",
        "sharedEventID": "5b6e1f3c-2d4a-4c8b-9e7f-0a1b2c3d4e5f",
        "vpcEndpointId": "vpce-0123456789abcdef0",
        "sessionCredentialFromConsole": True,
        "edgeDeviceDetails": "snow-device-7",
        "serviceEventDetails": "key rotated",
        "addendum": {"reason": "DELIVERY_DELAY", "updatedFields": "sourceIPAddress",
                     "originalRequestID": "0d9c8b7a-1111-2222-3333-444455556666",
                     "originalEventID": "6f5e4d3c-7777-8888-9999-000011112222"},
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": "sts.us-east-1.amazonaws.com"},
        "resources": [{"accountId": "111122223333", "type": "AWS::IAM::User",
                       "ARN": "arn:aws:iam::111122223333:user/alice"},
                      {"type": "AWS::STS::Token", "ARN": "x"}],
    }),
    "odd_types": (ALICE, {
        "errorCode": None, "readOnly": "true", "managementEvent": 1,
        "sessionCredentialFromConsole": "true", "edgeDeviceDetails": {"deviceID": "d-1"},
        "serviceEventDetails": {"keyId": "k-1"}, "apiVersion": None,
        "tlsDetails": {"tlsVersion": 1.3}, "addendum": {"reason": False, "originalEventID": []},
        "resources": [], "eventSource": 7, "eventName": 5, "eventID": 9,
        "userIdentity.accountId": DROP, "recipientAccountId": "777788889999",
        "userIdentity.type": ["IAMUser"], "userIdentity.arn": None,
    }),
    "no_members": (ALICE, {
        "eventID": DROP, "eventTime": DROP, "eventSource": DROP, "eventName": DROP,
        "awsRegion": DROP, "userAgent": DROP, "requestID": DROP, "eventType": DROP,
        "readOnly": DROP, "managementEvent": DROP, "recipientAccountId": DROP,
        "eventCategory": DROP, "requestParameters": DROP, "responseElements": DROP,
        "userIdentity": DROP, "resources": {"ARN": "x"},
    }),
    "aws_service": (RUN, {
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "sourceIPAddress": "ec2.amazonaws.com", "errorCode": "Client.DryRunOperation",
    }),
    "role_no_issuer": (ROLE, {
        "userIdentity.sessionContext": DROP, "userIdentity.arn": DROP,
        "userIdentity.principalId": "AROADEPLOYPIPELINEYYY:release-99",
    }),
    "role_long_arn": (ROLE, {
        "userIdentity.arn": "arn:aws:sts::111122223333:assumed-role/deploy-pipeline/b/extra",
        "userIdentity.principalId": "AROADEPLOYPIPELINEYYY:from-principal",
    }),
    "role_nothing": (ROLE, {
        "userIdentity.arn": "arn:aws:sts::111122223333:assumed-role/deploy-pipeline",
        "userIdentity.principalId": "AROADEPLOYPIPELINEYYY",
    }),
    "account": (ALICE, {"userIdentity": {"type": "AWSAccount", "principalId": "AIDAEXTERNAL",
                                         "accountId": "444455556666"}}),
    "federated": (ALICE, {"userIdentity": {"type": "FederatedUser", "userName": "fed-bob",
                                           "principalId": "111122223333:fed-bob"}}),
    "identity_center": (ALICE, {"userIdentity": {"type": "IdentityCenterUser",
                                                 "userName": "sso-erin"}}),
    "root_named": (ALICE, {"userIdentity": {"type": "Root", "userName": "root-name"}}),
    "user_number": (ALICE, {"userIdentity.userName": 5}),
    "no_srcip": (ALICE, {"sourceIPAddress": DROP}),
    "no_name": (ALICE, {"eventName": DROP, "readOnly": DROP}),
    "same_ip": (ALICE, {"sourceIPAddress": "alice"}),
    "bare_suffix": (ALICE, {"eventSource": ".amazonaws.com"}),
    "short_suffix": (ALICE, {"eventSource": "x.amazonaws.com"}),
    "other_domain": (ALICE, {"eventSource": "example.com"}),
    "get_object": (OBJECT_ACL, {
        "eventName": "GetObject", "readOnly": True,
        "additionalEventData": {"bytesTransferredIn": 0, "bytesTransferredOut": 2048},
    }),
    "put_object": (OBJECT_ACL, {
        "eventName": "PutObject",
        "additionalEventData": {"bytesTransferredIn": 33.9, "bytesTransferredOut": "12"},
    }),
    "bytes_out_only": (OBJECT_ACL, {"additionalEventData": {"bytesTransferredOut": 7}}),
    "key_only": (OBJECT_ACL, {"requestParameters.bucketName": DROP,
                              "requestParameters.Host": DROP}),
    "number_key": (OBJECT_ACL, {"requestParameters.key": 5}),
    "ec2_tags": (RUN, {
        "requestParameters.tagSpecificationSet": {"items": [
            {"resourceType": "volume", "tags": [{"key": "Name", "value": "data-vol"}]},
            {"resourceType": "instance", "tags": [{"key": "team", "value": "payments"},
                                                  {"key": "Name", "value": "first-name"},
                                                  {"key": "Name", "value": "second"}]},
            {"resourceType": "instance", "tags": [{"key": "Name", "value": "web-1"}]}]},
        "responseElements.instancesSet": {"items": [
            {"instanceId": "i-1", "imageId": "ami-0aaa"}, {"instanceId": "i-2"},
            {"instanceId": "i-3", "imageId": "ami-0ccc"}, {"imageId": ""}]},
    }),
    "ec2_launch_spec": ("31aa269f", {"requestParameters.imageId": DROP,
                                     "requestParameters.launchSpecification":
                                         {"imageId": "ami-0launch"}}),
    "null_error": (ALICE, {"errorCode": None, "readOnly": "true"}),
    "request_misc": (ALICE, {"requestParameters": {
        "repositoryName": "payments", "imageTag": "v1.2.3", "policyName": "inline-s3",
        "roleName": "ci-role", "target": "i-0a1b2c3d4e5f60718", "reason": "maintenance",
        "documentName": "AWS-StartSSH"}}),
}


def edit(payload: bytes, changes: dict) -> bytes:
    rec = orjson.loads(payload)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = rec
        for key in parents:
            node = node[key]
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return orjson.dumps(rec)


@pytest.fixture(scope="module")
def records(shipped_payloads) -> dict[str, bytes]:
    """Record name (eventID prefix or EDITS name) -> payload."""
    by_prefix = {}
    for event_id, payload in shipped_payloads.items():
        assert event_id[:8] not in by_prefix
        by_prefix[event_id[:8]] = payload
    for name, (base, changes) in EDITS.items():
        by_prefix[name] = edit(by_prefix[base], changes)
    return by_prefix


@pytest.fixture(scope="module")
def fs():
    return Registry.from_entry_points().fieldset("aws_cloudtrail")


def extract(fs, name: str, payload: bytes, arg: str | None = None):
    return fs.extractor(name, arg)(Event.plugin(1_710_382_203_000_000_000, 2, payload, num=1))


# (field[arg], record, expected); None = the field has no value
VALUES = [
    ("ct.id", ALICE, "65034412-b442-501a-83b9-25d58493a94c"), ("ct.id", "odd_types", ""),
    ("ct.id", "no_members", None),
    ("ct.error", "f78726d2", "AccessDenied"), ("ct.error", "8c376a4c", None),
    ("ct.error", "odd_types", ""), ("ct.error", "aws_service", "Client.DryRunOperation"),
    ("ct.errormessage", "8c376a4c", "Failed authentication"),
    ("ct.errormessage", "f78726d2", "User: arn:aws:iam::111122223333:user/bob is not "
     "authorized to perform: iam:ListAttachedRolePolicies"),
    ("ct.errormessage", ALICE, None),
    ("ct.time", ALICE, "2024-03-14T02:10:03Z"), ("ct.time", "no_members", None),
    ("ct.src", ALICE, "sts.amazonaws.com"), ("ct.src", "odd_types", ""),
    ("ct.src", "no_members", None),
    ("ct.shortsrc", ALICE, "sts"), ("ct.shortsrc", "b0b1cd33", "s3"),
    ("ct.shortsrc", "bare_suffix", ".amazonaws.com"), ("ct.shortsrc", "short_suffix", "x"),
    ("ct.shortsrc", "other_domain", "example.com"), ("ct.shortsrc", "odd_types", ""),
    ("ct.shortsrc", "no_members", None),
    ("ct.name", ALICE, "GetCallerIdentity"), ("ct.name", "odd_types", ""),
    ("ct.name", "no_name", None),
    ("ct.user", ALICE, "alice"), ("ct.user", ROLE, "deploy-pipeline"),
    ("ct.user", "678479f2", "AdminSSO"), ("ct.user", "bce3882d", None),
    ("ct.user", "e5b3cc82", None), ("ct.user", "aws_service", "ec2.amazonaws.com"),
    ("ct.user", "role_no_issuer", "AssumedRole"), ("ct.user", "account", "AWSAccount"),
    ("ct.user", "federated", "FederatedUser"), ("ct.user", "identity_center", None),
    ("ct.user", "root_named", "root-name"), ("ct.user", "user_number", ""),
    ("ct.user", "odd_types", None), ("ct.user", "no_members", None),
    ("ct.originaluser", ALICE, "alice"), ("ct.originaluser", ROLE, "build-4711"),
    ("ct.originaluser", "678479f2", "carol@example.com"),
    ("ct.originaluser", "role_no_issuer", "release-99"),
    ("ct.originaluser", "role_long_arn", "from-principal"),
    ("ct.originaluser", "role_nothing", None), ("ct.originaluser", "bce3882d", None),
    ("ct.originaluser", "aws_service", None), ("ct.originaluser", "federated", "fed-bob"),
    ("ct.originaluser", "identity_center", "sso-erin"), ("ct.originaluser", "e5b3cc82", None),
    ("ct.originaluser", "odd_types", "alice"),
    ("ct.user.accountid", ALICE, "111122223333"), ("ct.user.accountid", "extras", "444455556666"),
    ("ct.user.accountid", "odd_types", "777788889999"),
    ("ct.user.accountid", "aws_service", "111122223333"), ("ct.user.accountid", "no_members", None),
    ("ct.user.identitytype", ALICE, "IAMUser"), ("ct.user.identitytype", ROLE, "AssumedRole"),
    ("ct.user.identitytype", "bce3882d", "Root"), ("ct.user.identitytype", "e5b3cc82", None),
    ("ct.user.identitytype", "odd_types", ""),
    ("ct.user.identitytype", "aws_service", "AWSService"),
    ("ct.user.principalid", ALICE, "AIDAALICEXXXXXXXXXXXX"),
    ("ct.user.principalid", "e5b3cc82", "UNKNOWN"), ("ct.user.principalid", "aws_service", None),
    ("ct.user.arn", ALICE, "arn:aws:iam::111122223333:user/alice"),
    ("ct.user.arn", ROLE, "arn:aws:sts::111122223333:assumed-role/deploy-pipeline/build-4711"),
    ("ct.user.arn", "e5b3cc82", None), ("ct.user.arn", "odd_types", ""),
    ("ct.region", ALICE, "us-east-1"), ("ct.region", "9212fee4", "eu-west-1"),
    ("ct.region", "no_members", None),
    ("ct.response.subnetid", "9212fee4", "subnet-0ee11ff22aa33bb44"),
    ("ct.response.subnetid", RUN, "subnet-0aa11bb22cc33dd44"),
    ("ct.response.subnetid", ALICE, None),
    ("ct.response.reservationid", "9212fee4", "r-0fedcba9876543210"),
    ("ct.response.reservationid", "cc723f0e", "r-0badc0ffee0ddf00d"),
    ("ct.response.reservationid", ALICE, None),
    ("ct.response", ALICE, "null"), ("ct.response", "no_members", None),
    ("ct.response", "b5445706", '{"group":{"path":"/","groupName":"auditors","groupId":'
     '"AGPAAUDITORSEXAMPLE","arn":"arn:aws:iam::111122223333:group/auditors",'
     '"createDate":"Mar 12, 2024 9:00:21 AM"}}'),
    ("ct.request.availabilityzone", "9212fee4", "eu-west-1a"),
    ("ct.request.availabilityzone", RUN, "eu-west-1b"),
    ("ct.request.availabilityzone", ALICE, None),
    ("ct.request.cluster", ROLE, "prod"), ("ct.request.cluster", "73643bce", "batch"),
    ("ct.request.cluster", ALICE, None),
    ("ct.request.functionname", "8e7fb38d", "thumbnailer"),
    ("ct.request.functionname", ALICE, None),
    ("ct.request.functionname", "ce3cbcbc", "thumbnailer"),  # no responseElements.functionName
    ("ct.request.groupname", "b5445706", "auditors"),
    ("ct.request.groupname", "56ffb044", "contractors"), ("ct.request.groupname", ALICE, None),
    ("ct.request.host", "2c9aff7d", "s3.amazonaws.com"),
    ("ct.request.host", "b0b1cd33", "old-website.s3.amazonaws.com"),
    ("ct.request.host", ALICE, None),
    ("ct.request.name", "4a23ed51", "shadow-trail"),
    ("ct.request.name", "a625fdf0", "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"),
    ("ct.request.name", ALICE, None),
    ("ct.request.policy", "aa1ef634", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
     '"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::finance-reports/*"}]}'),
    ("ct.request.policy", ALICE, None),
    ("ct.request.reason", "request_misc", "maintenance"), ("ct.request.reason", ALICE, None),
    ("ct.request.target", "request_misc", "i-0a1b2c3d4e5f60718"),
    ("ct.request.target", ALICE, None),
    ("ct.request.documentname", "15ff4b09", None),  # never extracted (upstream quirk)
    ("ct.request.documentname", "request_misc", None),
    ("ct.request.serialnumber", "9641345e",
     "arn:aws:iam::111122223333:mfa/root-account-mfa-device"),
    ("ct.request.serialnumber", ALICE, None),
    ("ct.request.servicename", ROLE, "payments-api"), ("ct.request.servicename", ALICE, None),
    ("ct.request.subnetid", RUN, "subnet-0aa11bb22cc33dd44"),
    ("ct.request.subnetid", "9212fee4", None),
    ("ct.request.taskdefinition", ROLE, "payments-api:42"),
    ("ct.request.taskdefinition", "8a79a0fc", "db-migrate:7"),
    ("ct.request.taskdefinition", ALICE, None),
    ("ct.request.username", "67e4c54e", "backup-admin"),
    ("ct.request.username", "9641345e", "AWS ROOT USER"), ("ct.request.username", ALICE, None),
    ("ct.request", ALICE, "null"), ("ct.request", "no_members", None),
    ("ct.request", ROLE, '{"cluster":"prod","serviceName":"payments-api",'
     '"taskDefinition":"payments-api:42","desiredCount":2,"launchType":"FARGATE"}'),
    ("ct.srcip", ALICE, "198.51.100.23"), ("ct.srcip", "bce3882d", "192.0.2.10"),
    ("ct.srcip", "no_srcip", None),
    ("ct.useragent", ALICE, "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22 "
     "prompt/off command/"),
    ("ct.useragent", "8c376a4c", "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 "
     "Firefox/123.0"),
    ("ct.useragent", "no_members", None),
    ("ct.info", ALICE, "alice via 198.51.100.23 \u2190 GetCallerIdentity"),
    ("ct.info", "8c376a4c", "dave via 203.0.113.200 \u2192 ConsoleLogin"),
    ("ct.info", "f78726d2", "bob via 203.0.113.77 !\u2190 ListAttachedRolePolicies"),
    ("ct.info", "null_error", "alice via 198.51.100.23 !\u2192 GetCallerIdentity"),
    ("ct.info", "2c9aff7d", "dave via 203.0.113.200 \u2190 ListBuckets Host=s3.amazonaws.com"),
    ("ct.info", OBJECT_ACL,
     "bob via 198.51.100.99 \u2192 PutObjectAcl URI=s3://finance-reports/2024/q1.xlsx"),
    ("ct.info", "b0b1cd33", "bob via 198.51.100.99 \u2192 DeleteBucket Bucket=old-website"),
    ("ct.info", "key_only", "bob via 198.51.100.99 \u2192 PutObjectAcl Key=2024/q1.xlsx"),
    ("ct.info", "number_key", "bob via 198.51.100.99 \u2192 PutObjectAcl Bucket=finance-reports"),
    ("ct.info", "51f11ff9", "bob via 198.51.100.99 \u2192 PutBucketPublicAccessBlock "
     "BlockPublicAcls=false BlockPublicPolicy=false IgnorePublicAcls=false "
     "RestrictPublicBuckets=false "),
    ("ct.info", ROLE, "deploy-pipeline via 203.0.113.5 \u2192 CreateService"),
    ("ct.info", "federated", "FederatedUser via 198.51.100.23 \u2190 GetCallerIdentity"),
    ("ct.info", "bce3882d", "<invalid cloudtrail event: userIdentity field missing>"),
    ("ct.info", "odd_types", "<invalid cloudtrail event: userIdentity field missing>"),
    ("ct.info", "aws_service", "ec2.amazonaws.com !\u2192 RunInstances"),
    ("ct.info", "no_srcip", "<invalid cloudtrail event: eventSource field missing>"),
    ("ct.info", "no_name", "<invalid cloudtrail event: eventName field missing>"),
    ("ct.info", "same_ip", "alice \u2190 GetCallerIdentity"),
    ("ct.info", "get_object", "bob via 198.51.100.99 \u2190 GetObject Size=2048 "
     "URI=s3://finance-reports/2024/q1.xlsx"),
    ("ct.info", "put_object", "bob via 198.51.100.99 \u2192 PutObject Size=33 "
     "URI=s3://finance-reports/2024/q1.xlsx"),
    ("ct.managementevent", ALICE, "true"), ("ct.managementevent", OBJECT_ACL, "false"),
    ("ct.managementevent", "odd_types", "false"), ("ct.managementevent", "no_members", None),
    ("ct.managementevent", "8c376a4c", "true"),  # readOnly false there
    ("ct.managementevent", "no_name", "true"),  # no readOnly there
    ("ct.readonly", ALICE, "true"), ("ct.readonly", "8c376a4c", "false"),
    ("ct.readonly", "odd_types", "false"), ("ct.readonly", "no_name", None),
    ("ct.requestid", ALICE, "169cdbf1-9444-5fc7-91e6-2109d442f932"),
    ("ct.requestid", "no_members", None),
    ("ct.eventtype", ALICE, "AwsApiCall"), ("ct.eventtype", "8c376a4c", "AwsConsoleSignIn"),
    ("ct.eventtype", "no_members", None),
    ("ct.apiversion", "extras", "2011-06-15"), ("ct.apiversion", "odd_types", ""),
    ("ct.apiversion", ALICE, None),
    ("ct.resources", "extras", '{"accountId":"111122223333","type":"AWS::IAM::User",'
     '"ARN":"arn:aws:iam::111122223333:user/alice"},{"type":"AWS::STS::Token","ARN":"x"}'),
    ("ct.resources", "odd_types", None), ("ct.resources", "no_members", None),
    ("ct.resources", ALICE, None),
    ("ct.recipientaccountid", ALICE, "111122223333"),
    ("ct.recipientaccountid", "extras", "111122223333"),
    ("ct.recipientaccountid", "odd_types", "777788889999"),
    ("ct.recipientaccountid", "no_members", None),
    ("ct.serviceeventdetails", "extras", "key rotated"),
    ("ct.serviceeventdetails", "odd_types", ""),
    ("ct.serviceeventdetails", ALICE, None),
    ("ct.sharedeventid", "extras", "5b6e1f3c-2d4a-4c8b-9e7f-0a1b2c3d4e5f"),
    ("ct.sharedeventid", ALICE, None),
    ("ct.vpcendpointid", "extras", "vpce-0123456789abcdef0"), ("ct.vpcendpointid", ALICE, None),
    ("ct.eventcategory", ALICE, "Management"), ("ct.eventcategory", OBJECT_ACL, "Data"),
    ("ct.eventcategory", "no_members", None),
    ("ct.addendum.reason", "extras", "DELIVERY_DELAY"), ("ct.addendum.reason", "odd_types", ""),
    ("ct.addendum.reason", ALICE, None),
    ("ct.addendum.updatedfields", "extras", "sourceIPAddress"),
    ("ct.addendum.updatedfields", "odd_types", None),
    ("ct.addendum.originalrequestid", "extras", "0d9c8b7a-1111-2222-3333-444455556666"),
    ("ct.addendum.originalrequestid", "odd_types", None),
    ("ct.addendum.originaleventid", "extras", "6f5e4d3c-7777-8888-9999-000011112222"),
    ("ct.addendum.originaleventid", "odd_types", ""), ("ct.addendum.originaleventid", ALICE, None),
    ("ct.sessioncredentialfromconsole", "extras", "true"),
    ("ct.sessioncredentialfromconsole", "odd_types", "false"),  # the string "true" (quirk)
    ("ct.sessioncredentialfromconsole", ALICE, None),
    ("ct.edgedevicedetails", "extras", "snow-device-7"), ("ct.edgedevicedetails", "odd_types", ""),
    ("ct.edgedevicedetails", ALICE, None),
    ("ct.tlsdetails.tlsversion", "extras", "TLSv1.3"),
    ("ct.tlsdetails.tlsversion", "odd_types", ""),
    ("ct.tlsdetails.tlsversion", ALICE, None),
    ("ct.tlsdetails.ciphersuite", "extras", "TLS_AES_128_GCM_SHA256"),
    ("ct.tlsdetails.ciphersuite", "odd_types", None),
    ("ct.tlsdetails.clientprovidedhostheader", "extras", "sts.us-east-1.amazonaws.com"),
    ("ct.tlsdetails.clientprovidedhostheader", "odd_types", None),
    ("ct.additionaleventdata", "8c376a4c", '{"LoginTo":"https://console.aws.amazon.com/console/'
     'home","MobileVersion":"No","MFAUsed":"No"}'),
    ("ct.additionaleventdata", "get_object", '{"bytesTransferredIn":0,"bytesTransferredOut":2048}'),
    ("ct.additionaleventdata", ALICE, None),
    ("s3.uri", OBJECT_ACL, "s3://finance-reports/2024/q1.xlsx"), ("s3.uri", "b0b1cd33", None),
    ("s3.uri", "number_key", None),
    ("s3.bucket", OBJECT_ACL, "finance-reports"), ("s3.bucket", "b0b1cd33", "old-website"),
    ("s3.bucket", ALICE, None),
    ("s3.key", OBJECT_ACL, "2024/q1.xlsx"),
    ("s3.key", "number_key", ""), ("s3.key", "b0b1cd33", None),
    ("s3.bytes", "get_object", 2048), ("s3.bytes", "put_object", 33),
    ("s3.bytes", "bytes_out_only", 7), ("s3.bytes", OBJECT_ACL, None),
    ("s3.bytes.in", "get_object", 0), ("s3.bytes.in", "put_object", 33),
    ("s3.bytes.in", "bytes_out_only", None),
    ("s3.bytes.out", "get_object", 2048), ("s3.bytes.out", "put_object", 0),
    ("s3.bytes.out", "bytes_out_only", 7), ("s3.bytes.out", OBJECT_ACL, None),
    ("s3.cnt.get", "get_object", 1),
    ("s3.cnt.get", "put_object", None), ("s3.cnt.get", ALICE, None),
    ("s3.cnt.put", "put_object", 1), ("s3.cnt.put", "get_object", None),
    ("s3.cnt.other", ALICE, 1), ("s3.cnt.other", "odd_types", 1), ("s3.cnt.other", "no_members", 1),
    ("s3.cnt.other", "get_object", None), ("s3.cnt.other", "put_object", None),
    ("ec2.name", "ec2_tags", "web-1"), ("ec2.name", RUN, None),
    ("ec2.imageids", RUN, ["ami-0abcdef1234567890"]),
    ("ec2.imageids", "ec2_tags", ["ami-0aaa", "ami-0ccc"]),
    ("ec2.imageids", "31aa269f", ["ami-0abcdef1234567890"]),
    ("ec2.imageids", "ec2_launch_spec", ["ami-0launch"]), ("ec2.imageids", ALICE, None),
    ("ec2.imageids[0]", "ec2_tags", ["ami-0aaa"]), ("ec2.imageids[1]", "ec2_tags", None),
    ("ec2.imageids[2]", "ec2_tags", ["ami-0ccc"]), ("ec2.imageids[3]", "ec2_tags", [""]),
    ("ec2.imageids[4]", "ec2_tags", None),
    ("ec2.imageids[0]", "31aa269f", ["ami-0abcdef1234567890"]),
    ("ec2.imageids[1]", "31aa269f", None),
    ("ec2.imageid", "ec2_tags", "ami-0aaa"), ("ec2.imageid", "cc723f0e", "ami-0fedcba9876543210"),
    ("ec2.imageid", ALICE, None),
    ("ecr.repository", "request_misc", "payments"), ("ecr.repository", ALICE, None),
    ("ecr.imagetag", "request_misc", "v1.2.3"), ("ecr.imagetag", ALICE, None),
    ("iam.role", "bcb9a77c", "lambda-exec"), ("iam.role", "request_misc", "ci-role"),
    ("iam.role", ALICE, None),
    ("iam.policy", "request_misc", "inline-s3"), ("iam.policy", "bcb9a77c", None),
]


def split_name(text: str) -> tuple[str, str | None]:
    name, _, arg = text.partition("[")
    return name, (arg[:-1] if arg else None)


@pytest.mark.parametrize("field,record,want", VALUES,
                         ids=[f"{f}-{r}-{i}" for i, (f, r, _) in enumerate(VALUES)])
def test_value_written_by_hand(fs, records, field, record, want):
    name, arg = split_name(field)
    assert extract(fs, name, records[record], arg) == want


def test_every_declared_field_has_a_value_and_a_missing_case(fs):
    """Each field has a row where it has a value; each that can be missing a row where it is."""
    declared = {f.name for f in fs if f.provider == "cloudtrail"}
    assert len(declared) == 73
    names = [split_name(f)[0] for f, _, _ in VALUES]
    assert set(names) == declared
    valued = {split_name(f)[0] for f, _, want in VALUES if want is not None}
    missing = {split_name(f)[0] for f, _, want in VALUES if want is None}
    assert valued == declared - {"ct.request.documentname"}
    assert missing == declared - {"ct.info"}
