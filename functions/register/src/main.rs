//! The register Lambda: accounts and sessions on DynamoDB.

use std::sync::Arc;
use visa_aws::{Cloud, lambda};
use visa_core::clock::{RandomIds, SystemClock};
use visa_register::Deps;

async fn deps() -> Result<Deps, lambda::Error> {
    let cloud = Cloud::from_env().await;
    let store = Arc::new(cloud.store()?);
    store.warm().await?;
    Ok(Deps {
        accounts: store.clone(),
        applications: store.clone(),
        hosts: store.clone(),
        sessions: store,
        emails: Arc::new(cloud.email_queue()?),
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
    })
}

// A Lambda instance handles one event at a time: one thread runs it, and
// no worker pool is started at each cold start (CPU work goes to
// spawn_blocking).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::serve(deps()).await
}
