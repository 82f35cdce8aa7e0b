//! Families and groups: one account pays once for several applications
//! (confirm-invitation's /api/groups, pay-webhook's group payment).

use crate::support::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use visa_core::Status;
use visa_core::clock::Clock;
use visa_core::store::{Applications, Groups};

cases! {
    group_problems,
    a_member_with_a_revoked_invitation_is_dropped_before_checkout,
}

/// `n` applications of the applicant of `token`, each on its own
/// invitation, through the handler: their ids.
async fn family(c: &Confirm, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let inv = c.invitation("tourist", "IND").await;
        let (status, app) = c
            .call(
                "POST",
                "/api/applications",
                Some(token),
                new_application(&inv, "2027-04-03"),
            )
            .await;
        assert_eq!(status, 201, "{app}");
        ids.push(app["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn form(c: &Confirm, token: &str, ids: &[String]) -> Value {
    let (status, group) = c
        .call(
            "POST",
            "/api/groups",
            Some(token),
            json!({"application_ids": ids}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    group
}

fn yes() -> Value {
    json!({"details_match_passport": true})
}

async fn revoke(c: &Confirm, app_id: &str) {
    let app = c.store.application(app_id).await.unwrap().unwrap();
    let (status, body) = c
        .call(
            "DELETE",
            &format!("/api/admin/invitations/{}", app.invitation_number),
            Some(OFFICER),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

/// pay-webhook over the fixture's store: what it woke, and its deps.
fn webhook(c: &Confirm) -> (visa_pay_webhook::Deps, Arc<Mutex<Vec<String>>>) {
    let woken = Arc::new(Mutex::new(Vec::new()));
    let seen = woken.clone();
    let shared = Arc::new(c.store.clone());
    let deps = visa_pay_webhook::Deps {
        applications: shared.clone(),
        groups: shared.clone(),
        payments: shared,
        provider: Arc::new(ProviderDown),
        clock: c.clock.clone(),
        secrets: vec![WEBHOOK_SECRET.into()],
        on_paid: Box::new(move |id| seen.lock().unwrap().push(id.to_owned())),
    };
    (deps, woken)
}

async fn deliver(
    c: &Confirm,
    deps: &visa_pay_webhook::Deps,
    event_id: &str,
    reference: &str,
    session: &str,
    amount: i64,
) -> (u16, Value) {
    let body = json!({
        "id": event_id, "object": "event", "type": "checkout.session.completed",
        "data": {"object": {"id": session, "object": "checkout.session", "client_reference_id": reference,
                            "amount_total": amount, "currency": "usd", "payment_status": "paid",
                            "payment_intent": format!("pi_{event_id}")}},
    })
    .to_string();
    let signature = visa_pay_webhook::signature::sign(
        WEBHOOK_SECRET,
        c.clock.now().timestamp(),
        body.as_bytes(),
    );
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/webhooks/payment")
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(bytes::Bytes::from(body))
        .unwrap();
    answer(&visa_pay_webhook::handle(deps, req).await)
}

async fn statuses(c: &Confirm, ids: &[String]) -> Vec<Status> {
    let mut out = Vec::new();
    for id in ids {
        out.push(c.store.application(id).await.unwrap().unwrap().status);
    }
    out
}

#[tokio::test]
async fn a_family_of_three_pays_once_and_a_mismatched_or_repeated_payment_changes_nothing() {
    let c = Confirm::new();
    let token = c.applicant("acc-family").await;
    let ids = family(&c, &token, 3).await;
    let group = form(&c, &token, &ids).await;
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["status"], "open");
    assert_eq!(
        group["total"],
        json!({"amount_minor": 18000, "currency": "USD"})
    );
    assert_eq!(group["members"].as_array().unwrap().len(), 3);
    assert_eq!(group["members"][0]["surname"], "SHARMA");
    // The cabinet groups them: each application names its group.
    let (_, list) = c
        .call("GET", "/api/applications", Some(&token), Value::Null)
        .await;
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["group_id"], gid.as_str());
        assert_eq!(item["invitation_revoked_at"], Value::Null);
    }
    // A member is paid for only through its group.
    let alone = format!("/api/applications/{}/confirmation", ids[0]);
    refused(
        &c,
        request("POST", &alone, Some(&token), yes()),
        (409, "invalid-state"),
    )
    .await;

    let path = format!("/api/groups/{gid}/confirmation");
    let (status, awaiting) = c.call("POST", &path, Some(&token), yes()).await;
    assert_eq!(status, 200, "{awaiting}");
    assert_eq!(awaiting["status"], "awaiting_payment");
    let session = awaiting["payment"]["checkout_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Confirming again: the same checkout, no second one.
    let (_, again) = c.call("POST", &path, Some(&token), yes()).await;
    assert_eq!(again["payment"]["checkout_session_id"], session.as_str());
    for id in &ids {
        let app = c.store.application(id).await.unwrap().unwrap();
        assert_eq!(app.status, Status::AwaitingPayment);
        assert_eq!(app.payment.unwrap().checkout_session_id, session);
    }
    // An open group's checkout is not undone.
    let group_path = format!("/api/groups/{gid}");
    refused(
        &c,
        request("DELETE", &group_path, Some(&token), Value::Null),
        (409, "invalid-state"),
    )
    .await;

    let (deps, woken) = webhook(&c);
    // The sum of two fees for a group of three: nobody is paid.
    let (status, problem) = deliver(&c, &deps, "evt_short", &gid, &session, 12000).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (422, Some("/problems/payment-mismatch"))
    );
    // A member named alone in the group's session: nobody is paid.
    let (status, _) = deliver(&c, &deps, "evt_member", &ids[1], &session, 6000).await;
    assert_eq!(status, 422);
    assert_eq!(statuses(&c, &ids).await, [Status::AwaitingPayment; 3]);
    assert!(woken.lock().unwrap().is_empty());

    let (status, body) = deliver(&c, &deps, "evt_family", &gid, &session, 18000).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(statuses(&c, &ids).await, [Status::Paid; 3]);
    let mut issued = woken.lock().unwrap().clone();
    issued.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(issued, expected, "each member's visa is issued on its own");
    // Delivered again, or a second event of the same payment: nothing more.
    for event in ["evt_family", "evt_family_again"] {
        let (status, _) = deliver(&c, &deps, event, &gid, &session, 18000).await;
        assert_eq!(status, 200);
    }
    assert_eq!(woken.lock().unwrap().len(), 3);
    let (_, paid) = c.call("GET", &group_path, Some(&token), Value::Null).await;
    assert_eq!(paid["status"], "paid");
    assert!(paid["payment"]["paid_at"].is_string());
    refused(
        &c,
        request("POST", &path, Some(&token), yes()),
        (409, "invalid-state"),
    )
    .await;
}

async fn a_member_with_a_revoked_invitation_is_dropped_before_checkout() {
    let c = Confirm::new();
    let token = c.applicant("acc-family").await;
    let ids = family(&c, &token, 3).await;
    let group = form(&c, &token, &ids).await;
    let gid = group["id"].as_str().unwrap();
    // The migration service revokes the second member's invitation.
    revoke(&c, &ids[1]).await;
    let revoked = c.store.application(&ids[1]).await.unwrap().unwrap();
    assert!(revoked.invitation_revoked_at.is_some());

    let path = format!("/api/groups/{gid}/confirmation");
    let answer = send(&c, request("POST", &path, Some(&token), yes())).await;
    assert_eq!(slug(&answer), (409, "group-changed"), "{}", answer.1);
    assert!(
        answer.1["detail"]
            .as_str()
            .unwrap()
            .contains("PRIYA SHARMA")
    );
    let (_, changed) = c
        .call(
            "GET",
            &format!("/api/groups/{gid}"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(changed["total"]["amount_minor"], 12000);
    assert_eq!(changed["members"].as_array().unwrap().len(), 2);
    assert_eq!(changed["dropped"][0]["application_id"], ids[1].as_str());
    assert_eq!(changed["dropped"][0]["reason"], "invitation_revoked");
    assert_eq!(
        c.store
            .application(&ids[1])
            .await
            .unwrap()
            .unwrap()
            .group_id,
        None
    );
    // Nothing was opened: the members still wait for their confirmation.
    assert_eq!(statuses(&c, &ids).await, [Status::InvitationConfirmed; 3]);
    // Confirming again pays for the two.
    let (status, awaiting) = c.call("POST", &path, Some(&token), yes()).await;
    assert_eq!(status, 200, "{awaiting}");
    assert_eq!(awaiting["total"]["amount_minor"], 12000);
    assert_eq!(
        statuses(&c, &ids).await,
        [
            Status::AwaitingPayment,
            Status::InvitationConfirmed,
            Status::AwaitingPayment
        ]
    );
    // The revoked one can never be paid for, alone or in a group.
    let alone = format!("/api/applications/{}/confirmation", ids[1]);
    refused(
        &c,
        request("POST", &alone, Some(&token), yes()),
        (409, "invitation-revoked"),
    )
    .await;
    let with_it = json!({"application_ids": [ids[1], ids[0]]});
    refused(
        &c,
        request("POST", "/api/groups", Some(&token), with_it),
        (409, "invitation-revoked"),
    )
    .await;
    // Its checkout open, a member's invitation is no longer revoked this way.
    let open = c.store.application(&ids[0]).await.unwrap().unwrap();
    let delete = request(
        "DELETE",
        &format!("/api/admin/invitations/{}", open.invitation_number),
        Some(OFFICER),
        Value::Null,
    );
    refused(&c, delete, (409, "invitation-already-used")).await;
}

async fn group_problems() {
    let c = Confirm::new();
    let token = c.applicant("acc-1").await;
    let stranger = c.applicant("acc-2").await;
    let ids = family(&c, &token, 3).await;
    let theirs = family(&c, &stranger, 1).await;
    let post = |path: &str, token: Option<&str>, body: Value| request("POST", path, token, body);
    let body = json!({"application_ids": [ids[0], ids[1]]});
    refused(
        &c,
        post("/api/groups", None, body.clone()),
        (401, "unauthenticated"),
    )
    .await;
    malformed_refused(&c, "POST", "/api/groups", Some(&token)).await;
    too_large_refused(&c, "POST", "/api/groups", Some(&token)).await;
    invalid(
        &c,
        post(
            "/api/groups",
            Some(&token),
            json!({"application_ids": [ids[0]]}),
        ),
        "application_ids",
    )
    .await;
    let twice = json!({"application_ids": [ids[0], ids[1], ids[0]]});
    invalid(
        &c,
        post("/api/groups", Some(&token), twice),
        "application_ids[2]",
    )
    .await;
    let eleven: Vec<String> = (0..11).map(|i| format!("app-{i}")).collect();
    invalid(
        &c,
        post(
            "/api/groups",
            Some(&token),
            json!({"application_ids": eleven}),
        ),
        "application_ids",
    )
    .await;
    invalid(
        &c,
        post("/api/groups", Some(&token), json!({})),
        "application_ids",
    )
    .await;
    // Another account's application reads as none.
    let foreign = json!({"application_ids": [ids[0], theirs[0]]});
    let problem = refused(
        &c,
        post("/api/groups", Some(&token), foreign),
        (404, "not-found"),
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "application_ids[1]");
    // One with a checkout of its own cannot join.
    let alone = format!("/api/applications/{}/confirmation", ids[2]);
    let (status, _) = c.call("POST", &alone, Some(&token), yes()).await;
    assert_eq!(status, 200);
    let with_paying = json!({"application_ids": [ids[0], ids[2]]});
    let problem = refused(
        &c,
        post("/api/groups", Some(&token), with_paying),
        (409, "invalid-state"),
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "application_ids[1]");

    let group = form(&c, &token, &ids[..2]).await;
    let gid = group["id"].as_str().unwrap();
    let group_path = format!("/api/groups/{gid}");
    let confirm_path = format!("{group_path}/confirmation");
    // In one group at a time.
    refused(
        &c,
        post("/api/groups", Some(&token), body.clone()),
        (409, "invalid-state"),
    )
    .await;
    for method in ["GET", "DELETE"] {
        let req = |token: Option<&str>| request(method, &group_path, token, Value::Null);
        refused(&c, req(None), (401, "unauthenticated")).await;
        refused(&c, req(Some(&stranger)), (404, "not-found")).await;
        let missing = request(method, "/api/groups/grp-none", Some(&token), Value::Null);
        refused(&c, missing, (404, "not-found")).await;
        too_large_refused(&c, method, &group_path, Some(&token)).await;
    }
    refused(
        &c,
        post(&confirm_path, None, yes()),
        (401, "unauthenticated"),
    )
    .await;
    refused(
        &c,
        post(&confirm_path, Some(&stranger), yes()),
        (404, "not-found"),
    )
    .await;
    invalid(
        &c,
        post(
            &confirm_path,
            Some(&token),
            json!({"details_match_passport": false}),
        ),
        "details_match_passport",
    )
    .await;
    malformed_refused(&c, "POST", &confirm_path, Some(&token)).await;
    too_large_refused(&c, "POST", &confirm_path, Some(&token)).await;

    // Undone: its members are free again, and the group is no longer paid.
    let (status, dissolved) = c
        .call("DELETE", &group_path, Some(&token), Value::Null)
        .await;
    assert_eq!(
        (status, dissolved["status"].as_str()),
        (200, Some("dissolved"))
    );
    let app = c.store.application(&ids[0]).await.unwrap().unwrap();
    assert_eq!(app.group_id, None);
    assert_eq!(
        c.store.group(gid).await.unwrap().unwrap().status,
        visa_core::group::GroupStatus::Dissolved
    );
    refused(
        &c,
        post(&confirm_path, Some(&token), yes()),
        (409, "invalid-state"),
    )
    .await;
    let regrouped = form(&c, &token, &ids[..2]).await;
    assert_ne!(regrouped["id"], group["id"]);
    // With its checkout open, it is no longer undone.
    let path = format!("/api/groups/{}", regrouped["id"].as_str().unwrap());
    let (status, _) = c
        .call("POST", &format!("{path}/confirmation"), Some(&token), yes())
        .await;
    assert_eq!(status, 200);
    refused(
        &c,
        request("DELETE", &path, Some(&token), Value::Null),
        (409, "invalid-state"),
    )
    .await;
}
