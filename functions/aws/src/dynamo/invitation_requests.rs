//! The `InvitationRequests` port on DynamoDB: one item per request
//! (`REQUEST#<id>`), in its host's partition of GSI1 (`HOSTREQ#<host>`,
//! newest first) and in the status index (`REQSTATUS#<status>`, oldest
//! first). A batch is one transaction; so is a decision with its audit
//! event (and, for an approval, the invitation it makes).

use super::*;
use visa_core::invitation_request::{InvitationRequest, RequestStatus};
use visa_core::search::SEARCH_LIMIT;
use visa_core::store::InvitationRequests;

fn request_pk(id: &str) -> String {
    format!("REQUEST#{id}")
}

fn request_status_key(status: RequestStatus) -> String {
    format!("REQSTATUS#{}", status.as_str())
}

fn order(r: &InvitationRequest) -> String {
    format!(
        "REQ#{}#{}",
        r.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        r.id
    )
}

impl DynamoStore {
    /// The request's decision, conditional on it still pending.
    fn decision_write(&self, request: &InvitationRequest) -> Result<Write, StoreError> {
        self.update_write(
            key(request_pk(&request.id), "REQUEST"),
            "SET #status = :to, gsi5pk = :queue, decision = :decision, invitation_number = :number",
            "#status = :pending",
            vec![
                (":to", s(request.status.as_str())),
                (":queue", s(request_status_key(request.status))),
                (":decision", attribute(&request.decision)?),
                (":number", attribute(&request.invitation_number)?),
                (":pending", s(RequestStatus::Pending.as_str())),
            ],
        )
    }

    /// A decision's transaction refused at its first write: decided
    /// meanwhile, or never there.
    async fn after_refused_decision(&self, id: &str) -> StoreError {
        match self.invitation_request(id).await {
            Ok(Some(_)) => StoreError::StatusConflict,
            Ok(None) => StoreError::NotFound,
            Err(e) => e,
        }
    }

    async fn index_of_requests(
        &self,
        index: &'static str,
        pk: &'static str,
        sk: &'static str,
        key: String,
        newest_first: bool,
    ) -> Result<Vec<InvitationRequest>, StoreError> {
        self.index_page(IndexPage {
            index,
            pk,
            sk,
            key,
            kind: Some("REQ#"),
            newest_first,
            limit: SEARCH_LIMIT,
        })
        .await?
        .into_iter()
        .map(record)
        .collect()
    }
}

#[async_trait]
impl InvitationRequests for DynamoStore {
    async fn create_requests(&self, requests: &[InvitationRequest]) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(requests.len());
        for r in requests {
            let mut item = record_item(request_pk(&r.id), "REQUEST", r)?;
            item.insert("ttl".into(), epoch(self.retention.invitation_request(r)));
            item.insert("gsi1pk".into(), s(format!("HOSTREQ#{}", r.host_id)));
            item.insert("gsi1sk".into(), s(order(r)));
            item.insert("gsi5pk".into(), s(request_status_key(r.status)));
            item.insert("gsi5sk".into(), s(order(r)));
            writes.push(self.put_new_write(item)?);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::Unavailable(
                "a request with one of these ids exists".into(),
            )),
        }
    }

    async fn invitation_request(&self, id: &str) -> Result<Option<InvitationRequest>, StoreError> {
        self.get_record(request_pk(id), "REQUEST").await
    }

    async fn requests_of_host(&self, host_id: &str) -> Result<Vec<InvitationRequest>, StoreError> {
        self.index_of_requests(GSI1, "gsi1pk", "gsi1sk", format!("HOSTREQ#{host_id}"), true)
            .await
    }

    async fn requests_in(
        &self,
        status: RequestStatus,
    ) -> Result<Vec<InvitationRequest>, StoreError> {
        self.index_of_requests(
            GSI_STATUS,
            "gsi5pk",
            "gsi5sk",
            request_status_key(status),
            false,
        )
        .await
    }

    async fn approve_request(
        &self,
        request: &InvitationRequest,
        invitation: &Invitation,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let writes = vec![
            self.decision_write(request)?,
            self.put_new_write(self.invitation_item(invitation)?)?,
            self.put_new_write(audit::item(event)?)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => Err(self.after_refused_decision(&request.id).await),
            Some(codes) if failed(&codes, 1) => Err(StoreError::InvitationExists),
            Some(_) => Err(StoreError::Unavailable(
                "an audit event with this id exists".into(),
            )),
        }
    }

    async fn refuse_request(
        &self,
        request: &InvitationRequest,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let writes = vec![
            self.decision_write(request)?,
            self.put_new_write(audit::item(event)?)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => Err(self.after_refused_decision(&request.id).await),
            Some(_) => Err(StoreError::Unavailable(
                "an audit event with this id exists".into(),
            )),
        }
    }
}
