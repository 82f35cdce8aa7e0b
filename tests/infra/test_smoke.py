"""tests/smoke.sh, the post-deploy smoke test, against the real visa-local.

- Every step passes against a fresh visa-local (admin token, webhook secret
  from the environment), and the applicant it made really exists (the
  gateway's outbox holds the link confirming its address, and no visa: an
  unconfirmed address is sent none).
- It can fail: with a wrong webhook secret the payment and every step after
  it that needs the payment fail and the exit status is non-zero; in front
  of a proxy that lets any caller through on the officer routes (an
  authorisation bypass) the flow still passes and every admin step fails;
  against nothing at all no step passes.
- The cloud paths: officer calls SigV4-signed by curl, checked by a stand-in
  for API Gateway's IAM authorisation that recomputes the signature with
  botocore; the webhook secret read with the AWS CLI from Secrets Manager
  (moto), holding two secrets as during a rotation.
"""

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway import ADMIN_TOKEN, WEBHOOK_SECRET, Gateway, _opener

REPO = pathlib.Path(__file__).resolve().parents[2]
SMOKE = REPO / "tests" / "smoke.sh"

FLOW = [
    "site", "health", "register", "sign-in", "invitation", "application", "confirmation",
    "payment-webhook", "issued", "download", "verification", "jwks",
]
ADMIN = ["admin-no-credentials", "admin-bogus-bearer", "admin-bogus-sigv4", "admin-applicant-token"]
STEPS = FLOW + ADMIN + ["sign-out"]
# The steps that need the payment to have gone through.
AFTER_PAYMENT = ["payment-webhook", "issued", "download", "verification"]

LINE = re.compile(r"^(PASS|FAIL) (\S+)(?:: (.+))?$")


class Run:
    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.verdicts = {}
        self.order = []
        for line in proc.stdout.splitlines():
            m = LINE.match(line)
            assert m, f"not a PASS/FAIL line: {line!r}\n{self}"
            self.verdicts[m[2]] = (m[1], m[3] or "")
            self.order.append(m[2])

    def passed(self, step):
        return self.verdicts[step][0] == "PASS"

    def why(self, step):
        return self.verdicts[step][1]

    def __str__(self):
        return f"exit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def smoke(base, **env):
    """Runs tests/smoke.sh with only the settings given (none leak in from
    the caller's environment)."""
    clean = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SMOKE_")) and k not in (
            "VISA_ADMIN_TOKEN", "ADMIN_API_URL", "STRIPE_WEBHOOK_SECRET", "WEBHOOK_SECRET_ID")
    }
    # No ~/.aws config either: the script must use what it is given.
    clean["AWS_CONFIG_FILE"] = clean["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    clean.update(env)
    proc = subprocess.run(
        ["bash", str(SMOKE), base], env=clean, capture_output=True, text=True, timeout=300
    )
    return Run(proc)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def tools():
    # What the script runs on: a failure here, not a skip (CI installs them).
    missing = [t for t in ("bash", "curl", "jq", "python3") if not shutil.which(t)]
    if missing:
        pytest.fail(f"tests/smoke.sh needs {', '.join(missing)} (tests/run.sh installs them)")


@pytest.fixture(scope="module")
def gw():
    gateway = Gateway(extra_env={"VISA_SITE_DIR": str(REPO / "site")})
    yield gateway
    gateway.stop()


# --- a stand-in in front of the gateway -----------------------------------------


class Front:
    """A small HTTP server in front of visa-local. `decide(method, path,
    headers, body)` returns either None (forward the request unchanged), a
    dict of headers to forward it with instead, or (status, body) to answer
    itself."""

    def __init__(self, upstream, decide):
        front = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                decision = decide(self.command, self.path, headers, body)
                if isinstance(decision, tuple):
                    status, payload = decision
                    self._send(status, {"Content-Type": "application/json"}, payload)
                    return
                if decision is not None:
                    headers = decision
                req = urllib.request.Request(
                    upstream + self.path, data=body if body else None, method=self.command)
                for k, v in headers.items():
                    if k.lower() not in ("host", "content-length", "connection"):
                        req.add_header(k, v)
                try:
                    with _opener.open(req, timeout=30) as res:
                        status, hdrs, payload = res.status, res.headers, res.read()
                except urllib.error.HTTPError as err:
                    status, hdrs, payload = err.code, err.headers, err.read()
                self._send(status, hdrs, payload)

            def _send(self, status, headers, payload):
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, *args):
                front.log.append(self.requestline)

        self.log = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- the smoke test passes, and can fail ------------------------------------------


