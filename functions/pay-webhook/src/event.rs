//! The few fields of a Stripe event this service reads; everything else
//! in the payload is ignored, so new Stripe fields never break us.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// `data.object` of `checkout.session.*` events.
#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub client_reference_id: Option<String>,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub payment_status: Option<String>,
    /// The PaymentIntent a later dispute will name.
    pub payment_intent: Option<String>,
}

/// What an event asks of us.
#[derive(Debug)]
pub enum Action {
    /// The checkout was paid.
    Paid(CheckoutSession),
    /// A charge was disputed: officers review the application. Stripe's
    /// Dispute names the PaymentIntent; our metadata, when present, the
    /// application.
    Disputed {
        application_id: Option<String>,
        payment_intent: Option<String>,
    },
    /// A checkout session expired unpaid.
    Expired(CheckoutSession),
    /// Anything else: acknowledged, ignored.
    Ignore,
}

pub fn action(event: &Event) -> Result<Action, serde_json::Error> {
    let object = &event.data.object;
    Ok(match event.kind.as_str() {
        "checkout.session.completed" => {
            let session = CheckoutSession::deserialize(object)?;
            // Delayed methods complete "unpaid" and pay later (async_payment_succeeded).
            if session.payment_status.as_deref() == Some("paid") {
                Action::Paid(session)
            } else {
                Action::Ignore
            }
        }
        "checkout.session.async_payment_succeeded" => {
            Action::Paid(CheckoutSession::deserialize(object)?)
        }
        "checkout.session.expired" => Action::Expired(CheckoutSession::deserialize(object)?),
        "charge.dispute.created" => {
            let text = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            Action::Disputed {
                application_id: text("/metadata/application_id"),
                payment_intent: text("/payment_intent"),
            }
        }
        _ => Action::Ignore,
    })
}
