"""Offline checks of infra/template.yaml (the SAM template), before and after
the SAM transform, and of infra/waf.yaml (the WAF web ACL in us-east-1). They
fail if a bucket can be public, a policy grants a `*` action or resource, the
table lacks PITR/SSE, an API route is missing, the WAF limits stop being
tight where they must be, prod can deploy without WAF or TLS 1.2, or
CloudFront and the functions disagree on the origin secret.
"""

import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from contract import CATCH_ALL, FUNCTION_BINARIES, FUNCTION_ENV, ROUTES

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


# ------------------------------------------------------------------ helpers
def as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def of_type(resources, *types):
    return {name: r for name, r in resources.items() if r.get("Type") in types}


def props(resource):
    return resource.get("Properties") or {}


def ref_target(value):
    """Logical id behind {"Ref": X} or {"Fn::GetAtt": [X, ...]}, else None."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            if isinstance(arg, list):
                return arg[0]
            if isinstance(arg, str):
                return arg.split(".")[0]
    return None


def sub_refs(value):
    """Logical ids named as ${X} or ${X.Attr} in a Fn::Sub string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        if isinstance(text, list):
            text = text[0]
        return {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
    return set()


def statements(document):
    return as_list((document or {}).get("Statement"))


def policy_documents(resources):
    """(where, kind, document) for every IAM and resource policy in the template."""
    for name, r in resources.items():
        p = props(r)
        t = r.get("Type")
        if t == "AWS::IAM::Role":
            for policy in as_list(p.get("Policies")):
                yield f"{name}/{policy.get('PolicyName')}", "identity", policy.get("PolicyDocument")
        elif t in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, "identity", p.get("PolicyDocument")
        elif t in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield name, "resource", p.get("PolicyDocument")


def binary_of(raw_resources, function_id):
    return raw_resources[function_id]["Metadata"]["BuildProperties"]["Binary"]


def whole_service_wildcard(resource):
    """arn:aws:s3:::* , arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:* and the like."""
    text = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
    if isinstance(text, list):
        text = text[0]
    if not isinstance(text, str) or not text.startswith("arn:"):
        return False
    # Partition/region/account may be ${...}; blank them so the colons count.
    parts = re.sub(r"\$\{[^}]*\}", "x", text).split(":", 5)
    return len(parts) == 6 and parts[5] in ("*", "")


def is_public_principal(principal):
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
    return False


# ------------------------------------------------------------------ buckets
def test_every_bucket_blocks_all_public_access(transformed):
    buckets = of_type(transformed["Resources"], "AWS::S3::Bucket")
    assert buckets, "no bucket found"
    for name, bucket in buckets.items():
        p = props(bucket)
        block = p.get("PublicAccessBlockConfiguration") or {}
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            assert block.get(flag) is True, f"{name}: PublicAccessBlockConfiguration.{flag} is not true"
        assert p.get("AccessControl", "Private") == "Private", f"{name}: has a public canned ACL"
        assert "WebsiteConfiguration" not in p, f"{name}: is a public website bucket"
        rules = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
        assert rules, f"{name}: no default encryption (SSE)"
        assert p.get("OwnershipControls"), f"{name}: ACLs not disabled (ObjectOwnership)"
        assert p.get("LifecycleConfiguration"), f"{name}: no lifecycle rules"


def test_no_bucket_policy_allows_the_public(transformed):
    for name, policy in of_type(transformed["Resources"], "AWS::S3::BucketPolicy").items():
        for st in statements(props(policy).get("PolicyDocument")):
            if st.get("Effect") == "Allow":
                assert not is_public_principal(st.get("Principal")), f"{name}: Allow to a public principal: {st}"


def test_every_bucket_refuses_plain_http(transformed):
    resources = transformed["Resources"]
    tls_only = set()
    for policy in of_type(resources, "AWS::S3::BucketPolicy").values():
        p = props(policy)
        for st in statements(p.get("PolicyDocument")):
            cond = json.dumps(st.get("Condition", {}))
            if st.get("Effect") == "Deny" and "aws:SecureTransport" in cond and '"false"' in cond:
                tls_only.add(ref_target(p.get("Bucket")))
    buckets = set(of_type(resources, "AWS::S3::Bucket"))
    assert buckets <= tls_only, f"buckets without a TLS-only policy: {sorted(buckets - tls_only)}"


# ------------------------------------------------------------------ IAM
def test_no_policy_has_a_star_action_or_resource(transformed):
    found = list(policy_documents(transformed["Resources"]))
    assert found, "no policy found"
    for where, kind, document in found:
        for st in statements(document):
            assert "NotAction" not in st, f"{where}: NotAction is a wildcard in disguise"
            if st.get("Effect") == "Allow":
                assert "NotResource" not in st, f"{where}: NotResource in an Allow"
            for action in as_list(st.get("Action")):
                assert action != "*", f"{where}: Action '*'"
                if kind == "identity" or st.get("Effect") == "Allow":
                    assert "*" not in str(action), f"{where}: wildcard action {action!r}"
            resources = as_list(st.get("Resource"))
            if st.get("Effect") == "Allow":
                assert resources, f"{where}: Allow without a Resource"
            for res in resources:
                assert res != "*", f"{where}: Resource '*'"
                assert not whole_service_wildcard(res), f"{where}: resource {res} covers a whole service"


def test_functions_use_their_own_explicit_roles(template, transformed):
    raw = template["Resources"]
    for name, fn in of_type(raw, "AWS::Serverless::Function").items():
        p = props(fn)
        assert "Role" in p, f"{name}: SAM would generate a role with AWSLambdaBasicExecutionRole (Resource '*')"
        assert "Policies" not in p, f"{name}: SAM policy templates are not reviewed here; write the role out"
        assert "Events" not in p, f"{name}: events would add permissions and routes outside the reviewed list"
    resources = transformed["Resources"]
    roles = []
    for name, fn in of_type(resources, "AWS::Lambda::Function").items():
        role = ref_target(props(fn).get("Role"))
        assert role in resources and resources[role]["Type"] == "AWS::IAM::Role", f"{name}: role is not a template role"
        roles.append(role)
    assert len(roles) == len(set(roles)) == 4, f"functions must not share roles: {roles}"
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        assert not props(role).get("ManagedPolicyArns"), f"{name}: managed policies are not least privilege"
        for st in statements(props(role).get("AssumeRolePolicyDocument")):
            assert st.get("Principal") == {"Service": "lambda.amazonaws.com"}, f"{name}: assumable by {st.get('Principal')}"


def test_signing_key_policy_is_the_root_of_trust(transformed):
    keys = of_type(transformed["Resources"], "AWS::KMS::Key")
    assert keys
    for name, key in keys.items():
        sts = {st["Sid"]: st for st in statements(props(key).get("KeyPolicy"))}
        for sid, st in sts.items():
            principal = json.dumps(st.get("Principal"))
            # No delegation to the account's IAM policies, no public Allow.
            assert ":root" not in principal, f"{name}/{sid}: delegates to every IAM policy of the account"
            if st["Effect"] == "Allow":
                assert not is_public_principal(st.get("Principal")), f"{name}/{sid}: key usable by anyone"
        sign = [sid for sid, st in sts.items() if st["Effect"] == "Allow" and "kms:Sign" in as_list(st["Action"])]
        assert sign == ["SignVisas"], f"{name}: Sign allowed by {sign}"
        assert sts["SignVisas"]["Principal"] == {"AWS": {"Fn::GetAtt": ["RenderVisaRole", "Arn"]}}
        deny_sign = sts["NoOtherSigner"]
        assert deny_sign["Effect"] == "Deny" and deny_sign["Principal"] == "*"
        assert deny_sign["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["RenderVisaRole", "Arn"]}}}
        glass = sts["OnlyBreakGlassDisablesOrDeletes"]
        assert glass["Effect"] == "Deny" and set(glass["Action"]) == {"kms:DisableKey", "kms:ScheduleKeyDeletion"}
        assert glass["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "KeyBreakGlassArn"}}}
        admin = sts["KeyAdministration"]
        assert not any(a in ("kms:*", "kms:Sign") for a in as_list(admin["Action"])), "administrators can sign"


def test_signing_key_events_alarm(transformed):
    resources = transformed["Resources"]
    rules = of_type(resources, "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if "aws.kms" in json.dumps(props(r).get("EventPattern", {}))]
    pattern = props(rule)["EventPattern"]
    names = {n for alt in pattern["detail"]["$or"] for n in alt["eventName"]}
    assert {"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "Sign"} <= names
    targets = props(rule)["Targets"]
    assert [t["Arn"] for t in targets] == [{"Ref": "AlarmTopic"}]
    policies = of_type(resources, "AWS::SNS::TopicPolicy")
    assert any("events.amazonaws.com" in json.dumps(props(p)) for p in policies.values())


def test_no_role_but_the_key_policy_grants_signing(transformed):
    for where, kind, document in policy_documents(transformed["Resources"]):
        for st in statements(document):
            actions = as_list(st.get("Action"))
            assert not any(a.startswith("kms:") for a in actions), f"{where}: KMS rights belong in the key policy"


def test_lambda_permissions_are_scoped_to_the_http_api(transformed):
    for name, perm in of_type(transformed["Resources"], "AWS::Lambda::Permission").items():
        p = props(perm)
        assert p.get("Principal") == "apigateway.amazonaws.com", f"{name}: {p.get('Principal')}"
        assert "HttpApi" in sub_refs(p.get("SourceArn")), f"{name}: SourceArn not scoped to the HttpApi"


# ------------------------------------------------------------------ table
def test_table_has_pitr_sse_and_the_single_table_shape(transformed):
    tables = of_type(transformed["Resources"], "AWS::DynamoDB::Table")
    assert len(tables) == 1
    (name, table), = tables.items()
    p = props(table)
    assert (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True, "no PITR"
    assert (p.get("SSESpecification") or {}).get("SSEEnabled") is True, "no SSE"
    assert p.get("DeletionProtectionEnabled") is True, "no deletion protection"
    assert table.get("DeletionPolicy") == "Retain"
    assert p.get("BillingMode") == "PAY_PER_REQUEST"
    assert p.get("KeySchema") == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    gsi = {g["IndexName"]: g for g in p.get("GlobalSecondaryIndexes", [])}
    assert gsi["GSI1"]["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    attrs = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}
    # Officers' search: applications by passport number (GSI2), by surname
    # (GSI3), the disputes under review and invitations by inviting party
    # (GSI4), by status (GSI5).
    for n in (2, 3, 4, 5):
        assert gsi[f"GSI{n}"]["KeySchema"] == [
            {"AttributeName": f"gsi{n}pk", "KeyType": "HASH"},
            {"AttributeName": f"gsi{n}sk", "KeyType": "RANGE"},
        ]
    assert attrs == {f"{k}": "S" for k in ["pk", "sk"] + [f"gsi{n}{e}" for n in (1, 2, 3, 4, 5) for e in ("pk", "sk")]}
    assert p.get("TimeToLiveSpecification") == {"AttributeName": "ttl", "Enabled": True}
    # Old images: a TTL deletion names the PDF to delete only in the erased item.
    assert p.get("StreamSpecification") == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def filter_matches(pattern, event):
    """Lambda's event filtering as the template uses it: every key of the
    pattern is in the event; a list holds the values allowed."""
    if isinstance(pattern, list):
        return event in pattern
    if not isinstance(pattern, dict) or not isinstance(event, dict):
        return False
    return all(k in event and filter_matches(v, event[k]) for k, v in pattern.items())


def test_retention_reaches_every_function_and_the_pdf_backstop_comes_later(template):
    params = template["Parameters"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["RETENTION_UNPAID_DAYS"] == {"Ref": "RetentionUnpaidDays"}
    assert env["RETENTION_AFTER_VISA_END_DAYS"] == {"Ref": "RetentionAfterVisaEndDays"}
    # The same floor the code enforces: an open checkout (24 h) never
    # outlives the application it pays for.
    assert params["RetentionUnpaidDays"]["MinValue"] >= 2
    # S3's lifecycle counts from issue: it must not delete a PDF the
    # application still keeps (a visa ends within months of issue).
    assert params["VisaRetentionDays"]["Default"] >= params["RetentionAfterVisaEndDays"]["Default"] + 365


def test_render_visa_consumes_paid_records_with_partial_failures(template, transformed):
    raw = template["Resources"]
    resources = transformed["Resources"]
    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    streams = [props(m) for m in mappings.values()
               if props(m)["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}]
    assert len(streams) == 1
    p = streams[0]
    assert binary_of(raw, ref_target(p["FunctionName"])) == "render-visa"
    patterns = [json.loads(f["Pattern"]) for f in p["FilterCriteria"]["Filters"]]

    def passes(record):
        return any(filter_matches(pattern, record) for pattern in patterns)

    def app(status, **extra):
        return {"pk": {"S": "APP#01J"}, "sk": {"S": "APP"}, "id": {"S": "01J"},
                "status": {"S": status}, **extra}

    visa = {"visa": {"M": {"number": {"S": "KZ1234567"}}}}
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert passes({"eventName": "MODIFY", "dynamodb": {"NewImage": app("paid"), "OldImage": app("awaiting_payment")}})
    assert passes({"eventName": "REMOVE", "userIdentity": ttl, "dynamodb": {"OldImage": app("issued", **visa)}})
    # Not for render-visa: other writes, an unpaid application erased with
    # its account, other items' expiry.
    assert not passes({"eventName": "MODIFY", "dynamodb": {"NewImage": app("issued", **visa), "OldImage": app("paid")}})
    assert not passes({"eventName": "INSERT", "dynamodb": {"NewImage": app("invitation_confirmed")}})
    assert not passes({"eventName": "REMOVE", "dynamodb": {"OldImage": app("awaiting_payment")}})
    assert not passes({"eventName": "REMOVE", "userIdentity": ttl, "dynamodb": {"OldImage": {
        "pk": {"S": "VISA#KZ1234567"}, "sk": {"S": "VISA"}, "status": {"S": "issued"}}}})
    assert not passes({"eventName": "REMOVE", "userIdentity": ttl, "dynamodb": {"OldImage": {
        "pk": {"S": "SESSION#ab"}, "sk": {"S": "SESSION"}}}})
    assert p.get("BisectBatchOnFunctionError") is True
    assert isinstance(p.get("MaximumRetryAttempts"), int) and 0 <= p["MaximumRetryAttempts"] <= 10
    assert p.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    queue = ref_target(p["DestinationConfig"]["OnFailure"]["Destination"])
    assert resources[queue]["Type"] == "AWS::SQS::Queue"


def test_emails_go_through_their_own_queue_with_a_dead_letter_queue(template, transformed):
    raw = template["Resources"]
    resources = transformed["Resources"]
    mappings = [props(m) for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()]
    queues = [m for m in mappings if m["EventSourceArn"] != {"Fn::GetAtt": ["Table", "StreamArn"]}]
    assert len(queues) == 1, "one mapping besides the stream's: the email queue"
    p = queues[0]
    assert binary_of(raw, ref_target(p["FunctionName"])) == "render-visa"
    # A failed email fails only its message.
    assert p.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    name = p["EventSourceArn"]["Fn::GetAtt"][0]
    queue = props(resources[name])
    assert resources[name]["Type"] == "AWS::SQS::Queue"
    # Not redelivered while a batch still runs (AWS: 6x the function's timeout).
    timeout = props(raw["RenderVisaFunction"])["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    redrive = queue["RedrivePolicy"]
    assert 1 < redrive["maxReceiveCount"] <= 10
    dead = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert resources[dead]["Type"] == "AWS::SQS::Queue"
    assert props(resources[dead])["MessageRetentionPeriod"] >= 7 * 86400
    alarmed = [a for a in of_type(raw, "AWS::CloudWatch::Alarm").values()
               if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead, "QueueName"]}} in props(a)["Dimensions"]]
    assert alarmed, "an alarm on the dead-letter queue's depth"
    # render-visa gets the queue's URL, sends to it, and its mapping polls it.
    env = props(raw["RenderVisaFunction"])["Environment"]["Variables"]
    assert env["EMAIL_QUEUE_URL"] == {"Ref": name}
    statements = [st for pol in props(resources["RenderVisaRole"])["Policies"]
                  for st in pol["PolicyDocument"]["Statement"]
                  if st.get("Resource") == {"Fn::GetAtt": [name, "Arn"]}]
    actions = {a for st in statements for a in st["Action"]}
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions


# ------------------------------------------------------------------ functions
def test_four_rust_functions_built_by_cargo_lambda(template, transformed):
    raw = template["Resources"]
    functions = of_type(raw, "AWS::Serverless::Function")
    binaries = set()
    for name, fn in functions.items():
        meta = fn.get("Metadata") or {}
        assert meta.get("BuildMethod") == "rust-cargolambda", name
        binaries.add(meta["BuildProperties"]["Binary"])
    assert binaries == FUNCTION_BINARIES
    built = of_type(transformed["Resources"], "AWS::Lambda::Function")
    assert set(built) == set(functions)
    for name, fn in built.items():
        p = props(fn)
        assert p["Runtime"] == "provided.al2023", name
        assert p["Architectures"] == ["arm64"], name
        assert p["Handler"] == "bootstrap", name
        assert isinstance(p.get("MemorySize"), int) and 128 <= p["MemorySize"] <= 10240, name
        assert isinstance(p.get("Timeout"), int) and 1 <= p["Timeout"] <= 30, name
        env = set(p["Environment"]["Variables"])
        assert FUNCTION_ENV <= env, f"{name}: missing {sorted(FUNCTION_ENV - env)}"


def test_payment_and_issuing_have_reserved_concurrency(template):
    raw = template["Resources"]
    reserved = {
        binary_of(raw, name)
        for name, fn in of_type(raw, "AWS::Serverless::Function").items()
        if "ReservedConcurrentExecutions" in props(fn)
    }
    assert {"pay-webhook", "render-visa"} <= reserved


def _pipeline_model():
    """tests/sim/pipeline.py: the capacity model PERFORMANCE.md's figures come from."""
    import importlib.util

    path = REPO / "tests" / "sim" / "pipeline.py"
    spec = importlib.util.spec_from_file_location("pipeline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pipeline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _mappings(template):
    raw = template["Resources"]
    stream = [props(m) for m in of_type(raw, "AWS::Lambda::EventSourceMapping").values()
              if props(m)["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}]
    mail = [props(m) for m in of_type(raw, "AWS::Lambda::EventSourceMapping").values()
            if props(m)["EventSourceArn"] == {"Fn::GetAtt": ["EmailQueue", "Arn"]}]
    return stream[0], mail[0]


def test_emails_are_paced_to_the_ses_rate_the_stack_is_given(template):
    raw = template["Resources"]
    _, mail = _mappings(template)
    # One parameter sets both the mapping's concurrency and what the
    # function divides the SES rate by: they cannot drift apart.
    assert mail["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "EmailSenders"}
    env = props(raw["RenderVisaFunction"])["Environment"]["Variables"]
    assert env["EMAIL_SENDERS"] == {"Ref": "EmailSenders"}
    assert env["SES_MAX_SEND_RATE"] == {"Ref": "SesMaxSendRate"}
    params = template["Parameters"]
    # Lambda's smallest MaximumConcurrency; SES's smallest rate (the sandbox).
    assert params["EmailSenders"]["MinValue"] >= 2
    assert params["SesMaxSendRate"]["MinValue"] >= 1
    # A paced batch at the slowest rate the stack accepts, with the most
    # senders by default, still ends inside half the timeout.
    timeout = props(raw["RenderVisaFunction"])["Timeout"]
    slowest = params["SesMaxSendRate"]["MinValue"]
    assert mail["BatchSize"] * params["EmailSenders"]["Default"] / slowest <= timeout / 2


def test_pipeline_settings_carry_the_target_rate_by_the_model(template):
    """The inequalities of PERFORMANCE.md's capacity model, on the template's
    defaults, at the target (issue #24: 100 issued visas a second)."""
    model = _pipeline_model()
    target = 100
    raw = template["Resources"]
    params = template["Parameters"]
    stream, mail = _mappings(template)
    shards = model.PROFILES["default"].shards
    slots = shards * stream["ParallelizationFactor"]
    t_rec = model.issue_record_mean()
    # The stream's batches issue faster than the target, with room.
    batch = stream["BatchSize"]
    assert slots * batch / (model.LAT["invoke"] + batch * t_rec) >= 2 * target
    assert stream["MaximumBatchingWindowInSeconds"] == 0
    # A batch's own time stays far inside the timeout.
    assert batch * t_rec * 10 <= props(raw["RenderVisaFunction"])["Timeout"]
    # The senders can reach the SES rate they are given.
    t_mail = model.email_mean()
    assert params["EmailSenders"]["Default"] >= params["SesMaxSendRate"]["Default"] * t_mail
    # render-visa's reservation holds every batch at once, the senders a
    # raised SES rate needs and the visa routes, even when the stream has
    # two and a half times the shards the model assumes.
    senders_at_target = math.ceil(1.5 * target * t_mail)
    need = 2.5 * slots + senders_at_target + model.http_render_reserve(target)
    assert params["RenderVisaReservedConcurrency"]["Default"] >= need
    # pay-webhook's reservation absorbs a cold start of the whole rate.
    t_hook = model.steps_mean(model.WEBHOOK_STEPS)
    assert params["PayWebhookReservedConcurrency"]["Default"] >= target * (model.COLD_START + t_hook)
    # KMS: two Signs per visa within the quota the model takes for an
    # account that still has the older default.
    assert model.PROFILES["default"].kms_rate / model.SIGNS_PER_VISA >= target


def test_the_simulation_runs_the_template_defaults(template):
    """tests/sim's "default" profile is this template, not a copy that drifted."""
    model = _pipeline_model()
    d = model.PROFILES["default"]
    stream, mail = _mappings(template)
    params = template["Parameters"]
    assert (d.parallelization, d.stream_batch, d.batching_window) == (
        stream["ParallelizationFactor"], stream["BatchSize"], stream["MaximumBatchingWindowInSeconds"])
    assert d.stream_retries == stream["MaximumRetryAttempts"]
    assert (d.email_senders, d.email_batch) == (params["EmailSenders"]["Default"], mail["BatchSize"])
    assert d.ses_rate == params["SesMaxSendRate"]["Default"]
    assert d.webhook_reserved == params["PayWebhookReservedConcurrency"]["Default"]
    assert d.render_reserved == params["RenderVisaReservedConcurrency"]["Default"]
    assert (d.stage_rate, d.stage_burst) == (params["ApiThrottlingRateLimit"]["Default"],
                                             params["ApiThrottlingBurstLimit"]["Default"])
    stage = props(template["Resources"]["HttpApiStage"])["RouteSettings"]
    confirm = stage["POST /api/applications/{id}/confirmation"]
    default = lambda v: params[v["Ref"]]["Default"] if isinstance(v, dict) else v
    assert (d.confirm_rate, d.confirm_burst) == (default(confirm["ThrottlingRateLimit"]),
                                                 default(confirm["ThrottlingBurstLimit"]))
    # A group's checkout is the same Stripe call: the same ceiling.
    assert stage["POST /api/groups/{id}/confirmation"] == confirm
    queue = props(template["Resources"]["EmailQueue"])
    assert d.visibility_timeout == queue["VisibilityTimeout"]
    assert d.max_receives == queue["RedrivePolicy"]["maxReceiveCount"]
    assert d.paced, "the template gives render-visa its SES rate to keep to"


# ------------------------------------------------------------------ HTTP API
def route_table(template, transformed):
    raw = template["Resources"]
    resources = transformed["Resources"]
    table = {}
    for name, route in of_type(resources, "AWS::ApiGatewayV2::Route").items():
        p = props(route)
        assert ref_target(p["ApiId"]) == "HttpApi", name
        method, path = p["RouteKey"].split(" ", 1)
        (integration,) = sub_refs(p["Target"])
        function = ref_target(props(resources[integration])["IntegrationUri"])
        table[(method, path)] = (binary_of(raw, function), p.get("AuthorizationType", "NONE"))
    return table


def test_every_api_md_route_is_in_the_template(template, transformed):
    # The exact route set (HEAD twins, both catch-alls) is held against the
    # route table by tests/tests/route_table.rs; here, docs/API.md's baseline.
    table = route_table(template, transformed)
    expected = {(m, p) for m, p, _, _ in ROUTES} | {CATCH_ALL[:2]}
    missing = expected - set(table)
    assert not missing, f"routes missing from the template: {sorted(missing)}"
    for (method, path), (binary, _) in table.items():
        assert method in {"GET", "HEAD", "POST", "DELETE", "ANY"}, f"{method} {path}"
        if method == "HEAD":
            assert table.get(("GET", path), (None,))[0] == binary, f"HEAD {path} without its GET twin"


def test_routes_reach_the_owning_function_with_the_right_auth(template, transformed):
    table = route_table(template, transformed)
    for method, path, owner, who in ROUTES:
        binary, auth = table[(method, path)]
        assert binary == owner, f"{method} {path} goes to {binary}, owned by {owner}"
        if who == "admin":
            assert auth == "AWS_IAM", f"{method} {path}: admin route without IAM auth"
        elif who in ("staff", "officer", "border"):
            assert auth == "JWT", f"{method} {path}: staff route without the JWT authorizer"
        else:
            assert auth == "NONE", f"{method} {path}: unexpected {auth}"
    assert table[CATCH_ALL[:2]] == (CATCH_ALL[2], "NONE")
    # The staff routes' authorizer: the staff pool's ID tokens, its app
    # client the audience; TOTP required at every sign-in.
    authorizers = of_type(transformed["Resources"], "AWS::ApiGatewayV2::Authorizer")
    (authorizer,) = authorizers.values()
    a = props(authorizer)
    assert a["AuthorizerType"] == "JWT" and a["IdentitySource"] == ["$request.header.Authorization"]
    assert ref_target(a["JwtConfiguration"]["Audience"][0]) == "StaffConsoleClient"
    assert "StaffUserPool" in str(a["JwtConfiguration"]["Issuer"])
    pool = props(transformed["Resources"]["StaffUserPool"])
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    groups = {props(g)["GroupName"] for g in of_type(transformed["Resources"], "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"officer", "auditor", "border"}
    for name, route in of_type(transformed["Resources"], "AWS::ApiGatewayV2::Route").items():
        p = props(route)
        if p.get("AuthorizationType") == "JWT":
            assert ref_target(p["AuthorizerId"]) in authorizers, name
            assert p["RouteKey"].split(" ", 1)[1].startswith("/api/officer/"), name
    # Every path under /api/admin needs IAM, near misses included.
    for (method, path), (binary, auth) in table.items():
        if path.startswith("/api/admin"):
            assert auth == "AWS_IAM", f"{method} {path}: reachable without IAM"
    assert table[("ANY", "/api/admin/{proxy+}")] == ("confirm-invitation", "AWS_IAM")


def test_access_log_names_the_iam_caller(transformed):
    (stage,) = of_type(transformed["Resources"], "AWS::ApiGatewayV2::Stage").values()
    fmt = json.loads(props(stage)["AccessLogSettings"]["Format"])
    assert fmt.get("userArn") == "$context.identity.userArn"
    assert fmt.get("routeKey") == "$context.routeKey"


def test_http_api_has_default_throttling_and_one_stage(transformed):
    resources = transformed["Resources"]
    assert len(of_type(resources, "AWS::ApiGatewayV2::Api")) == 1
    stages = of_type(resources, "AWS::ApiGatewayV2::Stage")
    assert len(stages) == 1
    (name, stage), = stages.items()
    settings = props(stage)["DefaultRouteSettings"]
    assert "ThrottlingRateLimit" in settings and "ThrottlingBurstLimit" in settings
    for name, integration in of_type(resources, "AWS::ApiGatewayV2::Integration").items():
        p = props(integration)
        assert p["IntegrationType"] == "AWS_PROXY" and p["PayloadFormatVersion"] == "2.0", name


# ------------------------------------------------------------------ site
def test_cloudfront_serves_site_via_oac_and_api_uncached(transformed):
    resources = transformed["Resources"]
    (name, dist), = of_type(resources, "AWS::CloudFront::Distribution").items()
    config = props(dist)["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    s3 = [o for o in origins.values() if "S3OriginConfig" in o]
    assert s3 and all(o.get("OriginAccessControlId") for o in s3), "S3 origin without Origin Access Control"
    assert all(o["S3OriginConfig"].get("OriginAccessIdentity", "") == "" for o in s3)
    assert "CustomErrorResponses" not in config, "error pages would replace the API's problem+json bodies"
    api = [b for b in config.get("CacheBehaviors", []) if b["PathPattern"] == "/api/*"]
    assert len(api) == 1, "no /api/* behaviour"
    api = api[0]
    assert "HttpApi" in sub_refs(origins[api["TargetOriginId"]]["DomainName"]), "/api/* does not go to the HttpApi"
    assert api["CachePolicyId"] == CACHING_DISABLED, "/api/* must not be cached"
    assert {"GET", "POST", "DELETE"} <= set(api["AllowedMethods"])
    default = config["DefaultCacheBehavior"]
    assert origins[default["TargetOriginId"]] in s3
    assert default["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    assert [f["EventType"] for f in default.get("FunctionAssociations", [])] == ["viewer-request"]


# (uri, cookie visa_lang, Accept-Language) -> the object CloudFront fetches:
# a page in the reader's language (visa-site writes <lang>/<page>.html),
# any other file as it is.
REWRITES = [
    (("/", None, None), "/en/index.html"),
    (("/verify", None, None), "/en/verify.html"),
    (("/verify/", None, "ru-RU,ru;q=0.9"), "/ru/verify.html"),
    (("/cabinet", "kk", "ru"), "/kk/cabinet.html"),
    (("/cabinet", "fr", "de, kk;q=0.5"), "/kk/cabinet.html"),
    (("/officer/", None, "de"), "/en/officer.html"),
    (("/ru/apply", "kk", None), "/ru/apply.html"),
    (("/kk", None, None), "/kk/index.html"),
    (("/kk/", "en", None), "/kk/index.html"),
    (("/index.html", None, None), "/index.html"),
    (("/css/site.css", "ru", None), "/css/site.css"),
    (("/js/pages/app.js", None, None), "/js/pages/app.js"),
    (("/i18n/countries.en.json", None, None), "/i18n/countries.en.json"),
    (("/vendor/zxing-wasm/zxing_reader.wasm", None, None), "/vendor/zxing-wasm/zxing_reader.wasm"),
    (("/a/b/c", None, None), "/a/b/c"),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_cloudfront_function_serves_each_page_in_the_readers_language(template):
    code = props(template["Resources"]["PrettyUrlFunction"])["FunctionCode"]
    calls = []
    for (uri, cookie, accept), _ in REWRITES:
        request = {"uri": uri, "cookies": {}, "headers": {}}
        if cookie:
            request["cookies"]["visa_lang"] = {"value": cookie}
        if accept:
            request["headers"]["accept-language"] = {"value": accept}
        calls.append(f"out.push(handler({{request: {json.dumps(request)}}}).uri);\n")
    script = code + "\nconst out = [];\n" + "".join(calls) + "console.log(JSON.stringify(out));\n"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [want for _, want in REWRITES]


# ------------------------------------------------------------------ secrets, keys, alarms
def test_secrets_hold_no_value_in_the_template(transformed):
    secrets = of_type(transformed["Resources"], "AWS::SecretsManager::Secret")
    assert set(secrets) == {"WebhookSecret", "StripeSecret", "OriginVerifySecret"}
    for name, secret in secrets.items():
        assert "SecretString" not in props(secret), f"{name}: a secret value is in the template"


def test_visa_signing_key_is_p256_sign_verify(transformed):
    keys = of_type(transformed["Resources"], "AWS::KMS::Key")
    assert any(
        props(k).get("KeySpec") == "ECC_NIST_P256" and props(k).get("KeyUsage") == "SIGN_VERIFY"
        for k in keys.values()
    )


def test_alarms_cover_errors_throttles_failures_and_5xx(template, transformed):
    raw = template["Resources"]
    resources = transformed["Resources"]
    seen = set()
    for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values():
        p = props(alarm)
        assert p.get("AlarmActions"), "alarm without an action"
        for dim in p.get("Dimensions", []):
            seen.add((p["Namespace"], p["MetricName"], ref_target(dim["Value"])))
    functions = of_type(raw, "AWS::Serverless::Function")
    for name in functions:
        assert ("AWS/Lambda", "Errors", name) in seen, f"no Errors alarm for {name}"
        assert ("AWS/Lambda", "Throttles", name) in seen, f"no Throttles alarm for {name}"
    queue = ref_target(
        props(next(iter(of_type(resources, "AWS::Lambda::EventSourceMapping").values())))["DestinationConfig"][
            "OnFailure"
        ]["Destination"]
    )
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue) in seen, "no on-failure queue depth alarm"
    assert ("AWS/ApiGateway", "5xx", "HttpApi") in seen, "no API 5xx alarm"


def test_cloudfront_sends_the_local_gateways_security_headers(transformed):
    resources = transformed["Resources"]
    (name, policy), = of_type(resources, "AWS::CloudFront::ResponseHeadersPolicy").items()
    config = props(policy)["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    # The one policy is the local gateway's constant; the pages carry none.
    gateway = (REPO / "infra" / "local" / "src" / "gateway.rs").read_text(encoding="utf-8")
    local = re.search(r'pub const CONTENT_SECURITY_POLICY: &str = "([^"]+)";', gateway).group(1)
    assert csp == local
    for page in (REPO / "site").glob("*.html"):
        assert "Content-Security-Policy" not in page.read_text(encoding="utf-8"), page.name
    assert config["FrameOptions"]["FrameOption"] == "DENY"
    assert config["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    (dist,) = of_type(resources, "AWS::CloudFront::Distribution").values()
    dc = props(dist)["DistributionConfig"]
    for behavior in [dc["DefaultCacheBehavior"], *dc["CacheBehaviors"]]:
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": name}


def test_expensive_routes_have_their_own_throttles(template, transformed):
    (name, stage), = of_type(transformed["Resources"], "AWS::ApiGatewayV2::Stage").items()
    settings = props(stage).get("RouteSettings") or {}
    routes = {props(r)["RouteKey"]: n for n, r in of_type(transformed["Resources"], "AWS::ApiGatewayV2::Route").items()}
    default = props(stage)["DefaultRouteSettings"]
    params = template["Parameters"]
    resolved = lambda v: params[v["Ref"]]["Default"] if isinstance(v, dict) else v
    for key in ["POST /api/accounts", "POST /api/sessions", "POST /api/applications/{id}/confirmation",
                "POST /api/groups/{id}/confirmation", "GET /api/visas/{visa_number}/verification"]:
        s = settings.get(key)
        assert s, key
        rate, burst = resolved(s["ThrottlingRateLimit"]), resolved(s["ThrottlingBurstLimit"])
        assert rate > 0 and burst >= rate, key
        # The stage is created after the routes its settings name.
        assert routes[key] in as_list(template["Resources"][name].get("DependsOn")), f"{key}: no DependsOn"
    assert isinstance(default.get("ThrottlingRateLimit"), (dict, int))


def test_every_table_statement_is_limited_to_its_partitions(transformed):
    # Least privilege inside the table: each role reaches only the
    # partition-key prefixes its function uses (dynamodb:LeadingKeys).
    for name, role in of_type(transformed["Resources"], "AWS::IAM::Role").items():
        for policy in as_list(props(role).get("Policies")):
            for st in statements(policy.get("PolicyDocument")):
                item_actions = [a for a in as_list(st.get("Action")) if a.startswith("dynamodb:")
                                and a.split(":")[1] in ("GetItem", "PutItem", "UpdateItem", "DeleteItem",
                                                        "ConditionCheckItem", "Query")]
                if not item_actions or st.get("Effect") == "Deny":
                    continue
                keys = ((st.get("Condition") or {}).get("ForAllValues:StringLike") or {}).get("dynamodb:LeadingKeys")
                assert keys, f"{name}/{st.get('Sid')}: {item_actions} on every partition"
                assert "*" not in keys, f"{name}/{st.get('Sid')}: every partition"


def test_no_role_may_change_or_delete_an_audit_event(transformed):
    # The audit trail is append-only (docs/DESIGN.md): every function's role
    # denies updating or deleting any item of an AUDIT# partition, whatever
    # it is otherwise allowed.
    roles = of_type(transformed["Resources"], "AWS::IAM::Role")
    functions = [n for n in roles if n.endswith("Role") and n.replace("Role", "Function") in transformed["Resources"]]
    assert len(functions) == 4, functions
    for name in functions:
        denies = [
            st for policy in as_list(props(roles[name]).get("Policies"))
            for st in statements(policy.get("PolicyDocument")) if st.get("Effect") == "Deny"
        ]
        guarded = [
            st for st in denies
            if {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= set(as_list(st.get("Action")))
            and ((st.get("Condition") or {}).get("ForAnyValue:StringLike") or {}).get("dynamodb:LeadingKeys") == ["AUDIT#*"]
        ]
        assert guarded, f"{name}: audit events may be changed"


# ------------------------------------------------------------------ WAF (infra/waf.yaml)
# Overridable like INFRA_TEMPLATE, so a broken copy can be checked.
WAF_TEMPLATE = pathlib.Path(os.environ.get("INFRA_WAF_TEMPLATE", REPO / "infra" / "waf.yaml"))
VISA = "K7Q2M9X4A"
WEBHOOK = ("POST", "/api/webhooks/payment")
# Requests that only the looser, general /api limit may count.
ORDINARY = [("GET", "/api/applications"), ("GET", "/api/health"),
            ("POST", "/api/applications/01JD4X2M6Q8Z9Y7W5V3T1S0R9P/confirmation")]


@pytest.fixture(scope="module")
def waf():
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(WAF_TEMPLATE))


def web_acl(waf):
    (acl,) = of_type(waf["Resources"], "AWS::WAFv2::WebACL").values()
    return props(acl)


def number(waf, value):
    """A Limit: a number, or a Ref to a parameter (its default)."""
    name = ref_target(value)
    if name is not None:
        value = waf["Parameters"][name]["Default"]
    return int(value)


def waf_matches(statement, request):
    """Whether a WAF statement matches (method, path): the statements the ACL
    uses, evaluated as WAF does. Anything else fails the test, so a new kind
    of statement cannot slip through unchecked."""
    method, path = request
    (kind, body), = statement.items()
    if kind == "AndStatement":
        return all(waf_matches(s, request) for s in body["Statements"])
    if kind == "OrStatement":
        return any(waf_matches(s, request) for s in body["Statements"])
    if kind == "NotStatement":
        return not waf_matches(body["Statement"], request)
    assert kind in ("ByteMatchStatement", "RegexMatchStatement"), f"statement {kind} not modelled"
    (field, _), = body["FieldToMatch"].items()
    value = {"UriPath": path, "Method": method}[field]
    for t in sorted(body["TextTransformations"], key=lambda t: t["Priority"]):
        value = {"NONE": value, "LOWERCASE": value.lower()}[t["Type"]]
    if kind == "RegexMatchStatement":
        return re.search(body["RegexString"], value) is not None
    needle, where = body["SearchString"], body["PositionalConstraint"]
    return {
        "EXACTLY": value == needle,
        "STARTS_WITH": value.startswith(needle),
        "ENDS_WITH": value.endswith(needle),
        "CONTAINS": needle in value,
    }[where]


def rate_rules(waf):
    """(rule, limit, scope-down statement) of every rate-based rule."""
    for rule in web_acl(waf)["Rules"]:
        rate = rule["Statement"].get("RateBasedStatement")
        if rate:
            yield rule, number(waf, rate["Limit"]), rate.get("ScopeDownStatement")


def limits_for(waf, request):
    return {rule["Name"]: limit for rule, limit, scope in rate_rules(waf)
            if scope is None or waf_matches(scope, request)}


def general_limit(waf):
    """The one rate rule that counts ordinary /api requests, and its limit."""
    found = {tuple(sorted(limits_for(waf, r).items())) for r in ORDINARY}
    assert len(found) == 1, f"ordinary /api requests are counted differently: {found}"
    (rules,) = found
    assert len(rules) == 1, f"ordinary /api requests must be counted by one general rule, not {rules}"
    return rules[0]


def tight_requests(openapi):
    """The routes that get tight limits, as openapi.yaml writes them."""
    routes = {
        "sign-in": ("post", "/api/sessions"),
        "staff sign-in": ("post", "/api/officer/sessions"),
        "staff sign-in code": ("post", "/api/officer/sessions/totp"),
        "sign-up": ("post", "/api/accounts"),
        "verification": ("get", "/api/visas/{visa_number}/verification"),
        "password reset request": ("post", "/api/password-resets"),
        "password reset": ("post", "/api/password-resets/confirmation"),
        "retrieval": ("post", "/api/visa-retrievals"),
    }
    requests = {}
    for name, (method, path) in routes.items():
        assert method in openapi["paths"].get(path, {}), f"openapi.yaml has no {method.upper()} {path}"
        concrete = path.replace("{visa_number}", VISA)
        requests[name] = (method.upper(), concrete)
    # HEAD is answered as GET (a 200 or 404 is all a guesser needs).
    requests["verification (HEAD)"] = ("HEAD", requests["verification"][1])
    return requests


def test_waf_is_a_cloudfront_web_acl_made_in_us_east_1(waf):
    acl = web_acl(waf)
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    assertions = [a["Assert"] for rule in waf.get("Rules", {}).values() for a in rule["Assertions"]]
    assert {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]} in assertions, "no us-east-1 assertion"
    (acl_id,) = of_type(waf["Resources"], "AWS::WAFv2::WebACL")
    assert waf["Outputs"]["WebAclArn"]["Value"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_waf_limits_sign_in_sign_up_and_verification_tighter_than_the_rest(waf, openapi):
    general, limit = general_limit(waf)
    for name, request in tight_requests(openapi).items():
        limits = limits_for(waf, request)
        tight = {rule: n for rule, n in limits.items() if n < limit}
        assert tight, f"{name} {request}: no per-IP limit tighter than {general}'s {limit} ({limits})"
    # The tight rules count their own route, not every request.
    for rule, n, scope in rate_rules(waf):
        if n < limit:
            assert not any(waf_matches(scope, r) for r in ORDINARY), f"{rule['Name']} counts ordinary requests"
    # Nothing outside /api is rate-limited as an API request.
    assert limits_for(waf, ("GET", "/index.html")) == {}


def test_waf_does_not_rate_limit_stripe_like_one_client(waf):
    _, limit = general_limit(waf)
    limits = limits_for(waf, WEBHOOK)
    slow = {rule: n for rule, n in limits.items() if n <= limit}
    assert not slow, f"the payment webhook shares a per-IP limit of {limit} or less: {slow}"


def test_waf_rate_rules_block_per_ip_with_a_429_problem(waf):
    acl = web_acl(waf)
    bodies = acl.get("CustomResponseBodies") or {}
    rules = list(rate_rules(waf))
    assert rules
    for rule, _, _ in rules:
        rate = rule["Statement"]["RateBasedStatement"]
        assert rate["AggregateKeyType"] == "IP", f"{rule['Name']}: not per client IP"
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429, rule["Name"]
        # WAF refuses a Content-Type response header (the body's ContentType sets it).
        names = [h["Name"].lower() for h in response.get("ResponseHeaders", [])]
        assert "content-type" not in names, f"{rule['Name']}: WAF refuses a Content-Type header"
        body = bodies[response["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON", "a problem body must be JSON"
        problem = json.loads(body["Content"])
        # docs/API.md: {"type": "/problems/<slug>", "title", "status"}.
        assert re.fullmatch(r"/problems/[a-z0-9-]+", problem["type"]), problem
        assert problem["status"] == 429 and problem.get("title"), problem


def test_waf_runs_the_managed_rule_groups_but_not_on_the_webhook(waf):
    acl = web_acl(waf)
    groups = {}
    for rule in acl["Rules"]:
        managed = rule["Statement"].get("ManagedRuleGroupStatement")
        if managed:
            assert managed["VendorName"] == "AWS"
            # A group overridden to Count protects nothing.
            assert rule["OverrideAction"] == {"None": {}}, f"{rule['Name']}: group only counts"
            groups[managed["Name"]] = managed
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesAmazonIpReputationList"} <= set(groups)
    for name in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        scope = groups[name].get("ScopeDownStatement")
        assert scope and not waf_matches(scope, WEBHOOK), f"{name} inspects Stripe's deliveries"
        for request in [("POST", "/api/applications"), ("POST", "/api/sessions"), ("GET", "/index.html")]:
            assert waf_matches(scope, request), f"{name} skips {request}"
    # Only the 8 KB body-size rule is relaxed (the functions answer 413 over 64 KiB).
    relaxed = {o["Name"] for g in groups.values() for o in g.get("RuleActionOverrides", [])}
    assert relaxed <= {"SizeRestrictions_BODY"}, relaxed


def test_waf_every_rule_has_metrics(waf):
    acl = web_acl(waf)
    configs = [acl["VisibilityConfig"], *(r["VisibilityConfig"] for r in acl["Rules"])]
    for config in configs:
        assert config["CloudWatchMetricsEnabled"] is True and config["SampledRequestsEnabled"] is True
        assert config["MetricName"]
    priorities = [r["Priority"] for r in acl["Rules"]]
    assert len(priorities) == len(set(priorities)), "rule priorities must be unique"


# ------------------------------------------------------------------ prod: WAF and TLS 1.2
def test_distribution_takes_the_web_acl(transformed):
    resources = transformed["Resources"]
    (dist,) = of_type(resources, "AWS::CloudFront::Distribution").values()
    config = props(dist)["DistributionConfig"]
    assert config.get("WebACLId") == {"Fn::If": ["HasWebAcl", {"Ref": "WebAclArn"}, {"Ref": "AWS::NoValue"}]}
    assert transformed["Conditions"]["HasWebAcl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebAclArn"}, ""]}]}
    param = transformed["Parameters"]["WebAclArn"]
    assert param["Default"] == ""
    # Only a CLOUDFRONT-scope ACL (us-east-1, global/) can be attached.
    pattern = param["AllowedPattern"]
    assert re.fullmatch(pattern, "arn:aws:wafv2:us-east-1:111111111111:global/webacl/e-visa-waf/0a1b")
    assert not re.fullmatch(pattern, "arn:aws:wafv2:eu-central-1:111111111111:regional/webacl/e-visa-waf/0a1b")


def test_custom_domain_serves_tls_1_2_at_least(transformed):
    (dist,) = of_type(transformed["Resources"], "AWS::CloudFront::Distribution").values()
    cert = props(dist)["DistributionConfig"]["ViewerCertificate"]
    condition, with_domain, _ = cert["Fn::If"]
    assert condition == "HasDomain"
    assert with_domain["AcmCertificateArn"] == {"Ref": "CertificateArn"}
    assert with_domain["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert with_domain["SslSupportMethod"] == "sni-only"
    needs = json.dumps(transformed["Conditions"]["HasDomain"])
    assert '"DomainName"' in needs and '"CertificateArn"' in needs


def rule_value(value, params):
    """Evaluates a Rules expression (Ref, Fn::Equals/Not/And/Or) for parameter values."""
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Fn::Equals":
            a, b = (rule_value(x, params) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not rule_value(arg[0], params)
        if fn == "Fn::And":
            return all(rule_value(x, params) for x in arg)
        if fn == "Fn::Or":
            return any(rule_value(x, params) for x in arg)
        raise AssertionError(f"{fn} not modelled")
    return value


def refused_by_rules(template, **overrides):
    """The AssertDescriptions CloudFormation would refuse a deploy with."""
    params = {name: p.get("Default", "") for name, p in template["Parameters"].items()}
    params.update({"AWS::Region": "eu-central-1"}, **overrides)
    refused = []
    for rule in (template.get("Rules") or {}).values():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], params):
            continue
        refused += [a["AssertDescription"] for a in rule["Assertions"] if not rule_value(a["Assert"], params)]
    return refused


PROD = {
    "Environment": "prod",
    "WebAclArn": "arn:aws:wafv2:us-east-1:111111111111:global/webacl/e-visa-waf-prod/0a1b",
    "DomainName": "evisa.example.kz",
    "CertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/0a1b",
}


def test_prod_needs_the_web_acl_and_a_custom_domain(template, transformed):
    # SAM keeps the Rules section: CloudFormation checks it on the transformed template.
    assert transformed.get("Rules") == template.get("Rules")
    assert "prod" in template["Parameters"]["Environment"]["AllowedValues"]
    assert refused_by_rules(template) == [], "a dev stack needs neither"
    assert refused_by_rules(template, **PROD) == []
    for missing in ("WebAclArn", "DomainName", "CertificateArn"):
        params = {**PROD, missing: ""}
        # Refused because it is prod, not only because a domain lacks its certificate.
        extra = set(refused_by_rules(template, **params)) - set(refused_by_rules(template, **{**params, "Environment": "dev"}))
        assert extra, f"prod deploys without {missing}"
    # Not prod: WAF and the domain stay optional, but domain and certificate go together.
    assert refused_by_rules(template, WebAclArn=PROD["WebAclArn"]) == []
    assert refused_by_rules(template, DomainName="evisa.example.kz"), "a domain without its certificate"


def test_samconfig_prod_passes_the_rules(template):
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("default", "prod"):
        overrides = dict(kv.split("=", 1) for kv in config[env]["deploy"]["parameters"]["parameter_overrides"].split())
        unknown = set(overrides) - set(template["Parameters"])
        assert not unknown, f"samconfig {env}: unknown parameters {unknown}"
        for name, value in overrides.items():
            pattern = template["Parameters"][name].get("AllowedPattern")
            assert pattern is None or re.fullmatch(pattern, value), f"samconfig {env}: {name}={value}"
        assert refused_by_rules(template, **overrides) == [], f"samconfig {env} is refused by the Rules"
        if env == "prod":
            assert overrides.get("Environment") == "prod"


# ------------------------------------------------------------------ origin secret (X-Origin-Verify)
DYNAMIC_REF = re.compile(r"\{\{resolve:secretsmanager:\$\{(\w+)\}:SecretString(?::[^:]*){0,3}\}\}")


def secret_of(reference):
    """The secret resource a {{resolve:secretsmanager:${X}:SecretString...}} names."""
    text = reference.get("Fn::Sub") if isinstance(reference, dict) else None
    m = DYNAMIC_REF.fullmatch(text or "")
    assert m, f"not a whole Secrets Manager dynamic reference: {reference}"
    return m.group(1)


def test_cloudfront_sends_the_origin_secret_to_the_api_only(transformed):
    resources = transformed["Resources"]
    (dist,) = of_type(resources, "AWS::CloudFront::Distribution").values()
    origins = props(dist)["DistributionConfig"]["Origins"]
    (api,) = [o for o in origins if "HttpApi" in sub_refs(o["DomainName"])]
    headers = {h["HeaderName"]: h["HeaderValue"] for h in api.get("OriginCustomHeaders", [])}
    assert "X-Origin-Verify" in headers, "the api origin sends no X-Origin-Verify"
    name = secret_of(headers["X-Origin-Verify"])
    secret = resources[name]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    generate = props(secret)["GenerateSecretString"]
    assert generate["PasswordLength"] >= 32 and generate["ExcludePunctuation"] is True
    assert "SecretStringTemplate" not in generate, "the header carries the whole secret string"
    for other in origins:
        if other is not api:
            assert "X-Origin-Verify" not in json.dumps(other), f"{other['Id']} gets the origin secret"


def test_functions_get_the_same_origin_secret(template, transformed):
    resources = transformed["Resources"]
    (dist,) = of_type(resources, "AWS::CloudFront::Distribution").values()
    (api,) = [o for o in props(dist)["DistributionConfig"]["Origins"] if "HttpApi" in sub_refs(o["DomainName"])]
    (sent,) = [h["HeaderValue"] for h in api["OriginCustomHeaders"] if h["HeaderName"] == "X-Origin-Verify"]
    assert "ORIGIN_VERIFY_SECRET" in template["Globals"]["Function"]["Environment"]["Variables"]
    functions = of_type(resources, "AWS::Lambda::Function")
    assert len(functions) == 4
    for name, fn in functions.items():
        env = props(fn)["Environment"]["Variables"]
        # The very reference CloudFront resolves: same secret, same version.
        assert env.get("ORIGIN_VERIFY_SECRET") == sent, f"{name}: ORIGIN_VERIFY_SECRET differs from the header"
        alt = env.get("ORIGIN_VERIFY_SECRET_ALT")
        if alt is not None:
            condition, when_set, otherwise = alt["Fn::If"]
            assert secret_of(when_set) == secret_of(sent) and otherwise == "", f"{name}: ALT is another secret"


def test_samconfig_deploys_the_waf_in_us_east_1(waf):
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ("waf-dev", "waf-prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["template_file"] == "infra/waf.yaml" and deploy["region"] == "us-east-1", env
        overrides = dict(kv.split("=", 1) for kv in deploy.get("parameter_overrides", "").split())
        assert set(overrides) <= set(waf["Parameters"]), f"samconfig {env}: unknown parameters"
