//! The embedded store: SQLite (bundled, WAL) with the same conditional
//! guarantees DynamoDB gives. Every state change runs in one IMMEDIATE
//! transaction whose WHERE clause is the condition; rows hold the domain
//! record as JSON beside the columns conditions need.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::{Arc, Mutex};
use visa_core::Status;
use visa_core::account::{Account, EmailVerification, PasswordReset, Session};
use visa_core::application::{Application, Payment, Visa};
use visa_core::invitation::{Invitation, InvitationStatus};
use visa_core::retention::{PAYMENT_EVENT_DAYS, Retention};
use visa_core::store::{
    Accounts, Applications, Invitations, PaymentEvent, PaymentRecorded, Payments, Sessions,
    StoreError, VisaRecord, Visas,
};

/// What one retention sweep erased.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// The erased applications' ids.
    pub applications: Vec<String>,
    /// The erased visas as (application id, visa number): their PDFs go next.
    pub visas: Vec<(String, String)>,
    pub invitations: u64,
    /// Expired sessions, links, sign-in counters and payment events.
    pub expired: u64,
}

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Injected failures (load runs only): every call passes `with`.
    faults: Option<crate::faults::Faults>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account_id);
CREATE TABLE IF NOT EXISTS password_resets (token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS email_verifications (token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, expires_at INTEGER NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS sign_in_failures (email TEXT PRIMARY KEY, window_start INTEGER NOT NULL, failures INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS invitations (number TEXT PRIMARY KEY, status TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL, created_at TEXT NOT NULL,
  status TEXT NOT NULL, invitation_number TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_by_account ON applications (account_id, created_at);
CREATE INDEX IF NOT EXISTS applications_by_status ON applications (status);
CREATE TABLE IF NOT EXISTS payment_events (event_id TEXT PRIMARY KEY, application_id TEXT NOT NULL, kind TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payment_intents (payment_intent TEXT PRIMARY KEY, application_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visas (number TEXT PRIMARY KEY, application_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_sessions (id TEXT PRIMARY KEY, application_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_checkouts (id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, payment_intent TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
";

/// Stores an emailed link's token hash (a reset or a confirmation).
fn put_link(
    c: &mut Connection,
    table: &str,
    token_hash: &str,
    account_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.execute(
        &format!("INSERT INTO {table} (token_hash, account_id, expires_at) VALUES (?1, ?2, ?3)"),
        params![token_hash, account_id, expires_at.timestamp()],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// An emailed link's account and expiry, if unused and unexpired at `now`.
fn link_row(
    c: &mut Connection,
    table: &str,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, i64)>, StoreError> {
    c.query_row(
        &format!(
            "SELECT account_id, expires_at FROM {table} \
             WHERE token_hash = ?1 AND expires_at > ?2 AND used_at IS NULL"
        ),
        params![token_hash, now.timestamp()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(unavailable)
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn to_doc<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain records serialise")
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The records `sql` selects (one `doc` column).
fn records<T: DeserializeOwned>(c: &Connection, sql: &str) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare(sql).map_err(unavailable)?;
    let docs = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(unavailable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    docs.iter().map(|doc| from_doc(doc)).collect()
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        // WAL: readers never block the writer; NORMAL sync is durable
        // against a process crash (kill -9), the failure we design for.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        .map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            faults: None,
        })
    }

    /// The same store (the same connection), its calls failing as `faults`
    /// says.
    pub fn with_faults(&self, faults: Option<crate::faults::Faults>) -> SqliteStore {
        SqliteStore {
            conn: self.conn.clone(),
            faults,
        }
    }

    /// Runs `f` on the connection off the async workers: every store call
    /// passes here, so injected faults do too.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let call = async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                f(&mut guard)
            })
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
        };
        match &self.faults {
            Some(faults) => {
                faults
                    .around("store call", call, StoreError::Unavailable)
                    .await
            }
            None => call.await,
        }
    }

    /// Applications paid but not yet issued: the local stand-in for the
    /// table stream, swept at start and after each payment.
    pub async fn paid_application_ids(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT id FROM applications WHERE status = 'paid' ORDER BY created_at")
                .map_err(unavailable)?;
            let ids = stmt.query_map([], |r| r.get(0)).map_err(unavailable)?;
            ids.collect::<Result<Vec<String>, _>>().map_err(unavailable)
        })
        .await
    }

    /// Issued applications as (id, visa number), oldest first: the issuer
    /// checks at start that each one's email went out.
    pub async fn issued_visas(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT id, json_extract(doc, '$.visa.number') FROM applications \
                     WHERE status = 'issued' ORDER BY created_at",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }

    /// Erases, in one transaction, what the retention policy says is due
    /// at `now`: the embedded store's stand-in for DynamoDB's TTL, with the
    /// same rules (`visa_core::retention`). Applications whose time came go
    /// with their visa record, payment ids and sandbox session; invitations
    /// past theirs; expired sessions, links, sign-in counters and payment
    /// events. The PDFs of the erased visas are the caller's to delete.
    pub async fn sweep(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<Swept, StoreError> {
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let mut swept = Swept::default();
            let applications: Vec<Application> =
                records(&tx, "SELECT doc FROM applications WHERE status != 'paid'")?;
            let due = applications
                .into_iter()
                .filter(|a| retention.application(a).is_some_and(|t| t <= now));
            for app in due {
                tx.execute("DELETE FROM applications WHERE id = ?1", [&app.id])
                    .map_err(unavailable)?;
                for table in ["visas", "payment_intents", "sandbox_sessions"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE application_id = ?1"),
                        [&app.id],
                    )
                    .map_err(unavailable)?;
                }
                if let Some(visa) = &app.visa {
                    swept.visas.push((app.id.clone(), visa.number.clone()));
                }
                swept.applications.push(app.id);
            }
            let invitations: Vec<Invitation> = records(&tx, "SELECT doc FROM invitations")?;
            let due = invitations
                .into_iter()
                .filter(|i| retention.invitation(i) <= now);
            for invitation in due {
                tx.execute(
                    "DELETE FROM invitations WHERE number = ?1",
                    [&invitation.number],
                )
                .map_err(unavailable)?;
                swept.invitations += 1;
            }
            let epoch = now.timestamp();
            let events_before = now - chrono::Duration::days(PAYMENT_EVENT_DAYS);
            for (sql, value) in [
                (
                    "DELETE FROM sessions WHERE expires_at <= ?1",
                    epoch.to_string(),
                ),
                (
                    "DELETE FROM password_resets WHERE expires_at <= ?1",
                    epoch.to_string(),
                ),
                (
                    "DELETE FROM email_verifications WHERE expires_at <= ?1",
                    epoch.to_string(),
                ),
                // A day after its window: no count is read that old.
                (
                    "DELETE FROM sign_in_failures WHERE window_start <= ?1",
                    (epoch - 86_400).to_string(),
                ),
                (
                    "DELETE FROM payment_events WHERE recorded_at <= ?1",
                    events_before.to_rfc3339(),
                ),
            ] {
                swept.expired += tx.execute(sql, [value]).map_err(unavailable)? as u64;
            }
            tx.commit().map_err(unavailable)?;
            Ok(swept)
        })
        .await
    }

    /// The sandbox provider's checkout session for an idempotency key: the
    /// existing one if there is one (like Stripe's idempotency keys).
    pub async fn sandbox_session_for(
        &self,
        idempotency_key: &str,
        session: &crate::sandbox::SandboxSession,
    ) -> Result<crate::sandbox::SandboxSession, StoreError> {
        let (key, session) = (idempotency_key.to_owned(), session.clone());
        self.with(move |c| {
            c.execute(
                "INSERT INTO sandbox_checkouts (id, idempotency_key, payment_intent, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![session.id, key, session.payment_intent(), to_doc(&session)],
            )
            .map_err(unavailable)?;
            let doc: String = c
                .query_row("SELECT doc FROM sandbox_checkouts WHERE idempotency_key = ?1", [&key], |r| r.get(0))
                .map_err(unavailable)?;
            from_doc(&doc)
        })
        .await
    }

    /// Marks the session of `payment_intent` refunded; `false` if there is
    /// no such payment.
    pub async fn sandbox_refund(&self, payment_intent: &str) -> Result<bool, StoreError> {
        let pi = payment_intent.to_owned();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM sandbox_checkouts WHERE payment_intent = ?1",
                    [&pi],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let Some(doc) = doc else { return Ok(false) };
            let mut session: crate::sandbox::SandboxSession = from_doc(&doc)?;
            session.refunded = true;
            c.execute(
                "UPDATE sandbox_checkouts SET doc = ?1 WHERE payment_intent = ?2",
                params![to_doc(&session), pi],
            )
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    pub async fn sandbox_session(
        &self,
        id: &str,
    ) -> Result<Option<crate::sandbox::SandboxSession>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM sandbox_checkouts WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            doc.map(|d| from_doc(&d)).transpose()
        })
        .await
    }

    /// Row counts per table, for audits.
    pub async fn count(&self, table: &'static str) -> Result<u64, StoreError> {
        self.with(move |c| {
            c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(unavailable)
        })
        .await
    }
}

fn load_application(c: &Connection, id: &str) -> Result<Option<Application>, StoreError> {
    let doc: Option<String> = c
        .query_row("SELECT doc FROM applications WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(unavailable)?;
    doc.map(|d| from_doc(&d)).transpose()
}

/// Persists the application as a transition left it, conditional on the
/// status it had: `StatusConflict` if it has another now.
fn save_application(c: &Connection, app: &Application, expected: Status) -> Result<(), StoreError> {
    let n = c
        .execute(
            "UPDATE applications SET status = ?2, doc = ?3 WHERE id = ?1 AND status = ?4",
            params![app.id, app.status.as_str(), to_doc(app), expected.as_str()],
        )
        .map_err(unavailable)?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::StatusConflict)
    }
}

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

#[async_trait]
impl Invitations for SqliteStore {
    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        let inv = invitation.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT INTO invitations (number, status, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![inv.number, inv.status.as_str(), to_doc(&inv)],
                )
                .map_err(unavailable)?;
            if n == 1 { Ok(()) } else { Err(StoreError::InvitationExists) }
        })
        .await
    }

    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError> {
        let number = number.to_owned();
        self.with(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM invitations WHERE number = ?1",
                    [number],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            doc.map(|d| from_doc(&d)).transpose()
        })
        .await
    }

    async fn revoke_invitation(&self, number: &str, by: &str) -> Result<Invitation, StoreError> {
        let number = number.to_owned();
        let by = by.to_owned();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row("SELECT doc FROM invitations WHERE number = ?1", [&number], |r| r.get(0))
                .optional()
                .map_err(unavailable)?;
            let mut inv: Invitation = from_doc(&doc.ok_or(StoreError::NotFound)?)?;
            match inv.status {
                InvitationStatus::Used => return Err(StoreError::InvitationNotClaimable),
                InvitationStatus::Revoked => return Ok(inv),
                InvitationStatus::Approved => {}
            }
            inv.status = InvitationStatus::Revoked;
            inv.revoked_by = Some(by);
            tx.execute(
                "UPDATE invitations SET status = 'revoked', doc = ?2 WHERE number = ?1 AND status = 'approved'",
                params![number, to_doc(&inv)],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(inv)
        })
        .await
    }
}