def test_help_names_every_setting():
    out = subprocess.run(["bash", str(SMOKE), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for var in ("VISA_ADMIN_TOKEN", "ADMIN_API_URL", "AWS_REGION", "STRIPE_WEBHOOK_SECRET",
                "WEBHOOK_SECRET_ID", "SMOKE_EMAIL_DOMAIN", "SMOKE_TIMEOUT"):
        assert var in out.stdout, var
    assert subprocess.run(["bash", str(SMOKE)], capture_output=True).returncode == 2


def test_without_credentials_it_refuses_to_start(gw):
    run = smoke(gw.base)
    assert run.code == 2 and run.stdout == "", str(run)
    run = smoke(gw.base, VISA_ADMIN_TOKEN=ADMIN_TOKEN)
    assert run.code == 2 and "webhook secret" in run.stderr, str(run)


def test_every_step_passes_against_visa_local(gw):
    run = smoke(gw.base, VISA_ADMIN_TOKEN=ADMIN_TOKEN, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                SMOKE_EMAIL_DOMAIN="smoke.example.org")
    assert run.order == STEPS, str(run)
    assert all(run.passed(s) for s in STEPS), str(run)
    assert run.code == 0, str(run)
    # The flow really ran in the gateway: the smoke applicant was sent the
    # link confirming the address, and (the script follows no link) the
    # visa it downloaded was held back rather than mailed to it.
    outbox = pathlib.Path(gw.dir.name) / "outbox"
    mails = [p.read_text(errors="replace") for p in outbox.rglob("*") if p.is_file()]
    to_smoke = [m for m in mails if "@smoke.example.org" in m]
    assert any("/confirm-email#" in m for m in to_smoke), "no confirmation link to the smoke applicant"
    assert not any("application/pdf" in m for m in to_smoke), "a visa mailed to an unconfirmed address"


def test_a_wrong_webhook_secret_fails_the_payment_and_what_follows(gw):
    run = smoke(gw.base, VISA_ADMIN_TOKEN=ADMIN_TOKEN, STRIPE_WEBHOOK_SECRET="whsec_not_the_secret")
    assert run.code != 0, str(run)
    assert run.order == STEPS, str(run)
    for s in STEPS:
        assert run.passed(s) == (s not in AFTER_PAYMENT), f"{s}\n{run}"
    assert "400" in run.why("payment-webhook") and "bad-signature" in run.why("payment-webhook"), str(run)
    assert "payment-webhook" in run.why("issued"), str(run)


def test_a_wrong_admin_token_fails_the_invitation_and_what_follows(gw):
    run = smoke(gw.base, VISA_ADMIN_TOKEN="adm_not_the_token", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert run.code != 0, str(run)
    failing = ["invitation", "application", "confirmation"] + AFTER_PAYMENT
    for s in STEPS:
        assert run.passed(s) == (s not in failing), f"{s}\n{run}"
    assert "401" in run.why("invitation"), str(run)


def test_an_admin_bypass_fails_every_admin_step(gw):
    """A proxy that forwards the officer's own calls but answers 200 to
    every other request under /api/admin: officer routes anyone can call."""

    def decide(method, path, headers, body):
        if path.startswith("/api/admin") and headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
            return 200, b'{"bypassed": true}'
        return None

    front = Front(gw.base, decide)
    try:
        run = smoke(front.base, VISA_ADMIN_TOKEN=ADMIN_TOKEN, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    finally:
        front.stop()
    assert run.code != 0, str(run)
    for s in STEPS:
        assert run.passed(s) == (s not in ADMIN), f"{s}\n{run}"
    for s in ADMIN:
        assert "200" in run.why(s), str(run)


def test_against_nothing_no_step_passes():
    started = time.monotonic()
    run = smoke(f"http://127.0.0.1:{free_port()}", VISA_ADMIN_TOKEN="x", STRIPE_WEBHOOK_SECRET="y",
                SMOKE_HTTP_TIMEOUT="5")
    assert run.code != 0 and run.order == STEPS, str(run)
    assert not any(run.passed(s) for s in STEPS), str(run)
    assert time.monotonic() - started < 60, "steps after a failure must not wait"


# --- the cloud paths ----------------------------------------------------------------

AK, SK, SESSION = "AKIDSMOKETEST", "smoke/secret+key", "FwoGZXIvYXdzEBoaDsmoke/token+=="
REGION = "eu-central-1"


def iam_gateway(gw):
    """What API Gateway does on the officer routes: a request under
    /api/admin must carry a valid SigV4 signature for execute-api by the
    known key, with its session token, or it gets 403 {"message":
    "Forbidden"}; a valid one reaches the officer handler (here: visa-local,
    with its admin token standing in for the IAM identity). The signature
    is recomputed by botocore, an implementation independent of curl's."""
    auth_mod = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    forbidden = (403, b'{"message":"Forbidden"}')
    header = re.compile(
        r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")
    front_holder = {}

    def decide(method, path, headers, body):
        if not path.startswith("/api/admin"):
            return 404, b'{"message":"Not Found"}'
        lower = {k.lower(): v for k, v in headers.items()}
        m = header.match(lower.get("authorization", ""))
        if not m or m[1] != AK or m[3] != REGION or m[4] != "execute-api":
            return forbidden
        signed = m[5].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return forbidden
        if lower.get("x-amz-security-token") != SESSION:
            return forbidden
        amz_date = lower["x-amz-date"]
        if not amz_date.startswith(m[2]):
            return forbidden
        request = AWSRequest(method=method, url=front_holder["base"] + path, data=body,
                             headers={h: lower[h] for h in signed if h in lower})
        request.context["timestamp"] = amz_date
        signer = auth_mod.SigV4Auth(Credentials(AK, SK, SESSION), "execute-api", REGION)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if expected != m[6]:
            return forbidden
        forwarded = {k: v for k, v in headers.items()
                     if not k.lower().startswith("x-amz-") and k.lower() != "authorization"}
        forwarded["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        return forwarded

    front = Front(gw.base, decide)
    front_holder["base"] = front.base
    return front


def test_cloud_mode_officer_calls_are_sigv4_signed(gw):
    front = iam_gateway(gw)
    try:
        run = smoke(gw.base, ADMIN_API_URL=front.base + "/", AWS_REGION=REGION,
                    AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_SESSION_TOKEN=SESSION,
                    STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
        signed_posts = [line for line in front.log if line.startswith("POST /api/admin/invitations ")]
    finally:
        front.stop()
    assert all(run.passed(s) for s in STEPS) and run.code == 0, str(run)
    # The invitation went through the IAM stand-in, and the bypass probes
    # were sent to it as well as to the site.
    assert len(signed_posts) >= 5, front.log


def test_cloud_mode_a_wrong_secret_key_is_refused(gw):
    front = iam_gateway(gw)
    try:
        run = smoke(gw.base, ADMIN_API_URL=front.base, AWS_REGION=REGION,
                    AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY="not-the-key",
                    AWS_SESSION_TOKEN=SESSION, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    finally:
        front.stop()
    assert run.code != 0 and not run.passed("invitation"), str(run)
    assert "403" in run.why("invitation"), str(run)
    assert all(run.passed(s) for s in ADMIN), str(run)


def test_cloud_mode_webhook_secret_from_secrets_manager(gw, tmp_path):
    if not shutil.which("aws") or not shutil.which("moto_server"):
        pytest.skip("needs the AWS CLI and moto_server")
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        # Rotation: the value holds the live secret and the one it replaces.
        arn = sm.create_secret(Name="e-visa-smoke-webhook",
                               SecretString=f"\n{WEBHOOK_SECRET}, whsec_previous\n")["ARN"]
        # No region set: the script takes it from the ARN.
        env = dict(VISA_ADMIN_TOKEN=ADMIN_TOKEN, WEBHOOK_SECRET_ID=arn, AWS_ENDPOINT_URL=endpoint,
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        run = smoke(gw.base, **env)
        assert all(run.passed(s) for s in STEPS) and run.code == 0, str(run)
        # An unknown secret: the payment step says why.
        run = smoke(gw.base, **{**env, "WEBHOOK_SECRET_ID": arn + "-missing"})
        assert run.code != 0 and "cannot read" in run.why("payment-webhook"), str(run)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
