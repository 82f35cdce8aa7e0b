//! The visa-signing port: ES256 (ECDSA P-256, SHA-256) over the QR's JWS.
//! A key file locally, an AWS KMS asymmetric key in the cloud.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
}

/// The public half of a P-256 signing key as a JWK (RFC 7517/7518), from
/// its point's coordinates: what the JWKS serves for every signer.
pub fn es256_jwk(kid: &str, x: &[u8], y: &[u8]) -> serde_json::Value {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": B64.encode(x),
        "y": B64.encode(y),
        "kid": kid,
        "alg": "ES256",
        "use": "sig",
    })
}

#[async_trait]
pub trait VisaSigner: Send + Sync {
    /// The `kid` published in the JWKS and put in each JWS header.
    fn key_id(&self) -> &str;
    /// ES256 signature of `message` (the JWS signing input), as the raw
    /// 64-byte `r || s` JWS uses (not DER).
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
    /// The public key as a JWK (`kty` EC, `crv` P-256, `x`, `y`, `kid`,
    /// `alg` ES256, `use` sig).
    async fn public_jwk(&self) -> Result<serde_json::Value, SignError>;
    /// The public keys of retired signing keys, which no longer sign but
    /// whose visas are still valid: the JWKS serves them beside the
    /// current one so those visas keep verifying offline.
    async fn retired_jwks(&self) -> Result<Vec<serde_json::Value>, SignError> {
        Ok(Vec::new())
    }
}