#[async_trait]
impl Applications for SqliteStore {
    async fn create_application(&self, application: &Application) -> Result<(), StoreError> {
        let app = application.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let doc: Option<String> = tx
                .query_row(
                    "SELECT doc FROM invitations WHERE number = ?1 AND status = 'approved'",
                    [&app.invitation_number],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let mut inv: Invitation = from_doc(&doc.ok_or(StoreError::InvitationNotClaimable)?)?;
            inv.status = InvitationStatus::Used;
            tx.execute(
                "UPDATE invitations SET status = 'used', doc = ?2 WHERE number = ?1 AND status = 'approved'",
                params![inv.number, to_doc(&inv)],
            )
            .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO applications (id, account_id, created_at, status, invitation_number, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    app.id,
                    app.account_id,
                    app.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    app.status.as_str(),
                    app.invitation_number,
                    to_doc(&app)
                ],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn application(&self, id: &str) -> Result<Option<Application>, StoreError> {
        let id = id.to_owned();
        self.with(move |c| load_application(c, &id)).await
    }

    async fn applications_of(&self, account_id: &str) -> Result<Vec<Application>, StoreError> {
        let account_id = account_id.to_owned();
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT doc FROM applications WHERE account_id = ?1 ORDER BY created_at DESC, id DESC")
                .map_err(unavailable)?;
            let docs = stmt.query_map([account_id], |r| r.get::<_, String>(0)).map_err(unavailable)?;
            docs.map(|d| from_doc(&d.map_err(unavailable)?)).collect()
        })
        .await
    }

