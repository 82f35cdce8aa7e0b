//! The pay-webhook Lambda: verified payment events recorded on DynamoDB.

use std::sync::Arc;
use visa_aws::{Cloud, lambda};
use visa_core::clock::SystemClock;
use visa_pay_webhook::Deps;

async fn deps() -> Result<Deps, lambda::Error> {
    let cloud = Cloud::from_env().await;
    let store = Arc::new(cloud.store()?);
    // Two round trips (two TLS handshakes in AWS), made at once.
    let (secrets, warmed) = tokio::join!(cloud.webhook_secrets(), store.warm());
    let secrets = secrets?;
    warmed?;
    Ok(Deps {
        applications: store.clone(),
        groups: store.clone(),
        payments: store,
        // Read at the first refund only: most deliveries never need it.
        provider: Arc::new(cloud.stripe_on_first_use()),
        clock: Arc::new(SystemClock),
        secrets,
        // The table stream starts render-visa once the status is `paid`.
        on_paid: Box::new(|_| {}),
    })
}

// A Lambda instance handles one event at a time: one thread runs it, and
// no worker pool is started at each cold start (CPU work goes to
// spawn_blocking).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::serve(deps()).await
}
