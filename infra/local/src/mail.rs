//! The local stand-in for the email queue: a reset request is handled on a
//! task of its own, so the HTTP answer never waits for it (as in the
//! cloud, where it waits in SQS). Issued visas are emailed by the issuer.

use async_trait::async_trait;
use std::sync::Arc;
use visa_core::clock::Clock;
use visa_core::notify::{EmailQueue, EmailRequest, Notifier, NotifyError};
use visa_core::store::Accounts;

pub struct LocalMail {
    pub accounts: Arc<dyn Accounts>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
    pub site_origin: String,
}

#[async_trait]
impl EmailQueue for LocalMail {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError> {
        let EmailRequest::PasswordReset { email, lang } = request.clone() else {
            return Ok(());
        };
        let (accounts, notifier) = (self.accounts.clone(), self.notifier.clone());
        let (now, site) = (self.clock.now(), self.site_origin.clone());
        tokio::spawn(async move {
            let sent = visa_render_visa::mail::send_password_reset(
                accounts.as_ref(),
                notifier.as_ref(),
                now,
                &site,
                &email,
                &lang,
            )
            .await;
            if let Err(e) = sent {
                tracing::error!(error = %e, "could not email a reset link");
            }
        });
        Ok(())
    }
}
