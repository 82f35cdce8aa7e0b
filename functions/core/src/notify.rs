//! The notifier port: the issued e-visa by email (the seed's portal also
//! emails it). `.eml` files locally, Amazon SES in the cloud.

use crate::mime::{Attachment, BodyEncoding, Message};
use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisaEmail {
    /// The visa the email carries (one email per visa).
    pub visa_number: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachment_name: String,
    pub pdf: Vec<u8>,
}

/// An email without attachment (a password reset or confirmation link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl VisaEmail {
    pub fn to_mime(&self, from: &str, encoding: BodyEncoding) -> Result<String, NotifyError> {
        Message {
            from,
            to: &self.to,
            subject: &self.subject,
            text: &self.text,
            html: &self.html,
            attachment: Some(Attachment {
                name: &self.attachment_name,
                content_type: "application/pdf",
                bytes: &self.pdf,
            }),
        }
        .to_mime(encoding)
        .map_err(|e| NotifyError::Unavailable(e.to_string()))
    }
}

impl TextEmail {
    pub fn to_mime(&self, from: &str, encoding: BodyEncoding) -> Result<String, NotifyError> {
        Message {
            from,
            to: &self.to,
            subject: &self.subject,
            text: &self.text,
            html: &self.html,
            attachment: None,
        }
        .to_mime(encoding)
        .map_err(|e| NotifyError::Unavailable(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("mail unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send_visa(&self, email: &VisaEmail) -> Result<(), NotifyError>;
    async fn send_text(&self, email: &TextEmail) -> Result<(), NotifyError>;
}

/// Issued visas waiting to be emailed. Issuance only enqueues: the email
/// has retries and a dead end of its own, so a mail outage never holds up
/// or fails issuance (an SQS queue in the cloud).
#[async_trait]
pub trait EmailQueue: Send + Sync {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError>;
}

/// A message of the email queue.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmailRequest {
    /// An application's issued visa, with the PDF.
    Visa { application_id: String },
    /// A password reset link for the account of `email`, if there is one:
    /// the sign-in page queues it either way, so its answer and its timing
    /// say nothing of whether the account exists.
    PasswordReset { email: String, lang: String },
    /// A fresh link confirming the address of the account (at sign-up, and
    /// whenever its owner asks again).
    EmailVerification { account_id: String, lang: String },
    /// The account's address was just confirmed: its issued visas that
    /// were held back meanwhile go out now.
    AddressVerified { account_id: String },
    /// A copy of an issued visa for its holder, who asked for it again
    /// without signing in (to the confirmed address only, a few a day).
    VisaCopy { application_id: String },
    /// The migration service changed an issued visa (cancelled, restored,
    /// shortened): its holder is told what it now is. `revision` is the
    /// change's; a later change's own message supersedes it.
    VisaChanged {
        application_id: String,
        revision: u32,
    },
    /// An officer approved a host's invitation request: the foreigner is
    /// sent the invitation's number and a link to apply with it.
    InvitationIssued { request_id: String },
    /// An officer approved or refused an inviting party: its account is
    /// told which, and why for a refusal.
    HostDecided { host_id: String },
    /// The day's sweep of arrival notices: every host whose notice
    /// reached its reminder day unfiled is reminded, once (queued by a
    /// schedule, not by a request).
    ArrivalReminders,
}
