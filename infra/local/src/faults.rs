//! Fault injection for load runs: wraps the store and blob ports and makes
//! a share of calls fail the ways a cloud store does. A call is refused
//! before it is made, made but its reply lost (the write landed, the
//! caller sees an error: what retries must be idempotent against), or
//! held past a timeout and then refused. Every fault is a transient
//! `Unavailable`, so the handlers answer 503 and the issuer retries.
//!
//! Off unless `VISA_FAULTS` is set, e.g. `VISA_FAULTS=0.1` (one call in
//! ten); `VISA_FAULTS_TIMEOUT_MS` (default 100) is how long a timed-out
//! call hangs first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use visa_core::account::{Account, EmailVerification, PasswordReset, Session};
use visa_core::application::{Application, Payment, Visa};
use visa_core::invitation::Invitation;
use visa_core::store::{
    Accounts, Applications, BlobError, Blobs, Invitations, PaymentEvent, PaymentRecorded, Payments,
    Sessions, Store, StoreError, Stored, VisaRecord, Visas,
};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Faults {
    /// Share of calls that fail, 0 to 1.
    pub share: f64,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FaultsError(String);

enum Fault {
    Refused,
    LostReply,
    TimedOut,
}

impl Faults {
    /// `None` when `VISA_FAULTS` is unset, empty or 0.
    pub fn from_env() -> Result<Option<Faults>, FaultsError> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(share) = var("VISA_FAULTS") else {
            return Ok(None);
        };
        let share: f64 = share
            .trim()
            .parse()
            .ok()
            .filter(|s| (0.0..=1.0).contains(s))
            .ok_or_else(|| FaultsError(format!("VISA_FAULTS={share}: a share from 0 to 1")))?;
        let timeout_ms: u64 = match var("VISA_FAULTS_TIMEOUT_MS") {
            Some(ms) => ms
                .trim()
                .parse()
                .map_err(|_| FaultsError(format!("VISA_FAULTS_TIMEOUT_MS={ms}: milliseconds")))?,
            None => 100,
        };
        Ok((share > 0.0).then_some(Faults {
            share,
            timeout: Duration::from_millis(timeout_ms),
        }))
    }

    fn draw(&self) -> Option<Fault> {
        if rand::random::<f64>() >= self.share {
            return None;
        }
        Some(match rand::random::<u8>() % 3 {
            0 => Fault::Refused,
            1 => Fault::LostReply,
            _ => Fault::TimedOut,
        })
    }

    /// Runs `call`, or fails it the way the draw says.
    async fn around<T, E>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, E>>,
        unavailable: fn(String) -> E,
    ) -> Result<T, E> {
        match self.draw() {
            None => call.await,
            Some(Fault::Refused) => Err(unavailable(format!("injected fault: {op} refused"))),
            Some(Fault::LostReply) => {
                // Made, then the reply dropped on purpose: the caller cannot tell.
                let applied = call.await.is_ok();
                Err(unavailable(format!(
                    "injected fault: {op} reply lost (applied: {applied})"
                )))
            }
            Some(Fault::TimedOut) => {
                tokio::time::sleep(self.timeout).await;
                Err(unavailable(format!(
                    "injected fault: {op} timed out after {} ms",
                    self.timeout.as_millis()
                )))
            }
        }
    }
}

/// The store every function gets: `inner` itself, or wrapped in faults.
pub fn store<S: Store + 'static>(inner: S, faults: Option<Faults>) -> Arc<dyn Store> {
    match faults {
        Some(faults) => Arc::new(FaultyStore { inner, faults }),
        None => Arc::new(inner),
    }
}

/// The blob port render-visa gets: `inner` itself, or wrapped in faults.
pub fn blobs<B: Blobs + 'static>(inner: B, faults: Option<Faults>) -> Arc<dyn Blobs> {
    match faults {
        Some(faults) => Arc::new(FaultyBlobs { inner, faults }),
        None => Arc::new(inner),
    }
}

