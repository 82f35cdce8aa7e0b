//! The payment webhook over real HTTP: forged, stale, altered and
//! mismatched deliveries change nothing; duplicates and races pay once.

mod common;

use common::*;
use serde_json::{Value, json};
use visa_pay_webhook::signature::sign;

fn event(id: &str, kind: &str, app: &Value) -> Value {
    json!({
        "id": id, "object": "event", "type": kind,
        "data": {"object": {
            "id": app["payment"]["checkout_session_id"], "object": "checkout.session",
            "client_reference_id": app["id"], "amount_total": 6000, "currency": "usd",
            "payment_status": "paid",
            "payment_intent": format!("pi_{}", app["id"].as_str().unwrap()),
        }}
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn deliver(gw: &Gateway, body: &[u8], signature: Option<String>) -> (u16, String, Value) {
    let mut req = gw
        .http
        .post(gw.url("/api/webhooks/payment"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("stripe-signature", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

async fn deliver_signed(gw: &Gateway, body: &Value) -> (u16, String, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    deliver(gw, &bytes, Some(sign(WEBHOOK_SECRET, now(), &bytes))).await
}

async fn status_of(gw: &Gateway, token: &str, app: &Value) -> Value {
    gw.send(
        "GET",
        &format!("/api/applications/{}", app["id"].as_str().unwrap()),
        Some(token),
        None,
    )
    .await
    .2
}

#[tokio::test]
async fn forged_stale_altered_and_mismatched_deliveries_change_nothing() {
    let gw = Gateway::start();
    let (_token, app) = gw.awaiting_payment("priya@example.com").await;
    let before = gw.snapshot();
    let good = serde_json::to_vec(&event("evt_1", "checkout.session.completed", &app)).unwrap();

    // Signature problems: 400 bad-signature.
    let cases: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        (
            "wrong secret",
            good.clone(),
            Some(sign("whsec_wrong", now(), &good)),
        ),
        (
            "an hour old",
            good.clone(),
            Some(sign(WEBHOOK_SECRET, now() - 3600, &good)),
        ),
        (
            "from the future",
            good.clone(),
            Some(sign(WEBHOOK_SECRET, now() + 3600, &good)),
        ),
        (
            "malformed header",
            good.clone(),
            Some("t=abc,v1=xyz".into()),
        ),
        ("no v1", good.clone(), Some(format!("t={}", now()))),
        ("no header", good.clone(), None),
        (
            "body altered after signing",
            {
                let mut b = good.clone();
                let at = b.windows(4).position(|w| w == b"6000").unwrap();
                b[at] = b'1';
                b
            },
            Some(sign(WEBHOOK_SECRET, now(), &good)),
        ),
    ];
    for (why, body, header) in cases {
        let got = deliver(&gw, &body, header).await;
        assert_eq!(got.0, 400, "{why}: {:?}", got.2);
        assert_problem(&got, 400, "bad-signature");
    }

    // Well signed but not what the application expects: 422 payment-mismatch.
    let mut mismatches = Vec::new();
    let mut e = event("evt_2", "checkout.session.completed", &app);
    e["data"]["object"]["amount_total"] = json!(100);
    mismatches.push(("wrong amount", e));
    let mut e = event("evt_3", "checkout.session.completed", &app);
    e["data"]["object"]["currency"] = json!("eur");
    mismatches.push(("wrong currency", e));
    let mut e = event("evt_4", "checkout.session.completed", &app);
    e["data"]["object"]["id"] = json!("cs_other");
    mismatches.push(("wrong session id", e));
    let mut e = event("evt_5", "checkout.session.completed", &app);
    e["data"]["object"]["client_reference_id"] = json!("01NOSUCHAPPLICATION0000000");
    mismatches.push(("unknown application", e));
    // Valid JSON, signed, but not a checkout session one can act on.
    let mut e = event("evt_8", "checkout.session.completed", &app);
    e["data"]["object"] = json!({});
    mismatches.push(("empty checkout session", e));
    let mut e = event("evt_9", "checkout.session.async_payment_succeeded", &app);
    e["data"]["object"]["amount_total"] = json!("6000");
    mismatches.push(("amount as a string", e));
    mismatches.push(("not an event", json!({"hello": "world"})));
    for (why, e) in mismatches {
        let got = deliver_signed(&gw, &e).await;
        assert_eq!(got.0, 422, "{why}: {:?}", got.2);
        assert_problem(&got, 422, "payment-mismatch");
    }

    // Other event types are acknowledged and ignored.
    let got = deliver_signed(&gw, &event("evt_6", "customer.created", &app)).await;
    assert_eq!((got.0, got.2), (200, json!({"received": true})));
    let mut unpaid = event("evt_7", "checkout.session.completed", &app);
    unpaid["data"]["object"]["payment_status"] = json!("unpaid");
    assert_eq!(deliver_signed(&gw, &unpaid).await.0, 200);

    // A signed body that is not JSON at all.
    let junk = b"{not json".to_vec();
    let got = deliver(&gw, &junk, Some(sign(WEBHOOK_SECRET, now(), &junk))).await;
    assert_problem(&got, 400, "malformed-body");

    assert_eq!(gw.snapshot(), before, "nothing changed");
}

#[tokio::test]
async fn hundred_concurrent_deliveries_pay_once() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let body = serde_json::to_vec(&event("evt_race", "checkout.session.completed", &app)).unwrap();
    let header = sign(WEBHOOK_SECRET, now(), &body);
    let results =
        futures::future::join_all((0..100).map(|_| deliver(&gw, &body, Some(header.clone()))))
            .await;
    assert!(
        results.iter().all(|r| r.0 == 200),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(gw.count("payment_events"), 1);
    let paid = status_of(&gw, &token, &app).await;
    // The issuer may already have moved it on.
    assert!(
        paid["status"] == "paid" || paid["status"] == "issued",
        "{paid}"
    );
    let paid_at = paid["payment"]["paid_at"].clone();
    assert!(paid_at.is_string());

    // A different event for the same, already paid session: 200, no effect.
    let got = deliver_signed(
        &gw,
        &event(
            "evt_async",
            "checkout.session.async_payment_succeeded",
            &app,
        ),
    )
    .await;
    assert_eq!(got.0, 200);
    let again = status_of(&gw, &token, &app).await;
    assert_eq!(
        again["payment"], paid["payment"],
        "the payment did not change"
    );
    // The same event again, much later: still one payment.
    assert_eq!(
        deliver(&gw, &body, Some(sign(WEBHOOK_SECRET, now(), &body)))
            .await
            .0,
        200
    );
    assert_eq!(
        status_of(&gw, &token, &app).await["payment"]["paid_at"],
        paid_at
    );
}

#[tokio::test]
async fn sandbox_pay_button_pays_through_the_webhook() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let url = app["payment"]["checkout_url"].as_str().unwrap();
    let page = gw.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("60.00 USD") && page.contains(">Pay<") && page.contains("Cancel"),
        "{page}"
    );
    let action = page
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let res = gw.http.post(gw.url(action)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.ends_with(&format!(
            "/payment-return?application={}",
            app["id"].as_str().unwrap()
        )),
        "{location}"
    );
    let now = status_of(&gw, &token, &app).await;
    assert!(
        matches!(now["status"].as_str(), Some("paid" | "issued")),
        "{now}"
    );
    assert_eq!(gw.count("payment_events"), 1);
    // Paying again is refused by the state machine, not charged twice.
    let path = format!(
        "/api/applications/{}/confirmation",
        app["id"].as_str().unwrap()
    );
    let got = gw
        .send(
            "POST",
            &path,
            Some(&token),
            Some(json!({"details_match_passport": true})),
        )
        .await;
    assert_problem(&got, 409, "invalid-state");
}

#[tokio::test]
async fn a_dispute_flags_the_application_for_review_only() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    assert_eq!(
        deliver_signed(&gw, &event("evt_pay", "checkout.session.completed", &app))
            .await
            .0,
        200
    );
    let dispute = json!({"id": "evt_dispute", "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_1", "object": "dispute", "metadata": {"application_id": app["id"]}}}});
    assert_eq!(deliver_signed(&gw, &dispute).await.0, 200);
    assert_eq!(deliver_signed(&gw, &dispute).await.0, 200);
    let flagged = status_of(&gw, &token, &app).await;
    assert_eq!(flagged["under_review"], true);
    assert!(matches!(
        flagged["status"].as_str(),
        Some("paid" | "issued")
    ));
}

#[tokio::test]
async fn a_disputed_visa_is_under_review_at_the_border() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let passport = issued["passport"]["number"].as_str().unwrap().to_owned();
    let verify = format!("/api/visas/{number}/verification?passport_number={passport}");
    let before = gw.send("GET", &verify, None, None).await;
    assert_eq!(
        (before.0, &before.2["status"]),
        (200, &json!("not_yet_valid"))
    );
    let dispute = json!({"id": "evt_dispute", "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_1", "object": "dispute", "metadata": {"application_id": app["id"]}}}});
    assert_eq!(deliver_signed(&gw, &dispute).await.0, 200);
    let after = gw.send("GET", &verify, None, None).await;
    assert_eq!(after.0, 200, "{}", after.2);
    assert_eq!(
        (after.2["valid"].clone(), after.2["status"].clone()),
        (json!(false), json!("under_review"))
    );
}

