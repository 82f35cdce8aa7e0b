"""Runs schemathesis (every check) against infra/openapi.yaml on a real
visa-local: starts the gateway, sets up an applicant with an issued visa,
runs schemathesis with tests/infra/schemathesis.toml and the signing hook,
then prints the figures and fails unless schemathesis found nothing, at
least MIN_REQUESTS requests were generated, and the gateway logged no panic.

    python3 tests/infra/schemathesis_run.py [extra schemathesis args...]
"""

import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from gateway import ADMIN_TOKEN, Gateway, application, invitation, paid_event  # noqa: E402

MIN_REQUESTS = int(os.environ.get("SCHEMATHESIS_MIN_REQUESTS", "1000"))


def must(res, status):
    if res.status != status:
        raise SystemExit(f"setup failed: expected {status}, got {res!r}")
    return res.json() if res.body else None


def setup(gw):
    creds = {"email": "schemathesis@example.com", "password": "correct horse battery"}
    must(gw.request("POST", "/api/accounts", body=creds), 201)
    token = must(gw.request("POST", "/api/sessions", body=creds), 201)["token"]
    inv = must(gw.request("POST", "/api/admin/invitations", token=ADMIN_TOKEN, body=invitation()), 201)
    app = must(gw.request("POST", "/api/applications", token=token, body=application(inv)), 201)
    path = f"/api/applications/{app['id']}"
    app = must(gw.request("POST", f"{path}/confirmation", token=token, body={"details_match_passport": True}), 200)
    must(gw.signed_webhook(paid_event(app, "evt_schemathesis_setup")), 200)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        app = must(gw.request("GET", path, token=token), 200)
        if app["status"] == "issued":
            break
        time.sleep(0.2)
    else:
        raise SystemExit("setup failed: the visa was not issued within 60 s")
    # A migration officer, signed in with password and authenticator code.
    staff = gw.staff_token("schemathesis.officer@migration.kz", "officer")
    return {
        "STAFF_TOKEN": staff,
        "VISA_BASE": gw.base,
        "APPLICANT_EMAIL": creds["email"],
        "APPLICANT_PASSWORD": creds["password"],
        "APPLICANT_TOKEN": token,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "APPLICATION_ID": app["id"],
        "VISA_NUMBER": app["visa"]["number"],
        "PASSPORT_NUMBER": app["passport"]["number"],
    }


def main(extra):
    gw = Gateway(extra_env={"RUST_LOG": "warn"})
    try:
        env = {**os.environ, **setup(gw), "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE)}
        with tempfile.TemporaryDirectory(prefix="schemathesis-") as out:
            report = pathlib.Path(out) / "events.ndjson"
            cmd = [
                sys.executable, "-m", "schemathesis.cli",
                "--config-file", str(HERE / "schemathesis.toml"),
                "run", str(REPO / "infra" / "openapi.yaml"),
                "--url", gw.base,
                "--checks", "all",
                "--workers", "1",  # hypothesis parses lambdas with `ast`; 2 threads tripped CPython 3.11 (SystemError)
                "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "100"),
                "--seed", os.environ.get("SCHEMATHESIS_SEED", "20261125"),
                "--report", "ndjson", "--report-ndjson-path", str(report),
                "--no-color",
                *extra,
            ]
            print("==", " ".join(cmd[2:]), flush=True)
            started = time.monotonic()
            code = subprocess.call(cmd, env=env, cwd=out)
            elapsed = time.monotonic() - started
            requests, statuses = count(report)
        panics = [line for line in gw.log if "panicked" in line]
        print("\n== figures")
        print(f"schemathesis exit code: {code}")
        print(f"requests sent: {requests} in {elapsed:.0f} s ({requests / max(elapsed, 1e-9):.0f}/s)")
        print("responses by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
        print(f"gateway panics logged: {len(panics)}")
        ok = code == 0 and requests >= MIN_REQUESTS and not panics and not any(s >= 500 for s in statuses)
        if requests < MIN_REQUESTS:
            print(f"FAIL: fewer than {MIN_REQUESTS} requests")
        for line in panics[:5]:
            print("  " + line.rstrip())
        print("schemathesis: " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        gw.stop()


def count(report):
    """Requests and response statuses from the ndjson event stream."""
    requests, statuses = 0, collections.Counter()
    if not report.exists():
        return 0, statuses
    for line in report.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        for status in walk_statuses(event):
            requests += 1
            statuses[status] += 1
    return requests, statuses


def walk_statuses(node):
    """Every `response.status_code` inside an event (one per request made)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            response = item.get("response")
            if isinstance(response, dict) and isinstance(response.get("status_code"), int):
                yield response["status_code"]
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
