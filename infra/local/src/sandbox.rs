//! The sandbox payment provider: Stripe Checkout's shape without Stripe.
//! `checkout_url` is a page on the gateway with "Pay" and "Cancel"; "Pay"
//! sends a Stripe-format `checkout.session.completed` event, signed with
//! PAYMENT_WEBHOOK_SECRET, through the real webhook handler, then returns
//! the browser to the site as Stripe would.

use crate::sqlite::SqliteStore;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use visa_core::money::Money;
use visa_core::payment::{Checkout, CheckoutRequest, PaymentError, PaymentProvider};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SandboxSession {
    pub id: String,
    pub application_id: String,
    pub amount: Money,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
    /// Paying is refused from then on (Stripe: `expires_at`).
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when the portal refunded this session's payment.
    #[serde(default)]
    pub refunded: bool,
}

impl SandboxSession {
    /// The PaymentIntent Stripe would make for the session.
    pub fn payment_intent(&self) -> String {
        format!("pi_{}", self.id.trim_start_matches("cs_"))
    }

    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

pub struct SandboxPayments {
    pub store: SqliteStore,
    pub origin: String,
}

#[async_trait]
impl PaymentProvider for SandboxPayments {
    async fn open_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, PaymentError> {
        let fresh = SandboxSession {
            id: format!("cs_sandbox_{}", crate::config::random_secret()),
            application_id: request.application_id.clone(),
            amount: request.amount.clone(),
            description: request.description.clone(),
            success_url: request.success_url.clone(),
            cancel_url: request.cancel_url.clone(),
            expires_at: Some(request.expires_at),
            refunded: false,
        };
        let session = self
            .store
            .sandbox_session_for(&request.idempotency_key(), &fresh)
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        Ok(Checkout {
            url: format!("{}/sandbox/checkout/{}", self.origin, session.id),
            session_id: session.id,
        })
    }

    async fn refund(
        &self,
        payment_intent: &str,
        _idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        // Refunding twice refunds once, as the idempotency key makes it at Stripe.
        match self.store.sandbox_refund(payment_intent).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(PaymentError::Refused(format!(
                "no such payment_intent: {payment_intent}"
            ))),
            Err(e) => Err(PaymentError::Unavailable(e.to_string())),
        }
    }
}

/// The event Stripe would send for a paid session.
pub fn completed_event(
    session: &SandboxSession,
    event_id: &str,
    created: i64,
) -> serde_json::Value {
    serde_json::json!({
        "id": event_id,
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": created,
        "livemode": false,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": session.id,
            "object": "checkout.session",
            "client_reference_id": session.application_id,
            "amount_total": session.amount.amount_minor,
            "currency": session.amount.currency.to_ascii_lowercase(),
            "payment_status": "paid",
            "status": "complete",
            "mode": "payment",
            // One PaymentIntent per session, as in Stripe: a dispute names it.
            "payment_intent": session.payment_intent(),
        }},
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn format_amount(m: &Money) -> String {
    format!(
        "{}.{:02} {}",
        m.amount_minor / 100,
        m.amount_minor % 100,
        m.currency
    )
}

/// The checkout page: amount, Pay and Cancel. No script, so it passes the CSP.
pub fn checkout_page(session: &SandboxSession) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox checkout</title><link rel="stylesheet" href="/sandbox/sandbox.css"></head>
<body><main>
<p class="tag">Sandbox payment provider (no real money)</p>
<h1>Pay the consular fee</h1>
<p>{description}</p>
<p class="amount" id="amount">{amount}</p>
{state}
<p><a href="{cancel}">Cancel</a></p>
</main></body></html>"#,
        description = escape(&session.description),
        amount = escape(&format_amount(&session.amount)),
        state = if session.refunded {
            r#"<p id="state">Refunded: this payment was given back.</p>"#.to_owned()
        } else if session.expired(chrono::Utc::now()) {
            r#"<p id="state">Expired: this checkout session no longer takes payment.</p>"#
                .to_owned()
        } else {
            format!(
                r#"<form method="post" action="/sandbox/checkout/{}/pay"><button type="submit">Pay</button></form>"#,
                escape(&session.id)
            )
        },
        cancel = escape(&session.cancel_url),
    )
}

pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f3f2f1;color:#0b0c0c}
main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-top:6px solid #00afca}
.tag{font-size:.9rem;color:#505a5f}.amount{font-size:2rem;font-weight:700}
button{font-size:1.2rem;padding:.6rem 2rem;background:#00703c;color:#fff;border:0;box-shadow:0 2px 0 #002d18;cursor:pointer}
button:focus,a:focus{outline:3px solid #fd0;outline-offset:0}";