#[tokio::test]
async fn a_dispute_naming_only_the_payment_intent_finds_its_application() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let (_other_token, other) = gw.awaiting_payment("marko@example.com").await;
    assert_eq!(
        deliver_signed(&gw, &event("evt_pay", "checkout.session.completed", &app))
            .await
            .0,
        200
    );
    // What Stripe sends: a Dispute object with the PaymentIntent, no metadata of ours.
    let unknown = json!({"id": "evt_dispute_unknown", "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_0", "object": "dispute", "metadata": {},
                            "payment_intent": "pi_never_seen", "charge": "ch_0"}}});
    // Let the background issuer finish (issued, then emailed), so the
    // snapshot holds still.
    for _ in 0..100 {
        let now = status_of(&gw, &token, &app).await;
        if now["status"] == "issued" && now["emailed_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = gw.snapshot();
    assert_eq!(deliver_signed(&gw, &unknown).await.0, 200);
    assert_eq!(gw.snapshot(), before, "an unknown payment changes nothing");

    let pi = format!("pi_{}", app["id"].as_str().unwrap());
    let dispute = json!({"id": "evt_dispute", "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_1", "object": "dispute", "metadata": {},
                            "payment_intent": pi, "charge": "ch_1"}}});
    assert_eq!(deliver_signed(&gw, &dispute).await.0, 200);
    let flagged = status_of(&gw, &token, &app).await;
    assert_eq!(flagged["under_review"], true);
    let untouched = gw
        .send(
            "GET",
            &format!("/api/applications/{}", other["id"].as_str().unwrap()),
            Some(&_other_token),
            None,
        )
        .await
        .2;
    assert_ne!(untouched["under_review"], true);
}
