//! The `Invitations` port on DynamoDB.

use super::*;

#[async_trait]
impl Invitations for DynamoStore {
    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        let mut item = record_item(invitation_pk(&invitation.number), "INVITATION", invitation)?;
        item.insert("ttl".into(), epoch(self.retention.invitation(invitation)));
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::InvitationExists)
        }
    }

    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError> {
        self.get_record(invitation_pk(number), "INVITATION").await
    }

    async fn revoke_invitation(&self, number: &str, by: &str) -> Result<Invitation, StoreError> {
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
            Err(e) if is_condition_failure(&e) => {
                // Statuses only move away from approved: the re-read decides.
                let inv: Invitation = self.invitation(number).await?.ok_or(StoreError::NotFound)?;
                match inv.status {
                    InvitationStatus::Revoked => Ok(inv),
                    InvitationStatus::Used | InvitationStatus::Approved => {
                        Err(StoreError::InvitationNotClaimable)
                    }
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
