//! The local stand-in for the email queue: each request is delivered on a
//! task of its own by render-visa's own code, so the HTTP answer never
//! waits for it (as in the cloud, where it waits in SQS). Issued visas are
//! emailed by the issuer.

use async_trait::async_trait;
use std::sync::Weak;
use visa_core::notify::{EmailQueue, EmailRequest, NotifyError};

pub struct LocalMail {
    pub render: Weak<visa_render_visa::Deps>,
}

#[async_trait]
impl EmailQueue for LocalMail {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError> {
        let Some(render) = self.render.upgrade() else {
            return Err(NotifyError::Unavailable("shutting down".into()));
        };
        let request = request.clone();
        // Retried like SQS redelivers (the injected faults fail some
        // tries); a crash loses what was in flight, as a lost email would.
        tokio::spawn(async move {
            for attempt in 0..6u32 {
                match visa_render_visa::mail::deliver(&render, &request).await {
                    Ok(outcome) => {
                        tracing::info!(%outcome, "email request handled");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(attempt, error = %e, ?request, "email request failed")
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
            tracing::error!(?request, "email request given up");
        });
        Ok(())
    }
}
