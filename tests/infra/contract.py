"""The routes of docs/API.md, kept here so CI does not depend on ../shared.

Each entry: (method, path, owning function binary, who may call).
`who` is one of: anyone, applicant, payment-provider, border-control, admin.
If docs/API.md gains or loses a route, change this table, infra/openapi.yaml and
infra/template.yaml together; the tests fail until all three agree.
"""

ROUTES = [
    ("GET", "/api/health", "confirm-invitation", "anyone"),
    ("GET", "/api/countries", "confirm-invitation", "anyone"),
    ("GET", "/api/requirements", "confirm-invitation", "anyone"),
    ("POST", "/api/accounts", "register", "anyone"),
    ("POST", "/api/sessions", "register", "anyone"),
    ("DELETE", "/api/sessions/current", "register", "applicant"),
    ("POST", "/api/password-resets", "register", "anyone"),
    ("POST", "/api/password-resets/confirmation", "register", "anyone"),
    ("GET", "/api/accounts/current", "register", "applicant"),
    ("DELETE", "/api/accounts/current", "register", "applicant"),
    ("POST", "/api/email-verifications", "register", "applicant"),
    ("POST", "/api/email-verifications/confirmation", "register", "anyone"),
    ("POST", "/api/applications", "confirm-invitation", "applicant"),
    ("GET", "/api/applications", "confirm-invitation", "applicant"),
    ("GET", "/api/applications/{id}", "confirm-invitation", "applicant"),
    ("POST", "/api/applications/{id}/confirmation", "confirm-invitation", "applicant"),
    # Families and groups (issue #23): one checkout for several applications.
    ("POST", "/api/groups", "confirm-invitation", "applicant"),
    ("GET", "/api/groups/{id}", "confirm-invitation", "applicant"),
    ("DELETE", "/api/groups/{id}", "confirm-invitation", "applicant"),
    ("POST", "/api/groups/{id}/confirmation", "confirm-invitation", "applicant"),
    ("POST", "/api/webhooks/payment", "pay-webhook", "payment-provider"),
    ("GET", "/api/applications/{id}/visa", "render-visa", "applicant"),
    ("GET", "/api/visas/{visa_number}/verification", "render-visa", "border-control"),
    ("POST", "/api/visa-retrievals", "render-visa", "anyone"),
    ("GET", "/api/.well-known/jwks.json", "render-visa", "anyone"),
    ("GET", "/api/.well-known/seal-certificates.pem", "render-visa", "anyone"),
    ("POST", "/api/admin/invitations", "confirm-invitation", "admin"),
    ("DELETE", "/api/admin/invitations/{number}", "confirm-invitation", "admin"),
    ("POST", "/api/admin/visas/{visa_number}/cancellation", "confirm-invitation", "admin"),
    ("POST", "/api/admin/visas/{visa_number}/restoration", "confirm-invitation", "admin"),
    ("POST", "/api/admin/visas/{visa_number}/shortening", "confirm-invitation", "admin"),
    ("GET", "/api/admin/audit-events", "confirm-invitation", "admin"),
    ("POST", "/api/admin/seal-certificate-requests", "render-visa", "admin"),
    # The migration service's staff (issue #20): sign-in is public, the rest
    # needs the staff pool's token (JWT authorizer).
    ("POST", "/api/officer/sessions", "confirm-invitation", "anyone"),
    ("POST", "/api/officer/sessions/totp", "confirm-invitation", "anyone"),
    ("GET", "/api/officer/me", "confirm-invitation", "staff"),
    ("GET", "/api/officer/applications", "confirm-invitation", "staff"),
    ("GET", "/api/officer/applications/{id}", "confirm-invitation", "staff"),
    ("GET", "/api/officer/invitations", "confirm-invitation", "staff"),
    ("GET", "/api/officer/invitations/{number}", "confirm-invitation", "staff"),
    ("POST", "/api/officer/invitations", "confirm-invitation", "officer"),
    ("POST", "/api/officer/invitations/{number}/revocation", "confirm-invitation", "officer"),
    ("POST", "/api/officer/visas/{visa_number}/cancellation", "confirm-invitation", "officer"),
    ("POST", "/api/officer/visas/{visa_number}/restoration", "confirm-invitation", "officer"),
    ("POST", "/api/officer/visas/{visa_number}/shortening", "confirm-invitation", "officer"),
    ("GET", "/api/officer/audit-events", "confirm-invitation", "staff"),
    ("GET", "/api/officer/reviews", "confirm-invitation", "staff"),
    ("POST", "/api/officer/applications/{id}/review-decision", "confirm-invitation", "officer"),
    # Border control (issue #21): entries and exits, group `border`.
    ("POST", "/api/officer/visas/{visa_number}/entry", "confirm-invitation", "border"),
    ("POST", "/api/officer/visas/{visa_number}/exit", "confirm-invitation", "border"),
    # Inviting parties (issue #22): an account registers as a host; officers
    # approve or refuse it.
    ("POST", "/api/hosts", "register", "applicant"),
    ("GET", "/api/hosts/current", "register", "applicant"),
    ("GET", "/api/officer/hosts", "confirm-invitation", "staff"),
    ("POST", "/api/officer/hosts/{id}/decision", "confirm-invitation", "officer"),
    ("POST", "/api/hosts/current/invitation-requests", "confirm-invitation", "applicant"),
    ("GET", "/api/hosts/current/invitation-requests", "confirm-invitation", "applicant"),
    ("GET", "/api/hosts/current/invitees", "confirm-invitation", "applicant"),
    ("GET", "/api/officer/invitation-requests", "confirm-invitation", "staff"),
    ("POST", "/api/officer/invitation-requests/{id}/decision", "confirm-invitation", "officer"),
    # Arrival notices: the border's entry opens one; the host files it;
    # officers see the overdue.
    ("GET", "/api/hosts/current/arrivals", "confirm-invitation", "applicant"),
    ("POST", "/api/hosts/current/arrivals/{request_id}/notice", "confirm-invitation", "applicant"),
    ("GET", "/api/officer/arrivals", "confirm-invitation", "staff"),
]

