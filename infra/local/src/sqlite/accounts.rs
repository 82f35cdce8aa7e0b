//! The `Accounts` port on the embedded SQLite store.

use super::*;

#[async_trait]
impl Accounts for SqliteStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let account = account.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT INTO accounts (id, email, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![account.id, account.email, to_doc(&account)],
                )
                .map_err(unavailable)?;
            if n == 1 { Ok(()) } else { Err(StoreError::EmailTaken) }
        })
        .await
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let email = email.to_owned();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM accounts WHERE email = ?1", [email], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            doc.map(|d| from_doc(&d)).transpose()
        })
        .await
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM accounts WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            doc.map(|d| from_doc(&d)).transpose()
        })
        .await
    }

    async fn create_reset(&self, reset: &PasswordReset) -> Result<(), StoreError> {
        let r = reset.clone();
        self.with(move |c| {
            put_link(
                c,
                "password_resets",
                &r.token_hash,
                &r.account_id,
                r.expires_at,
            )
        })
        .await
    }

    async fn reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PasswordReset>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            let row = link_row(c, "password_resets", &token_hash, now)?;
            Ok(row.map(|(account_id, expires)| PasswordReset {
                token_hash,
                account_id,
                expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(now),
            }))
        })
        .await
    }

    async fn redeem_reset(
        &self,
        reset: &PasswordReset,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (r, hash) = (reset.clone(), password_hash.to_owned());
        self.with(move |c| {
            let tx = c.transaction().map_err(unavailable)?;
            let used = tx
                .execute(
                    "UPDATE password_resets SET used_at = ?1 \
                     WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?3",
                    params![now.to_rfc3339(), r.token_hash, now.timestamp()],
                )
                .map_err(unavailable)?;
            if used == 0 {
                return Err(StoreError::NotFound);
            }
            let changed = tx
                .execute(
                    "UPDATE accounts SET doc = json_set(doc, '$.password_hash', ?1) WHERE id = ?2",
                    params![hash, r.account_id],
                )
                .map_err(unavailable)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn erase_account(
        &self,
        account: &Account,
        applications: &[(String, Status)],
    ) -> Result<(), StoreError> {
        let (id, apps) = (account.id.clone(), applications.to_vec());
        self.with(move |c| {
            let tx = c.transaction().map_err(unavailable)?;
            let gone = tx
                .execute("DELETE FROM accounts WHERE id = ?1", [&id])
                .map_err(unavailable)?;
            if gone == 0 {
                return Err(StoreError::NotFound);
            }
            for (app, status) in &apps {
                let erased = tx
                    .execute(
                        "DELETE FROM applications WHERE id = ?1 AND account_id = ?2 AND status = ?3",
                        params![app, id, status.as_str()],
                    )
                    .map_err(unavailable)?;
                if erased == 0 {
                    return Err(StoreError::StatusConflict);
                }
            }
            for table in ["password_resets", "email_verifications"] {
                tx.execute(&format!("DELETE FROM {table} WHERE account_id = ?1"), [&id])
                    .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn create_verification(&self, v: &EmailVerification) -> Result<(), StoreError> {
        let v = v.clone();
        self.with(move |c| {
            put_link(
                c,
                "email_verifications",
                &v.token_hash,
                &v.account_id,
                v.expires_at,
            )
        })
        .await
    }

    async fn verification(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EmailVerification>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            let row = link_row(c, "email_verifications", &token_hash, now)?;
            Ok(row.map(|(account_id, expires)| EmailVerification {
                token_hash,
                account_id,
                expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(now),
            }))
        })
        .await
    }

    async fn redeem_verification(
        &self,
        v: &EmailVerification,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let v = v.clone();
        self.with(move |c| {
            let tx = c.transaction().map_err(unavailable)?;
            let used = tx
                .execute(
                    "UPDATE email_verifications SET used_at = ?1 \
                     WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?3",
                    params![now.to_rfc3339(), v.token_hash, now.timestamp()],
                )
                .map_err(unavailable)?;
            if used == 0 {
                return Err(StoreError::NotFound);
            }
            // The first confirmation's time stays.
            let verified_at =
                serde_json::to_string(&now).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let changed = tx
                .execute(
                    "UPDATE accounts SET doc = json_set(doc, '$.email_verified_at', \
                     coalesce(json_extract(doc, '$.email_verified_at'), json(?1))) WHERE id = ?2",
                    params![verified_at, v.account_id],
                )
                .map_err(unavailable)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }
}
