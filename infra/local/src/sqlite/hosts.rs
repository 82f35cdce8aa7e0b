//! The `Hosts` port on the embedded SQLite store.

use super::*;
use visa_core::host::{Host, HostStatus};
use visa_core::search::SEARCH_LIMIT;
use visa_core::store::Hosts;

fn micros(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[async_trait]
impl Hosts for SqliteStore {
    async fn create_host(&self, host: &Host) -> Result<(), StoreError> {
        let host = host.clone();
        self.with(move |c| {
            // The UNIQUE columns are the conditions: one host per account
            // and per number.
            let n = c
                .execute(
                    "INSERT INTO hosts (id, account_id, number, status, created_at, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    params![
                        host.id,
                        host.account_id,
                        host.number,
                        host.status.as_str(),
                        micros(host.created_at),
                        to_doc(&host)
                    ],
                )
                .map_err(unavailable)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::HostExists)
            }
        })
        .await
    }

    async fn host(&self, id: &str) -> Result<Option<Host>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| {
            records(c, "SELECT doc FROM hosts WHERE id = ?1", params![id])
                .map(|mut v: Vec<Host>| v.pop())
        })
        .await
    }

    async fn host_of_account(&self, account_id: &str) -> Result<Option<Host>, StoreError> {
        let account_id = account_id.to_owned();
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM hosts WHERE account_id = ?1",
                params![account_id],
            )
            .map(|mut v: Vec<Host>| v.pop())
        })
        .await
    }

    async fn hosts_in(&self, status: HostStatus) -> Result<Vec<Host>, StoreError> {
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM hosts WHERE status = ?1 ORDER BY created_at, id LIMIT ?2",
                params![status.as_str(), SEARCH_LIMIT as i64],
            )
        })
        .await
    }

    async fn decide_host(&self, host: &Host, event: &AuditEvent) -> Result<(), StoreError> {
        let (host, event) = (host.clone(), event.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let n = tx
                .execute(
                    "UPDATE hosts SET status = ?2, doc = ?3 WHERE id = ?1 AND status = ?4",
                    params![
                        host.id,
                        host.status.as_str(),
                        to_doc(&host),
                        HostStatus::PendingApproval.as_str()
                    ],
                )
                .map_err(unavailable)?;
            if n != 1 {
                return Err(super::missed(&tx, "hosts", &host.id)?);
            }
            super::audit::append(&tx, &event)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }
}
