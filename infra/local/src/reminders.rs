//! The arrival reminders' schedule: what EventBridge queues daily in the
//! cloud (`{"kind":"arrival_reminders"}`), run here at start and hourly
//! through the same render-visa handler; a host is reminded once whatever
//! the hour, so running more often only brings a reminder sooner.

use crate::gateway::Gateway;
use std::sync::Arc;
use std::time::Duration;
use visa_core::notify::EmailRequest;

const EVERY: Duration = Duration::from_secs(3600);

pub fn spawn(gw: Arc<Gateway>) {
    tokio::spawn(async move {
        loop {
            match visa_render_visa::mail::deliver(&gw.render, &EmailRequest::ArrivalReminders).await
            {
                Ok(done) => tracing::debug!("{done}"),
                Err(e) => tracing::warn!(error = %e, "arrival reminders failed"),
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
