//! The local visa-signing key: P-256, generated once into the data dir
//! (PKCS#8 PEM, mode 0600). ECDSA per RFC 6979 is deterministic, so a
//! visa re-rendered locally has the same bytes.

use async_trait::async_trait;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};
use std::path::Path;
use visa_core::signing::{SignError, VisaSigner};

/// A P-256 key kept in `path` (PKCS#8 PEM, mode 0600), made there the
/// first time.
pub fn key_file(path: &Path) -> std::io::Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::random(&mut rand::rngs::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(std::io::Error::other)?;
            crate::config::write_private(path, pem.as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

pub struct LocalSigner {
    key: SigningKey,
    kid: String,
}

impl LocalSigner {
    pub fn load_or_create(path: &Path) -> std::io::Result<LocalSigner> {
        let key = key_file(path)?;
        let point = key.verifying_key().to_encoded_point(false);
        // kid: RFC 7638-style fingerprint, shortened.
        let kid = format!(
            "kz-evisa-{}",
            &hex::encode(Sha256::digest(point.as_bytes()))[..16]
        );
        Ok(LocalSigner { key, kid })
    }
}

/// The local seal trust chain, published where render-visa serves it from:
/// a country-signing CA generated once (its key in the data dir, as an
/// operator would keep it offline) and the signer certificate of the
/// current key, issued again whenever either no longer matches.
pub fn publish_certificates(
    data_dir: &Path,
    signer: &LocalSigner,
    blobs: &crate::blobs::FolderBlobs,
) -> std::io::Result<()> {
    use visa_render_visa::{CSCA_CERTIFICATE_KEY, signer_certificate_key};
    let other = |e: visa_pki::PkiError| std::io::Error::other(e.to_string());
    let csca_key = key_file(&data_dir.join("csca-key.pem"))?;
    let now = chrono::Utc::now();
    let read = |key: &str| {
        std::fs::read_to_string(blobs.dir().join(key))
            .ok()
            .and_then(|pem| visa_pki::from_pem(&pem).ok())
    };
    let csca = match read(CSCA_CERTIFICATE_KEY) {
        Some(cert)
            if visa_pki::public_key(&cert).ok() == Some(*csca_key.verifying_key())
                && visa_pki::check_issued_by(&cert, &cert).is_ok() =>
        {
            cert
        }
        _ => {
            let cert = visa_pki::new_csca(&csca_key, now, 3650).map_err(other)?;
            blobs.replace(
                CSCA_CERTIFICATE_KEY,
                visa_pki::to_pem(&cert).map_err(other)?.as_bytes(),
            )?;
            cert
        }
    };
    let key = signer_certificate_key(&signer.kid);
    let serial = visa_pki::serial_for_key(&signer.kid);
    let current = read(&key).is_some_and(|cert| {
        visa_pki::check_issued_by(&cert, &csca).is_ok()
            && visa_pki::public_key(&cert).ok() == Some(*signer.key.verifying_key())
            && visa_pki::serial(&cert) == serial
    });
    if !current {
        let request = visa_pki::request_for(&signer.key).map_err(other)?;
        // Three years, or what is left of the CSCA's validity.
        let csca_end = csca.tbs_certificate.validity.not_after.to_unix_duration();
        let left = (i64::try_from(csca_end.as_secs()).unwrap_or(0) - now.timestamp()) / 86_400;
        let cert = visa_pki::issue_signer(
            &csca_key,
            &csca,
            &request,
            &serial,
            now,
            left.clamp(1, 1100),
        )
        .map_err(other)?;
        blobs.replace(&key, visa_pki::to_pem(&cert).map_err(other)?.as_bytes())?;
    }
    Ok(())
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
