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

impl FolderBlobs {
    /// The applications that have visa PDFs here (`visas/<application>/`).
    pub async fn application_folders(&self) -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut dir = match tokio::fs::read_dir(self.dir.join("visas")).await {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        while let Some(entry) = dir.next_entry().await? {
            if entry.file_type().await?.is_dir()
                && let Some(name) = entry.file_name().to_str()
            {
                out.push(name.to_owned());
            }
        }
        Ok(out)
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Writes `bytes` under `key`, replacing what is there: for what the
    /// gateway itself publishes (the seal's certificates), never for visas.
    pub fn replace(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        if !safe_key(key) {
            return Err(std::io::Error::other(format!("unsafe key {key:?}")));
        }
        let path = self.dir.join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    }

    /// Deletes every visa PDF of an erased application.
    pub async fn erase_application(&self, application_id: &str) -> std::io::Result<()> {
        let key = format!("visas/{application_id}");
        if !safe_key(&key) {
            return Err(std::io::Error::other(format!("unsafe key {key:?}")));
        }
        match tokio::fs::remove_dir_all(self.dir.join(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
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

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        if !safe_key(key) {
            return Err(BlobError::Unavailable(format!("unsafe key {key:?}")));
        }
        let path = self.dir.join(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unavailable(e)),
        }
        // The application's folder goes with its last object.
        if let Some(parent) = path.parent().filter(|p| *p != self.dir) {
            let _ = tokio::fs::remove_dir(parent).await;
        }
        Ok(())
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
        assert!(blobs.delete("../etc/passwd").await.is_err());
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
        blobs.delete("visas/A.pdf").await.unwrap();
        assert_eq!(blobs.get("visas/A.pdf").await.unwrap(), None);
        // Again, as a retried erasure would.
        blobs.delete("visas/A.pdf").await.unwrap();
    }
}
