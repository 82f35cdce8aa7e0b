//! The `Groups` port on the embedded SQLite store, and a group's payment.

use super::*;
use visa_core::application::EventFor;
use visa_core::group::{Group, GroupStatus};
use visa_core::store::Groups;

fn load_group(c: &Connection, id: &str) -> Result<Option<Group>, StoreError> {
    let doc: Option<String> = c
        .query_row("SELECT doc FROM groups WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    doc.map(|d| from_doc(&d)).transpose()
}

/// Writes `next` over the group, conditional on it being as `current` was.
fn save_group(c: &Connection, current: &Group, next: &Group) -> Result<(), StoreError> {
    match load_group(c, &current.id)? {
        Some(stored) if stored.updated_at == current.updated_at => {}
        Some(_) => return Err(StoreError::StatusConflict),
        None => return Err(StoreError::NotFound),
    }
    c.execute(
        "UPDATE groups SET doc = ?2 WHERE id = ?1",
        params![next.id, to_doc(next)],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl Groups for SqliteStore {
    async fn create_group(&self, group: &Group) -> Result<(), StoreError> {
        let group = group.clone();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            for id in &group.members {
                let mut app = load_application(&tx, id)?.ok_or(StoreError::StatusConflict)?;
                let joinable = app.status == Status::InvitationConfirmed
                    && app.group_id.is_none()
                    && app.invitation_revoked_at.is_none()
                    && app.account_id == group.account_id;
                if !joinable {
                    return Err(StoreError::StatusConflict);
                }
                app.group_id = Some(group.id.clone());
                app.updated_at = group.created_at;
                save_application(&tx, &app, Status::InvitationConfirmed)?;
            }
            tx.execute(
                "INSERT INTO groups (id, doc) VALUES (?1, ?2)",
                params![group.id, to_doc(&group)],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn group(&self, id: &str) -> Result<Option<Group>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| load_group(c, &id)).await
    }

    async fn release_members(
        &self,
        current: &Group,
        next: &Group,
        leaving: &[String],
    ) -> Result<(), StoreError> {
        let (current, next, leaving) = (current.clone(), next.clone(), leaving.to_vec());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            save_group(&tx, &current, &next)?;
            for id in &leaving {
                let mut app = load_application(&tx, id)?.ok_or(StoreError::StatusConflict)?;
                if app.group_id.as_deref() != Some(current.id.as_str())
                    || app.status != Status::InvitationConfirmed
                {
                    return Err(StoreError::StatusConflict);
                }
                app.group_id = None;
                app.updated_at = next.updated_at;
                save_application(&tx, &app, Status::InvitationConfirmed)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn open_group_checkout(
        &self,
        current: &Group,
        next: &Group,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (current, next) = (current.clone(), next.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let payment = next.payment.clone().ok_or(StoreError::StatusConflict)?;
            save_group(&tx, &current, &next)?;
            for id in &next.members {
                let app = load_application(&tx, id)?.ok_or(StoreError::StatusConflict)?;
                if app.group_id.as_deref() != Some(current.id.as_str()) {
                    return Err(StoreError::StatusConflict);
                }
                let moved = match (current.status, current.payment.as_ref()) {
                    (GroupStatus::Open, _) => app.open_checkout(payment.clone(), at)?,
                    (GroupStatus::AwaitingPayment, Some(old)) => {
                        app.reopen_checkout(&old.checkout_session_id, payment.clone(), at)?
                    }
                    _ => return Err(StoreError::StatusConflict),
                };
                save_application(&tx, &moved, app.status)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }
}

impl SqliteStore {
    /// `Payments::record_group_payment`: the event, the group and its
    /// members in one transaction.
    pub(super) async fn group_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        let event = event.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let group = load_group(&tx, &event.application_id)?.ok_or(StoreError::NotFound)?;
            let paid = group.status == GroupStatus::Paid;
            let what = EventFor::of(group.payment.as_ref(), paid, &event.checkout_session_id);
            match what {
                EventFor::Stranger => return Err(StoreError::StatusConflict),
                EventFor::PaidElsewhere => return Ok(PaymentRecorded::PaidByAnotherSession),
                EventFor::Unpaid | EventFor::PaidHere => {}
            }
            if !super::payments::claim_event(&tx, &event.event_id, &event.application_id, &event.event_type, at)? {
                return Ok(PaymentRecorded::DuplicateEvent);
            }
            if what == EventFor::PaidHere {
                tx.commit().map_err(unavailable)?;
                return Ok(PaymentRecorded::AlreadyPaid);
            }
            let paid_group = group.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
            save_group(&tx, &group, &paid_group)?;
            let mut members = Vec::with_capacity(group.members.len());
            for id in &group.members {
                let app = load_application(&tx, id)?.ok_or(StoreError::StatusConflict)?;
                if app.group_id.as_deref() != Some(group.id.as_str()) {
                    return Err(StoreError::StatusConflict);
                }
                let paid = app.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
                save_application(&tx, &paid, app.status)?;
                members.push(paid);
            }
            if let Some(pi) = &event.payment_intent {
                tx.execute(
                    "INSERT INTO payment_intents (payment_intent, application_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![pi, group.id],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(PaymentRecorded::GroupPaid(members))
        })
        .await
    }
}
