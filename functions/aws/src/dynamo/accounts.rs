//! The `Accounts` port on DynamoDB.

use super::*;

#[async_trait]
impl Accounts for DynamoStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        // The claim carries the whole (immutable) account, so signing in
        // is one read by email.
        let writes = vec![
            self.put_new_write(record_item(account_pk(&account.id), "ACCOUNT", account)?)?,
            self.put_new_write(record_item(email_pk(&account.email), "EMAIL", account)?)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::EmailTaken),
        }
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        self.get_record(email_pk(email), "EMAIL").await
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.get_record(account_pk(id), "ACCOUNT").await
    }

    async fn create_reset(&self, reset: &PasswordReset) -> Result<(), StoreError> {
        let item = record_item(reset_pk(&reset.token_hash), "RESET", reset)?;
        self.put_link(item, reset.expires_at, "reset").await
    }

    async fn reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PasswordReset>, StoreError> {
        self.link_record(key(reset_pk(token_hash), "RESET"), now)
            .await
    }

    async fn redeem_reset(
        &self,
        reset: &PasswordReset,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.redeem_link(
            key(reset_pk(&reset.token_hash), "RESET"),
            &reset.account_id,
            "SET #hash = :hash",
            (":hash", s(password_hash)),
            now,
        )
        .await
    }

    async fn erase_account(
        &self,
        account: &Account,
        applications: &[(String, Status)],
    ) -> Result<(), StoreError> {
        // One transaction holds at most 100 writes: the account and its
        // claim, and the applications (each needs an invitation of its own).
        if applications.len() > 98 {
            return Err(StoreError::Unavailable(
                "more applications than one erasure can hold".into(),
            ));
        }
        let mut writes = vec![
            self.delete_write(
                key(account_pk(&account.id), "ACCOUNT"),
                "attribute_exists(#pk)",
                vec![],
            )?,
            self.delete_write(
                key(email_pk(&account.email), "EMAIL"),
                "attribute_exists(#pk)",
                vec![],
            )?,
        ];
        for (id, status) in applications {
            writes.push(self.delete_write(
                key(app_pk(id), "APP"),
                "#status = :status",
                vec![(":status", s(status.as_str()))],
            )?);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) || failed(&codes, 1) => Err(StoreError::NotFound),
            Some(_) => Err(StoreError::StatusConflict),
        }
    }

    async fn create_verification(&self, v: &EmailVerification) -> Result<(), StoreError> {
        let item = record_item(verification_pk(&v.token_hash), "VERIFY", v)?;
        self.put_link(item, v.expires_at, "verification").await
    }

    async fn verification(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EmailVerification>, StoreError> {
        self.link_record(key(verification_pk(token_hash), "VERIFY"), now)
            .await
    }

    async fn redeem_verification(
        &self,
        v: &EmailVerification,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The first confirmation's time stays.
        self.redeem_link(
            key(verification_pk(&v.token_hash), "VERIFY"),
            &v.account_id,
            "SET #verified = if_not_exists(#verified, :now)",
            (":now", attribute(&now)?),
            now,
        )
        .await
    }
}

impl DynamoStore {
    /// Spends an emailed link and applies `update` to its account, in one
    /// transaction conditional on the link being unused and unexpired at
    /// `now`: `NotFound` otherwise, and nothing changes. The sign-in claim
    /// carries a copy of the account, so both copies change.
    async fn redeem_link(
        &self,
        link: Item,
        account_id: &str,
        update: &str,
        value: (&str, AttributeValue),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let account = self
            .account(account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let writes = vec![
            self.update_write(
                link,
                "SET #used = :now",
                "attribute_exists(#pk) AND attribute_not_exists(#used) AND #ttl > :epoch",
                vec![(":now", attribute(&now)?), (":epoch", n(now.timestamp()))],
            )?,
            self.update_write(
                key(account_pk(&account.id), "ACCOUNT"),
                update,
                "attribute_exists(#pk)",
                vec![value.clone()],
            )?,
            self.update_write(
                key(email_pk(&account.email), "EMAIL"),
                update,
                "attribute_exists(#pk)",
                vec![value],
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::NotFound),
        }
    }
}
