//! The migration service's staff on /api/officer/*: sign-in (password,
//! then the authenticator's code), who is calling read from the request
//! context, and every refusal with nothing changed.

use crate::confirm::issued_visa;
use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use visa_core::clock::Clock;
use visa_core::staff::StaffGroup;
use visa_core::store::{AuditTrail, Payments};

const OFFICER_EMAIL: &str = "a.sadykova@migration.kz";
const AUDITOR_EMAIL: &str = "b.nurlanov@migration.kz";

/// Claims of a token the authorizer let through, naming no staff group.
fn groupless(c: &Confirm) -> BTreeMap<String, String> {
    [
        ("sub", "01JD0000000000000000000000".to_owned()),
        ("email", "intruder@example.com".to_owned()),
        ("cognito:groups", "[admins]".to_owned()),
        ("exp", (c.clock.now().timestamp() + 600).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Every staff route refuses a request without verified claims in its
/// context (401), and one naming no staff group (403), changing nothing.
pub(crate) async fn who_is_calling(c: &Confirm, method: &str, path: &str, body: Value) {
    // No claims: the authorizer did not run (or was bypassed).
    refused(
        c,
        request(method, path, Some("forged"), body.clone()),
        (401, "unauthenticated"),
    )
    .await;
    // Claims, but on another route than the one matched.
    let mut other = with_claims(request(method, path, None, body.clone()), groupless(c));
    other
        .extensions_mut()
        .get_mut::<visa_core::http::GatewayContext>()
        .unwrap()
        .route_key = "ANY /api/{proxy+}".into();
    refused(c, other, (401, "unauthenticated")).await;
    refused(
        c,
        with_claims(request(method, path, None, body.clone()), groupless(c)),
        (403, "forbidden"),
    )
    .await;
    // Expired claims: refused even if the authorizer let them through.
    let mut expired = groupless(c);
    expired.insert("cognito:groups".into(), "[officer]".into());
    expired.insert("exp".into(), (c.clock.now().timestamp() - 1).to_string());
    refused(
        c,
        with_claims(request(method, path, None, body), expired),
        (401, "unauthenticated"),
    )
    .await;
}

async fn sign_in_problems() {
    let c = Confirm::new();
    let new = visa_local::staff::create(
        &c.store,
        OFFICER_EMAIL,
        "Aigerim Sadykova",
        StaffGroup::Officer,
    )
    .await
    .unwrap();
    let path = "/api/officer/sessions";
    let post = |body: Value| request("POST", path, None, body);
    malformed_refused(&c, "POST", path, None).await;
    too_large_refused(&c, "POST", path, None).await;
    invalid(&c, post(json!({"email": " ", "password": "x"})), "email").await;
    invalid(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": ""})),
        "password",
    )
    .await;
    refused(
        &c,
        post(json!({"email": "nobody@migration.kz", "password": new.password})),
        (401, "invalid-credentials"),
    )
    .await;
    // Wrong passwords count (the throttle's counters are left out of the
    // comparison); the fifth locks the address for a while.
    for _ in 0..5 {
        refused(
            &c,
            post(json!({"email": OFFICER_EMAIL, "password": "wrong"})),
            (401, "invalid-credentials"),
        )
        .await;
    }
    let locked = refused(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": new.password})),
        (429, "too-many-attempts"),
    )
    .await;
    assert!(
        locked["detail"].as_str().unwrap().contains("15 minutes"),
        "{locked}"
    );
    c.clock.advance(Duration::minutes(16));
    let (status, challenge) = send(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": new.password})),
    )
    .await;
    assert_eq!(
        (status, challenge["challenge"].as_str()),
        (200, Some("totp")),
        "{challenge}"
    );

    let totp = "/api/officer/sessions/totp";
    let answer = |session: &Value, code: &str| {
        request(
            "POST",
            totp,
            None,
            json!({"email": OFFICER_EMAIL, "session": session, "code": code}),
        )
    };
    malformed_refused(&c, "POST", totp, None).await;
    too_large_refused(&c, "POST", totp, None).await;
    for bad in ["12345", "12345a", "1234567", ""] {
        invalid(&c, answer(&challenge["session"], bad), "code").await;
    }
    refused(
        &c,
        answer(&json!("no-such-session"), "123456"),
        (401, "sign-in-expired"),
    )
    .await;
    // A wrong code after a right password: refused, and recorded.
    let right = visa_local::staff::code_at(&new.totp_secret, c.clock.now()).unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, problem) = send(&c, answer(&challenge["session"], wrong)).await;
    assert_eq!(
        slug(&(status, problem.clone())),
        (401, "wrong-code"),
        "{problem}"
    );
    let day = c.clock.now() - Duration::days(1);
    let events = c
        .store
        .audit_events(day, c.clock.now() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].action,
        visa_core::audit::AuditAction::SignInRefused
    );
    assert_eq!(events[0].record, format!("staff/{OFFICER_EMAIL}"));
    // The session answered once: the right code now finds it spent.
    refused(
        &c,
        answer(&challenge["session"], &right),
        (401, "sign-in-expired"),
    )
    .await;
    // Too late: a session lives three minutes.
    let (_, late) = send(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": new.password})),
    )
    .await;
    c.clock.advance(Duration::minutes(4));
    let code = visa_local::staff::code_at(&new.totp_secret, c.clock.now()).unwrap();
    refused(
        &c,
        answer(&late["session"], &code),
        (401, "sign-in-expired"),
    )
    .await;
    // In time, with the code of now: signed in, and recorded.
    let (_, fresh) = send(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": new.password})),
    )
    .await;
    let (status, signed_in) = send(&c, answer(&fresh["session"], &code)).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["member"]["groups"], json!(["officer"]));
    assert_eq!(signed_in["member"]["name"], "Aigerim Sadykova");
    let events = c
        .store
        .audit_events(day, c.clock.now() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        events.last().unwrap().action,
        visa_core::audit::AuditAction::SignedIn
    );
    assert_eq!(
        events.last().unwrap().actor,
        format!("Aigerim Sadykova <{OFFICER_EMAIL}> (officer)")
    );
    // The same code again, in a new sign-in: taken once.
    let (_, again) = send(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": new.password})),
    )
    .await;
    let (status, replay) = send(&c, answer(&again["session"], &code)).await;
    assert_eq!(
        slug(&(status, replay.clone())),
        (401, "wrong-code"),
        "{replay}"
    );

    // Disabled: the right password signs in no more.
    assert!(
        c.store
            .disable_staff(OFFICER_EMAIL, c.clock.now())
            .await
            .unwrap()
    );
    refused(
        &c,
        post(json!({"email": OFFICER_EMAIL, "password": new.password})),
        (401, "invalid-credentials"),
    )
    .await;

    // An account in no staff group signs in to nothing.
    let mut nobody = visa_local::staff::create(
        &c.store,
        "nobody@migration.kz",
        "No Role",
        StaffGroup::Auditor,
    )
    .await
    .unwrap();
    nobody.account.email = "norole@migration.kz".into();
    nobody.account.groups.clear();
    c.store.add_staff(&nobody.account).await.unwrap();
    let (_, norole) = send(
        &c,
        post(json!({"email": "norole@migration.kz", "password": nobody.password})),
    )
    .await;
    let code = visa_local::staff::code_at(&nobody.totp_secret, c.clock.now()).unwrap();
    let req = request(
        "POST",
        totp,
        None,
        json!({"email": "norole@migration.kz", "session": norole["session"], "code": code}),
    );
    let (status, problem) = send(&c, req).await;
    assert_eq!(
        slug(&(status, problem.clone())),
        (403, "forbidden"),
        "{problem}"
    );
}

