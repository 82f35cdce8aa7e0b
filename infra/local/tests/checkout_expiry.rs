//! Payments that outlive a day, through the real visa-local binary with
//! checkout sessions that expire after a second: confirming again opens
//! one new session; a late payment in the old one is honoured while the
//! application is unpaid, and refunded (never a second visa) once another
//! session paid it.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;
use visa_pay_webhook::signature::sign;

const LIFETIME: &str = "1";

/// Stripe's `checkout.session.completed` for `session` of `app`.
fn completed(id: &str, app: &Value, session: &str) -> Value {
    json!({
        "id": id, "object": "event", "type": "checkout.session.completed",
        "data": {"object": {
            "id": session, "object": "checkout.session",
            "client_reference_id": app["id"], "amount_total": 6000, "currency": "usd",
            "payment_status": "paid",
            "payment_intent": format!("pi_{}", session.trim_start_matches("cs_")),
        }}
    })
}

async fn deliver(gw: &Gateway, event: &Value) -> u16 {
    let bytes = serde_json::to_vec(event).unwrap();
    let signature = sign(WEBHOOK_SECRET, chrono::Utc::now().timestamp(), &bytes);
    gw.http
        .post(gw.url("/api/webhooks/payment"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn confirm(gw: &Gateway, token: &str, app: &Value) -> Value {
    let path = format!(
        "/api/applications/{}/confirmation",
        app["id"].as_str().unwrap()
    );
    let (status, _, body) = gw
        .send(
            "POST",
            &path,
            Some(token),
            Some(json!({"details_match_passport": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn sandbox_page(gw: &Gateway, url: &str) -> String {
    gw.http.get(url).send().await.unwrap().text().await.unwrap()
}

async fn wait_issued(gw: &Gateway, token: &str, app: &Value) -> Value {
    let path = format!("/api/applications/{}", app["id"].as_str().unwrap());
    let start = std::time::Instant::now();
    loop {
        let now = gw.send("GET", &path, Some(token), None).await.2;
        if now["status"] == "issued" {
            return now;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn session_of(app: &Value) -> String {
    app["payment"]["checkout_session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_expired_checkout_is_replaced_once_and_a_late_payment_is_refunded() {
    let gw = Gateway::start_with(&[("VISA_CHECKOUT_SECONDS", LIFETIME)]);
    let (token, first) = gw.awaiting_payment("priya@example.com").await;
    let old_url = first["payment"]["checkout_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = session_of(&first);
    assert!(first["payment"]["expires_at"].is_string(), "{first}");
    // Before expiry, confirming again is the same session.
    assert_eq!(session_of(&confirm(&gw, &token, &first).await), old);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Expired: the sandbox takes no payment in it.
    let refused = gw.http.post(format!("{old_url}/pay")).send().await.unwrap();
    assert_eq!(refused.status(), 410);
    assert!(sandbox_page(&gw, &old_url).await.contains("Expired"));

    // Twenty confirmations at once: one new session, the same for all.
    let confirmations: Vec<_> = (0..20).map(|_| confirm(&gw, &token, &first)).collect();
    let answers = futures::future::join_all(confirmations).await;
    let new = session_of(&answers[0]);
    assert_ne!(new, old);
    assert!(
        answers.iter().all(|a| session_of(a) == new),
        "one replacement"
    );
    assert_eq!(gw.count("sandbox_checkouts"), 2);

    // Paid in the new session (delivered directly: the sandbox's own Pay
    // would race the one-second lifetime), issued.
    assert_eq!(deliver(&gw, &completed("evt_new", &first, &new)).await, 200);
    let issued = wait_issued(&gw, &token, &first).await;
    assert_eq!(session_of(&issued), new);

    // Then the old session's payment turns up late: refunded, recorded,
    // no second visa; a redelivery changes nothing.
    let late = completed("evt_late_old", &first, &old);
    assert_eq!(deliver(&gw, &late).await, 200);
    assert!(sandbox_page(&gw, &old_url).await.contains("Refunded"));
    assert_eq!(deliver(&gw, &late).await, 200);
    assert_eq!(gw.count("visas"), 1);
    let after = gw
        .send(
            "GET",
            &format!("/api/applications/{}", first["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await
        .2;
    assert_eq!(after["visa"]["number"], issued["visa"]["number"]);
    assert_eq!(session_of(&after), new);

    // Stripe's expiry notice is received and recorded, once.
    let expired = json!({"id": "evt_expired", "object": "event", "type": "checkout.session.expired",
        "data": {"object": {"id": old, "object": "checkout.session", "client_reference_id": first["id"],
                            "payment_status": "unpaid", "status": "expired"}}});
    let events = gw.count("payment_events");
    assert_eq!(deliver(&gw, &expired).await, 200);
    assert_eq!(deliver(&gw, &expired).await, 200);
    assert_eq!(gw.count("payment_events"), events + 1);
}

#[tokio::test]
async fn a_late_payment_in_the_old_session_is_honoured_while_unpaid() {
    let gw = Gateway::start_with(&[("VISA_CHECKOUT_SECONDS", LIFETIME)]);
    let (token, first) = gw.awaiting_payment("priya@example.com").await;
    let old = session_of(&first);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let replaced = confirm(&gw, &token, &first).await;
    let new_url = replaced["payment"]["checkout_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(session_of(&replaced), old);

    // The old session's payment (made just before it expired) arrives now.
    assert_eq!(deliver(&gw, &completed("evt_old", &first, &old)).await, 200);
    let issued = wait_issued(&gw, &token, &first).await;
    assert_eq!(session_of(&issued), old, "the session that paid");
    // The new session is paid too, by mistake: given back, one visa.
    let new = session_of(&replaced);
    assert_eq!(deliver(&gw, &completed("evt_new", &first, &new)).await, 200);
    assert!(sandbox_page(&gw, &new_url).await.contains("Refunded"));
    assert_eq!(gw.count("visas"), 1);
}
