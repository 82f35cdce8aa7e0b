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
        sessions: store,
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
    })
}

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    lambda::init_tracing();
    let deps = Arc::new(lambda::started(deps().await)?);
    lambda::run_http(move |req| {
        let deps = deps.clone();
        async move { visa_register::handle(&deps, req).await }
    })
    .await
}
