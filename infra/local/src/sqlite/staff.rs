//! The migration service's staff on a laptop (the cloud's are Cognito's):
//! accounts added by `visa-local officer add`, and each authenticator code
//! taken once.

use super::*;
use crate::staff::StaffAccount;

impl SqliteStore {
    /// `EmailTaken` if the address has an account already.
    pub async fn add_staff(&self, account: &StaffAccount) -> Result<(), StoreError> {
        let account = account.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT INTO staff (email, doc) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![account.email, to_doc(&account)],
                )
                .map_err(unavailable)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::EmailTaken)
            }
        })
        .await
    }

    pub async fn staff(&self, email: &str) -> Result<Option<StaffAccount>, StoreError> {
        let email = email.trim().to_lowercase();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM staff WHERE email = ?1", [email], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            doc.map(|d| from_doc(&d)).transpose()
        })
        .await
    }

    /// Takes a member's access away (once; disabling again keeps the first
    /// instant). `false` when nobody has the address.
    pub async fn disable_staff(&self, email: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let email = email.to_owned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row("SELECT doc FROM staff WHERE email = ?1", [&email], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            let Some(doc) = doc else {
                return Ok(false);
            };
            let mut account: StaffAccount = from_doc(&doc)?;
            if account.disabled_at.is_none() {
                account.disabled_at = Some(at);
                tx.execute(
                    "UPDATE staff SET doc = ?2 WHERE email = ?1",
                    params![email, to_doc(&account)],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    /// Records that the code of time step `step` was taken: `false` if
    /// this or a later step's was already (a replayed code).
    pub async fn take_totp_step(&self, email: &str, step: u64) -> Result<bool, StoreError> {
        let email = email.to_owned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row("SELECT doc FROM staff WHERE email = ?1", [&email], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            let mut account: StaffAccount = from_doc(&doc.ok_or(StoreError::NotFound)?)?;
            if account.last_totp_step >= step {
                return Ok(false);
            }
            account.last_totp_step = step;
            tx.execute(
                "UPDATE staff SET doc = ?2 WHERE email = ?1",
                params![email, to_doc(&account)],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