async fn member_problems() {
    let c = Confirm::new();
    let token = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    who_is_calling(&c, "GET", "/api/officer/me", Value::Null).await;
    too_large_refused(&c, "GET", "/api/officer/me", Some(&token)).await;
    let (status, me) = c
        .call("GET", "/api/officer/me", Some(&token), Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["acting_as"], "auditor");
    assert_eq!(me["member"]["email"], AUDITOR_EMAIL);
}

async fn search_problems() {
    let c = Confirm::new();
    let (id, _) = issued_visa(&c).await;
    let token = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let path = "/api/officer/applications";
    let get = |query: &str| request("GET", &format!("{path}{query}"), Some(&token), Value::Null);
    who_is_calling(&c, "GET", &format!("{path}?q=Sharma"), Value::Null).await;
    too_large_refused(&c, "GET", path, Some(&token)).await;
    invalid(&c, get(""), "q").await;
    invalid(&c, get("?q=%20"), "q").await;
    // A status alone lists its newest applications.
    for (status, n) in [
        ("issued", 1),
        ("paid", 0),
        ("invitation_confirmed", 0),
        ("under_review", 0),
    ] {
        let (code, found) = send(&c, get(&format!("?status={status}"))).await;
        assert_eq!(code, 200, "{found}");
        assert_eq!(
            found["applications"].as_array().unwrap().len(),
            n,
            "{status}: {found}"
        );
    }
    invalid(&c, get(&format!("?q={}", "x".repeat(101))), "q").await;
    invalid(&c, get("?q=Sharma&status=lost"), "status").await;
    // Found by surname (any case, accents aside), passport number, visa
    // number and id; narrowed by status.
    for q in [
        "Sharma",
        "SHARMA",
        "%C5%A0harma",
        "z1234567",
        "K7Q4M2X9A",
        id.as_str(),
    ] {
        let (status, found) = send(&c, get(&format!("?q={q}"))).await;
        assert_eq!(status, 200, "{q}: {found}");
        let list = found["applications"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{q}: {found}");
        assert_eq!(list[0]["id"], id.as_str());
        assert_eq!(list[0]["visa_number"], "K7Q4M2X9A");
    }
    for (status, n) in [("issued", 1), ("paid", 0), ("under_review", 0)] {
        let (_, found) = send(&c, get(&format!("?q=Sharma&status={status}"))).await;
        assert_eq!(
            found["applications"].as_array().unwrap().len(),
            n,
            "{status}: {found}"
        );
    }
    let (_, none) = send(&c, get("?q=Nobody")).await;
    assert_eq!(none, json!({"applications": []}));
}

async fn record_problems() {
    let c = Confirm::new();
    let (id, _) = issued_visa(&c).await;
    let token = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let path = format!("/api/officer/applications/{id}");
    who_is_calling(&c, "GET", &path, Value::Null).await;
    too_large_refused(&c, "GET", &path, Some(&token)).await;
    refused(
        &c,
        request(
            "GET",
            "/api/officer/applications/01JD0000000000000000000000",
            Some(&token),
            Value::Null,
        ),
        (404, "not-found"),
    )
    .await;
    let (status, record) = c.call("GET", &path, Some(&token), Value::Null).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["standing"], "not_yet_valid");
    assert_eq!(record["application"]["passport"]["number"], "Z1234567");
    let events: Vec<&str> = record["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["applied", "confirmed", "paid", "issued"],
        "{record}"
    );
}

