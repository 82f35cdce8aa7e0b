"""infra/openapi.yaml: valid OpenAPI 3.1, exactly docs/API.md's routes, and every
problem response documented the way docs/API.md says."""

import re

from contract import ROUTES, SLUGS

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"external $ref {ref}"
        target = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def problem_slugs(spec, response):
    """Slugs (`/problems/<slug>`) named by a response's problem+json examples."""
    response = resolve(spec, response)
    media = (response.get("content") or {}).get("application/problem+json") or {}
    slugs = set()
    examples = [resolve(spec, e).get("value", {}) for e in (media.get("examples") or {}).values()]
    if "example" in media:
        examples.append(media["example"])
    for value in examples:
        match = re.fullmatch(r"/problems/([a-z-]+)", value.get("type", ""))
        assert match, f"example without a /problems/<slug> type: {value}"
        slugs.add(match.group(1))
    return slugs


def test_openapi_document_is_valid(openapi):
    from openapi_spec_validator import validate

    assert openapi["openapi"].startswith("3.1")
    validate(openapi)


def test_openapi_has_exactly_the_api_md_routes(openapi):
    documented = {(m, p) for m, p, _ in operations(openapi)}
    expected = {(m, p) for m, p, _, _ in ROUTES}
    assert documented == expected, (
        f"missing: {sorted(expected - documented)}; not in docs/API.md: {sorted(documented - expected)}"
    )
    assert all(p.startswith("/api/") for _, p in documented)


