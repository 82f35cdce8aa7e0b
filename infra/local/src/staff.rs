//! The migration service's staff on a laptop, standing in for the cloud's
//! Cognito user pool: accounts added by `visa-local officer add`, signed in
//! with a password and then an RFC 6238 authenticator code (totp-rs; each
//! code taken once), and an ES256 ID token shaped like Cognito's that the
//! gateway verifies on `/api/officer/*` as API Gateway's JWT authorizer
//! does, passing its claims to the function in the request context.

use crate::sqlite::SqliteStore;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, Utc};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use totp_rs::{Algorithm, Secret, TOTP};
use visa_core::clock::Clock;
use visa_core::staff::{
    GROUPS_CLAIM, SignInChallenge, StaffDirectory, StaffGroup, StaffMember, StaffSignInError,
    StaffToken, render_claim_array,
};
use visa_core::store::Sessions;

/// A member of staff as the local directory keeps them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    /// A ULID: the token's `sub`.
    pub id: String,
    /// Lower case; the sign-in name.
    pub email: String,
    /// The person's name, as the audit trail records their actions.
    pub name: String,
    pub groups: Vec<String>,
    /// Argon2id (PHC string).
    pub password_hash: String,
    /// The authenticator's shared secret, base32 (RFC 4648, no padding).
    pub totp_secret: String,
    /// The last time step whose code was accepted: a code is taken once.
    #[serde(default)]
    pub last_totp_step: u64,
    pub created_at: DateTime<Utc>,
    /// Access taken away (`visa-local officer disable`): no sign-in any
    /// more; a token already issued lapses within the hour, as Cognito's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

/// RFC 6238's defaults, which every authenticator app uses (and Cognito):
/// HMAC-SHA1, six digits, 30-second steps; one step either side for drift.
const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;

fn totp(secret_base32: &str) -> Option<TOTP> {
    let secret = Secret::Encoded(secret_base32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECONDS, secret).ok()
}

/// A new authenticator secret (160 bits, RFC 4226's recommendation), base32.
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

/// The `otpauth://` URI an authenticator app reads (as a QR code or typed).
pub fn otpauth_uri(email: &str, secret_base32: &str) -> String {
    let issuer = "Kazakhstan e-visa (migration service)";
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(email),
        enc(issuer)
    )
}

/// The code an authenticator shows at `at`.
pub fn code_at(secret_base32: &str, at: DateTime<Utc>) -> Option<String> {
    Some(totp(secret_base32)?.generate(u64::try_from(at.timestamp()).ok()?))
}

