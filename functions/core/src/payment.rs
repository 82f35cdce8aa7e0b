//! The payment-provider port: open a checkout for the consular fee.
//! Stripe Checkout in the cloud, the sandbox on the local gateway; both
//! report back through the same Stripe-format webhook.

use crate::money::Money;
use async_trait::async_trait;

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
}
