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
        tokio::spawn(async move {
            match visa_render_visa::mail::deliver(&render, &request).await {
                Ok(outcome) => tracing::info!(%outcome, "email request handled"),
                Err(e) => tracing::error!(error = %e, ?request, "email request failed"),
            }
        });
        Ok(())
    }
}
