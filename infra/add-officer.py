#!/usr/bin/env python3
"""Adds a member of the migration service's staff to the stack's Cognito
user pool, as `visa-local officer add` does on a laptop: the account (its
email, the person's name for the audit trail), a permanent random
password, the group that is their role, and their authenticator (TOTP,
which the pool requires at every sign-in), set up and verified here. The
password and the authenticator secret are printed once; hand them over in
person and let the officer enrol the secret in their authenticator app.

    infra/add-officer.py --pool <StaffUserPoolId> --client <StaffConsoleClientId> \
        --email a.sadykova@migration.kz --name "Aigerim Sadykova" --role officer

Runs with the operator's AWS credentials (cognito-idp:AdminCreateUser,
AdminSetUserPassword, AdminAddUserToGroup, AdminSetUserMFAPreference on
the pool); the stack's outputs name the pool and the client. The region is
the pool id's. infra/README.md, "Officers", is the runbook.
"""

import argparse
import base64
import hashlib
import hmac
import secrets
import string
import struct
import sys
import time
import urllib.parse

import boto3

ROLES = ("officer", "auditor", "border")


def totp(secret_base32, at=None):
    """RFC 6238 (HMAC-SHA1, 6 digits, 30 s): what the authenticator shows."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def password():
    """24 characters from letters and digits, with each kind the pool's
    policy asks for (upper, lower, digit)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(24))
        if (any(c.isupper() for c in candidate) and any(c.islower() for c in candidate)
                and any(c.isdigit() for c in candidate)):
            return candidate


def add(idp, pool, client, email, name, role):
    email = email.strip().lower()
    secret_password = password()
    idp.admin_create_user(
        UserPoolId=pool,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": name},
        ],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=secret_password, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)
    # The authenticator: with TOTP required, Cognito answers the first
    # sign-in with MFA_SETUP; the secret is associated and verified in
    # that session, which then completes.
    first = idp.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH", ClientId=client,
        AuthParameters={"USERNAME": email, "PASSWORD": secret_password},
    )
    if first.get("ChallengeName") == "MFA_SETUP":
        associated = idp.associate_software_token(Session=first["Session"])
        secret = associated["SecretCode"]
        verified = idp.verify_software_token(
            Session=associated["Session"], UserCode=totp(secret), FriendlyDeviceName="authenticator")
        idp.respond_to_auth_challenge(
            ClientId=client, ChallengeName="MFA_SETUP", Session=verified["Session"],
            ChallengeResponses={"USERNAME": email})
    elif "AuthenticationResult" in first:
        access = first["AuthenticationResult"]["AccessToken"]
        secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
        idp.verify_software_token(AccessToken=access, UserCode=totp(secret), FriendlyDeviceName="authenticator")
    else:
        raise SystemExit(f"unexpected first sign-in: {first.get('ChallengeName')}")
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=email,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    return email, secret_password, secret


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", required=True, help="the StaffUserPoolId output")
    parser.add_argument("--client", required=True, help="the StaffConsoleClientId output")
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True, help="the person's name, as the audit trail records it")
    parser.add_argument("--role", required=True, choices=ROLES)
    args = parser.parse_args(argv)
    if not args.name.strip():
        parser.error("--name: the person's name")
    region = args.pool.split("_", 1)[0]
    idp = boto3.client("cognito-idp", region_name=region)
    email, secret_password, secret = add(idp, args.pool, args.client, args.email, args.name.strip(), args.role)
    issuer = "Kazakhstan e-visa (migration service)"
    uri = "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30".format(
        urllib.parse.quote(issuer), urllib.parse.quote(email), secret, urllib.parse.quote(issuer))
    print(f"{args.name.strip()} <{email}> ({args.role}) added. Shown once, keep them now:")
    print(f"  password: {secret_password}")
    print(f"  authenticator secret: {secret}")
    print(f"  authenticator URI: {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
