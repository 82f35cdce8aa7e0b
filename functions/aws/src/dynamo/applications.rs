//! The `Applications` port on DynamoDB.

use super::*;
use visa_core::search::{SEARCH_LIMIT, SearchKey};

#[async_trait]
impl Applications for DynamoStore {
    async fn create_application(&self, application: &Application) -> Result<(), StoreError> {
        let mut item = record_item(app_pk(&application.id), "APP", application)?;
        item.insert("gsi1pk".into(), s(account_pk(&application.account_id)));
        item.insert("gsi1sk".into(), s(gsi1sk(application)));
        item.insert("gsi5pk".into(), s(status_key(application.status)));
        item.insert("gsi5sk".into(), s(gsi1sk(application)));
        for key in SearchKey::of_application(application) {
            let (_, pk, sk) = search_index(key.kind);
            item.insert(pk.into(), s(key.as_key()));
            item.insert(sk.into(), s(gsi1sk(application)));
        }
        if let Some(until) = self.retention.application(application) {
            item.insert("ttl".into(), epoch(until));
        }
        let writes = vec![
            self.update_write(
                key(invitation_pk(&application.invitation_number), "INVITATION"),
                "SET #status = :used",
                "#status = :approved",
                vec![
                    (":used", s(InvitationStatus::Used.as_str())),
                    (":approved", s(InvitationStatus::Approved.as_str())),
                ],
            )?,
            self.put_new_write(item)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => Err(StoreError::InvitationNotClaimable),
            Some(_) => Err(StoreError::Unavailable(format!(
                "application {} exists",
                application.id
            ))),
        }
    }

    async fn application(&self, id: &str) -> Result<Option<Application>, StoreError> {
        self.load_application(id).await
    }

    async fn applications_of(&self, account_id: &str) -> Result<Vec<Application>, StoreError> {
        self.account_index(account_id, APP_GSI1SK, false)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn applications_in(&self, status: Status) -> Result<Vec<Application>, StoreError> {
        self.index_page(IndexPage {
            index: GSI_STATUS,
            pk: "gsi5pk",
            sk: "gsi5sk",
            key: status_key(status),
            kind: None,
            newest_first: true,
            limit: SEARCH_LIMIT,
        })
        .await?
        .into_iter()
        .map(record)
        .collect()
    }

    async fn under_review(&self) -> Result<Vec<Application>, StoreError> {
        self.index_page(IndexPage {
            index: GSI_REVIEW,
            pk: "gsi4pk",
            sk: "gsi4sk",
            key: REVIEW_QUEUE.to_owned(),
            kind: None,
            newest_first: false,
            limit: SEARCH_LIMIT * 2,
        })
        .await?
        .into_iter()
        .map(record)
        .collect()
    }

    async fn find_applications(&self, key: &SearchKey) -> Result<Vec<Application>, StoreError> {
        self.search(key, APP_GSI1SK, SEARCH_LIMIT)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn open_checkout(
        &self,
        id: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(app_pk(id), "APP")))
            .update_expression(
                "SET #status = :to, gsi5pk = :status_key, #confirmed = :at, #payment = :payment, #updated = :at, #ttl = :ttl",
            )
            // A group's member is paid for by the group's checkout alone;
            // a revoked invitation's application by none.
            .condition_expression(
                "#status = :from AND attribute_not_exists(#group) AND attribute_not_exists(#revoked)",
            )
            .set_expression_attribute_names(names(&[
                "#status",
                "#confirmed",
                "#payment",
                "#updated",
                "#ttl",
                "#group",
                "#revoked",
            ]))
            .expression_attribute_values(
                ":ttl",
                epoch(self.retention.unpaid_until(at, payment.expires_at)),
            )
            .expression_attribute_values(":to", s(Status::AwaitingPayment.as_str()))
            .expression_attribute_values(":status_key", s(status_key(Status::AwaitingPayment)))
            .expression_attribute_values(":from", s(Status::InvitationConfirmed.as_str()))
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":payment", attribute(payment)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match updated {
            Ok(out) => record(out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => match self.load_application(id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::StatusConflict),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn reopen_checkout(
        &self,
        id: &str,
        expired_session: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(app_pk(id), "APP")))
            .update_expression("SET #payment = :payment, #updated = :at, #ttl = :ttl")
            .condition_expression("#status = :awaiting AND #payment.checkout_session_id = :old")
            .set_expression_attribute_names(names(&["#status", "#payment", "#updated", "#ttl"]))
            .expression_attribute_values(
                ":ttl",
                epoch(self.retention.unpaid_until(at, payment.expires_at)),
            )
            .expression_attribute_values(":awaiting", s(Status::AwaitingPayment.as_str()))
            .expression_attribute_values(":old", s(expired_session))
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":payment", attribute(payment)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match updated {
            Ok(out) => record(out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => match self.load_application(id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::StatusConflict),
            },
            Err(e) => Err(unavailable(e)),
        }
    }
}
