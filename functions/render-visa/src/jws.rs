//! The QR code's compact JWS (RFC 7515, ES256): border control verifies it
//! offline against the JWKS. Claim names are short to keep the QR small.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use visa_core::signing::{SignError, VisaSigner};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Visa number.
    pub vn: String,
    pub sn: String,
    pub gn: String,
    pub nat: String,
    pub dob: String,
    pub sex: String,
    /// Passport number.
    pub pn: String,
    pub cat: String,
    pub vf: String,
    pub vu: String,
    /// Issue time, unix seconds.
    pub iat: i64,
}

pub async fn sign(signer: &dyn VisaSigner, claims: &Claims) -> Result<String, SignError> {
    // No `typ`: it is optional (RFC 7515 4.1.9) and its 16 characters can
    // push the QR code up a version (4 more modules a side to print and draw).
    let header = serde_json::json!({"alg": "ES256", "kid": signer.key_id()});
    let input = format!(
        "{}.{}",
        B64.encode(serde_json::to_vec(&header).expect("header serialises")),
        B64.encode(serde_json::to_vec(claims).expect("claims serialise"))
    );
    let signature = signer.sign(input.as_bytes()).await?;
    Ok(format!("{input}.{}", B64.encode(signature)))
}
