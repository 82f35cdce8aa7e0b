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
use visa_core::audit::AuditEvent;
use visa_core::invitation::{Invitation, InvitationStatus};
use visa_core::retention::{PAYMENT_EVENT_DAYS, Retention};
use visa_core::store::{
    Accounts, Applications, AuditTrail, Invitations, PaymentEvent, PaymentRecorded, Payments,
    Sessions, StoreError, VisaRecord, Visas,
};

// One module per port; the shared helpers stay here.
mod accounts;
mod applications;
mod arrivals;
mod audit;
mod groups;
mod hosts;
mod invitation_requests;
mod invitations;
mod payments;
mod sessions;
mod staff;
mod visas;

/// What one retention sweep erased.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// The erased applications' ids.
    pub applications: Vec<String>,
    /// The erased visas as (application id, visa number): their PDFs go next.
    pub visas: Vec<(String, String)>,
    pub invitations: u64,
    /// Hosts' invitation requests and arrivals.
    pub host_records: u64,
    /// Expired sessions, links, sign-in counters, payment events and groups.
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
-- The migration service's staff on a laptop (Cognito's in the cloud).
CREATE TABLE IF NOT EXISTS staff (email TEXT PRIMARY KEY, doc TEXT NOT NULL);
-- Officers find applications by passport number or surname (visa_core::search).
CREATE TABLE IF NOT EXISTS application_search (
  term TEXT NOT NULL, created_at TEXT NOT NULL, application_id TEXT NOT NULL,
  PRIMARY KEY (term, application_id));
CREATE TABLE IF NOT EXISTS invitation_search (
  term TEXT NOT NULL, created_at TEXT NOT NULL, number TEXT NOT NULL,
  PRIMARY KEY (term, number));
CREATE TRIGGER IF NOT EXISTS invitation_search_follows AFTER DELETE ON invitations
BEGIN DELETE FROM invitation_search WHERE number = OLD.number; END;
CREATE TRIGGER IF NOT EXISTS application_search_follows AFTER DELETE ON applications
BEGIN DELETE FROM application_search WHERE application_id = OLD.id; END;
CREATE TABLE IF NOT EXISTS payment_events (event_id TEXT PRIMARY KEY, application_id TEXT NOT NULL, kind TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payment_intents (payment_intent TEXT PRIMARY KEY, application_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visas (number TEXT PRIMARY KEY, application_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_sessions (id TEXT PRIMARY KEY, application_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_checkouts (id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, payment_intent TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
-- Inviting parties: one per account and per BIN/IIN.
CREATE TABLE IF NOT EXISTS hosts (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, number TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL, created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hosts_by_status ON hosts (status, created_at);
CREATE TABLE IF NOT EXISTS invitation_requests (
  id TEXT PRIMARY KEY, host_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invitation_requests_by_host ON invitation_requests (host_id, created_at);
CREATE INDEX IF NOT EXISTS invitation_requests_by_status ON invitation_requests (status, created_at);
-- Arrival notices: open_due is the due day while no notice is filed.
CREATE TABLE IF NOT EXISTS arrivals (
  request_id TEXT PRIMARY KEY, host_id TEXT NOT NULL, entered_at TEXT NOT NULL,
  open_due TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS arrivals_by_host ON arrivals (host_id, entered_at);
CREATE INDEX IF NOT EXISTS arrivals_open ON arrivals (open_due, request_id) WHERE open_due IS NOT NULL;
-- Families and groups paying once (visa_core::group).
CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_events (id TEXT PRIMARY KEY, at INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (at, id);
-- The audit trail is append-only: the store itself refuses a change or a
-- deletion, whatever code (or person with the file) asks.
CREATE TRIGGER IF NOT EXISTS audit_events_never_change BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_never_go BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events cannot be deleted'); END;
";

/// A conditional UPDATE of the row `id` of `table` changed nothing: it
/// was changed meanwhile (`StatusConflict`), or there is none (`NotFound`).
fn missed(c: &Connection, table: &str, id: &str) -> Result<StoreError, StoreError> {
    let exists: Option<i64> = c
        .query_row(&format!("SELECT 1 FROM {table} WHERE id = ?1"), [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(unavailable)?;
    Ok(match exists {
        Some(_) => StoreError::StatusConflict,
        None => StoreError::NotFound,
    })
}

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

/// The records `sql` selects with `params` (one `doc` column).
fn records<T: DeserializeOwned>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare(sql).map_err(unavailable)?;
    let docs = stmt
        .query_map(params, |r| r.get::<_, String>(0))
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
        applications::index_unsearchable(&conn)?;
        invitations::index_unsearchable(&conn)?;
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
            let applications: Vec<Application> = records(
                &tx,
                "SELECT doc FROM applications WHERE status != 'paid'",
                [],
            )?;
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
            let invitations: Vec<Invitation> = records(&tx, "SELECT doc FROM invitations", [])?;
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
            let requests: Vec<visa_core::invitation_request::InvitationRequest> =
                records(&tx, "SELECT doc FROM invitation_requests", [])?;
            for r in requests
                .iter()
                .filter(|r| retention.invitation_request(r) <= now)
            {
                tx.execute("DELETE FROM invitation_requests WHERE id = ?1", [&r.id])
                    .map_err(unavailable)?;
                swept.host_records += 1;
            }
            let arrivals: Vec<visa_core::arrival::Arrival> =
                records(&tx, "SELECT doc FROM arrivals", [])?;
            for a in arrivals.iter().filter(|a| retention.arrival(a) <= now) {
                tx.execute(
                    "DELETE FROM arrivals WHERE request_id = ?1",
                    [&a.request_id],
                )
                .map_err(unavailable)?;
                swept.host_records += 1;
            }
            let groups: Vec<visa_core::group::Group> = records(&tx, "SELECT doc FROM groups", [])?;
            for g in groups.iter().filter(|g| retention.group(g) <= now) {
                tx.execute("DELETE FROM groups WHERE id = ?1", [&g.id])
                    .map_err(unavailable)?;
                swept.expired += 1;
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
