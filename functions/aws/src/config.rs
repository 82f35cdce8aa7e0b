//! Configuration of a cold start: the environment the SAM template sets,
//! one SdkConfig shared by every client, and the secrets a function needs,
//! read once from Secrets Manager.
//!
//! The standard AWS variables are honoured (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, credentials), so the same binary runs against moto.

use crate::dynamo::DynamoStore;
use crate::kms::KmsSigner;
use crate::s3::{Encryption, S3Blobs};
use crate::ses::SesNotifier;
use crate::sqs::SqsEmailQueue;
use crate::stripe::StripeCheckout;
use aws_config::{BehaviorVersion, SdkConfig};

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const VISA_BUCKET: &str = "VISA_BUCKET";
pub const SITE_ORIGIN: &str = "SITE_ORIGIN";
pub const STAFF_USER_POOL_ID: &str = "STAFF_USER_POOL_ID";
pub const STAFF_CLIENT_ID: &str = "STAFF_CLIENT_ID";
pub const WEBHOOK_SECRET_ARN: &str = "WEBHOOK_SECRET_ARN";
pub const STRIPE_SECRET_ARN: &str = "STRIPE_SECRET_ARN";
pub const VISA_SIGNING_KEY_ID: &str = "VISA_SIGNING_KEY_ID";
/// Signing keys retired by a rotation, whose visas still verify.
pub const RETIRED_SIGNING_KEY_IDS: &str = "RETIRED_SIGNING_KEY_IDS";
pub const MAIL_FROM: &str = "MAIL_FROM";
pub const EMAIL_QUEUE_URL: &str = "EMAIL_QUEUE_URL";
/// The account's SES send rate, and how many email batches share it
/// (the email mapping's MaximumConcurrency): render-visa paces its sends.
pub const SES_MAX_SEND_RATE: &str = "SES_MAX_SEND_RATE";
pub const EMAIL_SENDERS: &str = "EMAIL_SENDERS";
pub const STRIPE_API_BASE: &str = "STRIPE_API_BASE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("secret {arn}: {detail}")]
    Secret { arn: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

/// A non-empty environment variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// The roots AWS's endpoints chain to (Amazon Trust Services: Amazon Root
/// CA 1-4 and the Starfield Services G2 cross-sign), as published at
/// https://www.amazontrust.com/repository/ and shipped in Debian's
/// ca-certificates.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// aws-config's defaults with the SDK's HTTPS client: every SdkConfig (the
/// Lambdas', the tests') starts here, as the SDK is built without a client
/// of its own.
pub fn defaults() -> aws_config::ConfigLoader {
    with_https_client(aws_config::defaults(BehaviorVersion::latest()))
}

/// The SDK's HTTPS client set on `loader` (rustls on ring, the crypto
/// library reqwest's rustls uses for Stripe: one in each binary, not two),
/// trusting only the roots AWS's endpoints use:
/// the default one parses every certificate the system offers at each
/// cold start (a third of a function's own init: PERFORMANCE.md),
/// and nothing but AWS is called through it (Stripe has its own client).
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` set (a TLS-inspecting proxy, say)
/// brings back the system's roots, which honour them.
fn with_https_client(loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let system = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    let trust = if system {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES)
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store is a valid TLS context");
    loader.http_client(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(context)
            .build_https(),
    )
}

/// Region and credentials straight from the variables Lambda sets
/// (`AWS_REGION`; the role's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) when they are there. The default chains would find
/// the same values, but build providers for profiles, web identity (an STS
/// client), ECS and IMDS first, and probe for profile files: work at every
/// cold start for sources a Lambda never has. Anywhere else (no such
/// variables) the default chains run as usual.
fn with_lambda_environment(mut loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(region) = set("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region));
    }
    if set("AWS_ACCESS_KEY_ID").is_some() && set("AWS_SECRET_ACCESS_KEY").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    loader
}

/// What a cold start builds once and every request shares.
#[derive(Clone)]
pub struct Cloud {
    pub sdk: SdkConfig,
}

impl Cloud {
    /// The default chain: region, credentials and endpoint from the
    /// environment (the Lambda role in AWS, test keys against moto).
    pub async fn from_env() -> Cloud {
        let loader = with_lambda_environment(defaults());
        Cloud {
            sdk: loader.load().await,
        }
    }

    pub fn new(sdk: SdkConfig) -> Cloud {
        Cloud { sdk }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::config::Builder::from(&self.sdk);
        // A custom endpoint (moto, LocalStack) has no per-bucket DNS names.
        if self.sdk.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    /// The store on the table `TABLE_NAME`, its items expiring by the
    /// retention policy (`RETENTION_*_DAYS`, else the defaults).
    pub fn store(&self) -> Result<DynamoStore, ConfigError> {
        let retention = visa_core::retention::Retention::from_env()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(DynamoStore::new(self.dynamodb(), required(TABLE_NAME)?).with_retention(retention))
    }

    /// The visa bucket `VISA_BUCKET`, objects put with SSE-S3.
    pub fn blobs(&self) -> Result<S3Blobs, ConfigError> {
        Ok(S3Blobs::new(
            self.s3(),
            required(VISA_BUCKET)?,
            Encryption::S3Managed,
        ))
    }

    /// The KMS key `VISA_SIGNING_KEY_ID` (id, ARN or alias).
    /// The current signing key, and the retired ones whose public halves
    /// the JWKS still serves (`RETIRED_SIGNING_KEY_IDS`, comma-separated).
    pub fn signer(&self) -> Result<KmsSigner, ConfigError> {
        let retired = std::env::var(RETIRED_SIGNING_KEY_IDS)
            .map(|ids| split_secrets(&ids))
            .unwrap_or_default();
        // A peak can meet the account's ECC request quota: retry a throttled
        // Sign soon and often rather than the SDK's 3 attempts from 1 s
        // (PERFORMANCE.md, "Peak capacity").
        let kms = aws_sdk_kms::config::Builder::from(&self.sdk)
            .retry_config(
                aws_sdk_kms::config::retry::RetryConfig::standard()
                    .with_max_attempts(8)
                    .with_initial_backoff(std::time::Duration::from_millis(50))
                    .with_max_backoff(std::time::Duration::from_secs(2)),
            )
            .build();
        Ok(KmsSigner::new(
            aws_sdk_kms::Client::from_conf(kms),
            required(VISA_SIGNING_KEY_ID)?,
        )
        .with_retired(retired))
    }

    /// The staff user pool `STAFF_USER_POOL_ID` and its console client
    /// `STAFF_CLIENT_ID`; against `AWS_ENDPOINT_URL` when set (moto).
    pub fn staff(&self) -> Result<crate::cognito::CognitoStaff, ConfigError> {
        crate::cognito::CognitoStaff::new(
            &required(STAFF_USER_POOL_ID)?,
            required(STAFF_CLIENT_ID)?,
            self.sdk.endpoint_url().map(str::to_owned),
        )
        .map_err(ConfigError::Invalid)
    }

    /// SES from the verified identity `MAIL_FROM`, each send waiting its
    /// turn when `SES_MAX_SEND_RATE` and `EMAIL_SENDERS` are set.
    pub fn notifier(&self) -> Result<SesNotifier, ConfigError> {
        let number = |name| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
        let pace = match (number(SES_MAX_SEND_RATE), number(EMAIL_SENDERS)) {
            (Some(rate), Some(senders)) => crate::pace::Pace::share(rate, senders),
            _ => None,
        };
        Ok(
            SesNotifier::new(aws_sdk_sesv2::Client::new(&self.sdk), required(MAIL_FROM)?)
                .paced(pace),
        )
    }

    /// The email queue `EMAIL_QUEUE_URL`.
    pub fn email_queue(&self) -> Result<SqsEmailQueue, ConfigError> {
        Ok(SqsEmailQueue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            required(EMAIL_QUEUE_URL)?,
        ))
    }

    /// The string secret whose ARN is in the environment variable `arn_var`.
    pub async fn secret(&self, arn_var: &'static str) -> Result<String, ConfigError> {
        self.secret_at(&required(arn_var)?).await
    }

    /// The string value of the secret `arn` (raw, trimmed).
    pub async fn secret_at(&self, arn: &str) -> Result<String, ConfigError> {
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk);
        let failed = |detail: String| ConfigError::Secret {
            arn: arn.to_owned(),
            detail,
        };
        let out = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| {
                failed(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
            })?;
        out.secret_string
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| failed("no string value".into()))
    }

    /// The webhook signing secrets: one, or several separated by commas or
    /// whitespace while rotating (Stripe signs with each active secret).
    pub async fn webhook_secrets(&self) -> Result<Vec<String>, ConfigError> {
        let secrets = split_secrets(&self.secret(WEBHOOK_SECRET_ARN).await?);
        if secrets.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{WEBHOOK_SECRET_ARN}: the secret holds no signing secret"
            )));
        }
        Ok(secrets)
    }

    /// Stripe Checkout whose secret key is read at the first checkout, so
    /// the function starts (and serves every read) before the operator has
    /// set the key, and a key set later is picked up without a redeploy.
    pub fn stripe_on_first_use(&self) -> crate::stripe::LazyStripe {
        crate::stripe::LazyStripe::new(self.clone())
    }

    /// Stripe Checkout with the secret key from `STRIPE_SECRET_ARN`, at
    /// `STRIPE_API_BASE` if set (a stub in tests, as AWS_ENDPOINT_URL is
    /// for AWS), else api.stripe.com.
    pub async fn stripe(&self) -> Result<StripeCheckout, ConfigError> {
        let key = self.secret(STRIPE_SECRET_ARN).await?;
        let checkout = match std::env::var(STRIPE_API_BASE) {
            Ok(base) if !base.trim().is_empty() => {
                StripeCheckout::with_base_url(key, base, std::time::Duration::from_secs(10))
            }
            _ => StripeCheckout::new(key),
        };
        checkout.map_err(|e| ConfigError::Invalid(e.to_string()))
    }
}

pub fn split_secrets(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotating_webhook_secrets_split_on_commas_and_whitespace() {
        assert_eq!(split_secrets("whsec_a"), ["whsec_a"]);
        assert_eq!(
            split_secrets(" whsec_a,whsec_b\nwhsec_c "),
            ["whsec_a", "whsec_b", "whsec_c"]
        );
        assert!(split_secrets(" , ").is_empty());
    }

    /// The pinned roots are held to webpki-roots, the maintained copy of
    /// Mozilla's root program that reqwest already trusts for Stripe: each
    /// must still be a trusted root there, with the same name and key, so a
    /// root Mozilla distrusts fails here at the next `cargo update`. (The
    /// SDK's TLS context takes certificates only, and webpki-roots holds
    /// trust anchors; webpki-root-certs would mean parsing all of Mozilla's
    /// root certificates at every cold start, which is what pinning avoids.)
    #[test]
    fn the_pinned_roots_are_amazons_and_trusted_by_webpki_roots() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let roots: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES)
                .collect::<Result<_, _>>()
                .expect("PEM certificates");
        assert_eq!(roots.len(), 5);
        for root in &roots {
            let anchor = webpki::anchor_from_trusted_cert(root).expect("a root certificate");
            let trusted = webpki_roots::TLS_SERVER_ROOTS.iter().find(|t| {
                t.subject.as_ref() == anchor.subject.as_ref()
                    && t.subject_public_key_info.as_ref() == anchor.subject_public_key_info.as_ref()
            });
            let name = String::from_utf8_lossy(anchor.subject.as_ref()).into_owned();
            assert!(trusted.is_some(), "not in webpki-roots: {name}");
        }
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root",
        ] {
            let found = roots
                .iter()
                .any(|der| der.windows(name.len()).any(|w| w == name.as_bytes()));
            assert!(found, "{name}");
        }
    }
}
