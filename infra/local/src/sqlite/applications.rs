//! The `Applications` port on the embedded SQLite store.

use super::*;
use visa_core::search::{SEARCH_LIMIT, SearchKey};

/// The application's search keys, in the caller's transaction.
fn index(c: &Connection, app: &Application) -> Result<(), StoreError> {
    for key in SearchKey::of_application(app) {
        c.execute(
            "INSERT OR IGNORE INTO application_search (term, created_at, application_id) VALUES (?1, ?2, ?3)",
            params![
                key.as_key(),
                app.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                app.id
            ],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

/// Indexes applications a data dir kept from before search existed.
pub(super) fn index_unsearchable(c: &Connection) -> Result<(), StoreError> {
    let missing: Vec<Application> = records(
        c,
        "SELECT doc FROM applications WHERE id NOT IN (SELECT application_id FROM application_search)",
        [],
    )?;
    for app in &missing {
        index(c, app)?;
    }
    Ok(())
}

#[async_trait]
impl Applications for SqliteStore {
    async fn create_application(&self, application: &Application) -> Result<(), StoreError> {
        let app = application.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row(
                    "SELECT doc FROM invitations WHERE number = ?1 AND status = 'approved'",
                    [&app.invitation_number],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let mut inv: Invitation = from_doc(&doc.ok_or(StoreError::InvitationNotClaimable)?)?;
            inv.status = InvitationStatus::Used;
            tx.execute(
                "UPDATE invitations SET status = 'used', doc = ?2 WHERE number = ?1 AND status = 'approved'",
                params![inv.number, to_doc(&inv)],
            )
            .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO applications (id, account_id, created_at, status, invitation_number, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    app.id,
                    app.account_id,
                    app.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    app.status.as_str(),
                    app.invitation_number,
                    to_doc(&app)
                ],
            )
            .map_err(unavailable)?;
            index(&tx, &app)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn applications_in(&self, status: Status) -> Result<Vec<Application>, StoreError> {
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM applications WHERE status = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
                params![status.as_str(), SEARCH_LIMIT as i64],
            )
        })
        .await
    }

    async fn under_review(&self) -> Result<Vec<Application>, StoreError> {
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM applications WHERE json_extract(doc, '$.under_review') = 1
                 ORDER BY json_extract(doc, '$.updated_at'), id LIMIT ?1",
                params![(SEARCH_LIMIT * 2) as i64],
            )
        })
        .await
    }

    async fn find_applications(&self, key: &SearchKey) -> Result<Vec<Application>, StoreError> {
        let term = key.as_key();
        self.with(move |c| {
            records(
                c,
                "SELECT a.doc FROM application_search s JOIN applications a ON a.id = s.application_id
                 WHERE s.term = ?1 ORDER BY s.created_at DESC, s.application_id DESC LIMIT ?2",
                params![term, SEARCH_LIMIT as i64],
            )
        })
        .await
    }

    async fn application(&self, id: &str) -> Result<Option<Application>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| load_application(c, &id)).await
    }

    async fn applications_of(&self, account_id: &str) -> Result<Vec<Application>, StoreError> {
        let account_id = account_id.to_owned();
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM applications WHERE account_id = ?1 ORDER BY created_at DESC, id DESC",
                [account_id],
            )
        })
        .await
    }

    async fn open_checkout(
        &self,
        id: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let (id, payment) = (id.to_owned(), payment.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let app = load_application(&tx, &id)?.ok_or(StoreError::NotFound)?;
            // A group's member is paid for by the group's checkout alone.
            if app.group_id.is_some() {
                return Err(StoreError::StatusConflict);
            }
            let next = app.open_checkout(payment, at)?;
            save_application(&tx, &next, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(next)
        })
        .await
    }

    async fn reopen_checkout(
        &self,
        id: &str,
        expired_session: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let (id, old, payment) = (id.to_owned(), expired_session.to_owned(), payment.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let app = load_application(&tx, &id)?.ok_or(StoreError::NotFound)?;
            let next = app.reopen_checkout(&old, payment, at)?;
            save_application(&tx, &next, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(next)
        })
        .await
    }
}
