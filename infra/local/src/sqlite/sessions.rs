//! The `Sessions` port on the embedded SQLite store.

use super::*;

#[async_trait]
impl Sessions for SqliteStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let s = session.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO sessions (token_hash, account_id, expires_at) VALUES (?1, ?2, ?3)",
                params![s.token_hash, s.account_id, s.expires_at.timestamp()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            let row: Option<(String, i64)> = c
                .query_row(
                    "SELECT account_id, expires_at FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                    params![token_hash, now.timestamp()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            Ok(row.map(|(account_id, expires)| Session {
                token_hash,
                account_id,
                expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(now),
            }))
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn end_sessions_of(&self, account_id: &str) -> Result<u32, StoreError> {
        let account_id = account_id.to_owned();
        self.with(move |c| {
            let ended = c
                .execute("DELETE FROM sessions WHERE account_id = ?1", [account_id])
                .map_err(unavailable)?;
            Ok(u32::try_from(ended).unwrap_or(u32::MAX))
        })
        .await
    }

    async fn failed_sign_ins(&self, email: &str, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let email = email.to_owned();
        let since = (now - chrono::Duration::minutes(visa_core::account::SIGN_IN_WINDOW_MINUTES))
            .timestamp();
        self.with(move |c| {
            let n: Option<u32> = c
                .query_row(
                    "SELECT failures FROM sign_in_failures WHERE email = ?1 AND window_start > ?2",
                    params![email, since],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            Ok(n.unwrap_or(0))
        })
        .await
    }

    async fn record_failed_sign_in(
        &self,
        email: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError> {
        let email = email.to_owned();
        let (now, since) = (now.timestamp(), (now - window).timestamp());
        self.with(move |c| {
            c.query_row(
                "INSERT INTO sign_in_failures (email, window_start, failures) VALUES (?1, ?2, 1)
                 ON CONFLICT (email) DO UPDATE SET
                   failures = CASE WHEN window_start > ?3 THEN failures + 1 ELSE 1 END,
                   window_start = CASE WHEN window_start > ?3 THEN window_start ELSE ?2 END
                 RETURNING failures",
                params![email, now, since],
                |r| r.get(0),
            )
            .map_err(unavailable)
        })
        .await
    }

    async fn forgive_failed_sign_in(&self, email: &str) -> Result<(), StoreError> {
        let email = email.to_owned();
        // Down to zero, the row goes: a right password leaves no trace.
        self.with(move |c| {
            c.execute(
                "DELETE FROM sign_in_failures WHERE email = ?1 AND failures <= 1",
                params![email],
            )
            .and_then(|_| {
                c.execute(
                    "UPDATE sign_in_failures SET failures = failures - 1
                     WHERE email = ?1 AND failures > 1",
                    params![email],
                )
            })
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }
}
