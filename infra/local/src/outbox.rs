//! The local notifier: each email is an `.eml` file in the data dir's
//! outbox, the message SES would send (`visa_core::mime`) with 8-bit
//! bodies, so its links can be read and followed.

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use visa_core::clock::Ids;
use visa_core::mime::BodyEncoding;
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
        // The first email of a visa is the record the issuer checks after
        // a crash; a later one (a copy the holder asked for) goes beside it.
        let mut path = file_for(&self.dir, &email.visa_number);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            path = self.dir.join(format!(
                "e-visa-{}-copy-{}.eml",
                email.visa_number,
                visa_core::clock::RandomIds.new_id()
            ));
        }
        let message = email.to_mime(&self.from, BodyEncoding::EightBit)?;
        self.write(path, message).await
    }

    /// `message-<ulid>.eml`: sorted by when it was sent.
    async fn send_text(&self, email: &TextEmail) -> Result<(), NotifyError> {
        let path = self.dir.join(format!(
            "message-{}.eml",
            visa_core::clock::RandomIds.new_id()
        ));
        let message = email.to_mime(&self.from, BodyEncoding::EightBit)?;
        self.write(path, message).await
    }
}
