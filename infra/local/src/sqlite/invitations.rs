//! The `Invitations` port on the embedded SQLite store.

use super::*;
use visa_core::search::{SEARCH_LIMIT, SearchKey};

/// The invitation's search keys, in the caller's transaction.
fn index(c: &Connection, inv: &Invitation) -> Result<(), StoreError> {
    for key in SearchKey::of_invitation(inv) {
        c.execute(
            "INSERT OR IGNORE INTO invitation_search (term, created_at, number) VALUES (?1, ?2, ?3)",
            params![
                key.as_key(),
                inv.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                inv.number
            ],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

/// Indexes invitations a data dir kept from before search existed.
pub(super) fn index_unsearchable(c: &Connection) -> Result<(), StoreError> {
    let missing: Vec<Invitation> = records(
        c,
        "SELECT doc FROM invitations WHERE number NOT IN (SELECT number FROM invitation_search)",
        [],
    )?;
    for inv in &missing {
        index(c, inv)?;
    }
    Ok(())
}

/// A new invitation with its search keys, in the caller's transaction:
/// `InvitationExists` if the number is taken.
pub(super) fn insert(c: &Connection, inv: &Invitation) -> Result<(), StoreError> {
    let n = c
        .execute(
            "INSERT INTO invitations (number, status, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![inv.number, inv.status.as_str(), to_doc(inv)],
        )
        .map_err(unavailable)?;
    if n != 1 {
        return Err(StoreError::InvitationExists);
    }
    index(c, inv)
}

#[async_trait]
impl Invitations for SqliteStore {
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let (inv, event) = (invitation.clone(), event.cloned());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            insert(&tx, &inv)?;
            if let Some(event) = &event {
                super::audit::append(&tx, event)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn find_invitations(&self, key: &SearchKey) -> Result<Vec<Invitation>, StoreError> {
        let term = key.as_key();
        self.with(move |c| {
            records(
                c,
                "SELECT i.doc FROM invitation_search s JOIN invitations i ON i.number = s.number
                 WHERE s.term = ?1 ORDER BY s.created_at DESC, s.number DESC LIMIT ?2",
                params![term, SEARCH_LIMIT as i64],
            )
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

    async fn revoke_used_invitation(
        &self,
        number: &str,
        application_id: &str,
        by: &str,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<Invitation, StoreError> {
        let (number, application_id, by, event) = (
            number.to_owned(),
            application_id.to_owned(),
            by.to_owned(),
            event.clone(),
        );
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row("SELECT doc FROM invitations WHERE number = ?1 AND status = 'used'", [&number], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            let mut inv: Invitation = from_doc(&doc.ok_or(StoreError::StatusConflict)?)?;
            let mut app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            if app.status != Status::InvitationConfirmed || app.invitation_number != number {
                return Err(StoreError::StatusConflict);
            }
            inv.status = InvitationStatus::Revoked;
            inv.revoked_by = Some(by);
            tx.execute(
                "UPDATE invitations SET status = 'revoked', doc = ?2 WHERE number = ?1 AND status = 'used'",
                params![number, to_doc(&inv)],
            )
            .map_err(unavailable)?;
            app.invitation_revoked_at = Some(at);
            app.updated_at = at;
            save_application(&tx, &app, Status::InvitationConfirmed)?;
            super::audit::append(&tx, &event)?;
            tx.commit().map_err(unavailable)?;
            Ok(inv)
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