pub struct FaultyStore<S> {
    inner: S,
    faults: Faults,
}

pub struct FaultyBlobs<B> {
    inner: B,
    faults: Faults,
}

const STORE: fn(String) -> StoreError = StoreError::Unavailable;
const BLOB: fn(String) -> BlobError = BlobError::Unavailable;

#[async_trait]
impl<S: Store> Accounts for FaultyStore<S> {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let call = self.inner.create_account(account);
        self.faults.around("create_account", call, STORE).await
    }
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let call = self.inner.account_by_email(email);
        self.faults.around("account_by_email", call, STORE).await
    }
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let call = self.inner.account(id);
        self.faults.around("account", call, STORE).await
    }
    async fn create_reset(&self, reset: &PasswordReset) -> Result<(), StoreError> {
        let call = self.inner.create_reset(reset);
        self.faults.around("create_reset", call, STORE).await
    }
    async fn reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PasswordReset>, StoreError> {
        let call = self.inner.reset(token_hash, now);
        self.faults.around("reset", call, STORE).await
    }
    async fn redeem_reset(
        &self,
        reset: &PasswordReset,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let call = self.inner.redeem_reset(reset, password_hash, now);
        self.faults.around("redeem_reset", call, STORE).await
    }
    async fn erase_account(
        &self,
        account: &Account,
        applications: &[(String, visa_core::Status)],
    ) -> Result<(), StoreError> {
        let call = self.inner.erase_account(account, applications);
        self.faults.around("erase_account", call, STORE).await
    }
    async fn create_verification(&self, v: &EmailVerification) -> Result<(), StoreError> {
        let call = self.inner.create_verification(v);
        self.faults.around("create_verification", call, STORE).await
    }
    async fn verification(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EmailVerification>, StoreError> {
        let call = self.inner.verification(token_hash, now);
        self.faults.around("verification", call, STORE).await
    }
    async fn redeem_verification(
        &self,
        v: &EmailVerification,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let call = self.inner.redeem_verification(v, now);
        self.faults.around("redeem_verification", call, STORE).await
    }
}

#[async_trait]
impl<S: Store> Sessions for FaultyStore<S> {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let call = self.inner.create_session(session);
        self.faults.around("create_session", call, STORE).await
    }
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let call = self.inner.session(token_hash, now);
        self.faults.around("session", call, STORE).await
    }
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let call = self.inner.delete_session(token_hash);
        self.faults.around("delete_session", call, STORE).await
    }
    async fn end_sessions_of(&self, account_id: &str) -> Result<u32, StoreError> {
        let call = self.inner.end_sessions_of(account_id);
        self.faults.around("end_sessions_of", call, STORE).await
    }
    async fn failed_sign_ins(&self, email: &str, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let call = self.inner.failed_sign_ins(email, now);
        self.faults.around("failed_sign_ins", call, STORE).await
    }
    async fn forgive_failed_sign_in(&self, email: &str) -> Result<(), StoreError> {
        let call = self.inner.forgive_failed_sign_in(email);
        self.faults
            .around("forgive_failed_sign_in", call, STORE)
            .await
    }
    async fn record_failed_sign_in(
        &self,
        email: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError> {
        let call = self.inner.record_failed_sign_in(email, now, window);
        self.faults
            .around("record_failed_sign_in", call, STORE)
            .await
    }
}

#[async_trait]
impl<S: Store> Invitations for FaultyStore<S> {
    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        let call = self.inner.create_invitation(invitation);
        self.faults.around("create_invitation", call, STORE).await
    }
    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError> {
        let call = self.inner.invitation(number);
        self.faults.around("invitation", call, STORE).await
    }
    async fn revoke_invitation(&self, number: &str, by: &str) -> Result<Invitation, StoreError> {
        let call = self.inner.revoke_invitation(number, by);
        self.faults.around("revoke_invitation", call, STORE).await
    }
}

