//! The render-visa Lambda: HTTP API requests (download link, verification,
//! JWKS), DynamoDB Streams batches of applications that became `paid` (each
//! issued and its email queued) or whose issued item was erased at the end
//! of its retention (its PDF deleted), as the template's filters pass them,
//! and the email queue's SQS batches, each visa emailed once.

use std::sync::Arc;
use visa_aws::lambda::Change;
use visa_aws::{Cloud, config, lambda};
use visa_core::annex::Annexes;
use visa_core::clock::SystemClock;
use visa_core::notify::EmailRequest;
use visa_pdf::Renderer;
use visa_render_visa::{Deps, issue, mail};

async fn deps() -> Result<Deps, lambda::Error> {
    // Fonts parsed and the FontBook built once per cold start, on another
    // thread while the DynamoDB connection opens (a TLS handshake in AWS).
    let renderer = tokio::task::spawn_blocking(Renderer::new);
    let cloud = Cloud::from_env().await;
    let store = Arc::new(cloud.store()?);
    store.warm().await?;
    let deps = Deps {
        applications: store.clone(),
        visas: store.clone(),
        accounts: store.clone(),
        sessions: store.clone(),
        blobs: Arc::new(cloud.blobs()?),
        signer: Arc::new(cloud.signer()?),
        notifier: Arc::new(cloud.notifier()?),
        emails: Arc::new(cloud.email_queue()?),
        renderer: Arc::new(renderer.await?),
        clock: Arc::new(SystemClock),
        annexes: Annexes::builtin(),
        site_origin: config::required(config::SITE_ORIGIN)?,
        admin: visa_core::auth::AdminAuth::Iam,
        requests: store.clone(),
        arrivals: store.clone(),
        hosts: store,
    };
    Ok(deps)
}

/// The part of a stream record's image this function needs.
#[derive(serde::Deserialize)]
struct Changed {
    id: String,
    #[serde(default)]
    visa: Option<VisaNumber>,
}

#[derive(serde::Deserialize)]
struct VisaNumber {
    number: String,
}

async fn on_change(deps: &Deps, change: Change<Changed>) -> Result<(), String> {
    match change {
        Change::Written(changed) => on_paid(deps, changed).await,
        Change::Erased(erased) => on_erased(deps, erased).await,
    }
}

/// An application erased when its retention ended (DynamoDB's TTL): its
/// PDF goes too. One erased unpaid has none. Deleting again is harmless,
/// so a retried record is too.
async fn on_erased(deps: &Deps, erased: Changed) -> Result<(), String> {
    let Some(visa) = erased.visa else {
        return Ok(());
    };
    deps.blobs
        .delete(&issue::pdf_key(&erased.id, &visa.number))
        .await
        .map_err(|e| format!("deleting the PDF of {}: {e}", erased.id))?;
    tracing::info!(application_id = %erased.id, "retention ended: visa PDF deleted");
    Ok(())
}

/// Issues the visa, then queues its email unless one was recorded already.
/// A record fails (and the stream retries it) only while issuing or
/// queueing fails; issuing again is a no-op. The email itself is the
/// queue's business: a mail outage never holds up the stream.
async fn on_paid(deps: &Deps, changed: Changed) -> Result<(), String> {
    let app = issue::issue(deps, &changed.id)
        .await
        .map_err(|e| format!("issuing {}: {e}", changed.id))?;
    if app.emailed_at.is_some() {
        tracing::info!(application_id = %app.id, "visa already emailed");
        return Ok(());
    }
    deps.emails
        .enqueue(&EmailRequest::Visa {
            application_id: app.id.clone(),
        })
        .await
        .map_err(|e| format!("queueing the email of {}: {e}", changed.id))
}

/// One message of the email queue: fails while the email cannot go out,
/// so SQS redelivers it after the visibility timeout and dead-letters it
/// after the redrive policy's receive count.
async fn on_email(deps: &Deps, request: EmailRequest) -> Result<(), String> {
    let outcome = mail::deliver(deps, &request).await?;
    tracing::info!(%outcome, "email request handled");
    Ok(())
}

// A Lambda instance handles one event at a time: one thread runs it, and
// no worker pool is started at each cold start (CPU work goes to
// spawn_blocking).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::serve_with_records(
        deps(),
        |deps, change: Change<Changed>| async move { on_change(&deps, change).await },
        |deps, request: EmailRequest| async move { on_email(&deps, request).await },
    )
    .await
}
