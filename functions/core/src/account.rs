//! Accounts, sessions and passwords.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    /// Normalised (see `normalise_email`); unique.
    pub email: String,
    /// PHC string of an Argon2id hash.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// When the owner followed the emailed link: until then no visa is
    /// emailed to the address (a typo would mail it to a stranger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// The language the owner registered in (en, ru or kk): its emails' language.
    #[serde(default = "default_lang")]
    pub lang: String,
}

fn default_lang() -> String {
    "en".into()
}

/// The languages of the site and its emails.
pub const LANGUAGES: [&str; 3] = ["en", "ru", "kk"];

/// `{"email", "password", "lang"?}` of `POST /api/accounts`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub lang: Option<String>,
}

/// An email verification: the emailed link's token, hashed like a
/// session's. Single use; an account may hold several unexpired ones (a
/// resent link does not void the first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailVerification {
    pub token_hash: String,
    pub account_id: String,
    pub expires_at: DateTime<Utc>,
}

/// `{"password"}` of `DELETE /api/accounts/current`: deleting asks for
/// the password again, so a session token alone cannot.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionRequest {
    pub password: String,
}

/// `{"lang"?}` of `POST /api/email-verifications`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    #[serde(default)]
    pub lang: Option<String>,
}

/// `{"token"}` of `POST /api/email-verifications/confirmation`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationToken {
    pub token: String,
}

/// A verification link works this long: long enough for a traveller who
/// registers before a weekend away from email.
pub const VERIFICATION_HOURS: i64 = 48;
/// At most this many verification emails per account in
/// `VERIFICATION_WINDOW_MINUTES` (the first, at registration, included).
pub const MAX_VERIFICATION_REQUESTS: u32 = 5;
pub const VERIFICATION_WINDOW_MINUTES: i64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Hex SHA-256 of the bearer token: the token itself is never stored.
    pub token_hash: String,
    pub account_id: String,
    pub expires_at: DateTime<Utc>,
}

/// `{"email","password"}` of `POST /api/accounts` and `POST /api/sessions`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A password reset: the emailed link's token, hashed like a session's.
/// Single use: redeeming it deletes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub token_hash: String,
    pub account_id: String,
    pub expires_at: DateTime<Utc>,
}

/// `{"email", "lang"?}` of `POST /api/password-resets`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
    /// The site's language, for the email (en, ru or kk; else en).
    #[serde(default)]
    pub lang: Option<String>,
}

/// `{"token", "password"}` of `POST /api/password-resets/confirmation`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    pub token: String,
    pub password: String,
}

/// A reset link works this long.
pub const RESET_MINUTES: i64 = 60;
/// At most this many reset requests per address in `RESET_WINDOW_MINUTES`,
/// counted alike whether or not the address has an account.
pub const MAX_RESET_REQUESTS: u32 = 5;
pub const RESET_WINDOW_MINUTES: i64 = 60;

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Bounds the Argon2 input so a huge password cannot buy CPU time.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const SESSION_HOURS: i64 = 12;
/// At most this many failed sign-ins per email in `SIGN_IN_WINDOW_MINUTES`.
pub const MAX_FAILED_SIGN_INS: u32 = 10;
pub const SIGN_IN_WINDOW_MINUTES: i64 = 15;

/// Trimmed and lower-cased; `None` unless it looks like a deliverable address.
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let ok = !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    ok.then_some(email)
}

pub fn password_problem(password: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some("at least 10 characters")
    } else if password.len() > MAX_PASSWORD_BYTES {
        Some("at most 1024 bytes")
    } else {
        None
    }
}

/// Argon2id with the OWASP Password Storage Cheat Sheet's parameters
/// (m = 19 MiB, t = 2, p = 1).
fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("params"),
    )
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes")
        .to_string()
}

/// A hash to verify against when the email is unknown, so that the answer
/// takes as long as for a known email (no account enumeration by timing).
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not a real password, never matches"));

pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    let phc = phc.unwrap_or(&DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A fresh 256-bit bearer token (base64url) and its stored hash.
pub fn new_session_token() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Priya.Sharma@Example.COM "),
            Some("priya.sharma@example.com".into())
        );
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@example..com",
            "a@exa_mple.com",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(!verify_password("correct horse batterY", Some(&h)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("x", Some("not a phc string")));
        assert_eq!(password_problem("short"), Some("at least 10 characters"));
        assert_eq!(password_problem("ten chars!"), None);
    }

    #[test]
    fn tokens_are_256_bit_and_stored_as_sha256() {
        let (t1, h1) = new_session_token();
        let (t2, _) = new_session_token();
        assert_ne!(t1, t2);
        assert_eq!(t1.len(), 43);
        assert_eq!(h1, token_hash(&t1));
        assert_eq!(h1.len(), 64);
    }
}
