//! The one email builder: every message the portal sends, as RFC 5322 +
//! MIME, whoever delivers it (SES in the cloud, the local outbox). Plain
//! text and HTML as alternatives, and an optional attachment.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// How bodies travel. SES gets base64 (7-bit safe, any line length); the
/// local outbox keeps 8-bit text so a person, or a test, can read the
/// links in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    EightBit,
    Base64,
}

/// A file sent with the message.
pub struct Attachment<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// What a message says, before it is encoded.
pub struct Message<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub attachment: Option<Attachment<'a>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line break in a mail header: {0:?}")]
pub struct HeaderInjection(String);

// Base64 never contains '_' or '=' mid-line followed by '_', and our text
// never starts a line with "--=_": neither boundary can occur in a part.
const MIXED: &str = "=_visa_mixed_=";
const ALTERNATIVE: &str = "=_visa_alternative_=";

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
fn header_safe(value: &str) -> Result<&str, HeaderInjection> {
    if value.contains(['\r', '\n']) {
        Err(HeaderInjection(value.to_owned()))
    } else {
        Ok(value)
    }
}

/// A header value in UTF-8 (RFC 2047) unless it is plain ASCII.
fn encoded_word(value: &str) -> String {
    if value.is_ascii() {
        value.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(value.as_bytes()))
    }
}

/// An attachment's file name, reduced to what every mail client takes.
fn safe_filename(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One text part with its headers, CRLF line ends.
fn text_part(content_type: &str, body: &str, encoding: BodyEncoding) -> String {
    match encoding {
        BodyEncoding::Base64 => format!(
            "Content-Type: {content_type}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(body.as_bytes())
        ),
        BodyEncoding::EightBit => {
            let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
            format!(
                "Content-Type: {content_type}; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
            )
        }
    }
}

impl Message<'_> {
    /// The whole message, headers and body.
    pub fn to_mime(&self, encoding: BodyEncoding) -> Result<String, HeaderInjection> {
        let alternative = format!(
            "Content-Type: multipart/alternative; boundary=\"{ALTERNATIVE}\"\r\n\r\n\
             --{ALTERNATIVE}\r\n{}--{ALTERNATIVE}\r\n{}--{ALTERNATIVE}--\r\n",
            text_part("text/plain", self.text, encoding),
            text_part("text/html", self.html, encoding),
        );
        let body = match &self.attachment {
            None => alternative,
            Some(a) => {
                let name = safe_filename(a.name);
                format!(
                    "Content-Type: multipart/mixed; boundary=\"{MIXED}\"\r\n\r\n\
                     --{MIXED}\r\n{alternative}--{MIXED}\r\n\
                     Content-Type: {}; name=\"{name}\"\r\n\
                     Content-Disposition: attachment; filename=\"{name}\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n{}--{MIXED}--\r\n",
                    header_safe(a.content_type)?,
                    base64_lines(a.bytes),
                )
            }
        };
        Ok(format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\n{body}",
            header_safe(self.from)?,
            header_safe(self.to)?,
            encoded_word(header_safe(self.subject)?),
        ))
    }
}

/// Text for an HTML body: `&`, `<`, `>`, and quotes escaped.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<'a>(attachment: Option<Attachment<'a>>) -> Message<'a> {
        Message {
            from: "e-visa@vmp.gov.kz",
            to: "priya@example.com",
            subject: "Ваша виза",
            text: "Open https://visa.example/confirm-email#tok\nThanks",
            html: "<p><a href=\"https://visa.example/confirm-email#tok\">Open</a></p>",
            attachment,
        }
    }

    #[test]
    fn text_and_html_are_alternatives_and_the_subject_is_encoded() {
        let raw = message(None).to_mime(BodyEncoding::EightBit).unwrap();
        assert!(raw.starts_with("From: e-visa@vmp.gov.kz\r\nTo: priya@example.com\r\n"));
        assert!(raw.contains(&format!(
            "Subject: =?UTF-8?B?{}?=\r\n",
            STANDARD.encode("Ваша виза")
        )));
        assert!(raw.contains("Content-Type: multipart/alternative;"));
        let text = raw.find("Content-Type: text/plain").unwrap();
        let html = raw.find("Content-Type: text/html").unwrap();
        assert!(
            text < html,
            "plain text first: clients show the last they can"
        );
        // 8-bit: the link is readable as it is, line ends are CRLF.
        assert!(raw.contains("Open https://visa.example/confirm-email#tok\r\nThanks"));
        assert!(!raw.contains("multipart/mixed"));
        assert!(raw.ends_with(&format!("--{ALTERNATIVE}--\r\n")));
    }

    #[test]
    fn base64_bodies_and_an_attachment_in_a_mixed_message() {
        let pdf = b"%PDF-1.7 fake";
        let attachment = Attachment {
            name: "e-visa K1234567.pdf",
            content_type: "application/pdf",
            bytes: pdf,
        };
        let raw = message(Some(attachment))
            .to_mime(BodyEncoding::Base64)
            .unwrap();
        assert!(raw.contains(&format!(
            "Content-Type: multipart/mixed; boundary=\"{MIXED}\""
        )));
        assert!(raw.contains("filename=\"e-visa_K1234567.pdf\""));
        assert!(raw.contains(&STANDARD.encode(pdf)));
        let html = "<p><a href=\"https://visa.example/confirm-email#tok\">Open</a></p>";
        assert!(raw.contains(&base64_lines(html.as_bytes())));
        assert!(!raw.contains("confirm-email#tok"), "bodies are base64");
        assert!(raw.lines().all(|l| l.len() <= 998));
        assert!(raw.ends_with(&format!("--{MIXED}--\r\n")));
    }

    #[test]
    fn a_line_break_in_a_header_is_refused() {
        for (to, subject) in [
            ("priya@example.com\r\nBcc: all@example.com", "x"),
            ("priya@example.com", "x\nBcc: all@example.com"),
        ] {
            let m = Message {
                to,
                subject,
                ..message(None)
            };
            assert!(m.to_mime(BodyEncoding::Base64).is_err());
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<b>\"O'Neil\" & co</b>"),
            "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;"
        );
    }
}
