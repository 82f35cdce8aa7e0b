//! The confirm-invitation Lambda: applications on DynamoDB, checkout on
//! Stripe; officers' machines are authorised by API Gateway (IAM), staff
//! by its JWT authorizer on the Cognito pool, before this runs.

use std::sync::Arc;
use visa_aws::{Cloud, ConfigError, config, lambda};
use visa_confirm_invitation::{AdminAuth, Deps};
use visa_core::annex::Annexes;
use visa_core::clock::{RandomIds, SystemClock};
use visa_core::money::Fees;

async fn deps() -> Result<Deps, lambda::Error> {
    let cloud = Cloud::from_env().await;
    let store = Arc::new(cloud.store()?);
    let fees = Fees::from_env().map_err(ConfigError::Invalid)?;
    store.warm().await?;
    // The Stripe key is read at the first checkout: every other route
    // works before the operator has set it.
    let payments = Arc::new(cloud.stripe_on_first_use());
    Ok(Deps {
        invitations: store.clone(),
        applications: store.clone(),
        visas: store.clone(),
        audit: store.clone(),
        hosts: store.clone(),
        requests: store.clone(),
        arrivals: store.clone(),
        groups: store.clone(),
        sessions: store,
        emails: Arc::new(cloud.email_queue()?),
        payments,
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
        annexes: Annexes::builtin(),
        fees,
        site_origin: config::required(config::SITE_ORIGIN)?,
        admin: AdminAuth::Iam,
        staff: Arc::new(cloud.staff()?),
        checkout_lifetime: chrono::Duration::minutes(checkout_minutes()?),
    })
}

/// `CHECKOUT_MINUTES`, within what Stripe takes (30 to 1440).
fn checkout_minutes() -> Result<i64, ConfigError> {
    match std::env::var("CHECKOUT_MINUTES") {
        Err(_) => Ok(visa_confirm_invitation::DEFAULT_CHECKOUT_MINUTES),
        Ok(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|m| (30..=1440).contains(m))
            .ok_or_else(|| ConfigError::Invalid(format!("CHECKOUT_MINUTES={raw}: 30 to 1440"))),
    }
}

// A Lambda instance handles one event at a time: one thread runs it, and
// no worker pool is started at each cold start (CPU work goes to
// spawn_blocking).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda::Error> {
    lambda::serve(deps()).await
}
