//! The visa-signing key in AWS KMS: an asymmetric ECC_NIST_P256 key that
//! never leaves KMS. Sign returns DER; JWS (ES256) wants raw `r || s`.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use p256::pkcs8::DecodePublicKey;
use tokio::sync::OnceCell;
use visa_core::signing::{SignError, VisaSigner};

pub struct KmsSigner {
    client: Client,
    key: String,
    kid: String,
    jwk: OnceCell<serde_json::Value>,
    /// Retired keys (ids or ARNs): their public halves only.
    retired: Vec<String>,
    retired_jwks: OnceCell<Vec<serde_json::Value>>,
}

fn unavailable(e: impl std::fmt::Display) -> SignError {
    SignError::Unavailable(e.to_string())
}

impl KmsSigner {
    /// `key` is a key id, ARN or alias. The published `kid` is the key id
    /// without the ARN's account and region.
    pub fn new(client: Client, key: impl Into<String>) -> Self {
        let key = key.into();
        let kid = key.rsplit('/').next().unwrap_or(&key).to_owned();
        KmsSigner {
            client,
            key,
            kid,
            jwk: OnceCell::new(),
            retired: Vec::new(),
            retired_jwks: OnceCell::new(),
        }
    }

    /// The same signer, also publishing the public keys of `retired`.
    pub fn with_retired(mut self, retired: Vec<String>) -> Self {
        self.retired = retired;
        self
    }

    async fn jwk_of(&self, key: &str) -> Result<serde_json::Value, SignError> {
        let out = self
            .client
            .get_public_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| unavailable(DisplayErrorContext(e)))?;
        let der = out
            .public_key
            .ok_or_else(|| unavailable("KMS returned no public key"))?;
        spki_to_jwk(der.as_ref(), key.rsplit('/').next().unwrap_or(key))
    }
}

/// KMS's DER `ECDSA-Sig-Value` as the 64-byte `r || s` of RFC 7518 §3.4.
pub fn der_to_raw(der: &[u8]) -> Result<[u8; 64], SignError> {
    let signature = p256::ecdsa::Signature::from_der(der)
        .map_err(|e| unavailable(format!("KMS signature: {e}")))?;
    Ok(signature.to_bytes().into())
}

/// A SubjectPublicKeyInfo (DER) P-256 key as a JWK (RFC 7517/7518).
pub fn spki_to_jwk(spki_der: &[u8], kid: &str) -> Result<serde_json::Value, SignError> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let key = p256::PublicKey::from_public_key_der(spki_der)
        .map_err(|e| unavailable(format!("KMS public key: {e}")))?;
    let point = key.to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(unavailable("KMS public key: not an uncompressed point"));
    };
    Ok(visa_core::signing::es256_jwk(kid, x, y))
}

#[async_trait]
impl VisaSigner for KmsSigner {
    fn key_id(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        // RAW: KMS hashes the JWS signing input itself (SHA-256).
        let out = self
            .client
            .sign()
            .key_id(&self.key)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| unavailable(DisplayErrorContext(e)))?;
        let der = out
            .signature
            .ok_or_else(|| unavailable("KMS returned no signature"))?;
        der_to_raw(der.as_ref())
    }

    async fn public_jwk(&self) -> Result<serde_json::Value, SignError> {
        // The public key never changes for a key id: fetch it once.
        let jwk = self.jwk.get_or_try_init(|| self.jwk_of(&self.key)).await?;
        Ok(jwk.clone())
    }

    async fn retired_jwks(&self) -> Result<Vec<serde_json::Value>, SignError> {
        let jwks = self
            .retired_jwks
            .get_or_try_init(|| async {
                let mut jwks = Vec::with_capacity(self.retired.len());
                for key in &self.retired {
                    jwks.push(self.jwk_of(key).await?);
                }
                Ok::<_, SignError>(jwks)
            })
            .await?;
        Ok(jwks.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    #[test]
    fn der_signatures_and_spki_keys_convert_to_jws_shapes() {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let sig: p256::ecdsa::Signature = key.sign(b"header.payload");
        let raw = der_to_raw(sig.to_der().as_bytes()).unwrap();
        assert_eq!(raw, <[u8; 64]>::from(sig.to_bytes()));
        assert!(der_to_raw(&raw).is_err(), "raw bytes are not DER");

        let spki = key.verifying_key().to_public_key_der().unwrap();
        let jwk = spki_to_jwk(spki.as_bytes(), "k1").unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["kid"], "k1");
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        assert_eq!(x, point.x().unwrap().as_slice());
    }
}
