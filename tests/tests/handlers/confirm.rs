//! confirm-invitation: invitations, applications and their confirmation.

use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};
use std::sync::Arc;
use visa_core::clock::Clock;
use visa_core::http::{MAX_BODY_BYTES, Request};
use visa_core::invitation::InvitationStatus;
use visa_core::store::{Applications, Invitations};

#[tokio::test]
async fn officers_create_and_revoke_invitations_with_their_refusals() {
    let c = Confirm::new();
    let body = json!({
        "number": "250000000001", "category": "tourist",
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {"surname": "Sharma", "given_names": "Priya", "nationality": "IND",
                    "date_of_birth": "1990-04-12", "passport_number": "Z1234567"},
        "valid_from": "2026-12-20", "valid_until": "2027-01-03",
    });
    let path = "/api/admin/invitations";
    assert_eq!(
        slug(&c.call("POST", path, None, body.clone()).await),
        (401, "unauthenticated")
    );
    assert_eq!(
        slug(&c.call("POST", path, Some("guess"), body.clone()).await),
        (401, "unauthenticated")
    );
    let (status, made) = c.call("POST", path, Some(OFFICER), body.clone()).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["status"], "approved");
    assert_eq!(
        slug(&c.call("POST", path, Some(OFFICER), body.clone()).await),
        (409, "invitation-exists")
    );
    // A stay that started yesterday on the pinned clock (Astana's day).
    let mut past = body.clone();
    past["number"] = json!("250000000002");
    past["valid_from"] = json!("2026-12-04");
    let refused = c.call("POST", path, Some(OFFICER), past).await;
    assert_eq!(slug(&refused), (422, "validation"));
    assert_eq!(refused.1["errors"][0]["field"], "valid_from");

    let revoke = "/api/admin/invitations/250000000001";
    let (status, revoked) = c.call("DELETE", revoke, Some(OFFICER), Value::Null).await;
    assert_eq!(status, 204, "{revoked}");
    let stored = c.store.invitation("250000000001").await.unwrap().unwrap();
    assert_eq!(stored.status, InvitationStatus::Revoked);
    assert!(stored.revoked_by.is_some());
    let missing = c
        .call(
            "DELETE",
            "/api/admin/invitations/250000000009",
            Some(OFFICER),
            Value::Null,
        )
        .await;
    assert_eq!(slug(&missing), (404, "not-found"));
}

#[tokio::test]
async fn applying_and_confirming_with_every_refusal_on_a_pinned_clock() {
    let mut c = Confirm::new();
    let token = c.applicant("acc-1").await;
    let inv = c.invitation("tourist", "IND").await;
    // The visa ends 3 January 2027: the passport must last to 3 April.
    let good = new_application(&inv, "2027-04-03");
    let post = |body: Value, token: Option<&str>| {
        let token = token.map(str::to_owned);
        let c = &c;
        async move {
            c.call("POST", "/api/applications", token.as_deref(), body)
                .await
        }
    };
    assert_eq!(
        slug(&post(good.clone(), None).await),
        (401, "unauthenticated")
    );
    let mut unknown = good.clone();
    unknown["invitation_number"] = json!("999999999999");
    assert_eq!(
        slug(&post(unknown, Some(&token)).await),
        (404, "invitation-not-found")
    );
    let mut other = good.clone();
    other["passport"]["given_names"] = json!("ANNA");
    assert_eq!(
        slug(&post(other, Some(&token)).await),
        (422, "invitation-mismatch")
    );
    let short = post(new_application(&inv, "2027-04-02"), Some(&token)).await;
    assert_eq!(slug(&short), (422, "passport-expires-too-soon"));
    let mut undeclared = good.clone();
    undeclared["declarations"]["passport_undamaged"] = json!(false);
    assert_eq!(
        slug(&post(undeclared, Some(&token)).await),
        (422, "declarations-missing")
    );
    let business = c.invitation("business", "IND").await;
    let ineligible = post(new_application(&business, "2027-04-03"), Some(&token)).await;
    assert_eq!(slug(&ineligible), (422, "not-eligible"));

    let (status, app) = post(good.clone(), Some(&token)).await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["created_at"], "2026-12-05T09:00:00Z");
    assert_eq!(
        slug(&post(good, Some(&token)).await),
        (409, "invitation-already-used")
    );
    let id = app["id"].as_str().unwrap();

    // Not yours: 404, as for what does not exist.
    let stranger = c.applicant("acc-2").await;
    let theirs = c
        .call(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&stranger),
            Value::Null,
        )
        .await;
    assert_eq!(slug(&theirs), (404, "not-found"));
    let confirm = format!("/api/applications/{id}/confirmation");
    let yes = json!({"details_match_passport": true});
    let not_yet = c
        .call(
            "POST",
            &confirm,
            Some(&token),
            json!({"details_match_passport": false}),
        )
        .await;
    assert_eq!(slug(&not_yet), (422, "validation"));

    // The provider is down: 502, and the application still waits.
    let sandbox = std::mem::replace(&mut c.deps.payments, Arc::new(ProviderDown));
    let down = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(slug(&down), (502, "payment-provider-unavailable"));
    c.deps.payments = sandbox;
    let (_, waiting) = c
        .call(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(waiting["status"], "invitation_confirmed");

    let (status, first) = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["payment"]["expires_at"], "2026-12-05T10:00:00Z");
    let (_, again) = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(
        again["payment"], first["payment"],
        "the same checkout while it is open"
    );
    // An hour on, the checkout has expired: confirming opens a new one.
    c.clock.advance(Duration::hours(1));
    let (status, renewed) = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(
        renewed["payment"]["checkout_session_id"],
        first["payment"]["checkout_session_id"]
    );
    assert_eq!(renewed["payment"]["expires_at"], "2026-12-05T11:00:00Z");

    // Paid (as the webhook records it): confirming again is a state error.
    use visa_core::store::Payments;
    let session = renewed["payment"]["checkout_session_id"].as_str().unwrap();
    c.store
        .record_payment(
            &visa_core::store::PaymentEvent {
                event_id: "evt_1".into(),
                application_id: id.into(),
                checkout_session_id: session.into(),
                amount_minor: 6000,
                currency: "USD".into(),
                event_type: "checkout.session.completed".into(),
                payment_intent: None,
            },
            c.clock.now(),
        )
        .await
        .unwrap();
    let paid = c.call("POST", &confirm, Some(&token), yes).await;
    assert_eq!(slug(&paid), (409, "invalid-state"));
}

