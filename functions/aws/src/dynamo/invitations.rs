//! The `Invitations` port on DynamoDB.

use super::*;
use visa_core::search::{SEARCH_LIMIT, SearchKey};

#[async_trait]
impl Invitations for DynamoStore {
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let item = self.invitation_item(invitation)?;
        let Some(event) = event else {
            return match self.put_new(item).await? {
                true => Ok(()),
                false => Err(StoreError::InvitationExists),
            };
        };
        let writes = vec![
            self.put_new_write(item)?,
            self.put_new_write(audit::item(event)?)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => Err(StoreError::InvitationExists),
            Some(_) => Err(StoreError::Unavailable(
                "an audit event with this id exists".into(),
            )),
        }
    }

    async fn find_invitations(&self, key: &SearchKey) -> Result<Vec<Invitation>, StoreError> {
        self.search(key, "INVITATION#", SEARCH_LIMIT)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError> {
        self.get_record(invitation_pk(number), "INVITATION").await
    }

    async fn revoke_used_invitation(
        &self,
        number: &str,
        application_id: &str,
        by: &str,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<Invitation, StoreError> {
        let writes = vec![
            self.update_write(
                key(invitation_pk(number), "INVITATION"),
                "SET #status = :revoked, revoked_by = :by",
                "#status = :used",
                vec![
                    (":revoked", s(InvitationStatus::Revoked.as_str())),
                    (":by", s(by)),
                    (":used", s(InvitationStatus::Used.as_str())),
                ],
            )?,
            self.update_write(
                key(app_pk(application_id), "APP"),
                "SET #revoked = :at, #updated = :at",
                "#status = :confirmed AND invitation_number = :number",
                vec![
                    (":at", attribute(&at)?),
                    (":confirmed", s(Status::InvitationConfirmed.as_str())),
                    (":number", s(number)),
                ],
            )?,
            self.put_new_write(audit::item(event)?)?,
        ];
        match self.transact(writes).await? {
            None => self.invitation(number).await?.ok_or(StoreError::NotFound),
            Some(codes) if failed(&codes, 0) || failed(&codes, 1) => {
                Err(StoreError::StatusConflict)
            }
            Some(_) => Err(StoreError::Unavailable(
                "an audit event with this id exists".into(),
            )),
        }
    }

    async fn revoke_invitation(
        &self,
        number: &str,
        by: &str,
        event: Option<&AuditEvent>,
    ) -> Result<Invitation, StoreError> {
        if let Some(event) = event {
            let writes = vec![
                self.update_write(
                    key(invitation_pk(number), "INVITATION"),
                    "SET #status = :revoked, revoked_by = :by",
                    "#status = :approved",
                    vec![
                        (":revoked", s(InvitationStatus::Revoked.as_str())),
                        (":by", s(by)),
                        (":approved", s(InvitationStatus::Approved.as_str())),
                    ],
                )?,
                self.put_new_write(audit::item(event)?)?,
            ];
            return match self.transact(writes).await? {
                None => self.invitation(number).await?.ok_or(StoreError::NotFound),
                Some(codes) if failed(&codes, 0) => self.after_refused_revocation(number).await,
                Some(_) => Err(StoreError::Unavailable(
                    "an audit event with this id exists".into(),
                )),
            };
        }
        let revoked = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(invitation_pk(number), "INVITATION")))
            .update_expression("SET #status = :revoked, revoked_by = :by")
            .condition_expression("#status = :approved")
            .set_expression_attribute_names(names(&["#status"]))
            .expression_attribute_values(":revoked", s(InvitationStatus::Revoked.as_str()))
            .expression_attribute_values(":by", s(by))
            .expression_attribute_values(":approved", s(InvitationStatus::Approved.as_str()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match revoked {
            Ok(out) => record(out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => self.after_refused_revocation(number).await,
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl DynamoStore {
    /// The invitation's item: its record, retention and search keys.
    pub(super) fn invitation_item(&self, invitation: &Invitation) -> Result<Item, StoreError> {
        let mut item = record_item(invitation_pk(&invitation.number), "INVITATION", invitation)?;
        item.insert("ttl".into(), epoch(self.retention.invitation(invitation)));
        for key in SearchKey::of_invitation(invitation) {
            let (_, pk, sk) = search_index(key.kind);
            item.insert(pk.into(), s(key.as_key()));
            item.insert(sk.into(), s(invitation_search_sk(invitation)));
        }
        Ok(item)
    }

    /// A revocation's condition failed: statuses only move away from
    /// approved, so the re-read decides (revoked already is no change).
    async fn after_refused_revocation(&self, number: &str) -> Result<Invitation, StoreError> {
        let inv: Invitation = self.invitation(number).await?.ok_or(StoreError::NotFound)?;
        match inv.status {
            InvitationStatus::Revoked => Ok(inv),
            InvitationStatus::Used | InvitationStatus::Approved => {
                Err(StoreError::InvitationNotClaimable)
            }
        }
    }
}
