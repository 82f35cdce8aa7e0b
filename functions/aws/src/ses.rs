//! The portal's emails through Amazon SES (v2 SendEmail, raw MIME from
//! `visa_core::mime`, so the PDF travels as an attachment; bodies base64).

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use visa_core::mime::BodyEncoding;
use visa_core::notify::{Notifier, NotifyError, TextEmail, VisaEmail};

pub struct SesNotifier {
    client: Client,
    from: String,
    /// This sender's share of the account's send rate, if set.
    pace: Option<crate::pace::Pace>,
}

impl SesNotifier {
    /// `from` must be an identity SES has verified.
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        SesNotifier {
            client,
            from: from.into(),
            pace: None,
        }
    }

    /// Sends no faster than `pace` allows.
    pub fn paced(mut self, pace: Option<crate::pace::Pace>) -> Self {
        self.pace = pace;
        self
    }
}

impl SesNotifier {
    async fn send_raw(&self, to: &str, message: String) -> Result<(), NotifyError> {
        let raw = RawMessage::builder()
            .data(Blob::new(message.into_bytes()))
            .build()
            .map_err(|e| NotifyError::Unavailable(e.to_string()))?;
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| NotifyError::Unavailable(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

#[async_trait]
impl Notifier for SesNotifier {
    async fn send_visa(&self, email: &VisaEmail) -> Result<(), NotifyError> {
        let message = email.to_mime(&self.from, BodyEncoding::Base64)?;
        self.send_raw(&email.to, message).await
    }

    async fn send_text(&self, email: &TextEmail) -> Result<(), NotifyError> {
        let message = email.to_mime(&self.from, BodyEncoding::Base64)?;
        self.send_raw(&email.to, message).await
    }
}
