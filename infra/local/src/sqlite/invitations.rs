//! The `Invitations` port on the embedded SQLite store.

use super::*;

#[async_trait]
impl Invitations for SqliteStore {
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let (inv, event) = (invitation.clone(), event.cloned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let n = tx
                .execute(
                    "INSERT INTO invitations (number, status, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![inv.number, inv.status.as_str(), to_doc(&inv)],
                )
                .map_err(unavailable)?;
            if n != 1 {
                return Err(StoreError::InvitationExists);
            }
            if let Some(event) = &event {
                super::audit::append(&tx, event)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError> {
        let number = number.to_owned();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM invitations WHERE number = ?1",
                    [number],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            doc.map(|d| from_doc(&d)).transpose()
        })
        .await
    }

    async fn revoke_invitation(
        &self,
        number: &str,
        by: &str,
        event: Option<&AuditEvent>,
    ) -> Result<Invitation, StoreError> {
        let number = number.to_owned();
        let by = by.to_owned();
        let event = event.cloned();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row("SELECT doc FROM invitations WHERE number = ?1", [&number], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            let mut inv: Invitation = from_doc(&doc.ok_or(StoreError::NotFound)?)?;
            match inv.status {
                InvitationStatus::Used => return Err(StoreError::InvitationNotClaimable),
                InvitationStatus::Revoked => return Ok(inv),
                InvitationStatus::Approved => {}
            }
            inv.status = InvitationStatus::Revoked;
            inv.revoked_by = Some(by);
            tx.execute(
                "UPDATE invitations SET status = 'revoked', doc = ?2 WHERE number = ?1 AND status = 'approved'",
                params![number, to_doc(&inv)],
            )
            .map_err(unavailable)?;
            if let Some(event) = &event {
                super::audit::append(&tx, event)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(inv)
        })
        .await
    }
}
