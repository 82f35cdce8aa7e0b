//! The local visa-signing key: P-256, generated once into the data dir
//! (PKCS#8 PEM, mode 0600). ECDSA per RFC 6979 is deterministic, so a
//! visa re-rendered locally has the same bytes.

use async_trait::async_trait;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};
use std::path::Path;
use visa_core::signing::{SignError, VisaSigner};

pub struct LocalSigner {
    key: SigningKey,
    kid: String,
}

impl LocalSigner {
    pub fn load_or_create(path: &Path) -> std::io::Result<LocalSigner> {
        let key = match std::fs::read_to_string(path) {
            Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::random(&mut rand::rngs::OsRng);
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(std::io::Error::other)?;
                crate::config::write_private(path, pem.as_bytes())?;
                key
            }
            Err(e) => return Err(e),
        };
        let point = key.verifying_key().to_encoded_point(false);
        // kid: RFC 7638-style fingerprint, shortened.
        let kid = format!(
            "kz-evisa-{}",
            &hex::encode(Sha256::digest(point.as_bytes()))[..16]
        );
        Ok(LocalSigner { key, kid })
    }
}

#[async_trait]
impl VisaSigner for LocalSigner {
    fn key_id(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let sig: Signature = self.key.sign(message);
        Ok(sig.to_bytes().into())
    }

    async fn public_jwk(&self) -> Result<serde_json::Value, SignError> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (
            point
                .x()
                .ok_or_else(|| SignError::Unavailable("no x".into()))?,
            point
                .y()
                .ok_or_else(|| SignError::Unavailable("no y".into()))?,
        );
        Ok(visa_core::signing::es256_jwk(&self.kid, x, y))
    }
}