#[async_trait]
impl<S: Store> Applications for FaultyStore<S> {
    async fn create_application(&self, application: &Application) -> Result<(), StoreError> {
        let call = self.inner.create_application(application);
        self.faults.around("create_application", call, STORE).await
    }
    async fn application(&self, id: &str) -> Result<Option<Application>, StoreError> {
        let call = self.inner.application(id);
        self.faults.around("application", call, STORE).await
    }
    async fn applications_of(&self, account_id: &str) -> Result<Vec<Application>, StoreError> {
        let call = self.inner.applications_of(account_id);
        self.faults.around("applications_of", call, STORE).await
    }
    async fn open_checkout(
        &self,
        id: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let call = self.inner.open_checkout(id, payment, at);
        self.faults.around("open_checkout", call, STORE).await
    }
    async fn reopen_checkout(
        &self,
        id: &str,
        expired_session: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let call = self.inner.reopen_checkout(id, expired_session, payment, at);
        self.faults.around("reopen_checkout", call, STORE).await
    }
}

#[async_trait]
impl<S: Store> Payments for FaultyStore<S> {
    async fn record_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        let call = self.inner.record_payment(event, at);
        self.faults.around("record_payment", call, STORE).await
    }
    async fn record_event(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let call = self.inner.record_event(event_id, application_id, kind, at);
        self.faults.around("record_event", call, STORE).await
    }
    async fn application_paid_by(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError> {
        let call = self.inner.application_paid_by(payment_intent);
        self.faults.around("application_paid_by", call, STORE).await
    }
    async fn flag_for_review(
        &self,
        event_id: &str,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let call = self.inner.flag_for_review(event_id, application_id, at);
        self.faults.around("flag_for_review", call, STORE).await
    }
}

#[async_trait]
impl<S: Store> Visas for FaultyStore<S> {
    async fn issue_visa(
        &self,
        application_id: &str,
        visa: &Visa,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let call = self.inner.issue_visa(application_id, visa, at);
        self.faults.around("issue_visa", call, STORE).await
    }
    async fn visa(&self, number: &str) -> Result<Option<VisaRecord>, StoreError> {
        let call = self.inner.visa(number);
        self.faults.around("visa", call, STORE).await
    }
    async fn mark_emailed(
        &self,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let call = self.inner.mark_emailed(application_id, at);
        self.faults.around("mark_emailed", call, STORE).await
    }
}

#[async_trait]
impl<B: Blobs> Blobs for FaultyBlobs<B> {
    async fn put_new(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Stored, BlobError> {
        let call = self.inner.put_new(key, bytes, content_type);
        self.faults.around("blob put", call, BLOB).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let call = self.inner.get(key);
        self.faults.around("blob get", call, BLOB).await
    }
    async fn link(&self, key: &str, expires_at: DateTime<Utc>) -> Result<String, BlobError> {
        let call = self.inner.link(key, expires_at);
        self.faults.around("blob link", call, BLOB).await
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let call = self.inner.delete(key);
        self.faults.around("blob delete", call, BLOB).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteStore;

    #[tokio::test]
    async fn every_fault_is_a_transient_unavailable_and_none_when_off() {
        let dir = tempfile::tempdir().unwrap();
        let inner = SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
        let always = Faults {
            share: 1.0,
            timeout: Duration::from_millis(1),
        };
        let faulty = store(inner.clone(), Some(always));
        for _ in 0..30 {
            match faulty.invitation("250000000001").await {
                Err(StoreError::Unavailable(m)) => assert!(m.contains("injected fault"), "{m}"),
                other => panic!("expected an injected fault, got {other:?}"),
            }
        }
        let plain = store(inner, None);
        assert!(plain.invitation("250000000001").await.unwrap().is_none());
        let never = Faults {
            share: 0.0,
            timeout: Duration::from_millis(1),
        };
        assert!(never.draw().is_none());
    }
}
