//! The local stand-in for the table stream: issues every paid application
//! (woken by the webhook, and swept at start and every few seconds so a
//! crash or a failed render is picked up again), then emails the visa.

use crate::gateway::Gateway;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub fn spawn(gw: Arc<Gateway>, mut wake: mpsc::UnboundedReceiver<String>) {
    tokio::spawn(async move {
        loop {
            let ids = match gw.store.paid_application_ids().await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::error!(error = %e, "cannot list paid applications");
                    Vec::new()
                }
            };
            for id in ids {
                issue_one(&gw, &id).await;
            }
            // Sleep until woken, or sweep again after a while.
            if let Ok(Some(id)) = tokio::time::timeout(Duration::from_secs(5), wake.recv()).await {
                issue_one(&gw, &id).await;
            }
        }
    });
}

async fn issue_one(gw: &Arc<Gateway>, id: &str) {
    match visa_render_visa::issue::issue(&gw.render, id).await {
        Ok(app) => {
            let gw = gw.clone();
            // Email retried in the background: it never blocks or undoes issuance.
            tokio::spawn(async move {
                for attempt in 0..5u32 {
                    match visa_render_visa::issue::email(&gw.render, &app).await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::warn!(application_id = %app.id, attempt, error = %e, "visa email failed")
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
                }
            });
        }
        Err(visa_render_visa::issue::IssueError::NotPaid(_)) => {}
        Err(e) => tracing::error!(application_id = %id, error = %e, "issuing failed; will retry"),
    }
}