// ------------------------------------------------------------ every problem of every route

cases! {
    catalogue_problems,
    lambda_bodies_are_measured_decoded,
    application_creation_problems,
    application_list_problems,
    application_problems,
    confirmation_problems,
    invitation_creation_problems,
    invitation_revocation_problems,
    visa_change_problems,
    audit_export_problems,
    what_is_no_route_answers,
}

async fn catalogue_problems() {
    let c = Confirm::new();
    for path in ["/api/health", "/api/countries", "/api/requirements"] {
        too_large_refused(&c, "GET", path, None).await;
    }
    // The limit itself is allowed.
    let at_limit = raw("GET", "/api/health", None, sized_json(MAX_BODY_BYTES));
    assert_eq!(send(&c, at_limit).await.0, 200);
    let ask = |query: &str| {
        request(
            "GET",
            &format!("/api/requirements{query}"),
            None,
            Value::Null,
        )
    };
    invalid(&c, ask("?category=tourist"), "nationality").await;
    invalid(
        &c,
        ask("?nationality=INDIA&category=tourist"),
        "nationality",
    )
    .await;
    invalid(&c, ask("?nationality=IND&category=cruise"), "category").await;
    invalid(&c, ask(""), "category").await;
}

/// `GET /api/health` with `body` as API Gateway hands it to the Lambda
/// (payload v2, base64), through the bridge every Lambda main uses.
fn through_lambda(body: &[u8]) -> Request {
    use base64::Engine;
    let event = json!({
        "version": "2.0", "routeKey": "GET /api/health", "rawPath": "/api/health",
        "rawQueryString": "", "headers": {"host": "visa.example", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "visaapi", "domainName": "visa.example",
            "domainPrefix": "visa", "requestId": "handler-tests", "routeKey": "GET /api/health",
            "stage": "$default",
            "http": {"method": "GET", "path": "/api/health", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.10", "userAgent": "handler-tests"},
            "time": "05/Dec/2026:09:00:00 +0000", "timeEpoch": 1_796_461_200_000_i64,
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true,
    });
    let event = lambda_http::request::from_str(&event.to_string()).unwrap();
    visa_aws::lambda::into_plain(event)
}

/// On the Lambda path the limit is on the body as the handler sees it,
/// decoded from API Gateway's base64 (whose text is a third longer): one
/// of exactly 64 KiB passes, one byte more is 413.
async fn lambda_bodies_are_measured_decoded() {
    let c = Confirm::new();
    let within = through_lambda(&sized_json(MAX_BODY_BYTES));
    assert_eq!(within.body().len(), MAX_BODY_BYTES);
    assert_eq!(send(&c, within).await.0, 200);
    refused(&c, through_lambda(&too_large()), (413, "body-too-large")).await;
}

async fn application_creation_problems() {
    let c = Confirm::new();
    let token = c.applicant("acc-1").await;
    let inv = c.invitation("tourist", "IND").await;
    let business = c.invitation("business", "IND").await;
    let path = "/api/applications";
    let post = |token: Option<&str>, body: Value| request("POST", path, token, body);
    let me = Some(token.as_str());
    // The visa ends 3 January 2027: the passport must last to 3 April.
    let good = new_application(&inv, "2027-04-03");
    refused(&c, post(None, good.clone()), (401, "unauthenticated")).await;
    let stale = post(Some("not-a-session"), good.clone());
    refused(&c, stale, (401, "unauthenticated")).await;
    malformed_refused(&c, "POST", path, me).await;
    too_large_refused(&c, "POST", path, me).await;
    let mut numberless = good.clone();
    numberless["passport"]
        .as_object_mut()
        .unwrap()
        .remove("number");
    invalid(&c, post(me, numberless), "passport.number").await;
    let mut born = good.clone();
    born["passport"]["date_of_birth"] = json!("12/04/1990");
    invalid(&c, post(me, born), "passport.date_of_birth").await;
    for number in ["999999999999", "12"] {
        let mut unknown = good.clone();
        unknown["invitation_number"] = json!(number);
        let refusal = refused(&c, post(me, unknown), (404, "invitation-not-found")).await;
        assert_eq!(refusal["errors"][0]["field"], "invitation_number");
    }
    let mut other = good.clone();
    other["passport"]["given_names"] = json!("ANNA");
    refused(&c, post(me, other), (422, "invitation-mismatch")).await;
    let short = post(me, new_application(&inv, "2027-04-02"));
    let refusal = refused(&c, short, (422, "passport-expires-too-soon")).await;
    assert_eq!(refusal["errors"][0]["field"], "passport.expiry_date");
    let mut undeclared = good.clone();
    undeclared["declarations"]["passport_undamaged"] = json!(false);
    refused(&c, post(me, undeclared), (422, "declarations-missing")).await;
    let ineligible = post(me, new_application(&business, "2027-04-03"));
    let refusal = refused(&c, ineligible, (422, "not-eligible")).await;
    assert_eq!(refusal["errors"][0]["field"], "passport.nationality");

    let (status, app) = send(&c, post(me, good.clone())).await;
    assert_eq!(status, 201, "{app}");
    let other_applicant = c.applicant("acc-2").await;
    let again = post(Some(&other_applicant), good);
    refused(&c, again, (409, "invitation-already-used")).await;
}

async fn application_list_problems() {
    let c = Confirm::new();
    let token = c.applicant("acc-1").await;
    let path = "/api/applications";
    refused(
        &c,
        request("GET", path, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    too_large_refused(&c, "GET", path, Some(&token)).await;
}

/// `app-1` of `acc-1`, its details not yet confirmed.
async fn unconfirmed_application(c: &Confirm) {
    let now = c.clock.now();
    c.store
        .create_invitation(&invitation_record("250000000888", now), None)
        .await
        .unwrap();
    c.store
        .create_application(&application("app-1", "acc-1", "250000000888", now))
        .await
        .unwrap();
}

async fn application_problems() {
    let c = Confirm::new();
    unconfirmed_application(&c).await;
    let owner = c.applicant("acc-1").await;
    let stranger = c.applicant("acc-2").await;
    let get = |id: &str, token: Option<&str>| {
        request(
            "GET",
            &format!("/api/applications/{id}"),
            token,
            Value::Null,
        )
    };
    refused(&c, get("app-1", None), (401, "unauthenticated")).await;
    // Not yours: 404, as for what does not exist.
    refused(&c, get("app-1", Some(&stranger)), (404, "not-found")).await;
    refused(&c, get("app-9", Some(&owner)), (404, "not-found")).await;
    too_large_refused(&c, "GET", "/api/applications/app-1", Some(&owner)).await;
}

async fn confirmation_problems() {
    let c = Confirm::new();
    unconfirmed_application(&c).await;
    let owner = c.applicant("acc-1").await;
    let stranger = c.applicant("acc-2").await;
    let path = "/api/applications/app-1/confirmation";
    let yes = json!({"details_match_passport": true});
    let post = |path: &str, token: Option<&str>, body: Value| request("POST", path, token, body);
    refused(&c, post(path, None, yes.clone()), (401, "unauthenticated")).await;
    let theirs = post(path, Some(&stranger), yes.clone());
    refused(&c, theirs, (404, "not-found")).await;
    let missing = post("/api/applications/app-9/confirmation", Some(&owner), yes);
    refused(&c, missing, (404, "not-found")).await;
    let no = json!({"details_match_passport": false});
    invalid(&c, post(path, Some(&owner), no), "details_match_passport").await;
    invalid(
        &c,
        post(path, Some(&owner), json!({})),
        "details_match_passport",
    )
    .await;
    malformed_refused(&c, "POST", path, Some(&owner)).await;
    too_large_refused(&c, "POST", path, Some(&owner)).await;

    // Paid: confirming again is a state error.
    let c = Confirm::new();
    paid_application(&c.store, c.clock.now()).await;
    let owner = c.applicant("acc-1").await;
    let yes = json!({"details_match_passport": true});
    refused(&c, post(path, Some(&owner), yes), (409, "invalid-state")).await;
}

fn invitation_body(number: &str) -> Value {
    json!({
        "number": number, "category": "tourist",
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {"surname": "Sharma", "given_names": "Priya", "nationality": "IND",
                    "date_of_birth": "1990-04-12", "passport_number": "Z1234567"},
        "valid_from": "2026-12-20", "valid_until": "2027-01-03",
    })
}

async fn invitation_creation_problems() {
    let c = Confirm::new();
    let path = "/api/admin/invitations";
    let post = |token: Option<&str>, body: Value| request("POST", path, token, body);
    let body = invitation_body("250000000001");
    refused(&c, post(None, body.clone()), (401, "unauthenticated")).await;
    let guess = post(Some("guess"), body.clone());
    refused(&c, guess, (401, "unauthenticated")).await;
    malformed_refused(&c, "POST", path, Some(OFFICER)).await;
    too_large_refused(&c, "POST", path, Some(OFFICER)).await;
    // A stay that started yesterday on the pinned clock (Astana's day).
    let mut past = body.clone();
    past["valid_from"] = json!("2026-12-04");
    invalid(&c, post(Some(OFFICER), past), "valid_from").await;
    let mut nobody = body.clone();
    nobody.as_object_mut().unwrap().remove("invitee");
    invalid(&c, post(Some(OFFICER), nobody), "invitee").await;

    let (status, made) = send(&c, post(Some(OFFICER), body.clone())).await;
    assert_eq!(status, 201, "{made}");
    let again = refused(&c, post(Some(OFFICER), body), (409, "invitation-exists")).await;
    assert_eq!(again["errors"][0]["field"], "number");
}

async fn invitation_revocation_problems() {
    let c = Confirm::new();
    let inv = c.invitation("tourist", "IND").await;
    let number = inv["number"].as_str().unwrap();
    let path = format!("/api/admin/invitations/{number}");
    let delete = |path: &str, token: Option<&str>| request("DELETE", path, token, Value::Null);
    refused(&c, delete(&path, None), (401, "unauthenticated")).await;
    refused(&c, delete(&path, Some("guess")), (401, "unauthenticated")).await;
    too_large_refused(&c, "DELETE", &path, Some(OFFICER)).await;
    for unknown in ["250000000999", "12"] {
        let missing = delete(&format!("/api/admin/invitations/{unknown}"), Some(OFFICER));
        refused(&c, missing, (404, "not-found")).await;
    }
    // An application was made on it: it is no longer the officer's to revoke.
    let token = c.applicant("acc-1").await;
    let applied = c
        .call(
            "POST",
            "/api/applications",
            Some(&token),
            new_application(&inv, "2027-04-03"),
        )
        .await;
    assert_eq!(applied.0, 201, "{}", applied.1);
    // Its checkout open: no longer the officer's to revoke (a visa is
    // cancelled instead). Before that, revoking is allowed (groups.rs).
    let id = applied.1["id"].as_str().unwrap();
    let confirmed = c
        .call(
            "POST",
            &format!("/api/applications/{id}/confirmation"),
            Some(&token),
            json!({"details_match_passport": true}),
        )
        .await;
    assert_eq!(confirmed.0, 200, "{}", confirmed.1);
    refused(
        &c,
        delete(&path, Some(OFFICER)),
        (409, "invitation-already-used"),
    )
    .await;
}

/// An issued visa in the fixture's store: applied and confirmed through
/// the handler, paid and issued as the webhook and render-visa would.
pub(crate) async fn issued_visa(c: &Confirm) -> (String, String) {
    let inv = c.invitation("tourist", "IND").await;
    let token = c.applicant("acc-visa").await;
    let issued = c
        .apply_pay_issue(
            &token,
            new_application(&inv, "2027-04-03"),
            "evt_visa_life",
            "K7Q4M2X9A",
        )
        .await;
    (issued.id, issued.stay.valid_from.to_string())
}

async fn visa_change_problems() {
    let c = Confirm::new();
    let (id, first_day) = issued_visa(&c).await;
    let path = |change: &str| format!("/api/admin/visas/K7Q4M2X9A/{change}");
    let reason = json!({"reason": "the host withdrew the invitation"});
    for change in ["cancellation", "restoration", "shortening"] {
        let path = path(change);
        let post = |token: Option<&str>, body: Value| request("POST", &path, token, body);
        refused(&c, post(None, reason.clone()), (401, "unauthenticated")).await;
        refused(
            &c,
            post(Some("guess"), reason.clone()),
            (401, "unauthenticated"),
        )
        .await;
        malformed_refused(&c, "POST", &path, Some(OFFICER)).await;
        too_large_refused(&c, "POST", &path, Some(OFFICER)).await;
        for bad in ["", "   ", "two\nlines"] {
            let mut body = json!({"reason": bad});
            if change == "shortening" {
                body["valid_until"] = json!(first_day);
            }
            invalid(&c, post(Some(OFFICER), body), "reason").await;
        }
        let mut body = json!({"reason": "x"});
        if change == "shortening" {
            body["valid_until"] = json!(first_day);
        }
        let unknown = request(
            "POST",
            &path.replace("K7Q4M2X9A", "ZZZZZZZZZ"),
            Some(OFFICER),
            body,
        );
        refused(&c, unknown, (404, "not-found")).await;
    }
    // Shortening: only within the window, to a real date.
    let shorten = |until: &str| {
        request(
            "POST",
            &path("shortening"),
            Some(OFFICER),
            json!({"valid_until": until, "reason": "stay reduced"}),
        )
    };
    invalid(&c, shorten("2099-01-01"), "valid_until").await;
    invalid(&c, shorten("not a day"), "valid_until").await;
    // Nothing to restore while it stands.
    refused(
        &c,
        request("POST", &path("restoration"), Some(OFFICER), reason.clone()),
        (409, "invalid-state"),
    )
    .await;
    let (status, cancelled) = send(
        &c,
        request("POST", &path("cancellation"), Some(OFFICER), reason.clone()),
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    let stored = c.store.application(&id).await.unwrap().unwrap();
    assert!(stored.visa.unwrap().cancelled_at.is_some());
    refused(
        &c,
        request("POST", &path("cancellation"), Some(OFFICER), reason.clone()),
        (409, "invalid-state"),
    )
    .await;
    refused(&c, shorten(&first_day), (409, "invalid-state")).await;
    let (status, restored) = send(
        &c,
        request("POST", &path("restoration"), Some(OFFICER), reason),
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    let (status, shortened) = send(&c, shorten(&first_day)).await;
    assert_eq!(
        (status, &shortened["visa"]["valid_until"]),
        (200, &json!(first_day)),
        "{shortened}"
    );
}

async fn audit_export_problems() {
    let c = Confirm::new();
    let path = "/api/admin/audit-events";
    let get = |query: &str, token: Option<&str>| {
        request("GET", &format!("{path}{query}"), token, Value::Null)
    };
    refused(&c, get("", None), (401, "unauthenticated")).await;
    refused(&c, get("", Some("guess")), (401, "unauthenticated")).await;
    too_large_refused(&c, "GET", path, Some(OFFICER)).await;
    invalid(&c, get("?from=yesterday", Some(OFFICER)), "from").await;
    invalid(&c, get("?to=2026-13-01", Some(OFFICER)), "to").await;
    invalid(
        &c,
        get("?from=2026-12-05&to=2026-12-04", Some(OFFICER)),
        "from",
    )
    .await;
    invalid(
        &c,
        get("?from=2025-01-01&to=2026-12-05", Some(OFFICER)),
        "to",
    )
    .await;
    let res = visa_confirm_invitation::handle(
        &c.deps,
        get("?from=2026-12-01&to=2026-12-05", Some(OFFICER)),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        String::from_utf8(res.body().to_vec()).unwrap(),
        "id,at,actor,action,record,reason,from,detail\n"
    );
}

async fn what_is_no_route_answers() {
    let c = Confirm::new();
    no_route_refused(&c, "/api/applications", "DELETE", "GET, HEAD, POST").await;
    no_route_refused(&c, "/api/admin/invitations/250000000001", "GET", "DELETE").await;
}
