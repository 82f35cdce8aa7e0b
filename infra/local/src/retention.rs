//! The retention sweep: what DynamoDB's TTL and the stream's PDF deletion
//! do in the cloud, done here at start, hourly, and on demand
//! (`visa-local sweep [--at <instant>]`).

use crate::blobs::FolderBlobs;
use crate::gateway::Gateway;
use crate::sqlite::{SqliteStore, Swept};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use visa_core::retention::Retention;
use visa_core::store::Applications;

const EVERY: Duration = Duration::from_secs(3600);

/// Erases what is due at `now`, then every visa PDF whose application is
/// gone: the erased ones, and any a crashed sweep left behind.
pub async fn sweep(
    store: &SqliteStore,
    blobs: &FolderBlobs,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<Swept, String> {
    let swept = store
        .sweep(retention, now)
        .await
        .map_err(|e| format!("sweeping the store: {e}"))?;
    for application_id in blobs
        .application_folders()
        .await
        .map_err(|e| format!("listing visa PDFs: {e}"))?
    {
        let kept = store
            .application(&application_id)
            .await
            .map_err(|e| format!("reading application {application_id}: {e}"))?
            .is_some();
        if !kept {
            blobs
                .erase_application(&application_id)
                .await
                .map_err(|e| format!("deleting the PDFs of {application_id}: {e}"))?;
        }
    }
    Ok(swept)
}

pub fn summary(swept: &Swept, now: DateTime<Utc>) -> String {
    format!(
        "retention sweep at {}: {} applications erased ({} visas with their PDFs), {} invitations, {} hosts' requests and arrivals, {} expired records",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        swept.applications.len(),
        swept.visas.len(),
        swept.invitations,
        swept.host_records,
        swept.expired
    )
}

/// Sweeps now and every hour on the gateway's clock; a failed sweep is
/// logged and tried again at the next.
pub fn spawn(gw: Arc<Gateway>) {
    tokio::spawn(async move {
        loop {
            let now = gw.clock.now();
            match sweep(&gw.store, &gw.blobs, gw.config.retention, now).await {
                Ok(swept) if swept == Swept::default() => {}
                Ok(swept) => tracing::info!("{}", summary(&swept, now)),
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
