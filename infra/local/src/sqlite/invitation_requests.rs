//! The `InvitationRequests` port on the embedded SQLite store.

use super::*;
use visa_core::invitation_request::{InvitationRequest, RequestStatus};
use visa_core::search::SEARCH_LIMIT;
use visa_core::store::InvitationRequests;

/// Moves a pending request to its decided state: `StatusConflict` if it
/// was decided meanwhile, `NotFound` if there is none.
fn decided(c: &Connection, request: &InvitationRequest) -> Result<(), StoreError> {
    let n = c
        .execute(
            "UPDATE invitation_requests SET status = ?2, doc = ?3 WHERE id = ?1 AND status = ?4",
            params![
                request.id,
                request.status.as_str(),
                to_doc(request),
                RequestStatus::Pending.as_str()
            ],
        )
        .map_err(unavailable)?;
    if n == 1 {
        return Ok(());
    }
    Err(super::missed(c, "invitation_requests", &request.id)?)
}

#[async_trait]
impl InvitationRequests for SqliteStore {
    async fn create_requests(&self, requests: &[InvitationRequest]) -> Result<(), StoreError> {
        let requests = requests.to_vec();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            for r in &requests {
                let n = tx
                    .execute(
                        "INSERT INTO invitation_requests (id, host_id, status, created_at, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                        params![
                            r.id,
                            r.host_id,
                            r.status.as_str(),
                            r.created_at
                                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                            to_doc(r)
                        ],
                    )
                    .map_err(unavailable)?;
                if n != 1 {
                    return Err(StoreError::Unavailable(format!(
                        "a request with id {} exists",
                        r.id
                    )));
                }
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn invitation_request(&self, id: &str) -> Result<Option<InvitationRequest>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM invitation_requests WHERE id = ?1",
                params![id],
            )
            .map(|mut v: Vec<InvitationRequest>| v.pop())
        })
        .await
    }

    async fn requests_of_host(&self, host_id: &str) -> Result<Vec<InvitationRequest>, StoreError> {
        let host_id = host_id.to_owned();
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM invitation_requests WHERE host_id = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2",
                params![host_id, SEARCH_LIMIT as i64],
            )
        })
        .await
    }

    async fn requests_in(
        &self,
        status: RequestStatus,
    ) -> Result<Vec<InvitationRequest>, StoreError> {
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM invitation_requests WHERE status = ?1
                 ORDER BY created_at, id LIMIT ?2",
                params![status.as_str(), SEARCH_LIMIT as i64],
            )
        })
        .await
    }

    async fn approve_request(
        &self,
        request: &InvitationRequest,
        invitation: &Invitation,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (request, invitation, event) = (request.clone(), invitation.clone(), event.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            decided(&tx, &request)?;
            super::invitations::insert(&tx, &invitation)?;
            super::audit::append(&tx, &event)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn refuse_request(
        &self,
        request: &InvitationRequest,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (request, event) = (request.clone(), event.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            decided(&tx, &request)?;
            super::audit::append(&tx, &event)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }
}
