//! The `Visas` port on the embedded SQLite store.

use super::*;

/// `Visas::change_visa`'s write within `tx`: `next` only over the visa as
/// `current` read it, with its audit event.
pub(super) fn change(
    tx: &Connection,
    current: &Application,
    next: &Application,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let revision = current.visa.as_ref().map(|v| v.revision);
    let stored = load_application(tx, &next.id)?.ok_or(StoreError::NotFound)?;
    if stored.visa.as_ref().map(|v| v.revision) != revision
        || revision.is_none()
        || stored.under_review != current.under_review
    {
        return Err(StoreError::StatusConflict);
    }
    save_application(tx, next, Status::Issued)?;
    super::audit::append(tx, event)
}

#[async_trait]
impl Visas for SqliteStore {
    async fn issue_visa(
        &self,
        application_id: &str,
        visa: &Visa,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let (application_id, visa) = (application_id.to_owned(), visa.clone());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            // The status is checked before the number, as DynamoDB's transaction does.
            let issued = app.issue(visa.clone(), at)?;
            let inserted = tx
                .execute(
                    "INSERT INTO visas (number, application_id, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![visa.number, application_id, to_doc(&visa)],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Err(StoreError::VisaNumberTaken);
            }
            save_application(&tx, &issued, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(issued)
        })
        .await
    }

    async fn mark_emailed(
        &self,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let application_id = application_id.to_owned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            let Some(emailed) = app.mark_emailed(at)? else {
                return Ok(false);
            };
            save_application(&tx, &emailed, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn change_visa(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (current, next, event) = (current.clone(), next.clone(), event.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            change(&tx, &current, &next, &event)?;
            tx.commit().map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn visa(&self, number: &str) -> Result<Option<VisaRecord>, StoreError> {
        let number = number.to_owned();
        self.with(move |c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT doc, application_id FROM visas WHERE number = ?1",
                    [number],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(doc, application_id)| {
                Ok(VisaRecord {
                    visa: from_doc(&doc)?,
                    application_id,
                })
            })
            .transpose()
        })
        .await
    }
}
