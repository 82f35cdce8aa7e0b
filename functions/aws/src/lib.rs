//! visa-aws: the cloud adapters of visa-core's ports, and the Lambda
//! wiring the four functions share.
//!
//! - `dynamo`: every store port on one DynamoDB table.
//! - `s3`: visa PDFs, private and encrypted, behind presigned GETs.
//! - `stripe`: the payment provider (Stripe Checkout).
//! - `kms`: the visa-signing key (ES256 in KMS).
//! - `ses`: the issued e-visa by email, paced to SES's send rate (`pace`).
//! - `sqs`: the queue of issued visas waiting to be emailed.
//! - `config`: environment, one SdkConfig, secrets read once.
//! - `lambda`: JSON logs and the lambda_http bridge.
//! - `origin`: public routes only through CloudFront.

pub mod cognito;
pub mod config;
pub mod dynamo;
pub mod kms;
pub mod lambda;
pub mod origin;
pub mod pace;
pub mod s3;
pub mod ses;
pub mod sqs;
pub mod stripe;

pub use config::{Cloud, ConfigError};
pub use dynamo::DynamoStore;
pub use kms::KmsSigner;
pub use s3::{Encryption, S3Blobs};
pub use ses::SesNotifier;
pub use sqs::SqsEmailQueue;
pub use stripe::StripeCheckout;
