//! Fault injection for load runs: a share of store and blob calls fail the
//! ways a cloud store does, injected where each adapter already passes
//! every call (`SqliteStore::with`, the blob wrapper below), so a new store
//! operation needs nothing here. A call is refused
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
use visa_core::store::{BlobError, Blobs, Store, Stored};

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
    pub(crate) async fn around<T, E>(
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

/// The store every function gets: `inner` itself, its calls failing as
/// `faults` says (the embedded store injects them at its one choke point).
pub fn store(inner: crate::sqlite::SqliteStore, faults: Option<Faults>) -> Arc<dyn Store> {
    Arc::new(inner.with_faults(faults))
}

/// The blob port render-visa gets: `inner` itself, or wrapped in faults.
pub fn blobs<B: Blobs + 'static>(inner: B, faults: Option<Faults>) -> Arc<dyn Blobs> {
    match faults {
        Some(faults) => Arc::new(FaultyBlobs { inner, faults }),
        None => Arc::new(inner),
    }
}

pub struct FaultyBlobs<B> {
    inner: B,
    faults: Faults,
}

const BLOB: fn(String) -> BlobError = BlobError::Unavailable;

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
    use visa_core::store::StoreError;

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