    async fn open_checkout(
        &self,
        id: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let (id, payment) = (id.to_owned(), payment.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let app = load_application(&tx, &id)?.ok_or(StoreError::NotFound)?;
            let next = app.open_checkout(payment, at)?;
            save_application(&tx, &next, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(next)
        })
        .await
    }

    async fn reopen_checkout(
        &self,
        id: &str,
        expired_session: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let (id, old, payment) = (id.to_owned(), expired_session.to_owned(), payment.clone());
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let app = load_application(&tx, &id)?.ok_or(StoreError::NotFound)?;
            let next = app.reopen_checkout(&old, payment, at)?;
            save_application(&tx, &next, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(next)
        })
        .await
    }
}

#[async_trait]
impl Payments for SqliteStore {
    async fn record_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        let event = event.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let app = load_application(&tx, &event.application_id)?.ok_or(StoreError::NotFound)?;
            let known = app.payment.as_ref().is_some_and(|p| p.knows(&event.checkout_session_id));
            if !matches!(app.status, Status::AwaitingPayment | Status::Paid | Status::Issued) || !known {
                return Err(StoreError::StatusConflict);
            }
            // Paid already, in another of its sessions: a second payment,
            // for the caller to refund; nothing is recorded yet.
            let paid_elsewhere = app.status != Status::AwaitingPayment
                && app.payment.as_ref().is_some_and(|p| p.checkout_session_id != event.checkout_session_id);
            if paid_elsewhere {
                return Ok(PaymentRecorded::PaidByAnotherSession);
            }
            let inserted = tx
                .execute(
                    "INSERT INTO payment_events (event_id, application_id, kind, recorded_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                    params![event.event_id, event.application_id, event.event_type, at.to_rfc3339()],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Ok(PaymentRecorded::DuplicateEvent);
            }
            if app.status != Status::AwaitingPayment {
                tx.commit().map_err(unavailable)?;
                return Ok(PaymentRecorded::AlreadyPaid);
            }
            let paid = app.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
            save_application(&tx, &paid, app.status)?;
            if let Some(pi) = &event.payment_intent {
                tx.execute(
                    "INSERT INTO payment_intents (payment_intent, application_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![pi, paid.id],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(PaymentRecorded::Paid(Box::new(paid)))
        })
        .await
    }

    async fn record_event(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (event_id, application_id, kind) = (
            event_id.to_owned(),
            application_id.to_owned(),
            kind.to_owned(),
        );
        self.with(move |c| {
            let inserted = c
                .execute(
                    "INSERT INTO payment_events (event_id, application_id, kind, recorded_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                    params![event_id, application_id, kind, at.to_rfc3339()],
                )
                .map_err(unavailable)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn application_paid_by(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError> {
        let payment_intent = payment_intent.to_owned();
        self.with(move |c| {
            c.query_row(
                "SELECT application_id FROM payment_intents WHERE payment_intent = ?1",
                params![payment_intent],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn flag_for_review(
        &self,
        event_id: &str,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (event_id, application_id) = (event_id.to_owned(), application_id.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let mut app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            let inserted = tx
                .execute(
                    "INSERT INTO payment_events (event_id, application_id, kind, recorded_at) VALUES (?1, ?2, 'dispute', ?3)
                     ON CONFLICT DO NOTHING",
                    params![event_id, application_id, at.to_rfc3339()],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Ok(false);
            }
            let status = app.status;
            app.flag_for_review(at);
            save_application(&tx, &app, status)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl Visas for SqliteStore {
    async fn issue_visa(
        &self,
        application_id: &str,
        visa: &Visa,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let (application_id, visa) = (application_id.to_owned(), visa.clone());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            // The status is checked before the number, as DynamoDB's transaction does.
            let issued = app.issue(visa.clone(), at)?;
            let inserted = tx
                .execute(
                    "INSERT INTO visas (number, application_id, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![visa.number, application_id, to_doc(&visa)],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Err(StoreError::VisaNumberTaken);
            }
            save_application(&tx, &issued, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(issued)
        })
        .await
    }

    async fn mark_emailed(
        &self,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let application_id = application_id.to_owned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let app = load_application(&tx, &application_id)?.ok_or(StoreError::NotFound)?;
            let Some(emailed) = app.mark_emailed(at)? else {
                return Ok(false);
            };
            save_application(&tx, &emailed, app.status)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn visa(&self, number: &str) -> Result<Option<VisaRecord>, StoreError> {
        let number = number.to_owned();
        self.with(move |c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT doc, application_id FROM visas WHERE number = ?1",
                    [number],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(doc, application_id)| {
                Ok(VisaRecord {
                    visa: from_doc(&doc)?,
                    application_id,
                })
            })
            .transpose()
        })
        .await
    }
}