# The one extra route in the template: unknown /api paths and wrong methods
# reach a function, which answers 404 not-found / 405 method-not-allowed as
# problem+json (API Gateway's own 404 body is not the contract's).
CATCH_ALL = ("ANY", "/api/{proxy+}", "confirm-invitation")

# Problem slugs per route, from docs/API.md's table (plus the conventions: 400
# malformed-body for JSON bodies, 413 body-too-large everywhere, 401
# unauthenticated on applicant/admin routes, 404 not-found on id routes).
SLUGS = {
    ("GET", "/api/health"): {"body-too-large"},
    ("GET", "/api/countries"): {"body-too-large"},
    ("GET", "/api/requirements"): {"validation", "body-too-large"},
    ("POST", "/api/accounts"): {"email-taken", "validation", "malformed-body", "body-too-large"},
    # validation (email or password missing): not in docs/API.md's table; added where it is silent.
    ("POST", "/api/sessions"): {
        "invalid-credentials", "too-many-attempts", "validation", "malformed-body", "body-too-large",
    },
    ("DELETE", "/api/sessions/current"): {"unauthenticated", "body-too-large"},
    ("POST", "/api/password-resets"): {"validation", "too-many-requests", "malformed-body", "body-too-large"},
    ("POST", "/api/password-resets/confirmation"): {
        "reset-link-invalid", "validation", "malformed-body", "body-too-large",
    },
    ("GET", "/api/accounts/current"): {"unauthenticated", "body-too-large"},
    ("DELETE", "/api/accounts/current"): {
        "unauthenticated", "invalid-credentials", "payment-open", "validation",
        "malformed-body", "body-too-large",
    },
    ("POST", "/api/email-verifications"): {
        "email-already-verified", "too-many-requests", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("POST", "/api/email-verifications/confirmation"): {
        "verification-link-invalid", "validation", "malformed-body", "body-too-large",
    },
    ("POST", "/api/applications"): {
        "invitation-not-found", "invitation-already-used", "invitation-mismatch", "not-eligible",
        "passport-expires-too-soon", "declarations-missing", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("GET", "/api/applications"): {"unauthenticated", "body-too-large"},
    ("GET", "/api/applications/{id}"): {"not-found", "unauthenticated", "body-too-large"},
    ("POST", "/api/applications/{id}/confirmation"): {
        "not-found", "invalid-state", "invitation-revoked", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("POST", "/api/groups"): {
        "not-found", "invalid-state", "invitation-revoked", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("GET", "/api/groups/{id}"): {"not-found", "unauthenticated", "body-too-large"},
    ("DELETE", "/api/groups/{id}"): {"not-found", "invalid-state", "unauthenticated", "body-too-large"},
    ("POST", "/api/groups/{id}/confirmation"): {
        "not-found", "group-changed", "invalid-state", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("POST", "/api/webhooks/payment"): {"bad-signature", "payment-mismatch", "malformed-body", "body-too-large"},
    ("GET", "/api/applications/{id}/visa"): {"not-found", "visa-not-ready", "unauthenticated", "body-too-large"},
    # A missing passport_number is a passport that does not match: 404.
    ("GET", "/api/visas/{visa_number}/verification"): {"not-found", "body-too-large"},
    ("POST", "/api/visa-retrievals"): {
        "not-found", "validation", "too-many-requests", "malformed-body", "body-too-large",
    },
    ("GET", "/api/.well-known/jwks.json"): {"body-too-large"},
    ("GET", "/api/.well-known/seal-certificates.pem"): {"body-too-large", "not-found"},
    ("POST", "/api/admin/invitations"): {
        "invitation-exists", "validation", "unauthenticated", "malformed-body", "body-too-large",
    },
    # invitation-already-used (revoking a claimed invitation): docs/API.md is silent; the gateway answers 409.
    ("DELETE", "/api/admin/invitations/{number}"): {
        "not-found", "invitation-already-used", "unauthenticated", "body-too-large",
    },
    # The visa's life (docs/DESIGN.md): not in the first contract; added with it.
    ("POST", "/api/admin/visas/{visa_number}/cancellation"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "malformed-body", "body-too-large",
    },
    ("POST", "/api/admin/visas/{visa_number}/restoration"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "malformed-body", "body-too-large",
    },
    ("POST", "/api/admin/visas/{visa_number}/shortening"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "malformed-body", "body-too-large",
    },
    ("GET", "/api/admin/audit-events"): {"validation", "unauthenticated", "body-too-large"},
    ("POST", "/api/admin/seal-certificate-requests"): {"unauthenticated", "body-too-large"},
    # The staff routes: a token the authorizer let through is still read
    # from the request context by the function (unauthenticated when it is
    # not there, forbidden for no staff group or an auditor changing).
    ("POST", "/api/officer/sessions"): {
        "invalid-credentials", "too-many-attempts", "validation", "malformed-body", "body-too-large",
    },
    ("POST", "/api/officer/sessions/totp"): {
        "wrong-code", "sign-in-expired", "forbidden", "validation", "malformed-body", "body-too-large",
    },
    ("GET", "/api/officer/me"): {"unauthenticated", "forbidden", "body-too-large"},
    ("GET", "/api/officer/applications"): {"validation", "unauthenticated", "forbidden", "body-too-large"},
    ("GET", "/api/officer/applications/{id}"): {"not-found", "unauthenticated", "forbidden", "body-too-large"},
    ("GET", "/api/officer/invitations"): {"validation", "unauthenticated", "forbidden", "body-too-large"},
    ("GET", "/api/officer/invitations/{number}"): {"not-found", "unauthenticated", "forbidden", "body-too-large"},
    ("POST", "/api/officer/invitations"): {
        "invitation-exists", "validation", "unauthenticated", "forbidden", "malformed-body", "body-too-large",
    },
    ("POST", "/api/officer/invitations/{number}/revocation"): {
        "not-found", "invitation-already-used", "validation", "unauthenticated", "forbidden",
        "malformed-body", "body-too-large",
    },
    ("POST", "/api/officer/visas/{visa_number}/cancellation"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "forbidden", "malformed-body",
        "body-too-large",
    },
    ("POST", "/api/officer/visas/{visa_number}/restoration"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "forbidden", "malformed-body",
        "body-too-large",
    },
    ("POST", "/api/officer/visas/{visa_number}/shortening"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "forbidden", "malformed-body",
        "body-too-large",
    },
    ("GET", "/api/officer/audit-events"): {"validation", "unauthenticated", "forbidden", "body-too-large"},
    ("GET", "/api/officer/reviews"): {"unauthenticated", "forbidden", "body-too-large"},
    ("POST", "/api/officer/visas/{visa_number}/entry"): {
        "not-found", "visa-cancelled", "visa-not-in-force", "visa-already-entered", "visa-used",
        "checkpoint-not-allowed", "validation", "unauthenticated", "forbidden", "malformed-body",
        "body-too-large",
    },
    ("POST", "/api/officer/visas/{visa_number}/exit"): {
        "not-found", "visa-not-entered", "visa-used", "checkpoint-not-allowed", "validation",
        "unauthenticated", "forbidden", "malformed-body", "body-too-large",
    },
    ("POST", "/api/officer/applications/{id}/review-decision"): {
        "not-found", "invalid-state", "validation", "unauthenticated", "forbidden", "malformed-body",
        "body-too-large",
    },
    ("POST", "/api/hosts"): {
        "email-not-verified", "host-exists", "validation", "unauthenticated", "malformed-body",
        "body-too-large",
    },
    ("GET", "/api/hosts/current"): {"not-found", "unauthenticated", "body-too-large"},
    ("GET", "/api/officer/hosts"): {"validation", "unauthenticated", "forbidden", "body-too-large"},
    ("POST", "/api/officer/hosts/{id}/decision"): {
        "not-found", "host-already-decided", "validation", "unauthenticated", "forbidden",
        "malformed-body", "body-too-large",
    },
    ("POST", "/api/hosts/current/invitation-requests"): {
        "not-found", "host-not-approved", "not-eligible", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("GET", "/api/hosts/current/invitation-requests"): {"not-found", "unauthenticated", "body-too-large"},
    ("GET", "/api/hosts/current/invitees"): {"not-found", "unauthenticated", "body-too-large"},
    ("GET", "/api/officer/invitation-requests"): {"validation", "unauthenticated", "forbidden", "body-too-large"},
    ("POST", "/api/officer/invitation-requests/{id}/decision"): {
        "not-found", "request-already-decided", "validation", "unauthenticated", "forbidden",
        "malformed-body", "body-too-large",
    },
    ("GET", "/api/hosts/current/arrivals"): {"not-found", "unauthenticated", "body-too-large"},
    ("POST", "/api/hosts/current/arrivals/{request_id}/notice"): {
        "not-found", "notice-already-filed", "validation", "unauthenticated",
        "malformed-body", "body-too-large",
    },
    ("GET", "/api/officer/arrivals"): {"validation", "unauthenticated", "forbidden", "body-too-large"},
}

FUNCTION_BINARIES = {"register", "confirm-invitation", "pay-webhook", "render-visa"}

FUNCTION_ENV = {
    "TABLE_NAME", "VISA_BUCKET", "SITE_ORIGIN", "WEBHOOK_SECRET_ARN",
    "STRIPE_SECRET_ARN", "VISA_SIGNING_KEY_ID", "MAIL_FROM", "ORIGIN_VERIFY_SECRET",
}
