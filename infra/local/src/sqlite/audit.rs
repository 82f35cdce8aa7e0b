//! The `AuditTrail` port on the embedded SQLite store: rows only ever
//! inserted (the schema's triggers refuse an UPDATE or a DELETE).

use super::*;

/// Appends `event` inside the caller's transaction.
pub(super) fn append(c: &Connection, event: &AuditEvent) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit_events (id, at, doc) VALUES (?1, ?2, ?3)",
        params![event.id, event.at.timestamp_millis(), to_doc(event)],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl AuditTrail for SqliteStore {
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.with(move |c| append(c, &event)).await
    }

    async fn audit_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM audit_events WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
                params![from.timestamp_millis(), to.timestamp_millis()],
            )
        })
        .await
    }
}