async fn invitation_problems() {
    let c = Confirm::new();
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let new = json!({
        "number": "250000000777",
        "category": "tourist",
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {"surname": "Sharma", "given_names": "Priya", "nationality": "IND",
                    "date_of_birth": "1990-04-12", "passport_number": "Z1234567"},
        "valid_from": "2026-12-20", "valid_until": "2027-01-03",
    });
    let create = "/api/officer/invitations";
    who_is_calling(&c, "POST", create, new.clone()).await;
    // An auditor changes nothing.
    refused(
        &c,
        request("POST", create, Some(&auditor), new.clone()),
        (403, "forbidden"),
    )
    .await;
    malformed_refused(&c, "POST", create, Some(&officer)).await;
    too_large_refused(&c, "POST", create, Some(&officer)).await;
    let mut bad = new.clone();
    bad["valid_until"] = json!("2027-03-01");
    invalid(
        &c,
        request("POST", create, Some(&officer), bad),
        "valid_until",
    )
    .await;
    let (status, inv) = c.call("POST", create, Some(&officer), new.clone()).await;
    assert_eq!(status, 201, "{inv}");
    assert_eq!(
        inv["created_by"],
        format!("Aigerim Sadykova <{OFFICER_EMAIL}> (officer)")
    );
    refused(
        &c,
        request("POST", create, Some(&officer), new.clone()),
        (409, "invitation-exists"),
    )
    .await;

    // Found by number, the inviting party's BIN, passport number, surname.
    let find = "/api/officer/invitations";
    who_is_calling(&c, "GET", &format!("{find}?q=Sharma"), Value::Null).await;
    too_large_refused(&c, "GET", find, Some(&auditor)).await;
    invalid(&c, request("GET", find, Some(&auditor), Value::Null), "q").await;
    invalid(
        &c,
        request("GET", &format!("{find}?q=%20"), Some(&auditor), Value::Null),
        "q",
    )
    .await;
    for q in ["250000000777", "123456789012", "z1234567", "SHARMA"] {
        let (status, found) = c
            .call("GET", &format!("{find}?q={q}"), Some(&auditor), Value::Null)
            .await;
        assert_eq!(status, 200, "{q}: {found}");
        let numbers: Vec<_> = found["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].clone())
            .collect();
        assert_eq!(numbers, [json!("250000000777")], "{q}: {found}");
    }
    let (_, none) = c
        .call(
            "GET",
            &format!("{find}?q=Nobody"),
            Some(&auditor),
            Value::Null,
        )
        .await;
    assert_eq!(none, json!({"invitations": []}));

    let one = "/api/officer/invitations/250000000777";
    who_is_calling(&c, "GET", one, Value::Null).await;
    too_large_refused(&c, "GET", one, Some(&auditor)).await;
    for unknown in [
        "/api/officer/invitations/250000000778",
        "/api/officer/invitations/2500",
    ] {
        refused(
            &c,
            request("GET", unknown, Some(&auditor), Value::Null),
            (404, "not-found"),
        )
        .await;
    }
    let (status, got) = c.call("GET", one, Some(&auditor), Value::Null).await;
    assert_eq!((status, &got["status"]), (200, &json!("approved")), "{got}");

    let revoke = "/api/officer/invitations/250000000777/revocation";
    let reason = json!({"reason": "the host withdrew it"});
    who_is_calling(&c, "POST", revoke, reason.clone()).await;
    refused(
        &c,
        request("POST", revoke, Some(&auditor), reason.clone()),
        (403, "forbidden"),
    )
    .await;
    malformed_refused(&c, "POST", revoke, Some(&officer)).await;
    too_large_refused(&c, "POST", revoke, Some(&officer)).await;
    invalid(
        &c,
        request("POST", revoke, Some(&officer), json!({"reason": " "})),
        "reason",
    )
    .await;
    refused(
        &c,
        request(
            "POST",
            "/api/officer/invitations/250000000778/revocation",
            Some(&officer),
            reason.clone(),
        ),
        (404, "not-found"),
    )
    .await;
    let (status, _) = c.call("POST", revoke, Some(&officer), reason.clone()).await;
    assert_eq!(status, 204);
    let day = c.clock.now() - Duration::days(1);
    let events = c
        .store
        .audit_events(day, c.clock.now() + Duration::days(1))
        .await
        .unwrap();
    let revoked = events
        .iter()
        .find(|e| e.action == visa_core::audit::AuditAction::InvitationRevoked)
        .unwrap();
    assert_eq!(revoked.reason, "the host withdrew it");
    // A used invitation is not revoked...
    let used = c.invitation("tourist", "IND").await;
    let token = c.applicant("acc-used").await;
    let (status, app) = c
        .call(
            "POST",
            "/api/applications",
            Some(&token),
            new_application(&used, "2027-04-03"),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    // Once its application's checkout is open, that is (before, it is: groups.rs).
    let confirm = format!(
        "/api/applications/{}/confirmation",
        app["id"].as_str().unwrap()
    );
    let (status, confirmed) = c
        .call(
            "POST",
            &confirm,
            Some(&token),
            json!({"details_match_passport": true}),
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    let path = format!(
        "/api/officer/invitations/{}/revocation",
        used["number"].as_str().unwrap()
    );
    refused(
        &c,
        request("POST", &path, Some(&officer), reason),
        (409, "invitation-already-used"),
    )
    .await;
}

async fn visa_change_problems() {
    let c = Confirm::new();
    let (_, first_day) = issued_visa(&c).await;
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let reason = json!({"reason": "the host withdrew the invitation"});
    let body = |change: &str| {
        let mut b = reason.clone();
        if change == "shortening" {
            b["valid_until"] = json!(first_day);
        }
        b
    };
    for change in ["cancellation", "restoration", "shortening"] {
        let path = format!("/api/officer/visas/K7Q4M2X9A/{change}");
        who_is_calling(&c, "POST", &path, body(change)).await;
        // An auditor trying to change a visa: 403, nothing changes.
        refused(
            &c,
            request("POST", &path, Some(&auditor), body(change)),
            (403, "forbidden"),
        )
        .await;
        malformed_refused(&c, "POST", &path, Some(&officer)).await;
        too_large_refused(&c, "POST", &path, Some(&officer)).await;
        let mut blank = body(change);
        blank["reason"] = json!(" ");
        invalid(&c, request("POST", &path, Some(&officer), blank), "reason").await;
        let unknown = path.replace("K7Q4M2X9A", "ZZZZZZZZZ");
        refused(
            &c,
            request("POST", &unknown, Some(&officer), body(change)),
            (404, "not-found"),
        )
        .await;
    }
    let cancel = "/api/officer/visas/K7Q4M2X9A/cancellation";
    refused(
        &c,
        request(
            "POST",
            "/api/officer/visas/K7Q4M2X9A/restoration",
            Some(&officer),
            reason.clone(),
        ),
        (409, "invalid-state"),
    )
    .await;
    let (status, cancelled) = c.call("POST", cancel, Some(&officer), reason.clone()).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    // Cancelling an already cancelled visa: 409, nothing recorded.
    refused(
        &c,
        request("POST", cancel, Some(&officer), reason.clone()),
        (409, "invalid-state"),
    )
    .await;
    // Nor is a cancelled one shortened.
    refused(
        &c,
        request(
            "POST",
            "/api/officer/visas/K7Q4M2X9A/shortening",
            Some(&officer),
            body("shortening"),
        ),
        (409, "invalid-state"),
    )
    .await;
    let day = c.clock.now() - Duration::days(1);
    let events = c
        .store
        .audit_events(day, c.clock.now() + Duration::days(1))
        .await
        .unwrap();
    let actors: Vec<_> = events
        .iter()
        .filter(|e| e.action == visa_core::audit::AuditAction::VisaCancelled)
        .map(|e| e.actor.as_str())
        .collect();
    assert_eq!(
        actors,
        [format!("Aigerim Sadykova <{OFFICER_EMAIL}> (officer)")]
    );
}

async fn audit_problems() {
    let c = Confirm::new();
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let path = "/api/officer/audit-events";
    who_is_calling(&c, "GET", path, Value::Null).await;
    too_large_refused(&c, "GET", path, Some(&auditor)).await;
    invalid(
        &c,
        request(
            "GET",
            &format!("{path}?from=yesterday"),
            Some(&auditor),
            Value::Null,
        ),
        "from",
    )
    .await;
    // Through the fixture: behind the gateway's authorizer.
    let res = c
        .handle(request("GET", path, Some(&auditor), Value::Null))
        .await;
    assert_eq!(res.status(), 200);
    let csv = String::from_utf8(res.body().to_vec()).unwrap();
    // The auditor's own sign-in is the trail's one line.
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains(&format!(
            "<{AUDITOR_EMAIL}> (auditor),signed_in,staff/{AUDITOR_EMAIL}"
        )),
        "{csv}"
    );
}

async fn review_problems() {
    let c = Confirm::new();
    let (id, _) = issued_visa(&c).await;
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let queue = "/api/officer/reviews";
    who_is_calling(&c, "GET", queue, Value::Null).await;
    too_large_refused(&c, "GET", queue, Some(&auditor)).await;
    let (status, empty) = c.call("GET", queue, Some(&auditor), Value::Null).await;
    assert_eq!((status, empty), (200, json!({"applications": []})));
    let decide = format!("/api/officer/applications/{id}/review-decision");
    let keep = json!({"decision": "keep", "reason": "the bank upheld the payment"});
    who_is_calling(&c, "POST", &decide, keep.clone()).await;
    // Nothing to decide before a dispute.
    refused(
        &c,
        request("POST", &decide, Some(&officer), keep.clone()),
        (409, "invalid-state"),
    )
    .await;
    c.store
        .flag_for_review("evt_dispute_1", &id, c.clock.now())
        .await
        .unwrap();
    let (_, waiting) = c.call("GET", queue, Some(&auditor), Value::Null).await;
    assert_eq!(waiting["applications"][0]["id"], id.as_str());
    assert_eq!(waiting["applications"][0]["under_review"], true);
    refused(
        &c,
        request("POST", &decide, Some(&auditor), keep.clone()),
        (403, "forbidden"),
    )
    .await;
    malformed_refused(&c, "POST", &decide, Some(&officer)).await;
    too_large_refused(&c, "POST", &decide, Some(&officer)).await;
    invalid(
        &c,
        request(
            "POST",
            &decide,
            Some(&officer),
            json!({"decision": "keep", "reason": " "}),
        ),
        "reason",
    )
    .await;
    invalid(
        &c,
        request(
            "POST",
            &decide,
            Some(&officer),
            json!({"decision": "maybe", "reason": "x"}),
        ),
        "decision",
    )
    .await;
    refused(
        &c,
        request(
            "POST",
            "/api/officer/applications/01JD0000000000000000000000/review-decision",
            Some(&officer),
            keep.clone(),
        ),
        (404, "not-found"),
    )
    .await;
    let (status, kept) = c.call("POST", &decide, Some(&officer), keep.clone()).await;
    assert_eq!(
        (status, kept["status"].as_str()),
        (200, Some("not_yet_valid")),
        "{kept}"
    );
    let (_, empty) = c.call("GET", queue, Some(&auditor), Value::Null).await;
    assert_eq!(empty, json!({"applications": []}));
    // Decided once: again is 409, nothing recorded.
    refused(
        &c,
        request("POST", &decide, Some(&officer), keep),
        (409, "invalid-state"),
    )
    .await;
    // A second dispute, decided the other way: the visa is cancelled.
    c.store
        .flag_for_review("evt_dispute_2", &id, c.clock.now())
        .await
        .unwrap();
    let (status, cancelled) = c
        .call(
            "POST",
            &decide,
            Some(&officer),
            json!({"decision": "cancel", "reason": "the bank refunded the payer"}),
        )
        .await;
    // The record's timeline tells the whole story, in order.
    let (_, record) = c
        .call(
            "GET",
            &format!("/api/officer/applications/{id}"),
            Some(&auditor),
            Value::Null,
        )
        .await;
    let events: Vec<&str> = record["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "applied",
            "confirmed",
            "paid",
            "issued",
            "disputed",
            "review_kept",
            "disputed",
            "review_cancelled"
        ],
        "{record}"
    );
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    let day = c.clock.now() - Duration::days(1);
    let events = c
        .store
        .audit_events(day, c.clock.now() + Duration::days(1))
        .await
        .unwrap();
    let details: Vec<_> = events
        .iter()
        .filter(|e| e.action == visa_core::audit::AuditAction::ReviewDecided)
        .map(|e| e.detail.clone().unwrap_or_default())
        .collect();
    assert_eq!(details, ["decision: keep", "decision: cancel"]);
}

async fn crossing_problems() {
    let c = Confirm::new();
    let (id, _) = issued_visa(&c).await;
    let border = c
        .staff_token("c.border@migration.kz", StaffGroup::Border)
        .await;
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let entry = "/api/officer/visas/K7Q4M2X9A/entry";
    let exit = "/api/officer/visas/K7Q4M2X9A/exit";
    let at = |checkpoint: &str| json!({ "checkpoint": checkpoint });
    for path in [entry, exit] {
        who_is_calling(&c, "POST", path, at("NQZ")).await;
        // An officer is not border control.
        refused(
            &c,
            request("POST", path, Some(&officer), at("NQZ")),
            (403, "forbidden"),
        )
        .await;
        malformed_refused(&c, "POST", path, Some(&border)).await;
        too_large_refused(&c, "POST", path, Some(&border)).await;
        invalid(
            &c,
            request("POST", path, Some(&border), json!({})),
            "checkpoint",
        )
        .await;
        let problem = refused(
            &c,
            request("POST", path, Some(&border), at("TSE")),
            (422, "checkpoint-not-allowed"),
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "checkpoint");
        let unknown = path.replace("K7Q4M2X9A", "ZZZZZZZZZ");
        refused(
            &c,
            request("POST", &unknown, Some(&border), at("NQZ")),
            (404, "not-found"),
        )
        .await;
    }
    // Before its first day, and leaving before entering.
    refused(
        &c,
        request("POST", entry, Some(&border), at("NQZ")),
        (409, "visa-not-in-force"),
    )
    .await;
    refused(
        &c,
        request("POST", exit, Some(&border), at("NQZ")),
        (409, "visa-not-entered"),
    )
    .await;
    c.clock.advance(Duration::days(16));
    // (Tokens last an hour: the shift of the day signs in again.)
    let border = c
        .staff_token("d.border@migration.kz", StaffGroup::Border)
        .await;
    let officer = c
        .staff_token("e.officer@migration.kz", StaffGroup::Officer)
        .await;
    // Cancelled: refused; restored: it lets its holder in.
    let reason = json!({"reason": "checked at the border"});
    let (status, _) = c
        .call(
            "POST",
            "/api/officer/visas/K7Q4M2X9A/cancellation",
            Some(&officer),
            reason.clone(),
        )
        .await;
    assert_eq!(status, 200);
    refused(
        &c,
        request("POST", entry, Some(&border), at("NQZ")),
        (409, "visa-cancelled"),
    )
    .await;
    let (status, _) = c
        .call(
            "POST",
            "/api/officer/visas/K7Q4M2X9A/restoration",
            Some(&officer),
            reason,
        )
        .await;
    assert_eq!(status, 200);
    let (status, entered) = c.call("POST", entry, Some(&border), at("nqz")).await;
    assert_eq!(
        (status, entered["status"].as_str()),
        (200, Some("entered")),
        "{entered}"
    );
    assert_eq!(entered["entry"]["checkpoint"], "NQZ");
    refused(
        &c,
        request("POST", entry, Some(&border), at("ALA")),
        (409, "visa-already-entered"),
    )
    .await;
    let (status, used) = c.call("POST", exit, Some(&border), at("ALA")).await;
    assert_eq!(
        (status, used["status"].as_str()),
        (200, Some("used")),
        "{used}"
    );
    refused(
        &c,
        request("POST", entry, Some(&border), at("NQZ")),
        (409, "visa-used"),
    )
    .await;
    refused(
        &c,
        request("POST", exit, Some(&border), at("NQZ")),
        (409, "visa-used"),
    )
    .await;
    let day = c.clock.now() - Duration::days(20);
    let events = c
        .store
        .audit_events(day, c.clock.now() + Duration::days(1))
        .await
        .unwrap();
    let crossings: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                visa_core::audit::AuditAction::EntryRecorded
                    | visa_core::audit::AuditAction::ExitRecorded
            )
        })
        .map(|e| (e.actor.clone(), e.detail.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        crossings,
        [
            (
                "Aigerim Sadykova <d.border@migration.kz> (border)".to_owned(),
                "entry at NQZ".to_owned()
            ),
            (
                "Aigerim Sadykova <d.border@migration.kz> (border)".to_owned(),
                "exit at ALA".to_owned()
            ),
        ]
    );
    let (_, record) = c
        .call(
            "GET",
            &format!("/api/officer/applications/{id}"),
            Some(&border),
            Value::Null,
        )
        .await;
    assert_eq!(record["standing"], "used");
    let events: Vec<&str> = record["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        &events[events.len() - 2..],
        ["entered", "exited"],
        "{record}"
    );
}

