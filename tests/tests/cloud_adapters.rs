//! The adapters beyond the store, against moto: the visa-signing key in
//! KMS, the e-visa email through SES, secrets from Secrets Manager.
//!
//! `cargo test -p visa-tests --test cloud_adapters`

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier;
use visa_aws::{ConfigError, KmsSigner, SesNotifier};
use visa_core::notify::{Notifier, VisaEmail};
use visa_core::signing::VisaSigner;
use visa_tests::moto::{Moto, create_signing_key};

#[tokio::test]
async fn kms_signs_es256_that_verifies_with_the_published_jwk() {
    let moto = Moto::shared();
    let cloud = moto.cloud().await;
    let kms = aws_sdk_kms::Client::new(&cloud.sdk);
    let key = create_signing_key(&kms).await;
    let signer = KmsSigner::new(kms.clone(), key.arn().unwrap());
    // The kid is the key id, without the account in the ARN.
    assert_eq!(signer.key_id(), key.key_id());

    let jwk = signer.public_jwk().await.unwrap();
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["crv"].as_str(),
            jwk["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert_eq!(jwk["kid"], key.key_id());
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(coordinate("x"));
    sec1.extend(coordinate("y"));
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();

    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJ2aXNhIjoiSzAwMDAwMDAxIn0";
    let raw = signer.sign(message).await.unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    verifying
        .verify(message, &signature)
        .expect("the JWS signature verifies");
    let mut altered = *message;
    altered[0] ^= 1;
    assert!(verifying.verify(&altered, &signature).is_err());
    // The JWK is fetched once and kept.
    assert_eq!(signer.public_jwk().await.unwrap(), jwk);

    let missing = KmsSigner::new(kms, "00000000-0000-0000-0000-000000000000");
    assert!(missing.sign(message).await.is_err());
}

/// moto's record of the messages SES accepted.
async fn sent_raw_messages(moto: &Moto) -> Vec<serde_json::Value> {
    let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", moto.endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn ses_sends_the_visa_with_the_pdf_attached_only_from_a_verified_identity() {
    let moto = Moto::shared();
    let cloud = moto.cloud().await;
    let from = format!(
        "visa-{}@evisa.example.kz",
        visa_tests::moto::unique_name("m")
    );
    let email = VisaEmail {
        visa_number: "K00000001".into(),
        to: "priya@example.com".into(),
        subject: "Your e-visa K00000001".into(),
        text: "Your e-visa is attached.".into(),
        html: "<p>Your e-visa is attached.</p>".into(),
        attachment_name: "e-visa-K00000001.pdf".into(),
        pdf: b"%PDF-1.7 visa".to_vec(),
    };

    let notifier = SesNotifier::new(aws_sdk_sesv2::Client::new(&cloud.sdk), from.clone());
    let refused = notifier.send_visa(&email).await;
    assert!(refused.is_err(), "SES refuses an unverified sender");

    let ses = aws_sdk_sesv2::Client::new(&cloud.sdk);
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    notifier.send_visa(&email).await.unwrap();

    let sent = sent_raw_messages(&moto).await;
    let ours: Vec<_> = sent
        .iter()
        .filter(|m| m["source"].as_str() == Some(from.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "{sent:?}");
    let raw = ours[0]["raw_data"].as_str().unwrap();
    assert!(raw.contains("To: priya@example.com"));
    assert!(raw.contains("Content-Disposition: attachment; filename=\"e-visa-K00000001.pdf\""));
    assert!(raw.contains(&STANDARD.encode(b"%PDF-1.7 visa")));
    // Text and HTML as alternatives, bodies base64 (7-bit safe for SES).
    assert!(raw.contains("Content-Type: multipart/alternative;"));
    assert!(raw.contains(&STANDARD.encode("<p>Your e-visa is attached.</p>")));
}

#[tokio::test]
async fn secrets_are_read_as_raw_strings() {
    let moto = Moto::shared();
    let cloud = moto.cloud().await;
    let sm = aws_sdk_secretsmanager::Client::new(&cloud.sdk);
    let name = visa_tests::moto::unique_name("webhook");
    let arn = sm
        .create_secret()
        .name(&name)
        .secret_string("whsec_old,whsec_new\n")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let value = cloud.secret_at(&arn).await.unwrap();
    assert_eq!(value, "whsec_old,whsec_new");
    assert_eq!(
        visa_aws::config::split_secrets(&value),
        ["whsec_old", "whsec_new"]
    );

    let missing = cloud
        .secret_at("arn:aws:secretsmanager:eu-central-1:123456789012:secret:nope")
        .await;
    assert!(
        matches!(missing, Err(ConfigError::Secret { .. })),
        "{missing:?}"
    );
}
