//! The payment-provider port: open a checkout for the consular fee.
//! Stripe Checkout in the cloud, the sandbox on the local gateway; both
//! report back through the same Stripe-format webhook.

use crate::money::Money;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// Sent as `client_reference_id`; also the idempotency key, so a retry
    /// opens no second session at the provider.
    pub application_id: String,
    pub amount: Money,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
    pub customer_email: Option<String>,
    /// When the provider stops taking payment in the session.
    pub expires_at: DateTime<Utc>,
    /// 0 for the application's first session, n for the one replacing the
    /// n-th expired session: part of the idempotency key, so a retry gets
    /// the same session and a replacement a new one.
    pub attempt: usize,
}

impl CheckoutRequest {
    /// The provider's idempotency key for this session.
    pub fn idempotency_key(&self) -> String {
        match self.attempt {
            0 => format!("checkout-{}", self.application_id),
            n => format!("checkout-{}-{n}", self.application_id),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    pub session_id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    #[error("payment provider refused: {0}")]
    Refused(String),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn open_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, PaymentError>;
    /// Gives the whole of a payment back (a second payment for an
    /// application another session paid). `idempotency_key` makes a retry
    /// refund nothing more.
    async fn refund(&self, payment_intent: &str, idempotency_key: &str)
    -> Result<(), PaymentError>;
}