def test_every_problem_response_is_problem_json(openapi):
    for method, path, op in operations(openapi):
        for status, response in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            response = resolve(openapi, response)
            content = response.get("content") or {}
            if status == "403":  # API Gateway's own IAM refusal (cloud only) is not a problem document
                continue
            if status == "401" and "application/json" in content:
                # The JWT authorizer's own refusal (`{"message": "Unauthorized"}`)
                # beside the function's problem.
                content = {k: v for k, v in content.items() if k != "application/json"}
            assert list(content) == ["application/problem+json"], f"{method} {path} {status}: {list(content)}"
            schema = content["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{method} {path} {status}"
            slugs = problem_slugs(openapi, response)
            assert slugs, f"{method} {path} {status}: no slug example"


def test_each_route_documents_its_problem_slugs(openapi):
    for method, path, op in operations(openapi):
        slugs = set()
        for status, response in op["responses"].items():
            # 403 counts where it is a problem of ours (API Gateway's IAM
            # refusal names none).
            if status.startswith("4"):
                slugs |= problem_slugs(openapi, response)
        assert slugs == SLUGS[(method, path)], (
            f"{method} {path}: missing {sorted(SLUGS[(method, path)] - slugs)}, "
            f"unexpected {sorted(slugs - SLUGS[(method, path)])}"
        )


def test_conventions_apply_to_every_operation(openapi):
    who = {(m, p): w for m, p, _, w in ROUTES}
    for method, path, op in operations(openapi):
        responses = op["responses"]
        assert "413" in responses, f"{method} {path}: no 413 body-too-large"
        if "requestBody" in op:
            assert "400" in responses and "malformed-body" in problem_slugs(openapi, responses["400"]), (
                f"{method} {path}: JSON body without 400 malformed-body"
            )
            body = op["requestBody"]["content"]
            assert list(body) == ["application/json"], f"{method} {path}"
            assert "schema" in body["application/json"]
        if who[(method, path)] in ("applicant", "admin", "staff", "officer", "border"):
            assert "unauthenticated" in problem_slugs(openapi, responses.get("401", {})), f"{method} {path}: no 401"
        if "{" in path:
            assert "404" in responses, f"{method} {path}: id route without 404"
        successes = [s for s in responses if s.startswith("2")]
        assert len(successes) == 1, f"{method} {path}: {successes}"


def test_security_schemes_per_caller(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["applicantSession"]["type"] == "http" and schemes["applicantSession"]["scheme"] == "bearer"
    assert schemes["stripeSignature"] == {**schemes["stripeSignature"], "type": "apiKey", "in": "header", "name": "Stripe-Signature"}
    who = {(m, p): w for m, p, _, w in ROUTES}
    for method, path, op in operations(openapi):
        names = {name for requirement in op.get("security", []) for name in requirement}
        expected = {
            "anyone": set(),
            "border-control": set(),
            "applicant": {"applicantSession"},
            "payment-provider": {"stripeSignature"},
            "admin": {"adminToken", "adminIam"},
            "staff": {"staffToken"},
            "officer": {"staffToken"},
            "border": {"staffToken"},
        }[who[(method, path)]]
        assert names == expected, f"{method} {path}: security {names}"
    assert schemes["adminIam"] != schemes["applicantSession"]


def test_method_not_allowed_and_rate_limit_are_documented(openapi):
    responses = openapi["components"]["responses"]
    assert "method-not-allowed" in problem_slugs(openapi, responses["MethodNotAllowed"])
    assert "405" in openapi["info"]["description"] and "method-not-allowed" in openapi["info"]["description"]
    sessions = openapi["paths"]["/api/sessions"]["post"]["responses"]
    assert "too-many-attempts" in problem_slugs(openapi, sessions["429"])


def test_schemas_carry_the_contract_formats(openapi):
    s = openapi["components"]["schemas"]
    assert set(s["Problem"]["required"]) == {"type", "title", "status"}
    # `until`: the extension member of `payment-open` (when the conflict ends).
    assert set(s["Problem"]["properties"]) == {"type", "title", "status", "detail", "errors", "until"}
    assert set(s["FieldError"]["required"]) == {"field", "message"}
    assert s["CountryCode"]["pattern"] == "^[A-Z]{3}$"
    assert s["VisaNumber"]["pattern"] == "^[A-Z0-9]{9}$"
    assert s["InvitationNumber"]["pattern"] == "^[0-9]{12}$"
    assert s["Category"]["enum"] == ["tourist", "business", "medical"]
    assert set(s["Money"]["required"]) == {"amount_minor", "currency"}

    app = s["Application"]
    assert set(app["required"]) == {
        "id", "status", "category", "invitation_number", "passport", "inviter", "stay", "fee",
        "payment", "visa", "details_confirmed_at", "under_review", "mrz", "group_id",
        "invitation_revoked_at", "created_at", "updated_at",
    }
    # The one MRZ: two lines of the MRV-B alphabet, 36 characters each.
    mrz = app["properties"]["mrz"]
    assert (mrz["minItems"], mrz["maxItems"]) == (2, 2)
    assert mrz["items"]["pattern"] == "^[A-Z0-9<]{36}$"
    assert s["ApplicationStatus"]["enum"] == ["invitation_confirmed", "awaiting_payment", "paid", "issued"]
    nullable = lambda prop: {"type": "null"} in prop.get("oneOf", []) or "null" in prop.get("type", [])
    assert nullable(app["properties"]["payment"]) and nullable(app["properties"]["visa"])
    assert nullable(app["properties"]["details_confirmed_at"])
    assert app["properties"]["under_review"]["type"] == "boolean"
    assert set(s["Payment"]["required"]) == {"checkout_session_id", "checkout_url", "paid_at"}
    assert nullable(s["Payment"]["properties"]["paid_at"])
    assert set(s["Visa"]["required"]) == {
        "number", "category", "entries", "valid_from", "valid_until", "entry_points", "issued_at",
    }

    passport = s["Passport"]["properties"]
    for field in ("date_of_birth", "expiry_date"):
        assert passport[field]["format"] == "date"
    assert set(s["NewApplication"]["required"]) == {"invitation_number", "passport", "declarations"}

    invitation = s["Invitation"]
    assert s["InvitationStatus"]["enum"] == ["approved", "used", "revoked"]
    assert {"status", "created_at", "number"} <= set(invitation["required"])
    assert "number" not in s["NewInvitation"]["required"]
