"""Offline checks of infra/template.yaml (the SAM template), before and after
the SAM transform. They fail if a bucket can be public, a policy grants a
`*` action or resource, the table lacks PITR/SSE, or an API route is missing.
"""

import json
import re
import shutil
import subprocess

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
    (rule,) = [r for r in rules.values() if "aws.kms" in json.dumps(props(r)["EventPattern"])]
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
    assert attrs == {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}
    assert p.get("TimeToLiveSpecification") == {"AttributeName": "ttl", "Enabled": True}
    assert p.get("StreamSpecification") == {"StreamViewType": "NEW_IMAGE"}


def test_render_visa_consumes_paid_records_with_partial_failures(template, transformed):
    raw = template["Resources"]
    resources = transformed["Resources"]
    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 1
    (name, esm), = mappings.items()
    p = props(esm)
    assert binary_of(raw, ref_target(p["FunctionName"])) == "render-visa"
    assert p["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    patterns = [json.loads(f["Pattern"]) for f in p["FilterCriteria"]["Filters"]]
    assert patterns == [{"dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}]
    assert p.get("BisectBatchOnFunctionError") is True
    assert isinstance(p.get("MaximumRetryAttempts"), int) and 0 <= p["MaximumRetryAttempts"] <= 10
    assert p.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    queue = ref_target(p["DestinationConfig"]["OnFailure"]["Destination"])
    assert resources[queue]["Type"] == "AWS::SQS::Queue"


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
        else:
            assert auth == "NONE", f"{method} {path}: unexpected {auth}"
    assert table[CATCH_ALL[:2]] == (CATCH_ALL[2], "NONE")
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


REWRITES = {
    "/": "/index.html",
    "/verify": "/verify.html",
    "/verify/": "/verify.html",
    "/cabinet": "/cabinet.html",
    "/index.html": "/index.html",
    "/css/site.css": "/css/site.css",
    "/js/app.js": "/js/app.js",
    "/i18n/countries.en.json": "/i18n/countries.en.json",
}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_cloudfront_function_rewrites_extensionless_paths(template):
    code = props(template["Resources"]["PrettyUrlFunction"])["FunctionCode"]
    script = code + "\nconst out = {};\n" + "".join(
        f"out[{json.dumps(uri)}] = handler({{request: {{uri: {json.dumps(uri)}}}}}).uri;\n" for uri in REWRITES
    ) + "console.log(JSON.stringify(out));\n"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == REWRITES


# ------------------------------------------------------------------ secrets, keys, alarms
def test_secrets_hold_no_value_in_the_template(transformed):
    secrets = of_type(transformed["Resources"], "AWS::SecretsManager::Secret")
    assert len(secrets) == 2
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
    directives = {d.strip() for d in csp.split(";")}
    # The pages' own <meta> policy, plus what only a header can say.
    page = (REPO / "site" / "index.html").read_text(encoding="utf-8")
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert {d.strip() for d in meta.split(";")} | {"frame-ancestors 'none'"} == directives
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
    for key in ["POST /api/accounts", "POST /api/sessions", "POST /api/applications/{id}/confirmation",
                "GET /api/visas/{visa_number}/verification"]:
        s = settings.get(key)
        assert s and s["ThrottlingRateLimit"] > 0 and s["ThrottlingBurstLimit"] >= s["ThrottlingRateLimit"], key
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
                if not item_actions:
                    continue
                keys = ((st.get("Condition") or {}).get("ForAllValues:StringLike") or {}).get("dynamodb:LeadingKeys")
                assert keys, f"{name}/{st.get('Sid')}: {item_actions} on every partition"
                assert "*" not in keys, f"{name}/{st.get('Sid')}: every partition"
