//! pay-webhook: signatures, matching and once-only application.

use crate::support::*;
use visa_core::clock::Clock;
use visa_core::store::Applications;

#[tokio::test]
async fn webhook_signatures_are_checked_on_the_clock_and_events_apply_once() {
    let w = Webhook::new().await;
    let body = completed("evt_1", "cs_1", 6000);
    assert_eq!(slug(&w.deliver(&body, None).await), (400, "bad-signature"));
    let forged = w.signed(&body, "whsec_someone_else", 0);
    assert_eq!(
        slug(&w.deliver(&body, forged).await),
        (400, "bad-signature")
    );
    // Stripe's tolerance: 300 s old is accepted, 301 s is a replay.
    let stale = w.signed(&body, WEBHOOK_SECRET, 301);
    assert_eq!(slug(&w.deliver(&body, stale).await), (400, "bad-signature"));
    let junk = b"{not json".to_vec();
    let junk_sig = w.signed(&junk, WEBHOOK_SECRET, 0);
    assert_eq!(
        slug(&w.deliver(&junk, junk_sig).await),
        (400, "malformed-body")
    );
    let short = completed("evt_2", "cs_1", 5999);
    let short_sig = w.signed(&short, WEBHOOK_SECRET, 0);
    assert_eq!(
        slug(&w.deliver(&short, short_sig).await),
        (422, "payment-mismatch")
    );
    assert!(w.woken.lock().unwrap().is_empty());
    assert_eq!(
        w.store.application("app-1").await.unwrap().unwrap().status,
        visa_core::Status::AwaitingPayment,
        "refusals changed nothing"
    );

    // Signed with the secret being retired during a rotation, 300 s old.
    let sig = w.signed(&body, "whsec_retired", 300);
    let (status, ack) = w.deliver(&body, sig.clone()).await;
    assert_eq!(status, 200, "{ack}");
    let paid = w.store.application("app-1").await.unwrap().unwrap();
    assert_eq!(paid.status, visa_core::Status::Paid);
    assert_eq!(paid.payment.unwrap().paid_at, Some(w.clock.now()));
    // Stripe delivers again: acknowledged, applied once.
    assert_eq!(w.deliver(&body, sig).await.0, 200);
    assert_eq!(*w.woken.lock().unwrap(), ["app-1"]);

    // A second payment in the replaced session is refunded; the provider
    // is down, so 502 and Stripe retries later; nothing recorded.
    let late = completed("evt_3", "cs_0", 6000);
    let late_sig = w.signed(&late, WEBHOOK_SECRET, 0);
    assert_eq!(
        slug(&w.deliver(&late, late_sig).await),
        (502, "payment-provider-unavailable")
    );
    assert_eq!(*w.woken.lock().unwrap(), ["app-1"], "never a second visa");
}

// ------------------------------------------------------------ every problem of every route

cases! {
    delivery_problems,
    what_is_not_the_webhooks_answers,
}

async fn delivery_problems() {
    let w = Webhook::new().await;
    let body = completed("evt_1", "cs_1", 6000);
    let deliver = |body: &[u8], signature| w.delivery(body, signature);
    refused(&w, deliver(&body, None), (400, "bad-signature")).await;
    let forged = w.signed(&body, "whsec_someone_else", 0);
    refused(&w, deliver(&body, forged), (400, "bad-signature")).await;
    // Stripe's tolerance: 301 s old is a replay.
    let stale = w.signed(&body, WEBHOOK_SECRET, 301);
    refused(&w, deliver(&body, stale), (400, "bad-signature")).await;
    // Signed over another body.
    let other = w.signed(&completed("evt_1", "cs_1", 1), WEBHOOK_SECRET, 0);
    refused(&w, deliver(&body, other), (400, "bad-signature")).await;

    let junk = b"{not json".to_vec();
    let junk_sig = w.signed(&junk, WEBHOOK_SECRET, 0);
    refused(&w, deliver(&junk, junk_sig), (400, "malformed-body")).await;
    // Too large whether signed or not: the size is checked first.
    let large = too_large();
    refused(&w, deliver(&large, None), (413, "body-too-large")).await;
    let large_sig = w.signed(&large, WEBHOOK_SECRET, 0);
    refused(&w, deliver(&large, large_sig), (413, "body-too-large")).await;

    let short = completed("evt_2", "cs_1", 5999);
    let short_sig = w.signed(&short, WEBHOOK_SECRET, 0);
    refused(&w, deliver(&short, short_sig), (422, "payment-mismatch")).await;
    let euros = String::from_utf8(completed("evt_3", "cs_1", 6000))
        .unwrap()
        .replace("\"usd\"", "\"eur\"")
        .into_bytes();
    let euros_sig = w.signed(&euros, WEBHOOK_SECRET, 0);
    refused(&w, deliver(&euros, euros_sig), (422, "payment-mismatch")).await;
    // Signed JSON that is no event: nothing to match.
    let no_event = br#"{"hello": "world"}"#.to_vec();
    let no_event_sig = w.signed(&no_event, WEBHOOK_SECRET, 0);
    refused(
        &w,
        deliver(&no_event, no_event_sig),
        (422, "payment-mismatch"),
    )
    .await;
    assert_eq!(
        w.store.application("app-1").await.unwrap().unwrap().status,
        visa_core::Status::AwaitingPayment,
        "refusals changed nothing"
    );
}

async fn what_is_not_the_webhooks_answers() {
    let w = Webhook::new().await;
    no_route_refused(&w, "/api/webhooks/payment", "GET", "POST").await;
}
