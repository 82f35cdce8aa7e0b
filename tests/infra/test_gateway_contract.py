"""infra/openapi.yaml equals what the gateway serves.

Starts the real visa-local binary, drives every route of docs/API.md through its
success and problem cases, and validates each real response against
openapi.yaml: the status must be documented for the operation, the content
type must be one the status documents, the body must match its schema with
no undocumented property (every object schema is made closed for this
check), and a problem's slug must be one the status documents. Then:

- every documented (operation, status) pair must have been seen, except
  403 (API Gateway's IAM refusal, cloud only);
- (the route table itself, functions/core/src/routes.rs, is held against
  the spec's operations and the template by tests/tests/route_table.rs);
- every spec path answers every other method with 405 method-not-allowed
  and an Allow header naming exactly the documented methods;
- near-miss paths answer 404 not-found.
"""

import copy
import json
import pathlib
import re
import time
import uuid

import jsonschema
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from gateway import ADMIN_TOKEN, Gateway, application, date_in, invitation, paid_event

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Statuses a local run cannot produce.
CLOUD_ONLY = {"403"}


# --- the spec ---------------------------------------------------------------


def closed(node):
    """Every object schema that lists its properties admits no others."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            closed(value)
    elif isinstance(node, list):
        for value in node:
            closed(value)
    return node


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def template_regex(path):
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")) + "$")


class Spec:
    def __init__(self, raw):
        self.raw = raw
        self.strict = closed(copy.deepcopy(raw))
        self.operations = {}
        for path, item in raw["paths"].items():
            for method, op in item.items():
                if method in HTTP_METHODS:
                    self.operations[(method.upper(), path)] = op
        self.paths = {path: template_regex(path) for path in raw["paths"]}

    def template_of(self, path):
        path = path.split("?", 1)[0]
        found = [t for t, rx in self.paths.items() if rx.match(path)]
        # A literal segment beats a parameter (none overlap today, but be exact).
        found.sort(key=lambda t: t.count("{"))
        return found[0] if found else None

    def validator(self, schema):
        # The schema inside the whole (closed) document, so #/components refs resolve.
        root = {**{k: v for k, v in self.strict.items() if k != "paths"}, **schema}
        return Draft202012Validator(root, format_checker=FormatChecker())


# --- the checker --------------------------------------------------------------


class Checker:
    """Validates every response against the spec and records what was seen."""

    def __init__(self, gw, spec):
        self.gw, self.spec = gw, spec
        self.seen = set()  # (method, template, status)
        self.slugs = set()  # (method, template, slug)

    def call(self, method, path, expect, slug=None, **kw):
        res = self.gw.request(method, path, **kw)
        assert res.status == expect, f"{method} {path}: expected {expect}, got {res!r}"
        self.check(method, path, res)
        if slug is not None:
            assert res.json()["type"] == f"/problems/{slug}", f"{method} {path}: {res!r}"
        return res

    def check(self, method, path, res):
        template = self.spec.template_of(path)
        assert template is not None, f"{method} {path}: path not in openapi.yaml ({res!r})"
        where = f"{method} {path} -> {res.status}"
        op = self.spec.operations.get((method, template))
        if op is None:
            # A method the path does not serve: the shared 405 response.
            assert res.status == 405, f"{where}: undocumented method answered {res!r}"
            response = self.spec.raw["components"]["responses"]["MethodNotAllowed"]
        else:
            response = op["responses"].get(str(res.status))
            assert response is not None, (
                f"{where}: status not documented (documented: {sorted(op['responses'])}); body {res.body[:300]!r}"
            )
            self.seen.add((method, template, str(res.status)))
        response = resolve(self.spec.raw, response)
        content = response.get("content") or {}
        if not content:
            assert res.body == b"", f"{where}: documented without a body, got {res.body[:200]!r}"
            return
        media = res.content_type.split(";")[0].strip()
        assert media in content, f"{where}: content type {res.content_type!r}, documented {sorted(content)}"
        if not media.endswith("json"):
            # A document (the audit trail's CSV): its schema is a string.
            assert res.body, f"{where}: an empty {media} body"
            return
        body = res.json()
        errors = sorted(
            self.spec.validator(content[media]["schema"]).iter_errors(body), key=lambda e: list(e.path)
        )
        assert not errors, f"{where}: body does not match the schema:\n" + "\n".join(
            f"  at {'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:10]
        ) + f"\nbody: {str(body)[:600]}"
        for name, header in (response.get("headers") or {}).items():
            if header.get("required") or name == "Allow":
                assert name.lower() in res.headers, f"{where}: header {name} missing"
        if media == "application/problem+json":
            documented = set()
            for example in (content[media].get("examples") or {}).values():
                documented.add(resolve(self.spec.raw, example)["value"]["type"])
            assert body["type"] in documented, f"{where}: slug {body['type']} not documented ({sorted(documented)})"
            assert body["status"] == res.status, f"{where}: problem status {body['status']}"
            if op is not None:
                self.slugs.add((method, template, body["type"].rsplit("/", 1)[1]))


# --- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gw():
    gateway = Gateway()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def spec(openapi):
    return Spec(openapi)


@pytest.fixture(scope="module")
def checker(gw, spec):
    return Checker(gw, spec)


def unique_email(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def passport_number():
    return "P" + uuid.uuid4().hex[:8].upper()


def applicant(c, tag):
    creds = {"email": unique_email(tag), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=creds)
    return c.call("POST", "/api/sessions", 201, body=creds).json()["token"]


def new_invitation(c, **kw):
    kw.setdefault("passport", passport_number())
    return c.call("POST", "/api/admin/invitations", 201, token=ADMIN_TOKEN, body=invitation(**kw)).json()


def wait_issued(c, token, app_id):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        app = c.call("GET", f"/api/applications/{app_id}", 200, token=token).json()
        if app["status"] == "issued":
            return app
        time.sleep(0.2)
    pytest.fail(f"application {app_id} not issued within 60 s")


BIG = b'{"x":"' + b"a" * (65 * 1024) + b'"}'


# --- the walk -----------------------------------------------------------------


def test_every_route_success_and_problems_conform(gw, checker):
    c = checker
    # Public catalogue.
    c.call("GET", "/api/health", 200)
    c.call("GET", "/api/countries", 200)
    c.call("GET", "/api/requirements?nationality=IND&category=tourist", 200)
    c.call("GET", "/api/requirements?nationality=USA&category=medical", 200)
    c.call("GET", "/api/requirements", 422, "validation")
    c.call("GET", "/api/requirements?nationality=india&category=holiday", 422, "validation")
    c.call("GET", "/api/.well-known/jwks.json", 200)
    c.call("GET", "/api/.well-known/seal-certificates.pem", 200)
    # Before an operator publishes them (the gateway publishes its own at start).
    signers = pathlib.Path(gw.dir.name, "blobs", "trust", "signers")
    published = {p: p.read_bytes() for p in signers.iterdir()}
    for p in published:
        p.unlink()
    c.call("GET", "/api/.well-known/seal-certificates.pem", 404, "not-found")
    for p, pem in published.items():
        p.write_bytes(pem)

    # Accounts and sessions.
    creds = {"email": unique_email("priya"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=creds)
    c.call("POST", "/api/accounts", 409, "email-taken", body=creds)
    c.call("POST", "/api/accounts", 422, "validation", body={"email": "not-an-email", "password": "short"})
    c.call("POST", "/api/accounts", 422, "validation", body={"email": unique_email("x")})
    c.call("POST", "/api/accounts", 400, "malformed-body", raw=b'{"email":')
    token = c.call("POST", "/api/sessions", 201, body=creds).json()["token"]
    c.call("POST", "/api/sessions", 401, "invalid-credentials", body={**creds, "password": "wrong password!"})
    c.call("POST", "/api/sessions", 401, "invalid-credentials", body={"email": unique_email("nobody"), "password": "whatever12345"})
    c.call("POST", "/api/sessions", 422, "validation", body={"email": creds["email"]})
    c.call("POST", "/api/sessions", 400, "malformed-body", raw=b"not json")

    # Invitations (officer).
    c.call("POST", "/api/admin/invitations", 401, "unauthenticated", body=invitation())
    c.call("POST", "/api/admin/invitations", 401, "unauthenticated", token="wrong", body=invitation())
    chosen = invitation(passport=passport_number())
    chosen["number"] = "25" + str(uuid.uuid4().int)[:10]
    c.call("POST", "/api/admin/invitations", 201, token=ADMIN_TOKEN, body=chosen)
    c.call("POST", "/api/admin/invitations", 409, "invitation-exists", token=ADMIN_TOKEN, body=chosen)
    too_long = {**invitation(), "valid_until": date_in(80)}
    c.call("POST", "/api/admin/invitations", 422, "validation", token=ADMIN_TOKEN, body=too_long)
    c.call("POST", "/api/admin/invitations", 422, "validation", token=ADMIN_TOKEN, body={"category": "tourist"})
    c.call("POST", "/api/admin/invitations", 400, "malformed-body", token=ADMIN_TOKEN, raw=b"{,}")
    c.call("DELETE", f"/api/admin/invitations/{chosen['number']}", 401, "unauthenticated")
    c.call("DELETE", f"/api/admin/invitations/{chosen['number']}", 204, token=ADMIN_TOKEN)
    c.call("DELETE", "/api/admin/invitations/999999999999", 404, "not-found", token=ADMIN_TOKEN)
    c.call("DELETE", "/api/admin/invitations/not-a-number", 404, "not-found", token=ADMIN_TOKEN)

    # Applications: every problem of POST /api/applications.
    inv = new_invitation(c)
    body = application(inv)
    c.call("POST", "/api/applications", 401, "unauthenticated", body=body)
    c.call("POST", "/api/applications", 401, "unauthenticated", token="bogus-token", body=body)
    c.call("POST", "/api/applications", 400, "malformed-body", token=token, raw=b"[1,")
    c.call("POST", "/api/applications", 422, "validation", token=token, body={"invitation_number": inv["number"]})
    c.call("POST", "/api/applications", 422, "validation", token=token,
           body=application(inv, expiry_date="31/01/2031"))
    c.call("POST", "/api/applications", 404, "invitation-not-found", token=token,
           body={**body, "invitation_number": "999999999999"})
    c.call("POST", "/api/applications", 404, "invitation-not-found", token=token,
           body={**body, "invitation_number": chosen["number"]})  # revoked above
    c.call("POST", "/api/applications", 422, "invitation-mismatch", token=token,
           body=application(inv, surname="SOMEONE ELSE"))
    c.call("POST", "/api/applications", 422, "passport-expires-too-soon", token=token,
           body=application(inv, expiry_date=date_in(60)))
    c.call("POST", "/api/applications", 422, "declarations-missing", token=token,
           body={**body, "declarations": {"two_blank_pages": True, "passport_undamaged": False}})
    # USA is on neither annex (2019 lists): not eligible for business.
    ineligible = new_invitation(c, nationality="USA", category="business")
    c.call("POST", "/api/applications", 422, "not-eligible", token=token, body=application(ineligible))
    app = c.call("POST", "/api/applications", 201, token=token, body=body).json()
    assert app["status"] == "invitation_confirmed"
    c.call("POST", "/api/applications", 409, "invitation-already-used", token=token, body=body)

    # Reading.
    c.call("GET", "/api/applications", 200, token=token)
    c.call("GET", "/api/applications", 401, "unauthenticated")
    app_path = f"/api/applications/{app['id']}"
    c.call("GET", app_path, 200, token=token)
    c.call("GET", app_path, 401, "unauthenticated")
    c.call("GET", "/api/applications/01JD0000000000000000000000", 404, "not-found", token=token)
    other = applicant(c, "other")
    c.call("GET", app_path, 404, "not-found", token=other)

    # Visa link before issue.
    c.call("GET", f"{app_path}/visa", 409, "visa-not-ready", token=token)
    c.call("GET", f"{app_path}/visa", 401, "unauthenticated")
    c.call("GET", f"{app_path}/visa", 404, "not-found", token=other)

    # Confirmation.
    confirm = f"{app_path}/confirmation"
    yes = {"details_match_passport": True}
    c.call("POST", confirm, 401, "unauthenticated", body=yes)
    c.call("POST", confirm, 404, "not-found", token=other, body=yes)
    c.call("POST", confirm, 400, "malformed-body", token=token, raw=b"tru")
    c.call("POST", confirm, 422, "validation", token=token, body={"details_match_passport": False})
    c.call("POST", confirm, 422, "validation", token=token, body={})
    app = c.call("POST", confirm, 200, token=token, body=yes).json()
    assert app["status"] == "awaiting_payment" and app["payment"]
    c.call("POST", confirm, 200, token=token, body=yes)  # idempotent while unpaid
    # Its checkout open, the invitation is no longer revoked (a visa is cancelled instead).
    c.call("DELETE", f"/api/admin/invitations/{inv['number']}", 409, "invitation-already-used", token=ADMIN_TOKEN)

    # Webhook.
    event = paid_event(app, "evt_" + uuid.uuid4().hex)
    c.call("POST", "/api/webhooks/payment", 400, "bad-signature", body=event)
    res = gw.signed_webhook(event, secret="whsec_wrong")
    assert res.status == 400
    c.check("POST", "/api/webhooks/payment", res)
    res = gw.signed_webhook(event, timestamp=int(time.time()) - 3600)
    assert res.status == 400 and res.json()["type"] == "/problems/bad-signature"
    c.check("POST", "/api/webhooks/payment", res)
    res = gw.signed_webhook(None, raw=b"{not json")
    assert res.status == 400 and res.json()["type"] == "/problems/malformed-body", res
    c.check("POST", "/api/webhooks/payment", res)
    res = gw.signed_webhook(paid_event(app, "evt_" + uuid.uuid4().hex, amount=1))
    assert res.status == 422 and res.json()["type"] == "/problems/payment-mismatch", res
    c.check("POST", "/api/webhooks/payment", res)
    res = gw.signed_webhook({"id": "evt_" + uuid.uuid4().hex, "type": "customer.created", "data": {"object": {}}})
    assert res.status == 200, res
    c.check("POST", "/api/webhooks/payment", res)
    for _ in range(2):  # a redelivery is a no-op 200
        res = gw.signed_webhook(event)
        assert res.status == 200, res
        c.check("POST", "/api/webhooks/payment", res)

    # Issued.
    issued = wait_issued(c, token, app["id"])
    assert issued["visa"]["number"]
    c.call("POST", confirm, 409, "invalid-state", token=token, body=yes)
    link = c.call("GET", f"{app_path}/visa", 200, token=token).json()
    assert link["visa_number"] == issued["visa"]["number"]
    number = issued["visa"]["number"]
    verify = f"/api/visas/{number}/verification"
    c.call("GET", f"{verify}?passport_number={inv['invitee']['passport_number'].lower()}", 200)
    c.call("GET", f"{verify}?passport_number=X0000000", 404, "not-found")
    c.call("GET", "/api/visas/ZZZZZZZZZ/verification?passport_number=X0000000", 404, "not-found")
    c.call("GET", verify, 404, "not-found")

    # Families and groups: one checkout for several applications.
    fam = applicant(c, "family")

    def member():
        made = new_invitation(c)
        return c.call("POST", "/api/applications", 201, token=fam, body=application(made)).json()

    first, second, revoked, later = member(), member(), member(), member()
    ids = [first["id"], second["id"], revoked["id"]]
    c.call("POST", "/api/groups", 401, "unauthenticated", body={"application_ids": ids})
    c.call("POST", "/api/groups", 400, "malformed-body", token=fam, raw=b"{")
    c.call("POST", "/api/groups", 422, "validation", token=fam, body={"application_ids": ids[:1]})
    c.call("POST", "/api/groups", 404, "not-found", token=fam, body={"application_ids": [first["id"], app["id"]]})
    # Revoked before any checkout: it can never be paid for, alone or grouped.
    c.call("DELETE", f"/api/admin/invitations/{revoked['invitation_number']}", 204, token=ADMIN_TOKEN)
    c.call("POST", "/api/groups", 409, "invitation-revoked", token=fam, body={"application_ids": ids})
    c.call("POST", f"/api/applications/{revoked['id']}/confirmation", 409, "invitation-revoked", token=fam, body=yes)
    group = c.call("POST", "/api/groups", 201, token=fam,
                   body={"application_ids": [first["id"], second["id"], later["id"]]}).json()
    assert group["total"]["amount_minor"] == 3 * first["fee"]["amount_minor"]
    c.call("POST", "/api/groups", 409, "invalid-state", token=fam, body={"application_ids": [first["id"], second["id"]]})
    c.call("POST", f"/api/applications/{first['id']}/confirmation", 409, "invalid-state", token=fam, body=yes)
    listed = c.call("GET", "/api/applications", 200, token=fam).json()["items"]
    assert {i["id"] for i in listed if i["group_id"] == group["id"]} == {first["id"], second["id"], later["id"]}
    group_path = f"/api/groups/{group['id']}"
    c.call("GET", group_path, 200, token=fam)
    c.call("GET", group_path, 401, "unauthenticated")
    c.call("GET", group_path, 404, "not-found", token=other)
    group_confirm = f"{group_path}/confirmation"
    c.call("POST", group_confirm, 401, "unauthenticated", body=yes)
    c.call("POST", group_confirm, 404, "not-found", token=other, body=yes)
    c.call("POST", group_confirm, 400, "malformed-body", token=fam, raw=b"{")
    c.call("POST", group_confirm, 422, "validation", token=fam, body={"details_match_passport": False})
    # A member's invitation revoked after grouping: dropped before the checkout.
    c.call("DELETE", f"/api/admin/invitations/{later['invitation_number']}", 204, token=ADMIN_TOKEN)
    c.call("POST", group_confirm, 409, "group-changed", token=fam, body=yes)
    paying = c.call("POST", group_confirm, 200, token=fam, body=yes).json()
    assert paying["total"]["amount_minor"] == 2 * first["fee"]["amount_minor"]
    assert [d["application_id"] for d in paying["dropped"]] == [later["id"]]
    c.call("DELETE", group_path, 401, "unauthenticated")
    c.call("DELETE", group_path, 404, "not-found", token=other)
    c.call("DELETE", group_path, 409, "invalid-state", token=fam)
    as_app = {"id": paying["id"], "payment": paying["payment"], "fee": paying["total"]}
    res = gw.signed_webhook(paid_event(as_app, "evt_" + uuid.uuid4().hex, amount=first["fee"]["amount_minor"]))
    assert res.status == 422 and res.json()["type"] == "/problems/payment-mismatch", res
    res = gw.signed_webhook(paid_event(as_app, "evt_" + uuid.uuid4().hex))
    assert res.status == 200, res
    c.check("POST", "/api/webhooks/payment", res)
    for member_id in (first["id"], second["id"]):
        assert wait_issued(c, fam, member_id)["group_id"] == group["id"]
    c.call("POST", group_confirm, 409, "invalid-state", token=fam, body=yes)
    # Undone while open: the members are free again.
    spare = [member(), member()]
    undone = c.call("POST", "/api/groups", 201, token=fam, body={"application_ids": [m["id"] for m in spare]}).json()
    dissolved = c.call("DELETE", f"/api/groups/{undone['id']}", 200, token=fam).json()
    assert dissolved["status"] == "dissolved"
    c.call("POST", f"/api/applications/{spare[0]['id']}/confirmation", 200, token=fam, body=yes)

    # Sign-out, then the token is dead.
    c.call("DELETE", "/api/sessions/current", 401, "unauthenticated")
    c.call("DELETE", "/api/sessions/current", 204, token=other)
    c.call("DELETE", "/api/sessions/current", 401, "unauthenticated", token=other)

    # Sign-in throttling: failures up to the limit, then 429 even for the right password.
    victim = {"email": unique_email("victim"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=victim)
    for _ in range(10):
        res = gw.request("POST", "/api/sessions", body={**victim, "password": "wrong password!"})
        c.check("POST", "/api/sessions", res)
        if res.status == 429:
            break
        assert res.status == 401, res
    c.call("POST", "/api/sessions", 429, "too-many-attempts", body=victim)

    # Password reset: the same 202 for any address, the link from the
    # outbox, single use; a short password and a bad address are field errors.
    forgetful = {"email": unique_email("forgetful"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=forgetful)
    c.call("POST", "/api/password-resets", 202, body={"email": forgetful["email"], "lang": "kk"})
    c.call("POST", "/api/password-resets", 202, body={"email": unique_email("nobody")})
    c.call("POST", "/api/password-resets", 422, "validation", body={"email": "not an address"})
    c.call("POST", "/api/password-resets", 400, "malformed-body", raw=b"not json")
    link = None
    for _ in range(200):
        for eml in sorted(pathlib.Path(gw.dir.name, "outbox").glob("message-*.eml")):
            text = eml.read_text()
            if f"To: {forgetful['email']}" in text:
                # The address's confirmation email may sort after the
                # reset (ULIDs of one millisecond): keep a link found.
                link = re.search(r"/reset-password#(\S+)", text) or link
        if link:
            break
        time.sleep(0.05)
    assert link, "a reset link in the outbox"
    reset_token = link.group(1)
    confirm = "/api/password-resets/confirmation"
    c.call("POST", confirm, 422, "validation", body={"token": reset_token, "password": "short"})
    c.call("POST", confirm, 400, "malformed-body", raw=b"{")
    c.call("POST", confirm, 204, body={"token": reset_token, "password": "a brand new passphrase"})
    c.call("POST", confirm, 400, "reset-link-invalid", body={"token": reset_token, "password": "a brand new passphrase"})
    # Email verification: the cabinet's view, the link from the outbox
    # (single use), the resend refused once confirmed and throttled per account.
    confirmer = {"email": unique_email("confirmer"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 422, "validation", body={**confirmer, "lang": "fr"})
    c.call("POST", "/api/accounts", 201, body={**confirmer, "lang": "ru"})
    ctoken = c.call("POST", "/api/sessions", 201, body=confirmer).json()["token"]
    assert c.call("GET", "/api/accounts/current", 200, token=ctoken).json()["email_verified"] is False
    c.call("GET", "/api/accounts/current", 401, "unauthenticated")
    c.call("POST", "/api/email-verifications", 401, "unauthenticated")
    c.call("POST", "/api/email-verifications", 422, "validation", body={"lang": "de"}, token=ctoken)
    c.call("POST", "/api/email-verifications", 400, "malformed-body", raw=b"{", token=ctoken)
    c.call("POST", "/api/email-verifications", 202, body={"lang": "kk"}, token=ctoken)
    link = None
    for _ in range(200):
        for eml in sorted(pathlib.Path(gw.dir.name, "outbox").glob("message-*.eml")):
            text = eml.read_text()
            if f"To: {confirmer['email']}" in text:
                link = re.search(r"/confirm-email#(\S+)", text) or link
        if link:
            break
        time.sleep(0.05)
    assert link, "a confirmation link in the outbox"
    verify = "/api/email-verifications/confirmation"
    c.call("POST", verify, 422, "validation", body={})
    c.call("POST", verify, 400, "malformed-body", raw=b"{")
    c.call("POST", verify, 400, "verification-link-invalid", body={"token": "never-issued"})
    c.call("POST", verify, 204, body={"token": link.group(1)})
    c.call("POST", verify, 400, "verification-link-invalid", body={"token": link.group(1)})
    assert c.call("GET", "/api/accounts/current", 200, token=ctoken).json()["email_verified"] is True
    c.call("POST", "/api/email-verifications", 409, "email-already-verified", token=ctoken)
    pending = {"email": unique_email("pending"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=pending)
    ptoken = c.call("POST", "/api/sessions", 201, body=pending).json()["token"]
    for _ in range(4):
        c.call("POST", "/api/email-verifications", 202, token=ptoken)
    c.call("POST", "/api/email-verifications", 429, "too-many-requests", token=ptoken)

    # Deleting an account: the password again; refused while a checkout can
    # still be paid; then the unpaid application is erased with the account.
    leaver = {"email": unique_email("leaver"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=leaver)
    ltoken = c.call("POST", "/api/sessions", 201, body=leaver).json()["token"]
    linv = new_invitation(c)
    lapp = c.call("POST", "/api/applications", 201, token=ltoken, body=application(linv)).json()
    c.call("POST", f"/api/applications/{lapp['id']}/confirmation", 200, token=ltoken,
           body={"details_match_passport": True})
    me = "/api/accounts/current"
    c.call("DELETE", me, 401, "unauthenticated", body={"password": leaver["password"]})
    c.call("DELETE", me, 401, "invalid-credentials", token=ltoken, body={"password": "not the password"})
    c.call("DELETE", me, 422, "validation", token=ltoken, body={})
    c.call("DELETE", me, 400, "malformed-body", token=ltoken, raw=b"{")
    open_payment = c.call("DELETE", me, 409, "payment-open", token=ltoken, body={"password": leaver["password"]})
    assert open_payment.json()["until"], open_payment
    stayer = {"email": unique_email("stayer"), "password": "correct horse battery"}
    c.call("POST", "/api/accounts", 201, body=stayer)
    stoken = c.call("POST", "/api/sessions", 201, body=stayer).json()["token"]
    sapp = c.call("POST", "/api/applications", 201, token=stoken, body=application(new_invitation(c))).json()
    gone = c.call("DELETE", me, 200, token=stoken, body={"password": stayer["password"]}).json()
    assert gone == {"deleted": {"account": True, "applications": [sapp["id"]]}, "kept": []}, gone
    c.call("GET", "/api/applications", 401, "unauthenticated", token=stoken)
    c.call("POST", "/api/accounts", 201, body=stayer)

    # Retrieval without signing in: all three details, else one 404.
    dob = inv["invitee"]["date_of_birth"]
    passport = inv["invitee"]["passport_number"]
    c.call("POST", "/api/visa-retrievals", 200,
           body={"visa_number": number.lower(), "passport_number": passport, "date_of_birth": dob})
    c.call("POST", "/api/visa-retrievals", 404, "not-found",
           body={"visa_number": number, "passport_number": passport, "date_of_birth": "1901-01-01"})
    c.call("POST", "/api/visa-retrievals", 422, "validation",
           body={"visa_number": number, "passport_number": passport, "date_of_birth": "yesterday"})
    c.call("POST", "/api/visa-retrievals", 400, "malformed-body", raw=b"{")
    for _ in range(25):
        res = gw.request("POST", "/api/visa-retrievals",
                         body={"visa_number": "ZZZZZZZZZ", "passport_number": passport, "date_of_birth": dob})
        c.check("POST", "/api/visa-retrievals", res)
        if res.status == 429:
            break
        assert res.status == 404, res
    c.call("POST", "/api/visa-retrievals", 429, "too-many-requests",
           body={"visa_number": number, "passport_number": passport, "date_of_birth": dob})

    # The migration service's staff (issue #20): sign in with password and
    # authenticator code, then the officers' routes; an auditor reads.
    off_email, aud_email = unique_email("officer"), unique_email("auditor")
    password, secret = gw.add_staff(off_email, "officer")
    c.call("POST", "/api/officer/sessions", 400, "malformed-body", raw=b"{")
    c.call("POST", "/api/officer/sessions", 422, "validation", body={"email": "", "password": "x"})
    c.call("POST", "/api/officer/sessions", 401, "invalid-credentials", body={"email": off_email, "password": "wrong"})
    challenge = c.call("POST", "/api/officer/sessions", 200, body={"email": off_email, "password": password}).json()
    c.call("POST", "/api/officer/sessions/totp", 400, "malformed-body", raw=b"{")
    c.call("POST", "/api/officer/sessions/totp", 422, "validation",
           body={"email": off_email, "session": challenge["session"], "code": "12"})
    c.call("POST", "/api/officer/sessions/totp", 401, "sign-in-expired",
           body={"email": off_email, "session": "nope", "code": "123456"})
    from gateway import totp
    code = totp(secret)
    wrong = "000000" if code != "000000" else "111111"
    c.call("POST", "/api/officer/sessions/totp", 401, "wrong-code",
           body={"email": off_email, "session": challenge["session"], "code": wrong})
    challenge = c.call("POST", "/api/officer/sessions", 200, body={"email": off_email, "password": password}).json()
    signed_in = c.call("POST", "/api/officer/sessions/totp", 200,
                       body={"email": off_email, "session": challenge["session"], "code": code}).json()
    officer = signed_in["token"]
    auditor = gw.staff_token(aud_email, "auditor", name="Bolat Nurlanov")
    locked = unique_email("locked")
    gw.add_staff(locked, "officer")
    for _ in range(5):
        c.call("POST", "/api/officer/sessions", 401, "invalid-credentials", body={"email": locked, "password": "x"})
    c.call("POST", "/api/officer/sessions", 429, "too-many-attempts", body={"email": locked, "password": "x"})

    # The authorizer: no token (or a forged one), no function.
    for (method, template) in checker.spec.operations:
        if template.startswith("/api/officer/") and not template.startswith("/api/officer/sessions"):
            path = template.replace("{id}", "01JD0000000000000000000000").replace("{visa_number}", number) \
                .replace("{number}", "999999999999")
            c.call(method, path, 401, body={"reason": "no token"})
            c.call(method, path, 401, token="forged", body={"reason": "no token"})
    c.call("GET", "/api/officer/me", 401, token=officer[:-4] + "AAAA")
    me = c.call("GET", "/api/officer/me", 200, token=auditor).json()
    assert me["acting_as"] == "auditor", me
    c.call("GET", "/api/officer/applications", 422, "validation", token=auditor)
    c.call("GET", "/api/officer/applications?q=x&status=lost", 422, "validation", token=auditor)
    found = c.call("GET", f"/api/officer/applications?q={passport}", 200, token=auditor).json()["applications"]
    newest = c.call("GET", "/api/officer/applications?status=issued", 200, token=auditor).json()["applications"]
    assert number in [a["visa_number"] for a in newest], newest
    assert [f["visa_number"] for f in found] == [number], found
    c.call("GET", f"/api/officer/applications/{found[0]['id']}", 200, token=auditor)
    c.call("GET", "/api/officer/applications/01JD0000000000000000000000", 404, "not-found", token=auditor)
    staff_inv = invitation(passport=passport_number(), surname="NURLANOVA")
    c.call("POST", "/api/officer/invitations", 403, "forbidden", token=auditor, body=staff_inv)
    c.call("POST", "/api/officer/invitations", 400, "malformed-body", token=officer, raw=b"{")
    c.call("POST", "/api/officer/invitations", 422, "validation", token=officer, body={"category": "tourist"})
    made = c.call("POST", "/api/officer/invitations", 201, token=officer, body=staff_inv).json()
    c.call("POST", "/api/officer/invitations", 409, "invitation-exists", token=officer, body=dict(staff_inv, number=made["number"]))
    c.call("GET", f"/api/officer/invitations/{made['number']}", 200, token=auditor)
    c.call("GET", "/api/officer/invitations", 422, "validation", token=auditor)
    for q in [made["number"], staff_inv["invitee"]["passport_number"], "nurlanova"]:
        listed = c.call("GET", f"/api/officer/invitations?q={q}", 200, token=auditor).json()["invitations"]
        assert made["number"] in [i["number"] for i in listed], (q, listed)
    c.call("GET", "/api/officer/invitations/999999999999", 404, "not-found", token=auditor)
    revoke = f"/api/officer/invitations/{made['number']}/revocation"
    c.call("POST", revoke, 400, "malformed-body", token=officer, raw=b"{")
    c.call("POST", revoke, 422, "validation", token=officer, body={"reason": ""})
    c.call("POST", revoke, 204, token=officer, body={"reason": "the host withdrew it"})
    c.call("POST", "/api/officer/invitations/999999999999/revocation", 404, "not-found", token=officer, body={"reason": "staff walk"})
    c.call("POST", f"/api/officer/invitations/{inv['number']}/revocation", 409, "invitation-already-used",
           token=officer, body={"reason": "staff walk"})
    reason = {"reason": "staff walk"}
    staff_visa = f"/api/officer/visas/{number}"
    first_day = c.call("GET", f"/api/visas/{number}/verification?passport_number={passport}", 200).json()["visa"]["valid_from"]
    for change in ["cancellation", "restoration", "shortening"]:
        body = dict(reason, valid_until=first_day) if change == "shortening" else reason
        c.call("POST", f"{staff_visa}/{change}", 401, body=body)
        c.call("POST", f"{staff_visa}/{change}", 403, "forbidden", token=auditor, body=body)
        c.call("POST", f"{staff_visa}/{change}", 400, "malformed-body", token=officer, raw=b"{")
        c.call("POST", f"{staff_visa}/{change}", 422, "validation", token=officer, body=dict(body, reason=" "))
        c.call("POST", f"/api/officer/visas/ZZZZZZZZZ/{change}", 404, "not-found", token=officer, body=body)
    c.call("POST", f"{staff_visa}/restoration", 409, "invalid-state", token=officer, body={"reason": "staff walk"})
    c.call("POST", f"{staff_visa}/cancellation", 200, token=officer, body={"reason": "staff walk"})
    c.call("POST", f"{staff_visa}/cancellation", 409, "invalid-state", token=officer, body={"reason": "staff walk"})
    c.call("POST", f"{staff_visa}/shortening", 409, "invalid-state", token=officer,
           body=dict(reason, valid_until=first_day))
    c.call("POST", f"{staff_visa}/restoration", 200, token=officer, body={"reason": "staff walk"})
    import datetime
    day_two = (datetime.date.fromisoformat(first_day) + datetime.timedelta(days=1)).isoformat()
    c.call("POST", f"{staff_visa}/shortening", 200, token=officer, body=dict(reason, valid_until=day_two))
    # A disputed payment: held for review, then decided once.
    review = f"/api/officer/applications/{found[0]['id']}/review-decision"
    keep = {"decision": "keep", "reason": "the bank upheld the payment"}
    assert c.call("GET", "/api/officer/reviews", 200, token=auditor).json() == {"applications": []}
    c.call("POST", review, 409, "invalid-state", token=officer, body=keep)
    dispute = {"id": f"evt_dispute_{uuid.uuid4().hex}", "type": "charge.dispute.created",
               "data": {"object": {"metadata": {"application_id": found[0]["id"]}}}}
    assert gw.signed_webhook(dispute).status == 200
    queue = c.call("GET", "/api/officer/reviews", 200, token=auditor).json()["applications"]
    assert [a["id"] for a in queue] == [found[0]["id"]], queue
    c.call("GET", f"/api/visas/{number}/verification?passport_number={passport}", 200)
    c.call("POST", review, 403, "forbidden", token=auditor, body=keep)
    c.call("POST", review, 400, "malformed-body", token=officer, raw=b"{")
    c.call("POST", review, 422, "validation", token=officer, body={"decision": "maybe", "reason": "x"})
    c.call("POST", "/api/officer/applications/01JD0000000000000000000000/review-decision", 404, "not-found",
           token=officer, body=keep)
    kept = c.call("POST", review, 200, token=officer, body=keep).json()
    assert kept["status"] == "not_yet_valid", kept
    c.call("POST", review, 409, "invalid-state", token=officer, body=keep)
    # Border control (issue #21): an entry, then an exit, each once.
    border = gw.staff_token(unique_email("border"), "border", name="Serik Abenov")
    import datetime
    kz_today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=5)).date()
    today_inv = new_invitation(c, valid_from=kz_today.isoformat(),
                               valid_until=(kz_today + datetime.timedelta(days=20)).isoformat())
    crosser = applicant(c, "crosser")
    made_app = c.call("POST", "/api/applications", 201, token=crosser, body=application(today_inv)).json()
    made_app = c.call("POST", f"/api/applications/{made_app['id']}/confirmation", 200, token=crosser,
                      body={"details_match_passport": True}).json()
    assert gw.signed_webhook(paid_event(made_app, "evt_" + uuid.uuid4().hex)).status == 200
    in_force = wait_issued(c, crosser, made_app["id"])["visa"]["number"]
    entry, leave = f"/api/officer/visas/{in_force}/entry", f"/api/officer/visas/{in_force}/exit"
    nqz = {"checkpoint": "NQZ"}
    for path in (entry, leave):
        c.call("POST", path, 401, body=nqz)
        c.call("POST", path, 403, "forbidden", token=officer, body=nqz)
        c.call("POST", path, 400, "malformed-body", token=border, raw=b"{")
        c.call("POST", path, 422, "validation", token=border, body={})
        c.call("POST", path, 422, "checkpoint-not-allowed", token=border, body={"checkpoint": "TSE"})
        c.call("POST", path.replace(in_force, "ZZZZZZZZZ"), 404, "not-found", token=border, body=nqz)
    c.call("POST", f"/api/officer/visas/{number}/entry", 409, "visa-not-in-force", token=border, body=nqz)
    c.call("POST", f"/api/officer/visas/{in_force}/cancellation", 200, token=officer, body=reason)
    c.call("POST", entry, 409, "visa-cancelled", token=border, body=nqz)
    c.call("POST", f"/api/officer/visas/{in_force}/restoration", 200, token=officer, body=reason)
    c.call("POST", leave, 409, "visa-not-entered", token=border, body=nqz)
    assert c.call("POST", entry, 200, token=border, body=nqz).json()["status"] == "entered"
    assert c.call("GET", f"/api/visas/{in_force}/verification?passport_number={today_inv['invitee']['passport_number']}",
                  200).json()["status"] == "entered"
    c.call("POST", entry, 409, "visa-already-entered", token=border, body=nqz)
    assert c.call("POST", leave, 200, token=border, body={"checkpoint": "ALA"}).json()["status"] == "used"
    c.call("POST", entry, 409, "visa-used", token=border, body=nqz)
    c.call("POST", leave, 409, "visa-used", token=border, body=nqz)
    c.call("GET", "/api/officer/audit-events?from=nope", 422, "validation", token=auditor)
    trail = c.call("GET", "/api/officer/audit-events", 200, token=auditor).body.decode()
    assert f"<{off_email}> (officer),visa_cancelled,visa/{number}" in trail, trail
    assert f"<{off_email}> (unverified),sign_in_refused" in trail, trail
    assert f"Bolat Nurlanov <{aud_email}> (auditor),signed_in" in trail, trail

    # Inviting parties (issue #22): a confirmed account registers, an
    # officer decides once.
    host = {"kind": "resident", "number": "061211600012", "name": "Aigerim Sadykova",
            "contact": {"name": "Aigerim Sadykova", "phone": "+77012345678"}}
    c.call("POST", "/api/hosts", 401, "unauthenticated", body=host)
    c.call("POST", "/api/hosts", 409, "email-not-verified", token=ptoken, body=host)
    c.call("POST", "/api/hosts", 422, "validation", token=ctoken, body={**host, "number": "061211600013"})
    c.call("POST", "/api/hosts", 400, "malformed-body", token=ctoken, raw=b"{")
    c.call("GET", "/api/hosts/current", 404, "not-found", token=ctoken)
    c.call("GET", "/api/hosts/current", 401, "unauthenticated")
    registered = c.call("POST", "/api/hosts", 201, token=ctoken, body=host).json()
    assert registered["status"] == "pending_approval", registered
    c.call("POST", "/api/hosts", 409, "host-exists", token=ctoken, body=host)
    assert c.call("GET", "/api/hosts/current", 200, token=ctoken).json() == registered
    reqs = "/api/hosts/current/invitation-requests"
    trip = {"category": "tourist", "valid_from": date_in(10), "valid_until": date_in(20), "purpose": "a tour",
            "invitees": [{"surname": "Sharma", "given_names": "Priya", "sex": "F", "nationality": "IND",
                          "date_of_birth": "1990-04-12", "passport_number": "Z1234567",
                          "email": "priya@example.com"}]}
    c.call("POST", reqs, 409, "host-not-approved", token=ctoken, body=trip)
    c.call("POST", reqs, 404, "not-found", token=ptoken, body=trip)
    c.call("GET", reqs, 404, "not-found", token=ptoken)
    c.call("GET", "/api/hosts/current/invitees", 404, "not-found", token=ptoken)
    c.call("GET", "/api/hosts/current/invitees", 401, "unauthenticated")
    c.call("POST", reqs, 401, "unauthenticated", body=trip)
    c.call("GET", reqs, 401, "unauthenticated")
    c.call("GET", "/api/officer/hosts?status=nope", 422, "validation", token=auditor)
    queue = c.call("GET", "/api/officer/hosts", 200, token=auditor).json()["hosts"]
    assert [h["id"] for h in queue] == [registered["id"]], queue
    decide = f"/api/officer/hosts/{registered['id']}/decision"
    c.call("POST", decide, 403, "forbidden", token=auditor, body={"decision": "approve"})
    c.call("POST", decide, 422, "validation", token=officer, body={"decision": "refuse"})
    c.call("POST", decide, 400, "malformed-body", token=officer, raw=b"{")
    c.call("POST", "/api/officer/hosts/01JD0000000000000000000000/decision", 404, "not-found", token=officer,
           body={"decision": "approve"})
    assert c.call("POST", decide, 200, token=officer, body={"decision": "approve"}).json()["status"] == "approved"
    c.call("POST", decide, 409, "host-already-decided", token=officer,
           body={"decision": "refuse", "reason": "second thoughts"})
    c.call("POST", reqs, 400, "malformed-body", token=ctoken, raw=b"{")
    c.call("POST", reqs, 422, "validation", token=ctoken, body={**trip, "invitees": []})
    usa = {**trip["invitees"][0], "nationality": "USA", "passport_number": "123456789"}
    c.call("POST", reqs, 422, "not-eligible", token=ctoken, body={**trip, "invitees": [usa]})
    made = c.call("POST", reqs, 201, token=ctoken, body=trip).json()["requests"]
    assert c.call("GET", reqs, 200, token=ctoken).json()["requests"][0]["id"] == made[0]["id"]
    c.call("GET", "/api/officer/invitation-requests?status=open", 422, "validation", token=auditor)
    waiting = c.call("GET", "/api/officer/invitation-requests", 200, token=auditor).json()["requests"]
    assert made[0]["id"] in [r["id"] for r in waiting], waiting
    rdecide = f"/api/officer/invitation-requests/{made[0]['id']}/decision"
    c.call("POST", rdecide, 403, "forbidden", token=auditor, body={"decision": "approve"})
    c.call("POST", rdecide, 422, "validation", token=officer, body={"decision": "refuse"})
    c.call("POST", rdecide, 400, "malformed-body", token=officer, raw=b"{")
    c.call("POST", "/api/officer/invitation-requests/none/decision", 404, "not-found", token=officer,
           body={"decision": "approve"})
    granted = c.call("POST", rdecide, 200, token=officer, body={"decision": "approve"}).json()
    c.call("GET", f"/api/officer/invitations/{granted['invitation_number']}", 200, token=auditor)
    stages = c.call("GET", "/api/hosts/current/invitees", 200, token=ctoken).json()["invitees"]
    assert [i["stage"] for i in stages] == ["invited"], stages
    c.call("POST", rdecide, 409, "request-already-decided", token=officer,
           body={"decision": "refuse", "reason": "second thoughts"})

    # Arrival notices: the host's foreigner, invited from today, applies,
    # is issued and enters; the host files the notice once.
    arrives = {**trip, "valid_from": kz_today.isoformat(),
               "valid_until": (kz_today + datetime.timedelta(days=15)).isoformat(),
               "invitees": [{**trip["invitees"][0], "passport_number": passport_number()}]}
    guest_req = c.call("POST", reqs, 201, token=ctoken, body=arrives).json()["requests"][0]
    guest_inv = c.call("POST", f"/api/officer/invitation-requests/{guest_req['id']}/decision", 200,
                       token=officer, body={"decision": "approve"}).json()["invitation_number"]
    guest_inv = c.call("GET", f"/api/officer/invitations/{guest_inv}", 200, token=auditor).json()
    guest = applicant(c, "guest")
    guest_app = c.call("POST", "/api/applications", 201, token=guest, body=application(guest_inv)).json()
    guest_app = c.call("POST", f"/api/applications/{guest_app['id']}/confirmation", 200, token=guest,
                       body={"details_match_passport": True}).json()
    assert gw.signed_webhook(paid_event(guest_app, "evt_" + uuid.uuid4().hex)).status == 200
    guest_visa = wait_issued(c, guest, guest_app["id"])["visa"]["number"]
    arrivals = "/api/hosts/current/arrivals"
    assert c.call("GET", arrivals, 200, token=ctoken).json() == {"arrivals": []}
    c.call("POST", f"/api/officer/visas/{guest_visa}/entry", 200, token=border, body=nqz)
    c.call("GET", arrivals, 401, "unauthenticated")
    c.call("GET", arrivals, 404, "not-found", token=ptoken)
    listed = c.call("GET", arrivals, 200, token=ctoken).json()["arrivals"]
    assert [(a["request_id"], a["status"]) for a in listed] == [(guest_req["id"], "awaiting")], listed
    assert guest_visa not in json.dumps(listed), listed
    notice = f"{arrivals}/{guest_req['id']}/notice"
    stay = {"address": "Astana, Mangilik El 55", "stay_from": kz_today.isoformat(),
            "stay_until": kz_today.isoformat()}
    c.call("POST", notice, 401, "unauthenticated", body=stay)
    c.call("POST", notice, 404, "not-found", token=ptoken, body=stay)
    c.call("POST", f"{arrivals}/01JD0000000000000000000000/notice", 404, "not-found", token=ctoken, body=stay)
    c.call("POST", notice, 400, "malformed-body", token=ctoken, raw=b"{")
    c.call("POST", notice, 422, "validation", token=ctoken, body={**stay, "address": " "})
    c.call("GET", "/api/officer/arrivals?status=late", 422, "validation", token=auditor)
    assert c.call("GET", "/api/officer/arrivals", 200, token=auditor).json() == {"arrivals": []}
    awaiting = c.call("GET", "/api/officer/arrivals?status=awaiting", 200, token=auditor).json()["arrivals"]
    assert [(a["request_id"], a["visa_number"]) for a in awaiting] == [(guest_req["id"], guest_visa)], awaiting
    filed = c.call("POST", notice, 201, token=ctoken, body=stay).json()
    assert filed["status"] == "filed" and filed["notice"]["late"] is False, filed
    c.call("POST", notice, 409, "notice-already-filed", token=ctoken, body=stay)
    assert c.call("GET", "/api/officer/arrivals?status=awaiting", 200, token=auditor).json() == {"arrivals": []}

    # The visa's life, by an officer (docs/DESIGN.md), and the audit trail.
    visa_path = f"/api/admin/visas/{number}"
    reason = {"reason": "contract walk"}
    first_day = c.call("GET", f"/api/visas/{number}/verification?passport_number={passport}", 200).json()["visa"]["valid_from"]
    for change in ["cancellation", "restoration", "shortening"]:
        path = f"{visa_path}/{change}"
        body = dict(reason, valid_until=first_day) if change == "shortening" else reason
        c.call("POST", path, 401, "unauthenticated", body=body)
        c.call("POST", path, 401, "unauthenticated", token="wrong", body=body)
        c.call("POST", path, 422, "validation", token=ADMIN_TOKEN, body=dict(body, reason="   "))
        c.call("POST", path, 400, "malformed-body", token=ADMIN_TOKEN, raw=b"{")
        c.call("POST", f"/api/admin/visas/ZZZZZZZZZ/{change}", 404, "not-found", token=ADMIN_TOKEN, body=body)
    c.call("POST", f"{visa_path}/restoration", 409, "invalid-state", token=ADMIN_TOKEN, body=reason)
    cancelled = c.call("POST", f"{visa_path}/cancellation", 200, token=ADMIN_TOKEN, body=reason).json()
    assert cancelled["status"] == "cancelled" and cancelled["visa"]["cancelled_at"], cancelled
    c.call("POST", f"{visa_path}/cancellation", 409, "invalid-state", token=ADMIN_TOKEN, body=reason)
    c.call("POST", f"{visa_path}/shortening", 409, "invalid-state", token=ADMIN_TOKEN,
           body=dict(reason, valid_until=first_day))
    c.call("POST", f"{visa_path}/restoration", 200, token=ADMIN_TOKEN, body=reason)
    c.call("POST", f"{visa_path}/shortening", 422, "validation", token=ADMIN_TOKEN,
           body=dict(reason, valid_until="2099-01-01"))
    short = c.call("POST", f"{visa_path}/shortening", 200, token=ADMIN_TOKEN,
                   body=dict(reason, valid_until=first_day)).json()
    assert short["visa"]["valid_until"] == first_day and short["visa"]["revision"] == 7, short
    c.call("GET", "/api/admin/audit-events", 401, "unauthenticated")
    c.call("POST", "/api/admin/seal-certificate-requests", 401, "unauthenticated")
    csr = c.call("POST", "/api/admin/seal-certificate-requests", 200, token=ADMIN_TOKEN).json()
    assert csr["request"].startswith("-----BEGIN CERTIFICATE REQUEST-----"), csr
    c.call("GET", "/api/admin/audit-events?from=2026-12-05&to=2026-12-01", 422, "validation", token=ADMIN_TOKEN)
    trail = c.call("GET", "/api/admin/audit-events", 200, token=ADMIN_TOKEN)
    rows = trail.body.decode().splitlines()
    assert rows[0] == "id,at,actor,action,record,reason,from,detail", rows
    actions = [r.split(",")[3] for r in rows[1:]]
    assert "invitation_created" in actions and "invitation_revoked" in actions, rows
    # The staff walk's three changes (and its review decision), then these three.
    on_visa = [r.split(",")[3] for r in rows[1:] if f",visa/{number}," in r]
    assert [a for a in on_visa if a.startswith("visa_")] == ["visa_cancelled", "visa_restored", "visa_shortened"] * 2, rows

    flooded = unique_email("flooded")
    for _ in range(5):
        c.call("POST", "/api/password-resets", 202, body={"email": flooded})
    c.call("POST", "/api/password-resets", 429, "too-many-requests", body={"email": flooded})

    # Bodies over 64 KiB, on every operation.
    for (method, template) in checker.spec.operations:
        path = (template.replace("{id}", app["id"]).replace("{visa_number}", number)
                .replace("{number}", "999999999999").replace("{request_id}", "01JD0000000000000000000000"))
        who = officer if template.startswith("/api/officer/") else token
        c.call(method, path, 413, "body-too-large", raw=BIG, token=who)


def test_every_documented_status_and_slug_was_seen(checker, spec):
    # Runs after the walk (pytest keeps file order).
    assert checker.seen, "the walk did not run"
    missing = []
    for (method, template), op in spec.operations.items():
        for status, response in op["responses"].items():
            if status in CLOUD_ONLY:
                continue
            if (method, template, status) not in checker.seen:
                missing.append(f"{method} {template} {status}")
                continue
            content = resolve(spec.raw, response).get("content") or {}
            problem = content.get("application/problem+json")
            for example in ((problem or {}).get("examples") or {}).values():
                slug = resolve(spec.raw, example)["value"]["type"].rsplit("/", 1)[1]
                # On a staff route the gateway's authorizer answers a missing
                # or bad token before the function could say `unauthenticated`
                # (the function's own check is the handler tests').
                if slug == "unauthenticated" and template.startswith("/api/officer/"):
                    continue
                if (method, template, slug) not in checker.slugs:
                    missing.append(f"{method} {template} {status} {slug}")
    assert not missing, "documented but never produced by the gateway:\n  " + "\n  ".join(missing)


def test_other_methods_get_405_and_unknown_paths_404(gw, checker, spec):
    for template in spec.raw["paths"]:
        path = (template.replace("{id}", "01JD0000000000000000000000").replace("{visa_number}", "ZZZZZZZZZ")
                .replace("{number}", "999999999999"))
        served = {m for (m, t) in spec.operations if t == template}
        for method in METHODS:
            res = gw.request(method, path)
            if method in served:
                assert res.status != 405, f"{method} {path}: documented but answered 405"
                continue
            assert res.status == 405, f"{method} {path}: not documented but answered {res!r}"
            checker.check(method, path, res)
            allow = {m.strip() for m in res.headers.get("allow", "").split(",")}
            # HEAD is served wherever GET is (RFC 9110 9.3.2).
            expected = served | ({"HEAD"} if "GET" in served else set())
            assert allow == expected, f"{method} {path}: Allow {allow}, documented {expected}"
    for path in ["/api", "/api/nope", "/api/accounts/x", "/api/sessions/other", "/api/applications/a/b",
                 "/api/applications/a/visa/pdf", "/api/visas/X", "/api/admin", "/api/admin/invitations/1/2",
                 "/api/.well-known/other.json", "/api/webhooks/other"]:
        res = gw.request("GET", path)
        assert res.status == 404, f"GET {path}: {res!r}"
        assert res.content_type == "application/problem+json" and res.json()["type"] == "/problems/not-found"
        jsonschema.validate(res.json(), spec.raw["components"]["schemas"]["Problem"])
