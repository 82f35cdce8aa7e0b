//! The `Payments` port on the embedded SQLite store.

use super::*;
use visa_core::application::EventFor;

/// Records a payment event id with what was done about it, once ever:
/// `false` (nothing written) if it was recorded before.
pub(super) fn claim_event(
    c: &Connection,
    event_id: &str,
    reference: &str,
    kind: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = c
        .execute(
            "INSERT INTO payment_events (event_id, application_id, kind, recorded_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![event_id, reference, kind, at.to_rfc3339()],
        )
        .map_err(unavailable)?;
    Ok(inserted == 1)
}

#[async_trait]
impl Payments for SqliteStore {
    async fn record_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        let event = event.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let app = load_application(&tx, &event.application_id)?.ok_or(StoreError::NotFound)?;
            let paid = matches!(app.status, Status::Paid | Status::Issued);
            let what = EventFor::of(app.payment.as_ref(), paid, &event.checkout_session_id);
            match what {
                EventFor::Stranger => return Err(StoreError::StatusConflict),
                // A second payment, for the caller to refund; nothing is recorded yet.
                EventFor::PaidElsewhere => return Ok(PaymentRecorded::PaidByAnotherSession),
                EventFor::Unpaid | EventFor::PaidHere => {}
            }
            if !claim_event(&tx, &event.event_id, &event.application_id, &event.event_type, at)? {
                return Ok(PaymentRecorded::DuplicateEvent);
            }
            if what == EventFor::PaidHere {
                tx.commit().map_err(unavailable)?;
                return Ok(PaymentRecorded::AlreadyPaid);
            }
            let paid = app.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
            save_application(&tx, &paid, app.status)?;
            if let Some(pi) = &event.payment_intent {
                tx.execute(
                    "INSERT INTO payment_intents (payment_intent, application_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![pi, paid.id],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(PaymentRecorded::Paid(Box::new(paid)))
        })
        .await
    }

    async fn record_group_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        self.group_payment(event, at).await
    }

    async fn record_event(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (event_id, application_id, kind) = (
            event_id.to_owned(),
            application_id.to_owned(),
            kind.to_owned(),
        );
        self.with(move |c| claim_event(c, &event_id, &application_id, &kind, at))
            .await
    }

    async fn application_paid_by(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError> {
        let payment_intent = payment_intent.to_owned();
        self.with(move |c| {
            c.query_row(
                "SELECT application_id FROM payment_intents WHERE payment_intent = ?1",
                params![payment_intent],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn flag_for_review(
        &self,
        event_id: &str,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (event_id, application_id) = (event_id.to_owned(), application_id.to_owned());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let mut app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            if !claim_event(&tx, &event_id, &application_id, "dispute", at)? {
                return Ok(false);
            }
            let status = app.status;
            app.flag_for_review(at);
            save_application(&tx, &app, status)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