// ------------------------------------------------------------ inviting parties

pub(crate) fn pending_host(
    c: &Confirm,
    id: &str,
    account: &str,
    iin: &str,
) -> visa_core::host::Host {
    visa_core::host::NewHost {
        kind: visa_core::host::HostKind::Resident,
        number: iin.into(),
        name: "Aigerim Nurlanovna Sadykova".into(),
        contact: visa_core::host::Contact {
            name: "Aigerim Sadykova".into(),
            phone: "+77012345678".into(),
        },
    }
    .into_host(id.into(), account, c.clock.now())
    .unwrap()
}

#[tokio::test]
async fn an_officer_approves_one_host_and_refuses_another_with_a_reason() {
    use visa_core::store::Hosts;
    let c = Confirm::new();
    let first = pending_host(&c, "host-1", "acc-1", "061211600012");
    let second = pending_host(&c, "host-2", "acc-2", "900412300127");
    c.store.create_host(&first).await.unwrap();
    c.store.create_host(&second).await.unwrap();
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let (status, queue) = c
        .call("GET", "/api/officer/hosts", Some(&auditor), Value::Null)
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = queue["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["host-1", "host-2"]);

    let (status, approved) = c
        .call(
            "POST",
            "/api/officer/hosts/host-1/decision",
            Some(&officer),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    let (status, refused_host) = c
        .call(
            "POST",
            "/api/officer/hosts/host-2/decision",
            Some(&officer),
            json!({"decision": "refuse", "reason": "the IIN is not the contact's"}),
        )
        .await;
    assert_eq!(status, 200, "{refused_host}");
    assert_eq!(
        refused_host["decision"]["reason"],
        "the IIN is not the contact's"
    );
    let (_, queue) = c
        .call("GET", "/api/officer/hosts", Some(&auditor), Value::Null)
        .await;
    assert_eq!(queue, json!({"hosts": []}));
    let (_, done) = c
        .call(
            "GET",
            "/api/officer/hosts?status=approved",
            Some(&auditor),
            Value::Null,
        )
        .await;
    assert_eq!(done["hosts"][0]["id"], "host-1");
    // Each decision is in the trail under the officer's name.
    let trail = c
        .store
        .audit_events(
            c.clock.now() - Duration::days(1),
            c.clock.now() + Duration::days(1),
        )
        .await
        .unwrap();
    let decided: Vec<(&str, &str, bool)> = trail
        .iter()
        .filter(|e| e.action == visa_core::audit::AuditAction::HostDecided)
        .map(|e| {
            (
                e.record.as_str(),
                e.reason.as_str(),
                e.actor.contains(OFFICER_EMAIL),
            )
        })
        .collect();
    assert_eq!(
        decided,
        [
            ("host/host-1", "", true),
            ("host/host-2", "the IIN is not the contact's", true)
        ]
    );
    // Each host's account is told, in its language, the refusal with why.
    let queued = c.queued.0.lock().unwrap().clone();
    for id in ["host-1", "host-2"] {
        assert!(
            queued.contains(&visa_core::notify::EmailRequest::HostDecided { host_id: id.into() }),
            "{queued:?}"
        );
    }
    let render = Render::on(
        c.store.clone(),
        c.clock.clone(),
        tempfile::tempdir().unwrap(),
    );
    for (account, lang) in [("acc-1", "kk"), ("acc-2", "en")] {
        use visa_core::store::Accounts;
        c.store
            .create_account(&visa_core::account::Account {
                id: account.into(),
                email: format!("{account}@example.kz"),
                password_hash: String::new(),
                created_at: c.clock.now(),
                email_verified_at: Some(c.clock.now()),
                lang: lang.into(),
            })
            .await
            .unwrap();
    }
    for id in ["host-1", "host-2"] {
        let request = visa_core::notify::EmailRequest::HostDecided { host_id: id.into() };
        visa_render_visa::mail::deliver(&render.deps, &request)
            .await
            .unwrap();
    }
    // Two messages in the same millisecond: the outbox's order between
    // them is not the sending order, so by address.
    let mut sent = outbox(&render);
    sent.sort();
    assert_eq!(
        sent,
        [
            "acc-1@example.kz: Aigerim Nurlanovna Sadykova: шақырушы тарап мақұлданды",
            "acc-2@example.kz: Aigerim Nurlanovna Sadykova: not approved as an inviting party"
        ]
    );
    let refusal = std::fs::read_dir(render.dir.path().join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains("To: acc-2@example.kz"))
        .unwrap();
    assert!(
        message_text(&refusal).contains("Reason: the IIN is not the contact's"),
        "{refusal}"
    );
}

async fn host_problems() {
    use visa_core::store::Hosts;
    let c = Confirm::new();
    c.store
        .create_host(&pending_host(&c, "host-1", "acc-1", "061211600012"))
        .await
        .unwrap();
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let list = "/api/officer/hosts";
    who_is_calling(&c, "GET", list, Value::Null).await;
    too_large_refused(&c, "GET", list, Some(&auditor)).await;
    invalid(
        &c,
        request(
            "GET",
            "/api/officer/hosts?status=waiting",
            Some(&auditor),
            Value::Null,
        ),
        "status",
    )
    .await;
    let decide = "/api/officer/hosts/host-1/decision";
    let approve = json!({"decision": "approve"});
    who_is_calling(&c, "POST", decide, approve.clone()).await;
    refused(
        &c,
        request("POST", decide, Some(&auditor), approve.clone()),
        (403, "forbidden"),
    )
    .await;
    malformed_refused(&c, "POST", decide, Some(&officer)).await;
    too_large_refused(&c, "POST", decide, Some(&officer)).await;
    invalid(
        &c,
        request(
            "POST",
            decide,
            Some(&officer),
            json!({"decision": "refuse"}),
        ),
        "reason",
    )
    .await;
    invalid(
        &c,
        request("POST", decide, Some(&officer), json!({"decision": "maybe"})),
        "decision",
    )
    .await;
    refused(
        &c,
        request(
            "POST",
            "/api/officer/hosts/host-9/decision",
            Some(&officer),
            approve.clone(),
        ),
        (404, "not-found"),
    )
    .await;
    let (status, _) = c
        .call("POST", decide, Some(&officer), approve.clone())
        .await;
    assert_eq!(status, 200);
    refused(
        &c,
        request(
            "POST",
            decide,
            Some(&officer),
            json!({"decision": "refuse", "reason": "second thoughts"}),
        ),
        (409, "host-already-decided"),
    )
    .await;
}

// ------------------------------------------------------------ invitation requests

/// An approved host of account `acc-host`, and that account's session.
async fn approved_host(c: &Confirm) -> String {
    use visa_core::store::Hosts;
    let mut host = pending_host(c, "host-1", "acc-host", "061211600012");
    host.decide(true, "Dana (officer)", None, c.clock.now())
        .unwrap();
    c.store.create_host(&host).await.unwrap();
    c.applicant("acc-host").await
}

fn foreigners(passports: &[(&str, &str)]) -> Value {
    let today = c_today();
    json!({
        "category": "tourist",
        "valid_from": (today + Duration::days(10)).to_string(),
        "valid_until": (today + Duration::days(20)).to_string(),
        "purpose": "a tour of the Altai",
        "invitees": passports.iter().map(|(nationality, passport)| json!({
            "surname": "Sharma", "given_names": "Priya", "sex": "F", "nationality": nationality,
            "date_of_birth": "1990-04-12", "passport_number": passport, "email": "priya@example.com",
        })).collect::<Vec<_>>(),
    })
}

/// The fixture's pinned day (5 December 2026).
fn c_today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
}

#[tokio::test]
async fn a_host_requests_two_invitations_and_an_officer_approves_one_and_refuses_the_other() {
    let c = Confirm::new();
    let host = approved_host(&c).await;
    let (status, made) = c
        .call(
            "POST",
            "/api/hosts/current/invitation-requests",
            Some(&host),
            foreigners(&[("IND", "Z1234567"), ("BGD", "P7654321")]),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let ids: Vec<String> = made["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(made["requests"][0]["invitee"]["surname"], "SHARMA");
    assert_eq!(made["requests"][0]["status"], "pending");
    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let (_, queue) = c
        .call(
            "GET",
            "/api/officer/invitation-requests",
            Some(&auditor),
            Value::Null,
        )
        .await;
    assert_eq!(queue["requests"].as_array().unwrap().len(), 2);
    assert_eq!(queue["requests"][0]["host"]["number"], "061211600012");

    let (status, approved) = c
        .call(
            "POST",
            &format!("/api/officer/invitation-requests/{}/decision", ids[0]),
            Some(&officer),
            json!({"decision": "approve", "reason": "the guest must carry the hotel booking"}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    let number = approved["invitation_number"].as_str().unwrap().to_owned();
    // Its foreigner is emailed the number (render-visa sends it).
    assert!(c.queued.0.lock().unwrap().contains(
        &visa_core::notify::EmailRequest::InvitationIssued {
            request_id: ids[0].clone()
        }
    ));
    // The invitation exists as the migration service's own do, its
    // inviting party the host, and the applicant side can use it.
    let (status, invitation) = c
        .call(
            "GET",
            &format!("/api/officer/invitations/{number}"),
            Some(&auditor),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{invitation}");
    assert_eq!(invitation["inviter"]["bin"], "061211600012");
    assert_eq!(invitation["invitee"]["passport_number"], "Z1234567");
    let (status, refused) = c
        .call(
            "POST",
            &format!("/api/officer/invitation-requests/{}/decision", ids[1]),
            Some(&officer),
            json!({"decision": "refuse", "reason": "the purpose does not fit the category"}),
        )
        .await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["status"], "refused");
    // The host sees both outcomes, the reason, not the officer.
    let (_, mine) = c
        .call(
            "GET",
            "/api/hosts/current/invitation-requests",
            Some(&host),
            Value::Null,
        )
        .await;
    let outcomes: Vec<(&str, &Value, &Value)> = mine["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap(),
                &r["invitation_number"],
                &r["reason"],
            )
        })
        .collect();
    // An approval's note reaches the host too.
    assert!(
        outcomes.contains(&(
            "approved",
            &json!(number),
            &json!("the guest must carry the hotel booking")
        )),
        "{mine}"
    );
    assert!(
        outcomes.contains(&(
            "refused",
            &Value::Null,
            &json!("the purpose does not fit the category")
        )),
        "{mine}"
    );
    assert!(!mine.to_string().contains(OFFICER_EMAIL), "{mine}");

    // How far the invitee has come: invited, then applied once the
    // foreigner applies with the number; never the applicant's own data.
    let (status, invitees) = c
        .call(
            "GET",
            "/api/hosts/current/invitees",
            Some(&host),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{invitees}");
    assert_eq!(invitees["invitees"].as_array().map(Vec::len), Some(1));
    assert_eq!(invitees["invitees"][0]["stage"], "invited");
    let foreigner = c.applicant("acc-foreigner").await;
    let invitation = json!({"number": number, "invitee": {"nationality": "IND"}});
    let (status, app) = c
        .call(
            "POST",
            "/api/applications",
            Some(&foreigner),
            new_application(&invitation, "2031-07-19"),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    let (_, invitees) = c
        .call(
            "GET",
            "/api/hosts/current/invitees",
            Some(&host),
            Value::Null,
        )
        .await;
    assert_eq!(invitees["invitees"][0]["stage"], "applied");
    for private in ["2031-07-19", app["id"].as_str().unwrap()] {
        assert!(
            !invitees.to_string().contains(private),
            "{private} shown: {invitees}"
        );
    }
}

async fn invitation_request_problems() {
    use visa_core::store::Hosts;
    let c = Confirm::new();
    let path = "/api/hosts/current/invitation-requests";
    let body = foreigners(&[("IND", "Z1234567")]);
    refused(
        &c,
        request("POST", path, None, body.clone()),
        (401, "unauthenticated"),
    )
    .await;
    refused(
        &c,
        request("GET", path, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    // Not an inviting party.
    let stranger = c.applicant("acc-stranger").await;
    refused(
        &c,
        request("POST", path, Some(&stranger), body.clone()),
        (404, "not-found"),
    )
    .await;
    refused(
        &c,
        request("GET", path, Some(&stranger), Value::Null),
        (404, "not-found"),
    )
    .await;
    let invitees = "/api/hosts/current/invitees";
    refused(
        &c,
        request("GET", invitees, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    refused(
        &c,
        request("GET", invitees, Some(&stranger), Value::Null),
        (404, "not-found"),
    )
    .await;
    // Not approved yet.
    c.store
        .create_host(&pending_host(&c, "host-2", "acc-pending", "900412300127"))
        .await
        .unwrap();
    let pending = c.applicant("acc-pending").await;
    refused(
        &c,
        request("POST", path, Some(&pending), body.clone()),
        (409, "host-not-approved"),
    )
    .await;
    let host = approved_host(&c).await;
    malformed_refused(&c, "POST", path, Some(&host)).await;
    too_large_refused(&c, "POST", path, Some(&host)).await;
    too_large_refused(&c, "GET", path, Some(&host)).await;
    too_large_refused(&c, "GET", "/api/hosts/current/invitees", Some(&host)).await;
    invalid(
        &c,
        request(
            "POST",
            path,
            Some(&host),
            foreigners(&[("IND", "Z1234567"), ("BGD", "1")]),
        ),
        "invitees[1].passport_number",
    )
    .await;
    invalid(
        &c,
        request("POST", path, Some(&host), foreigners(&[])),
        "invitees",
    )
    .await;
    // The USA is on neither annex: the applicant side's not-eligible.
    let ineligible = refused(
        &c,
        request(
            "POST",
            path,
            Some(&host),
            foreigners(&[("IND", "Z1234567"), ("USA", "123456789")]),
        ),
        (422, "not-eligible"),
    )
    .await;
    assert_eq!(ineligible["errors"][0]["field"], "invitees[1].nationality");

    let officer = c.staff_token(OFFICER_EMAIL, StaffGroup::Officer).await;
    let auditor = c.staff_token(AUDITOR_EMAIL, StaffGroup::Auditor).await;
    let list = "/api/officer/invitation-requests";
    who_is_calling(&c, "GET", list, Value::Null).await;
    too_large_refused(&c, "GET", list, Some(&auditor)).await;
    invalid(
        &c,
        request(
            "GET",
            "/api/officer/invitation-requests?status=open",
            Some(&auditor),
            Value::Null,
        ),
        "status",
    )
    .await;
    let (status, made) = c.call("POST", path, Some(&host), body).await;
    assert_eq!(status, 201, "{made}");
    let id = made["requests"][0]["id"].as_str().unwrap();
    let decide = format!("/api/officer/invitation-requests/{id}/decision");
    let approve = json!({"decision": "approve"});
    who_is_calling(&c, "POST", &decide, approve.clone()).await;
    refused(
        &c,
        request("POST", &decide, Some(&auditor), approve.clone()),
        (403, "forbidden"),
    )
    .await;
    malformed_refused(&c, "POST", &decide, Some(&officer)).await;
    too_large_refused(&c, "POST", &decide, Some(&officer)).await;
    invalid(
        &c,
        request(
            "POST",
            &decide,
            Some(&officer),
            json!({"decision": "refuse"}),
        ),
        "reason",
    )
    .await;
    refused(
        &c,
        request(
            "POST",
            "/api/officer/invitation-requests/none/decision",
            Some(&officer),
            approve.clone(),
        ),
        (404, "not-found"),
    )
    .await;
    let (status, _) = c
        .call("POST", &decide, Some(&officer), approve.clone())
        .await;
    assert_eq!(status, 200);
    refused(
        &c,
        request(
            "POST",
            &decide,
            Some(&officer),
            json!({"decision": "refuse", "reason": "no"}),
        ),
        (409, "request-already-decided"),
    )
    .await;
}

cases! {
    invitation_request_problems,
    host_problems,
    sign_in_problems,
    member_problems,
    search_problems,
    record_problems,
    invitation_problems,
    visa_change_problems,
    audit_problems,
    review_problems,
    crossing_problems,
}
