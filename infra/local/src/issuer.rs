//! The local stand-in for the table stream: issues every paid application
//! (woken by the webhook, and swept at start and every few seconds so a
//! crash or a failed render is picked up again), then emails the visa; at
//! start it also emails every issued visa the outbox lacks.

use crate::gateway::Gateway;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub fn spawn(gw: Arc<Gateway>, mut wake: mpsc::UnboundedReceiver<String>) {
    tokio::spawn(async move {
        // A crash between issuing and emailing (or ten failed tries) left
        // visas without their email: the table stream retries that in the
        // cloud; here the outbox itself says what went out.
        resend_unsent(&gw).await;
        // Failed runs, tried again on the next sweep even if the failure hid
        // that the visa was issued (a lost reply): it still needs its email.
        let mut failed = std::collections::BTreeSet::new();
        loop {
            let mut ids = match gw.store.paid_application_ids().await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::error!(error = %e, "cannot list paid applications");
                    Vec::new()
                }
            };
            ids.retain(|id| !failed.contains(id));
            ids.extend(std::mem::take(&mut failed));
            for id in ids {
                if !issue_one(&gw, &id).await {
                    failed.insert(id);
                }
            }
            // Sleep until woken, or sweep again after a while. A woken id is
            // picked up by the sweep: issuing it here as well could email twice.
            let wait = if failed.is_empty() { 5 } else { 1 };
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(wait), wake.recv()).await
            {
                while wake.try_recv().is_ok() {}
            }
        }
    });
}

/// Emails every issued visa that has no email in the outbox.
async fn resend_unsent(gw: &Arc<Gateway>) {
    let issued = match gw.store.issued_visas().await {
        Ok(issued) => issued,
        Err(e) => {
            tracing::error!(error = %e, "cannot list issued visas to check their emails");
            return;
        }
    };
    let outbox = crate::outbox::dir_in(&gw.config.data_dir);
    let (checked, mut resent) = (issued.len(), 0);
    for (id, number) in issued {
        if crate::outbox::file_for(&outbox, &number).exists() {
            continue;
        }
        match gw.render.applications.application(&id).await {
            Ok(Some(app)) => {
                tracing::warn!(application_id = %id, visa = %number, "issued visa was never emailed: sending");
                email_in_background(gw, app);
                resent += 1;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(application_id = %id, error = %e, "cannot load an issued application")
            }
        }
    }
    tracing::info!(checked, resent, "issued visas' emails checked");
}

/// Emails the visa, retrying in the background: it never blocks or undoes
/// issuance.
fn email_in_background(gw: &Arc<Gateway>, app: visa_core::application::Application) {
    let gw = gw.clone();
    tokio::spawn(async move {
        for attempt in 0..10u32 {
            match visa_render_visa::issue::email_once(&gw.render, &app.id).await {
                Ok(outcome) => {
                    tracing::info!(application_id = %app.id, ?outcome, "visa email");
                    return;
                }
                Err(e) => {
                    tracing::warn!(application_id = %app.id, attempt, error = %e, "visa email failed")
                }
            }
            tokio::time::sleep(Duration::from_secs(2u64.pow(attempt).min(30))).await;
        }
    });
}

/// Issues and emails one application; false if it should be tried again.
async fn issue_one(gw: &Arc<Gateway>, id: &str) -> bool {
    match visa_render_visa::issue::issue(&gw.render, id).await {
        Ok(app) => email_in_background(gw, app),
        Err(visa_render_visa::issue::IssueError::NotPaid(_)) => {}
        Err(e) => {
            tracing::error!(application_id = %id, error = %e, "issuing failed; will retry");
            return false;
        }
    }
    true
}
