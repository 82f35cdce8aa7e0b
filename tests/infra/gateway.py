"""The real visa-local binary on a free port with its own data dir, for the
contract test and schemathesis: start, stop, plain HTTP, webhook signing.

Binary: $VISA_LOCAL_BIN, else $CARGO_TARGET_DIR/debug/visa-local with
CARGO_TARGET_DIR defaulting to ~/.cache/visa-target (where tests/run.sh's
`cargo test --workspace` leaves it).
"""

import hashlib
import hmac
import json
import os
import pathlib
import re
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

WEBHOOK_SECRET = "whsec_contract_test_secret"
ADMIN_TOKEN = "adm_contract_test_token"


def binary_path():
    if os.environ.get("VISA_LOCAL_BIN"):
        return pathlib.Path(os.environ["VISA_LOCAL_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.expanduser("~/.cache/visa-target")
    return pathlib.Path(target) / "debug" / "visa-local"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.content_type} {self.body[:300]!r}>"


class Gateway:
    """visa-local as a child process; stdout and stderr are kept in `log`."""

    def __init__(self, extra_env=None):
        binary = binary_path()
        if not binary.exists():
            raise FileNotFoundError(
                f"{binary} is missing: build it with `cargo build -p visa-local` "
                "or set VISA_LOCAL_BIN"
            )
        self.dir = tempfile.TemporaryDirectory(prefix="visa-contract-")
        env = {
            **os.environ,
            "VISA_ADDR": "127.0.0.1:0",
            "VISA_DATA_DIR": self.dir.name,
            "VISA_DEMO": "0",
            "VISA_ADMIN_TOKEN": ADMIN_TOKEN,
            "PAYMENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
            **(extra_env or {}),
        }
        self.env = env
        self.proc = subprocess.Popen(
            [str(binary)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.log = []
        self.base = None
        for line in self.proc.stdout:
            self.log.append(line)
            if line.startswith("visa-local listening on "):
                self.base = line.split("listening on ", 1)[1].strip()
                break
        if self.base is None:
            raise RuntimeError("visa-local exited before listening:\n" + "".join(self.log))
        # Keep draining so the child never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.append(line)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.dir.cleanup()

    def request(self, method, path, token=None, body=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with _opener.open(req, timeout=30) as res:
                status, hdrs, payload = res.status, res.headers, res.read()
        except urllib.error.HTTPError as err:
            status, hdrs, payload = err.code, err.headers, err.read()
        return Response(status, {k.lower(): v for k, v in hdrs.items()}, payload)

    def add_staff(self, email, role, name="Aigerim Sadykova"):
        """`visa-local officer add` on this gateway's data dir: the new
        member's password and authenticator secret (printed once)."""
        out = subprocess.run(
            [str(binary_path()), "officer", "add", email, "--name", name, "--role", role],
            env=self.env, capture_output=True, text=True, check=True, timeout=60,
        ).stdout
        password = re.search(r"password: (\S+)", out).group(1)
        secret = re.search(r"authenticator secret: (\S+)", out).group(1)
        return password, secret

    def staff_token(self, email, role, name="Aigerim Sadykova"):
        """A new member of staff, signed in (password, then the code)."""
        password, secret = self.add_staff(email, role, name)
        challenge = self.request("POST", "/api/officer/sessions", body={"email": email, "password": password})
        assert challenge.status == 200, challenge
        done = self.request("POST", "/api/officer/sessions/totp",
                            body={"email": email, "session": challenge.json()["session"], "code": totp(secret)})
        assert done.status == 200, done
        return done.json()["token"]

    def signed_webhook(self, event, secret=WEBHOOK_SECRET, timestamp=None, raw=None):
        body = raw if raw is not None else json.dumps(event).encode()
        return self.request(
            "POST",
            "/api/webhooks/payment",
            raw=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(secret, body, timestamp)},
        )


def totp(secret, at=None):
    """RFC 6238 (HMAC-SHA1, 6 digits, 30 s): what an authenticator shows."""
    import base64
    import struct

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def sign(secret, body, timestamp=None):
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def date_in(days):
    import datetime

    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def invitation(nationality="IND", category="tourist", passport="Z1234567", surname="SHARMA",
               valid_from=None, valid_until=None):
    return {
        "category": category,
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {
            "surname": surname, "given_names": "PRIYA ANIL", "nationality": nationality,
            "date_of_birth": "1990-04-12", "passport_number": passport,
        },
        "valid_from": valid_from or date_in(10),
        "valid_until": valid_until or date_in(39),
    }


def application(inv, **passport_overrides):
    invitee = inv["invitee"]
    passport = {
        "number": invitee["passport_number"], "surname": invitee["surname"],
        "given_names": invitee["given_names"], "nationality": invitee["nationality"], "sex": "F",
        "date_of_birth": invitee["date_of_birth"], "issuing_state": invitee["nationality"],
        "expiry_date": date_in(3000),
    }
    passport.update(passport_overrides)
    return {
        "invitation_number": inv["number"],
        "passport": passport,
        "declarations": {"two_blank_pages": True, "passport_undamaged": True},
    }


def paid_event(app, event_id, amount=None, currency="usd"):
    return {
        "id": event_id,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": app["payment"]["checkout_session_id"],
            "client_reference_id": app["id"],
            "amount_total": app["fee"]["amount_minor"] if amount is None else amount,
            "currency": currency,
            "payment_status": "paid",
        }},
    }