/// The time step `code` belongs to, if it is the code of `at`'s step or of
/// one either side, and later than `after` (a code is taken once).
pub fn accepted_step(
    secret_base32: &str,
    code: &str,
    at: DateTime<Utc>,
    after: u64,
) -> Option<u64> {
    let totp = totp(secret_base32)?;
    let now = u64::try_from(at.timestamp()).ok()? / STEP_SECONDS;
    let code = code.trim();
    (now.saturating_sub(1)..=now + 1)
        .filter(|step| *step > after)
        .find(|step| {
            let expected = totp.generate(step * STEP_SECONDS);
            // Constant time, as totp-rs's own check compares.
            expected.len() == code.len()
                && expected
                    .bytes()
                    .zip(code.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
}

/// The issuer and audience of local staff tokens (Cognito's are the pool's
/// URL and the console's app client id).
pub const ISSUER: &str = "visa-local staff directory";
pub const AUDIENCE: &str = "visa-officer-console";
/// Cognito's default ID token lifetime.
pub const TOKEN_SECONDS: u32 = 3600;
/// How long the code step may follow the password step (Cognito: 3 min).
const CHALLENGE_SECONDS: i64 = 180;
/// Failed password steps per address before it is refused for a while.
const MAX_FAILURES: u32 = 5;

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    email: String,
    name: String,
    #[serde(rename = "cognito:groups")]
    groups: Vec<String>,
    token_use: String,
    iat: i64,
    exp: i64,
}

/// The directory: accounts in the store, pending sign-ins in memory, the
/// token key in the data dir.
pub struct LocalStaff {
    store: SqliteStore,
    clock: Arc<dyn Clock>,
    key: SigningKey,
    challenges: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

impl LocalStaff {
    /// The token key is generated once into `key_path` (PKCS#8, 0600).
    pub fn open(
        store: SqliteStore,
        clock: Arc<dyn Clock>,
        key_path: &Path,
    ) -> std::io::Result<LocalStaff> {
        let key = crate::signer::key_file(key_path)?;
        Ok(LocalStaff {
            store,
            clock,
            key,
            challenges: Mutex::new(HashMap::new()),
        })
    }

    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier {
            key: *self.key.verifying_key(),
            clock: self.clock.clone(),
        }
    }

    fn issue(&self, account: &StaffAccount) -> String {
        let now = self.clock.now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: account.id.clone(),
            email: account.email.clone(),
            name: account.name.clone(),
            groups: account.groups.clone(),
            token_use: "id".into(),
            iat: now,
            exp: now + i64::from(TOKEN_SECONDS),
        };
        let header = B64.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
        let payload = B64.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let input = format!("{header}.{payload}");
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    fn throttle_key(email: &str) -> String {
        format!("staff:{email}")
    }
}

#[async_trait]
impl StaffDirectory for LocalStaff {
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<SignInChallenge, StaffSignInError> {
        let unavailable =
            |e: visa_core::store::StoreError| StaffSignInError::Unavailable(e.to_string());
        let email = visa_core::account::normalise_email(email).ok_or(StaffSignInError::Refused)?;
        let now = self.clock.now();
        let key = Self::throttle_key(&email);
        if self
            .store
            .failed_sign_ins(&key, now)
            .await
            .map_err(unavailable)?
            >= MAX_FAILURES
        {
            return Err(StaffSignInError::TooManyAttempts);
        }
        let account = self.store.staff(&email).await.map_err(unavailable)?;
        // Hash even for an unknown address: the answer takes as long.
        let ok = visa_core::account::verify_password(
            password,
            account.as_ref().map(|a| a.password_hash.as_str()),
        );
        let disabled = account.as_ref().is_some_and(|a| a.disabled_at.is_some());
        if !ok || account.is_none() || disabled {
            self.store
                .record_failed_sign_in(&key, now, Duration::minutes(15))
                .await
                .map_err(unavailable)?;
            return Err(StaffSignInError::Refused);
        }
        let session = crate::config::random_secret();
        let mut pending = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, (_, until)| *until > now);
        pending.insert(
            session.clone(),
            (email, now + Duration::seconds(CHALLENGE_SECONDS)),
        );
        Ok(SignInChallenge { session })
    }

    async fn answer_code(
        &self,
        email: &str,
        session: &str,
        code: &str,
    ) -> Result<StaffToken, StaffSignInError> {
        let unavailable =
            |e: visa_core::store::StoreError| StaffSignInError::Unavailable(e.to_string());
        let email = visa_core::account::normalise_email(email).ok_or(StaffSignInError::Expired)?;
        let now = self.clock.now();
        {
            // A session answers once, right or wrong (as Cognito's).
            let mut pending = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
            match pending.remove(session) {
                Some((who, until)) if who == email && until > now => {}
                _ => return Err(StaffSignInError::Expired),
            }
        }
        let account = self
            .store
            .staff(&email)
            .await
            .map_err(unavailable)?
            .ok_or(StaffSignInError::Expired)?;
        let step = accepted_step(&account.totp_secret, code, now, account.last_totp_step)
            .ok_or(StaffSignInError::WrongCode)?;
        if !self
            .store
            .take_totp_step(&email, step)
            .await
            .map_err(unavailable)?
        {
            return Err(StaffSignInError::WrongCode);
        }
        let token = self.issue(&account);
        let member = self
            .verifier()
            .claims(&token)
            .and_then(|c| StaffMember::from_claims(&c))
            .ok_or(StaffSignInError::NoRole)?;
        Ok(StaffToken {
            token,
            expires_in_seconds: TOKEN_SECONDS,
            member,
        })
    }
}

/// The gateway's JWT authorizer: signature, issuer, audience, expiry.
#[derive(Clone)]
pub struct TokenVerifier {
    key: VerifyingKey,
    clock: Arc<dyn Clock>,
}

impl TokenVerifier {
    /// The token's claims as API Gateway passes them (strings; arrays as
    /// `[a b]`), or `None`: the request is then answered 401 before any
    /// function runs.
    pub fn claims(&self, token: &str) -> Option<BTreeMap<String, String>> {
        let mut parts = token.split('.');
        let (header, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let head: serde_json::Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        if head["alg"] != "ES256" {
            return None;
        }
        let sig = Signature::from_slice(&B64.decode(sig).ok()?).ok()?;
        self.key
            .verify(format!("{header}.{payload}").as_bytes(), &sig)
            .ok()?;
        let claims: Claims = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
        let now = self.clock.now().timestamp();
        if claims.iss != ISSUER
            || claims.aud != AUDIENCE
            || claims.exp <= now
            || claims.iat > now + 60
        {
            return None;
        }
        let mut out = BTreeMap::new();
        out.insert("iss".into(), claims.iss);
        out.insert("aud".into(), claims.aud);
        out.insert("sub".into(), claims.sub);
        out.insert("email".into(), claims.email);
        out.insert("name".into(), claims.name);
        out.insert(
            GROUPS_CLAIM.into(),
            render_claim_array(claims.groups.iter().map(String::as_str)),
        );
        out.insert("token_use".into(), claims.token_use);
        out.insert("iat".into(), claims.iat.to_string());
        out.insert("exp".into(), claims.exp.to_string());
        Some(out)
    }
}

/// A member of staff just added, with what they sign in with (shown once:
/// only the password's hash is kept).
pub struct NewStaff {
    pub account: StaffAccount,
    pub password: String,
    pub totp_secret: String,
}

/// Adds a member of staff in `role`. Without a name, the audit trail
/// names them by their address alone.
pub async fn create(
    store: &SqliteStore,
    email: &str,
    name: &str,
    role: StaffGroup,
) -> Result<NewStaff, String> {
    let email = visa_core::account::normalise_email(email)
        .ok_or_else(|| format!("{email:?} is not an email address"))?;
    let name = match name.trim() {
        "" => email.as_str(),
        name => name,
    };
    if name.chars().any(char::is_control) || name.chars().count() > 100 {
        return Err("--name: the person's name, one line of at most 100 characters".into());
    }
    let password = crate::config::random_secret()[..24].to_owned();
    let totp_secret = new_totp_secret();
    let account = StaffAccount {
        id: visa_core::clock::Ids::new_id(&visa_core::clock::RandomIds),
        email: email.clone(),
        name: name.to_owned(),
        groups: vec![role.as_str().to_owned()],
        password_hash: visa_core::account::hash_password(&password),
        totp_secret: totp_secret.clone(),
        last_totp_step: 0,
        created_at: Utc::now(),
        disabled_at: None,
    };
    store.add_staff(&account).await.map_err(|e| match e {
        visa_core::store::StoreError::EmailTaken => format!("{email} has an account already"),
        other => other.to_string(),
    })?;
    Ok(NewStaff {
        account,
        password,
        totp_secret,
    })
}

/// `visa-local officer disable <email>`: the person signs in no more.
pub async fn disable(store: &SqliteStore, email: &str) -> Result<String, String> {
    let email = visa_core::account::normalise_email(email)
        .ok_or_else(|| format!("{email:?} is not an email address"))?;
    match store.disable_staff(&email, Utc::now()).await {
        Ok(true) => Ok(format!(
            "{email} is disabled: no sign-in from now on (a token already issued lapses within the hour)"
        )),
        Ok(false) => Err(format!("no member of staff has the address {email}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `visa-local officer add <email> --role officer|auditor [--name <name>]`:
/// the account, and what its holder signs in with, printed once.
pub async fn add(
    store: &SqliteStore,
    email: &str,
    name: &str,
    role: StaffGroup,
) -> Result<String, String> {
    let new = create(store, email, name, role).await?;
    Ok(format!(
        "{} <{}> ({}) added. Shown once, keep them now:\n  password: {}\n  authenticator secret: {}\n  authenticator URI: {}",
        new.account.name,
        new.account.email,
        role.as_str(),
        new.password,
        new.totp_secret,
        otpauth_uri(&new.account.email, &new.totp_secret)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", eight
    /// digits there; these are the six-digit ends of its vectors.
    #[test]
    fn rfc_6238_vectors() {
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let at = DateTime::from_timestamp(time, 0).unwrap();
            assert_eq!(code_at(&secret, at).unwrap(), eight[2..], "{time}");
        }
    }

    #[test]
    fn a_code_is_taken_in_its_window_once_and_only_forward() {
        let secret = new_totp_secret();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let step = 1_800_000_000 / 30;
        let now = code_at(&secret, at).unwrap();
        assert_eq!(accepted_step(&secret, &now, at, 0), Some(step));
        // Taken: the same step is refused after it.
        assert_eq!(accepted_step(&secret, &now, at, step), None);
        // One step of drift either side, not two.
        let earlier = code_at(&secret, at - Duration::seconds(30)).unwrap();
        assert_eq!(accepted_step(&secret, &earlier, at, 0), Some(step - 1));
        let old = code_at(&secret, at - Duration::seconds(60)).unwrap();
        assert_eq!(accepted_step(&secret, &old, at, 0), None);
        assert_eq!(accepted_step(&secret, "000000x", at, 0), None);
        assert!(otpauth_uri("a.b@vmp.gov.kz", &secret).contains(&format!("secret={secret}&")));
    }
}
