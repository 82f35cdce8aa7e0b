//! The `Hosts` port on DynamoDB: the host item (`HOST#<id>`) and two
//! claims written with it in one transaction, on its account
//! (`HOSTACCOUNT#<account>`, which names the host) and on its BIN/IIN
//! (`HOSTNUMBER#<number>`); the approval queue is the status index
//! (`HOSTSTATUS#<status>`, oldest first).

use super::*;
use visa_core::host::{Host, HostStatus};
use visa_core::search::SEARCH_LIMIT;
use visa_core::store::Hosts;

fn host_pk(id: &str) -> String {
    format!("HOST#{id}")
}

fn host_status_key(status: HostStatus) -> String {
    format!("HOSTSTATUS#{}", status.as_str())
}

#[async_trait]
impl Hosts for DynamoStore {
    async fn create_host(&self, host: &Host) -> Result<(), StoreError> {
        let mut item = record_item(host_pk(&host.id), "HOST", host)?;
        item.insert("gsi5pk".into(), s(host_status_key(host.status)));
        item.insert(
            "gsi5sk".into(),
            s(format!(
                "HOST#{}#{}",
                host.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                host.id
            )),
        );
        let mut by_account = key(format!("HOSTACCOUNT#{}", host.account_id), "HOST");
        by_account.insert("host_id".into(), s(&host.id));
        let by_number = key(format!("HOSTNUMBER#{}", host.number), "HOST");
        let writes = vec![
            self.put_new_write(item)?,
            self.put_new_write(by_account)?,
            self.put_new_write(by_number)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 1) || failed(&codes, 2) => Err(StoreError::HostExists),
            Some(_) => Err(StoreError::Unavailable("a host with this id exists".into())),
        }
    }

    async fn host(&self, id: &str) -> Result<Option<Host>, StoreError> {
        self.get_record(host_pk(id), "HOST").await
    }

    async fn host_of_account(&self, account_id: &str) -> Result<Option<Host>, StoreError> {
        let Some(claim) = self
            .get(key(format!("HOSTACCOUNT#{account_id}"), "HOST"))
            .await?
        else {
            return Ok(None);
        };
        match claim.get("host_id") {
            Some(AttributeValue::S(id)) => self.host(id).await,
            _ => Err(StoreError::Corrupt("a host claim without host_id".into())),
        }
    }

    async fn hosts_in(&self, status: HostStatus) -> Result<Vec<Host>, StoreError> {
        self.index_page(IndexPage {
            index: GSI_STATUS,
            pk: "gsi5pk",
            sk: "gsi5sk",
            key: host_status_key(status),
            kind: None,
            newest_first: false,
            limit: SEARCH_LIMIT,
        })
        .await?
        .into_iter()
        .map(record)
        .collect()
    }

    async fn decide_host(&self, host: &Host, event: &AuditEvent) -> Result<(), StoreError> {
        let writes = vec![
            self.update_write(
                key(host_pk(&host.id), "HOST"),
                "SET #status = :to, gsi5pk = :queue, decision = :decision",
                "#status = :pending",
                vec![
                    (":to", s(host.status.as_str())),
                    (":queue", s(host_status_key(host.status))),
                    (":decision", attribute(&host.decision)?),
                    (":pending", s(HostStatus::PendingApproval.as_str())),
                ],
            )?,
            self.put_new_write(audit::item(event)?)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => match self.host(&host.id).await? {
                Some(_) => Err(StoreError::StatusConflict),
                None => Err(StoreError::NotFound),
            },
            Some(_) => Err(StoreError::Unavailable(
                "an audit event with this id exists".into(),
            )),
        }
    }
}
