//! The render-visa Lambda: HTTP API requests (download link, verification,
//! JWKS) and DynamoDB Streams batches of applications that became `paid`
//! (the template's filter), each issued and emailed.

use std::sync::Arc;
use visa_aws::{Cloud, config, lambda};
use visa_core::annex::Annexes;
use visa_core::clock::SystemClock;
use visa_pdf::Renderer;
use visa_render_visa::{Deps, issue};

async fn deps() -> Result<Deps, lambda::Error> {
    // Fonts parsed and the FontBook built once per cold start, on another
    // thread while the DynamoDB connection opens (a TLS handshake in AWS).
    let renderer = tokio::task::spawn_blocking(Renderer::new);
    let cloud = Cloud::from_env().await;
    let store = Arc::new(cloud.store()?);
    store.warm().await?;
    Ok(Deps {
        applications: store.clone(),
        visas: store.clone(),
        accounts: store.clone(),
        sessions: store,
        blobs: Arc::new(cloud.blobs()?),
        signer: Arc::new(cloud.signer()?),
        notifier: Arc::new(cloud.notifier()?),
        renderer: Arc::new(renderer.await?),
        clock: Arc::new(SystemClock),
        annexes: Annexes::builtin(),
        site_origin: config::required(config::SITE_ORIGIN)?,
    })
}

/// The part of a stream record's NewImage this function needs.
#[derive(serde::Deserialize)]
struct Changed {
    id: String,
}

/// Issues the visa, then emails it unless that was recorded already (a
/// stream delivers at least once). An email that fails fails the record,
/// so the stream retries it: issuing again is a no-op, and the email goes
/// out until one is recorded (issuance itself is never undone).
async fn on_paid(deps: &Deps, changed: Changed) -> Result<(), String> {
    let app = issue::issue(deps, &changed.id)
        .await
        .map_err(|e| format!("issuing {}: {e}", changed.id))?;
    if app.emailed_at.is_some() {
        tracing::info!(application_id = %app.id, "visa already emailed");
        return Ok(());
    }
    issue::email(deps, &app)
        .await
        .map_err(|e| format!("emailing {}: {e}", changed.id))?;
    // A failure here only risks one more email on a redelivery.
    if let Err(e) = deps.visas.mark_emailed(&app.id, deps.clock.now()).await {
        tracing::warn!(application_id = %app.id, error = %e, "could not record the email");
    }
    Ok(())
}

// A Lambda instance handles one event at a time: one thread runs it, and
// no worker pool is started at each cold start (CPU work goes to
// spawn_blocking).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let deps = Arc::new(lambda::started(deps().await)?);
    let http_deps = deps.clone();
    lambda::run_http_and_stream(
        move |req| {
            let deps = http_deps.clone();
            async move { visa_render_visa::handle(&deps, req).await }
        },
        move |changed: Changed| {
            let deps = deps.clone();
            async move { on_paid(&deps, changed).await }
        },
    )
    .await
}
