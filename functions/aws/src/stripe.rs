//! Stripe Checkout as the payment provider: one Checkout Session per
//! application, opened over Stripe's form-encoded HTTP API.

use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;
use visa_core::payment::{Checkout, CheckoutRequest, PaymentError, PaymentProvider};

pub const STRIPE_API: &str = "https://api.stripe.com";

pub struct StripeCheckout {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
}

#[derive(Deserialize)]
struct SessionCreated {
    id: String,
    url: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    message: String,
}

impl StripeCheckout {
    /// Against api.stripe.com with a 10 s timeout.
    pub fn new(secret_key: String) -> Result<Self, PaymentError> {
        Self::with_base_url(secret_key, STRIPE_API.to_owned(), Duration::from_secs(10))
    }

    /// Against another base URL (a local stub in tests).
    pub fn with_base_url(
        secret_key: String,
        base_url: String,
        timeout: Duration,
    ) -> Result<Self, PaymentError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .build()
            .map_err(|e| PaymentError::Unavailable(format!("http client: {e}")))?;
        Ok(StripeCheckout {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key,
        })
    }
}

/// The form Stripe's `POST /v1/checkout/sessions` takes for one fee.
pub fn checkout_form(request: &CheckoutRequest) -> Vec<(&'static str, String)> {
    let id = &request.application_id;
    let mut form = vec![
        ("mode", "payment".to_owned()),
        ("client_reference_id", id.clone()),
        // Stripe wants ISO 4217 in lower case.
        (
            "line_items[0][price_data][currency]",
            request.amount.currency.to_ascii_lowercase(),
        ),
        (
            "line_items[0][price_data][unit_amount]",
            request.amount.amount_minor.to_string(),
        ),
        (
            "line_items[0][price_data][product_data][name]",
            request.description.clone(),
        ),
        ("line_items[0][quantity]", "1".to_owned()),
        ("success_url", request.success_url.clone()),
        ("cancel_url", request.cancel_url.clone()),
        // On the PaymentIntent too, so disputes (charge.dispute.created)
        // lead back to the application.
        ("payment_intent_data[metadata][application_id]", id.clone()),
        ("metadata[application_id]", id.clone()),
        ("expires_at", request.expires_at.timestamp().to_string()),
    ];
    if let Some(email) = &request.customer_email {
        form.push(("customer_email", email.clone()));
    }
    form
}

#[async_trait]
impl PaymentProvider for StripeCheckout {
    async fn open_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, PaymentError> {
        let response = self
            .http
            .post(format!("{}/v1/checkout/sessions", self.base_url))
            .bearer_auth(&self.secret_key)
            // Stripe answers a retry with the same key with the first
            // response: one session per application, never a second charge.
            .header("Idempotency-Key", request.idempotency_key())
            .form(&checkout_form(request))
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("stripe: {e}")))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("stripe: {e}")))?;
        if status.is_success() {
            let created: SessionCreated = serde_json::from_slice(&body).map_err(|e| {
                PaymentError::Unavailable(format!("stripe: unexpected response: {e}"))
            })?;
            return Ok(Checkout {
                session_id: created.id,
                url: created.url,
            });
        }
        let detail = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(b) => format!("{status} {}: {}", b.error.r#type, b.error.message),
            Err(_) => status.to_string(),
        };
        // 409 (the same idempotency key in flight) and 429 (rate limit) are
        // Stripe's "try again"; any other 4xx is a request it will not take.
        if status.is_client_error() && status.as_u16() != 409 && status.as_u16() != 429 {
            Err(PaymentError::Refused(detail))
        } else {
            Err(PaymentError::Unavailable(detail))
        }
    }

    async fn refund(
        &self,
        payment_intent: &str,
        idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        let response = self
            .http
            .post(format!("{}/v1/refunds", self.base_url))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .form(&[("payment_intent", payment_intent)])
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("stripe: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail = format!("refund {payment_intent}: {status}");
        if status.is_client_error() && status.as_u16() != 409 && status.as_u16() != 429 {
            Err(PaymentError::Refused(detail))
        } else {
            Err(PaymentError::Unavailable(detail))
        }
    }
}

/// Stripe Checkout built at the first checkout (the key is a secret the
/// operator sets after the first deploy). A failed load is retried at the
/// next checkout; a loaded one is kept for the instance's life.
pub struct LazyStripe {
    cloud: crate::Cloud,
    checkout: tokio::sync::OnceCell<StripeCheckout>,
}

