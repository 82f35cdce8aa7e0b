//! Visa PDFs on S3: private objects, encrypted at rest, fetched only
//! through presigned GETs of at most 300 s.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use chrono::{DateTime, Utc};
use std::time::Duration;
use visa_core::store::{BlobError, Blobs, Stored};

/// The longest a download link lives (docs/API.md: short-lived links).
pub use visa_core::store::LINK_SECONDS as MAX_LINK_SECONDS;

/// Server-side encryption of every object put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (AES256).
    S3Managed,
    /// SSE-KMS with this key (the bucket's default key if `None`).
    Kms(Option<String>),
}

#[derive(Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
    encryption: Encryption,
}

fn unavailable(e: impl std::error::Error) -> BlobError {
    BlobError::Unavailable(DisplayErrorContext(e).to_string())
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>, encryption: Encryption) -> Self {
        S3Blobs {
            client,
            bucket: bucket.into(),
            encryption,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// Seconds a link made at `now` for `expires_at` may live: at most 300,
/// at least 1 (a presigned URL cannot expire in the past).
pub fn link_seconds(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (expires_at - now).num_seconds().clamp(1, MAX_LINK_SECONDS) as u64
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put_new(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Stored, BlobError> {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .content_type(content_type)
            .body(ByteStream::from(bytes.to_vec()));
        let put = match &self.encryption {
            Encryption::S3Managed => put.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms(key_id) => put
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone()),
        };
        match put.send().await {
            Ok(_) => Ok(Stored::Created),
            // 412: an object is there. (409, a concurrent conditional write
            // in flight, is left to the caller's retry.)
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                Ok(Stored::Existed)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| BlobError::Unavailable(e.to_string()))?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn link(&self, key: &str, expires_at: DateTime<Utc>) -> Result<String, BlobError> {
        let seconds = link_seconds(expires_at, Utc::now());
        let config = PresigningConfig::expires_in(Duration::from_secs(seconds))
            .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(unavailable)?;
        Ok(presigned.uri().to_owned())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        // S3 answers a missing key with 204 too; in the versioned bucket
        // this leaves a delete marker, and the lifecycle rule removes the
        // old version after its noncurrent days.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_live_at_most_300_seconds_and_at_least_one() {
        let now = Utc::now();
        assert_eq!(link_seconds(now + chrono::Duration::seconds(60), now), 60);
        assert_eq!(link_seconds(now + chrono::Duration::hours(1), now), 300);
        assert_eq!(link_seconds(now - chrono::Duration::seconds(5), now), 1);
    }
}
