//! The local notifier: each email is an `.eml` file in the data dir's
//! outbox, a real MIME message with the PDF attached.

use async_trait::async_trait;
use base64::Engine;
use std::path::{Path, PathBuf};
use visa_core::clock::Ids;
use visa_core::notify::{Notifier, NotifyError, TextEmail, VisaEmail};

pub struct Outbox {
    pub dir: PathBuf,
    pub from: String,
}

/// The outbox of a data dir.
pub fn dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

/// Where the email of visa `number` is written.
pub fn file_for(dir: &Path, visa_number: &str) -> PathBuf {
    dir.join(format!("e-visa-{visa_number}.eml"))
}

pub fn mime(from: &str, email: &VisaEmail) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(&email.pdf);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64"))
        .collect();
    let boundary = "=_visa_boundary_7f3a";
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n\
         --{boundary}--\r\n",
        to = email.to,
        subject = email.subject,
        text = email.text,
        name = email.attachment_name,
        pdf = wrapped.join("\r\n"),
    )
}

/// A plain-text email (a password reset link), as it would be sent.
pub fn text_mime(from: &str, email: &TextEmail) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n",
        to = email.to,
        subject = email.subject,
        text = email.text,
    )
}

impl Outbox {
    /// Written aside, then renamed: an email is in the outbox whole or not
    /// at all, so the issuer can tell after a crash what was sent.
    async fn write(&self, path: PathBuf, message: String) -> Result<(), NotifyError> {
        let fail = |e: std::io::Error| NotifyError::Unavailable(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(fail)?;
        let partial = path.with_extension("eml.partial");
        tokio::fs::write(&partial, message).await.map_err(fail)?;
        tokio::fs::rename(&partial, &path).await.map_err(fail)
    }
}

#[async_trait]
impl Notifier for Outbox {
    async fn send_visa(&self, email: &VisaEmail) -> Result<(), NotifyError> {
        let path = file_for(&self.dir, &email.visa_number);
        self.write(path, mime(&self.from, email)).await
    }

    /// `message-<ulid>.eml`: sorted by when it was sent.
    async fn send_text(&self, email: &TextEmail) -> Result<(), NotifyError> {
        let path = self.dir.join(format!(
            "message-{}.eml",
            visa_core::clock::RandomIds.new_id()
        ));
        self.write(path, text_mime(&self.from, email)).await
    }
}