impl LazyStripe {
    pub fn new(cloud: crate::Cloud) -> LazyStripe {
        LazyStripe {
            cloud,
            checkout: tokio::sync::OnceCell::new(),
        }
    }

    /// The client, its key read from Secrets Manager on first use.
    async fn client(&self) -> Result<&StripeCheckout, PaymentError> {
        self.checkout
            .get_or_try_init(|| async {
                self.cloud
                    .stripe()
                    .await
                    .map_err(|e| PaymentError::Unavailable(e.to_string()))
            })
            .await
    }
}

#[async_trait]
impl PaymentProvider for LazyStripe {
    async fn open_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, PaymentError> {
        self.client().await?.open_checkout(request).await
    }

    async fn refund(
        &self,
        payment_intent: &str,
        idempotency_key: &str,
    ) -> Result<(), PaymentError> {
        self.client()
            .await?
            .refund(payment_intent, idempotency_key)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use visa_core::money::Money;

    #[derive(Default)]
    struct Seen {
        requests: Vec<(HeaderMap, Vec<(String, String)>)>,
    }

    type Shared = Arc<Mutex<Seen>>;

    /// Answers like Stripe: a session for a well-formed request, Stripe's
    /// error shape otherwise; `unit_amount=500` fails as Stripe's 500 would,
    /// `unit_amount=999` hangs past the client's timeout.
    async fn stripe(
        State(seen): State<Shared>,
        headers: HeaderMap,
        body: String,
    ) -> (StatusCode, String) {
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
        seen.lock()
            .unwrap()
            .requests
            .push((headers.clone(), form.clone()));
        let map: HashMap<_, _> = form.into_iter().collect();
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk_test_123")
        {
            let e = r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}"#;
            return (StatusCode::UNAUTHORIZED, e.into());
        }
        match map
            .get("line_items[0][price_data][unit_amount]")
            .map(String::as_str)
        {
            Some("500") => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"error":{"type":"api_error"}}"#.into(),
                );
            }
            Some("999") => tokio::time::sleep(Duration::from_secs(5)).await,
            _ => {}
        }
        if map
            .get("line_items[0][price_data][currency]")
            .map(String::as_str)
            != Some("usd")
        {
            let e = r#"{"error":{"type":"invalid_request_error","message":"Invalid currency"}}"#;
            return (StatusCode::BAD_REQUEST, e.into());
        }
        let key = headers["idempotency-key"].to_str().unwrap();
        let id = format!("cs_test_{}", key.trim_start_matches("checkout-"));
        let url = format!("https://checkout.stripe.com/c/pay/{id}");
        (
            StatusCode::OK,
            serde_json::json!({"id": id, "object": "checkout.session", "url": url}).to_string(),
        )
    }

    /// Stripe's refunds: a known PaymentIntent is refunded; an unknown one
    /// is 400 resource_missing.
    async fn refunds(
        State(seen): State<Shared>,
        headers: HeaderMap,
        body: String,
    ) -> (StatusCode, String) {
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
        seen.lock().unwrap().requests.push((headers, form.clone()));
        if form
            .iter()
            .any(|(k, v)| k == "payment_intent" && v == "pi_missing")
        {
            let e =
                r#"{"error":{"type":"invalid_request_error","message":"No such payment_intent"}}"#;
            return (StatusCode::BAD_REQUEST, e.into());
        }
        (
            StatusCode::OK,
            r#"{"id":"re_1","object":"refund","status":"succeeded"}"#.into(),
        )
    }

    async fn stub() -> (String, Shared) {
        let seen = Shared::default();
        let app = Router::new()
            .route("/v1/checkout/sessions", post(stripe))
            .route("/v1/refunds", post(refunds))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/"), seen)
    }

    fn request(amount_minor: i64, currency: &str) -> CheckoutRequest {
        CheckoutRequest {
            application_id: "01JAPP".into(),
            amount: Money::new(amount_minor, currency),
            description: "Kazakhstan e-visa (tourist), consular fee".into(),
            success_url: "https://visa.example/payment-return?application=01JAPP".into(),
            cancel_url: "https://visa.example/check?application=01JAPP&cancelled=1".into(),
            customer_email: Some("priya@example.com".into()),
            expires_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            attempt: 0,
        }
    }

    fn client(base: &str, key: &str) -> StripeCheckout {
        StripeCheckout::with_base_url(key.into(), base.into(), Duration::from_secs(1)).unwrap()
    }

    #[tokio::test]
    async fn opens_a_session_with_the_exact_form_stripe_expects() {
        let (base, seen) = stub().await;
        let checkout = client(&base, "sk_test_123")
            .open_checkout(&request(6000, "USD"))
            .await
            .unwrap();
        assert_eq!(checkout.session_id, "cs_test_01JAPP");
        assert_eq!(
            checkout.url,
            "https://checkout.stripe.com/c/pay/cs_test_01JAPP"
        );

        let seen = seen.lock().unwrap();
        let (headers, form) = &seen.requests[0];
        assert_eq!(headers["authorization"], "Bearer sk_test_123");
        assert_eq!(headers["idempotency-key"], "checkout-01JAPP");
        assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
        let expected = [
            ("mode", "payment"),
            ("client_reference_id", "01JAPP"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "6000"),
            (
                "line_items[0][price_data][product_data][name]",
                "Kazakhstan e-visa (tourist), consular fee",
            ),
            ("line_items[0][quantity]", "1"),
            (
                "success_url",
                "https://visa.example/payment-return?application=01JAPP",
            ),
            (
                "cancel_url",
                "https://visa.example/check?application=01JAPP&cancelled=1",
            ),
            ("payment_intent_data[metadata][application_id]", "01JAPP"),
            ("metadata[application_id]", "01JAPP"),
            ("expires_at", "1800000000"),
            ("customer_email", "priya@example.com"),
        ];
        let got: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn a_replacement_session_gets_a_key_and_a_session_of_its_own() {
        let (base, seen) = stub().await;
        let stripe = client(&base, "sk_test_123");
        let first = stripe.open_checkout(&request(6000, "USD")).await.unwrap();
        let second = stripe
            .open_checkout(&CheckoutRequest {
                attempt: 1,
                ..request(6000, "USD")
            })
            .await
            .unwrap();
        assert_ne!(first.session_id, second.session_id);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.requests[1].0["idempotency-key"], "checkout-01JAPP-1");
    }

    #[tokio::test]
    async fn a_refund_names_the_payment_and_its_idempotency_key() {
        let (base, seen) = stub().await;
        client(&base, "sk_test_123")
            .refund("pi_123", "refund-evt_1")
            .await
            .unwrap();
        let (headers, form) = seen.lock().unwrap().requests.last().cloned().unwrap();
        assert_eq!(headers["idempotency-key"], "refund-evt_1");
        assert_eq!(
            form,
            vec![("payment_intent".to_owned(), "pi_123".to_owned())]
        );
        let refused = client(&base, "sk_test_123")
            .refund("pi_missing", "refund-evt_2")
            .await;
        assert!(
            matches!(refused, Err(PaymentError::Refused(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_retry_sends_the_same_idempotency_key_and_gets_the_same_session() {
        let (base, seen) = stub().await;
        let stripe = client(&base, "sk_test_123");
        let mut req = request(6000, "USD");
        req.customer_email = None;
        let first = stripe.open_checkout(&req).await.unwrap();
        let second = stripe.open_checkout(&req).await.unwrap();
        assert_eq!(first, second);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.requests.len(), 2);
        assert!(
            seen.requests
                .iter()
                .all(|(h, _)| h["idempotency-key"] == "checkout-01JAPP")
        );
        assert!(
            seen.requests[0]
                .1
                .iter()
                .all(|(k, _)| k != "customer_email")
        );
    }

    #[tokio::test]
    async fn client_errors_are_refusals_and_server_errors_or_timeouts_are_unavailability() {
        let (base, _) = stub().await;
        let refused = client(&base, "sk_wrong")
            .open_checkout(&request(6000, "USD"))
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, PaymentError::Refused(m) if m.contains("Invalid API Key")),
            "{refused}"
        );
        let refused = client(&base, "sk_test_123")
            .open_checkout(&request(6000, "XXX"))
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, PaymentError::Refused(m) if m.contains("Invalid currency")),
            "{refused}"
        );
        let down = client(&base, "sk_test_123")
            .open_checkout(&request(500, "USD"))
            .await
            .unwrap_err();
        assert!(matches!(down, PaymentError::Unavailable(_)), "{down}");
        let slow = client(&base, "sk_test_123")
            .open_checkout(&request(999, "USD"))
            .await
            .unwrap_err();
        assert!(matches!(slow, PaymentError::Unavailable(_)), "{slow}");
        // Nothing listens here: connection refused.
        let closed = client("http://127.0.0.1:9", "sk_test_123")
            .open_checkout(&request(6000, "USD"))
            .await;
        assert!(matches!(closed, Err(PaymentError::Unavailable(_))));
    }
}
