//! Blob storage in a folder, with signed expiring links the gateway
//! serves: the local stand-in for private S3 objects and presigned GETs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::PathBuf;
use visa_core::store::{BlobError, Blobs, Stored};

#[derive(Clone)]
pub struct FolderBlobs {
    dir: PathBuf,
    key: String,
    origin: String,
}

fn unavailable(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

/// Keys are our own (`visas/<application>/<number>.pdf`): refuse anything that could
/// leave the folder.
fn safe_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

impl FolderBlobs {
    pub fn new(dir: PathBuf, key: String, origin: String) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(FolderBlobs { dir, key, origin })
    }

    fn signature(&self, key: &str, expires: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_bytes()).expect("any key length");
        mac.update(format!("{key}\n{expires}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Checks a link's signature and expiry; the key it grants.
    pub fn check_link(&self, key: &str, expires: i64, sig: &str, now: DateTime<Utc>) -> bool {
        let Ok(given) = hex::decode(sig) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_bytes()).expect("any key length");
        mac.update(format!("{key}\n{expires}").as_bytes());
        safe_key(key) && expires >= now.timestamp() && mac.verify_slice(&given).is_ok()
    }
}

#[async_trait]
impl Blobs for FolderBlobs {
    async fn put_new(
        &self,
        key: &str,
        bytes: &[u8],
        _content_type: &str,
    ) -> Result<Stored, BlobError> {
        if !safe_key(key) {
            return Err(BlobError::Unavailable(format!("unsafe key {key:?}")));
        }
        let path = self.dir.join(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(unavailable)?;
        }
        // Write, then link under the key: a crash never leaves half a PDF
        // there, and a link never replaces an object already there.
        let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
        tokio::fs::write(&tmp, bytes).await.map_err(unavailable)?;
        tokio::fs::File::open(&tmp)
            .await
            .map_err(unavailable)?
            .sync_all()
            .await
            .map_err(unavailable)?;
        let linked = tokio::fs::hard_link(&tmp, &path).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        match linked {
            Ok(()) => Ok(Stored::Created),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Stored::Existed),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        if !safe_key(key) {
            return Ok(None);
        }
        match tokio::fs::read(self.dir.join(key)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn link(&self, key: &str, expires_at: DateTime<Utc>) -> Result<String, BlobError> {
        let expires = expires_at.timestamp();
        Ok(format!(
            "{}/files/{key}?expires={expires}&sig={}",
            self.origin,
            self.signature(key, expires)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_expire_and_cannot_be_altered() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FolderBlobs::new(dir.path().into(), "k".into(), "http://x".into()).unwrap();
        assert_eq!(
            blobs
                .put_new("visas/A.pdf", b"%PDF", "application/pdf")
                .await
                .unwrap(),
            Stored::Created
        );
        assert_eq!(blobs.get("visas/A.pdf").await.unwrap().unwrap(), b"%PDF");
        assert_eq!(blobs.get("../etc/passwd").await.unwrap(), None);
        let now = Utc::now();
        let exp = now.timestamp() + 300;
        let sig = blobs.signature("visas/A.pdf", exp);
        assert!(blobs.check_link("visas/A.pdf", exp, &sig, now));
        assert!(!blobs.check_link("visas/B.pdf", exp, &sig, now));
        assert!(!blobs.check_link("visas/A.pdf", exp + 1, &sig, now));
        assert!(!blobs.check_link(
            "visas/A.pdf",
            exp,
            &sig,
            now + chrono::Duration::seconds(301)
        ));
    }
}
