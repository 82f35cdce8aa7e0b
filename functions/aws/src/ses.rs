//! The issued e-visa by email through Amazon SES (v2 SendEmail, raw MIME
//! so the PDF travels as an attachment).

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use visa_core::notify::{Notifier, NotifyError, TextEmail, VisaEmail};

pub struct SesNotifier {
    client: Client,
    from: String,
}

impl SesNotifier {
    /// `from` must be an identity SES has verified.
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        SesNotifier {
            client,
            from: from.into(),
        }
    }
}

/// Base64 wrapped at 76 characters (RFC 2045).
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// A header value that cannot start another header.
fn header_safe(value: &str) -> Result<&str, NotifyError> {
    if value.contains(['\r', '\n']) {
        Err(NotifyError::Unavailable(format!(
            "line break in a mail header: {value:?}"
        )))
    } else {
        Ok(value)
    }
}

/// The message as RFC 5322 + MIME: text part and the PDF attached.
pub fn mime_message(from: &str, email: &VisaEmail) -> Result<Vec<u8>, NotifyError> {
    // Base64 never contains '_', so this boundary cannot occur in a part.
    const BOUNDARY: &str = "=_visa_part_=";
    let filename: String = email
        .attachment_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let subject = format!("=?UTF-8?B?{}?=", STANDARD.encode(email.subject.as_bytes()));
    let message = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\r\n\
         --{BOUNDARY}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}\
         --{BOUNDARY}\r\nContent-Type: application/pdf; name=\"{filename}\"\r\n\
         Content-Disposition: attachment; filename=\"{filename}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\
         --{BOUNDARY}--\r\n",
        from = header_safe(from)?,
        to = header_safe(&email.to)?,
        text = base64_lines(email.text.as_bytes()),
        pdf = base64_lines(&email.pdf),
    );
    Ok(message.into_bytes())
}

/// A plain-text message (RFC 5322, one UTF-8 part).
pub fn text_message(from: &str, email: &TextEmail) -> Result<Vec<u8>, NotifyError> {
    let subject = format!("=?UTF-8?B?{}?=", STANDARD.encode(email.subject.as_bytes()));
    let message = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}",
        from = header_safe(from)?,
        to = header_safe(&email.to)?,
        text = base64_lines(email.text.as_bytes()),
    );
    Ok(message.into_bytes())
}

impl SesNotifier {
    async fn send_raw(&self, to: &str, message: Vec<u8>) -> Result<(), NotifyError> {
        let raw = RawMessage::builder()
            .data(Blob::new(message))
            .build()
            .map_err(|e| NotifyError::Unavailable(e.to_string()))?;
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
        self.send_raw(&email.to, mime_message(&self.from, email)?)
            .await
    }

    async fn send_text(&self, email: &TextEmail) -> Result<(), NotifyError> {
        self.send_raw(&email.to, text_message(&self.from, email)?)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> VisaEmail {
        VisaEmail {
            visa_number: "K1234567".into(),
            to: "priya@example.com".into(),
            subject: "Your e-visa / Ваша виза".into(),
            text: "Attached.".into(),
            attachment_name: "e-visa K1234567.pdf".into(),
            pdf: b"%PDF-1.7 fake".to_vec(),
        }
    }

    #[test]
    fn the_pdf_is_attached_and_headers_cannot_be_injected() {
        let raw =
            String::from_utf8(mime_message("visa@example.gov.kz", &email()).unwrap()).unwrap();
        assert!(raw.contains("To: priya@example.com\r\n"));
        assert!(raw.contains(&format!(
            "Subject: =?UTF-8?B?{}?=\r\n",
            STANDARD.encode("Your e-visa / Ваша виза")
        )));
        assert!(raw.contains("filename=\"e-visa_K1234567.pdf\""));
        assert!(raw.contains(&STANDARD.encode(b"%PDF-1.7 fake")));
        assert!(raw.ends_with("--=_visa_part_=--\r\n"));

        let mut evil = email();
        evil.to = "a@example.com\r\nBcc: everyone@example.com".into();
        assert!(mime_message("visa@example.gov.kz", &evil).is_err());
    }

    #[test]
    fn text_messages_carry_utf8_and_refuse_header_injection() {
        let email = TextEmail {
            to: "priya@example.com".into(),
            subject: "Сброс пароля".into(),
            text: "Ссылка: https://visa.example/reset-password#abc".into(),
        };
        let raw = String::from_utf8(text_message("visa@example.gov.kz", &email).unwrap()).unwrap();
        assert!(raw.contains("To: priya@example.com\r\n"));
        assert!(raw.contains("Content-Type: text/plain; charset=UTF-8\r\n"));
        assert!(raw.contains(&STANDARD.encode(email.text.as_bytes())[..60]));
        let evil = TextEmail {
            to: "a@example.com\nBcc: x@example.com".into(),
            ..email
        };
        assert!(text_message("visa@example.gov.kz", &evil).is_err());
    }
}
