//! The visa seal's certificates (ICAO Doc 9303 Part 12 in spirit): a
//! country-signing CA (CSCA) that an operator keeps offline, and a
//! visa-signer certificate for each key that signs seals. Border equipment
//! verifies a seal with the signer certificate its header names (by serial
//! number) and that certificate with the CSCA.
//!
//! Everything here is synchronous and pure: the signer's private key may be
//! elsewhere (AWS KMS), so a request is built in two steps, the bytes to
//! sign and then the signature.

use chrono::{DateTime, Utc};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey, signature::Verifier};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::builder::{Builder, CertificateBuilder, Profile, RequestBuilder};
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Decode, DecodePem, Encode, EncodePem, pem::LineEnding};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, SignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned,
};
use x509_cert::time::{Time, Validity};

pub use x509_cert::Certificate;

/// The CSCA's distinguished name.
pub const CSCA_SUBJECT: &str = "CN=Kazakhstan e-visa CSCA,O=Republic of Kazakhstan,C=KZ";
/// A visa signer's distinguished name; `KZEV` is the signer identifier the
/// seal's header carries.
pub const SIGNER_SUBJECT: &str = "CN=KZEV e-visa seal signer,O=Republic of Kazakhstan,C=KZ";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("X.509: {0}")]
    X509(String),
    #[error("the signing request's signature does not verify")]
    RequestSignature,
    #[error("the certificate's signature does not verify with the CA's key")]
    CertificateSignature,
    #[error("not an ECDSA P-256 key: {0}")]
    Key(String),
    #[error("{0}")]
    Validity(String),
}

fn x509(e: impl std::fmt::Display) -> PkiError {
    PkiError::X509(e.to_string())
}

/// The seal's certificate reference for a signing key, and so the serial
/// number of that key's signer certificate: three bytes of the SHA-256 of
/// its key id (six hex digits in the seal's header).
pub fn serial_for_key(key_id: &str) -> [u8; 3] {
    let digest = Sha256::digest(key_id.as_bytes());
    [digest[0], digest[1], digest[2]]
}

/// The serial number as the seal's header writes it: upper-case hex, six
/// digits for the three bytes [`serial_for_key`] gives.
pub fn certificate_reference(key_id: &str) -> String {
    serial_for_key(key_id)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn time(at: DateTime<Utc>) -> Result<Time, PkiError> {
    let secs = u64::try_from(at.timestamp()).map_err(|_| x509("time before 1970"))?;
    Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).map_err(x509)
}

fn validity(from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Validity, PkiError> {
    Ok(Validity {
        not_before: time(from)?,
        not_after: time(until)?,
    })
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes: [u8; 8] = rand::random();
    // Positive and of full length.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(x509)
}

/// A new self-signed country-signing CA certificate for `key`, valid from
/// `now` for `days`.
pub fn new_csca(key: &SigningKey, now: DateTime<Utc>, days: i64) -> Result<Certificate, PkiError> {
    let subject = Name::from_str(CSCA_SUBJECT).map_err(x509)?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(x509)?;
    let builder = CertificateBuilder::new(
        Profile::Root,
        random_serial()?,
        validity(now, now + chrono::Duration::days(days))?,
        subject,
        spki,
        key,
    )
    .map_err(x509)?;
    builder.build::<DerSignature>().map_err(x509)
}

/// A P-256 public key whose private half is elsewhere: it builds a signing
/// request that another party (KMS) signs.
pub struct RemoteKey(pub VerifyingKey);

impl p256::ecdsa::signature::Keypair for RemoteKey {
    type VerifyingKey = VerifyingKey;
    fn verifying_key(&self) -> VerifyingKey {
        self.0
    }
}

impl SignatureAlgorithmIdentifier for RemoteKey {
    type Params = <SigningKey as SignatureAlgorithmIdentifier>::Params;
    const SIGNATURE_ALGORITHM_IDENTIFIER: x509_cert::spki::AlgorithmIdentifier<Self::Params> =
        <SigningKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
}

impl RemoteKey {
    /// From a SubjectPublicKeyInfo (DER), as KMS's GetPublicKey returns it.
    pub fn from_spki_der(der: &[u8]) -> Result<RemoteKey, PkiError> {
        VerifyingKey::from_public_key_der(der)
            .map(RemoteKey)
            .map_err(|e| PkiError::Key(e.to_string()))
    }
}

/// A signing request in the making: [`Self::to_be_signed`] goes to the
/// key's holder, whose ECDSA-SHA256 signature (DER) [`Self::finish`] takes.
pub struct PendingRequest<'k> {
    builder: RequestBuilder<'k, RemoteKey>,
    to_be_signed: Vec<u8>,
}

impl<'k> PendingRequest<'k> {
    pub fn new(key: &'k RemoteKey) -> Result<PendingRequest<'k>, PkiError> {
        let subject = Name::from_str(SIGNER_SUBJECT).map_err(x509)?;
        let mut builder = RequestBuilder::new(subject, key).map_err(x509)?;
        let to_be_signed = builder.finalize().map_err(x509)?;
        Ok(PendingRequest {
            builder,
            to_be_signed,
        })
    }

    pub fn to_be_signed(&self) -> &[u8] {
        &self.to_be_signed
    }

    /// The request, refused if `der_signature` is not the key's signature
    /// of [`Self::to_be_signed`].
    pub fn finish(self, der_signature: &[u8]) -> Result<CertReq, PkiError> {
        let request = self
            .builder
            .assemble(BitString::from_bytes(der_signature).map_err(x509)?)
            .map_err(x509)?;
        check_request(&request)?;
        Ok(request)
    }
}

/// A signing request for a key held here (the local gateway's).
pub fn request_for(key: &SigningKey) -> Result<CertReq, PkiError> {
    let subject = Name::from_str(SIGNER_SUBJECT).map_err(x509)?;
    RequestBuilder::new(subject, key)
        .map_err(x509)?
        .build::<DerSignature>()
        .map_err(x509)
}

fn p256_key(spki: &SubjectPublicKeyInfoOwned) -> Result<VerifyingKey, PkiError> {
    let der = spki.to_der().map_err(x509)?;
    VerifyingKey::from_public_key_der(&der).map_err(|e| PkiError::Key(e.to_string()))
}

fn ecdsa_sha256(alg: &AlgorithmIdentifierOwned) -> Result<(), PkiError> {
    let expected = <SigningKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
    if alg.oid == expected.oid {
        Ok(())
    } else {
        Err(PkiError::Key(format!(
            "signature algorithm {} is not ecdsa-with-SHA256",
            alg.oid
        )))
    }
}

fn verify(
    key: &VerifyingKey,
    signed: &[u8],
    signature: &BitString,
    err: PkiError,
) -> Result<(), PkiError> {
    let der = signature.as_bytes().ok_or_else(|| x509("signature bits"))?;
    let signature = p256::ecdsa::Signature::from_der(der).map_err(|_| x509("signature"))?;
    key.verify(signed, &signature).map_err(|_| err)
}

/// That the request is signed by the key it names (proof of possession),
/// with ECDSA-SHA256 on P-256.
pub fn check_request(request: &CertReq) -> Result<(), PkiError> {
    ecdsa_sha256(&request.algorithm)?;
    let key = p256_key(&request.info.public_key)?;
    let info = request.info.to_der().map_err(x509)?;
    verify(&key, &info, &request.signature, PkiError::RequestSignature)
}

/// The visa-signer certificate for the key in `request`, issued by the CSCA
/// (`csca_key`, `csca`) with serial number `serial` ([`serial_for_key`]),
/// valid from `now` for `days` but never past the CSCA.
pub fn issue_signer(
    csca_key: &SigningKey,
    csca: &Certificate,
    request: &CertReq,
    serial: &[u8],
    now: DateTime<Utc>,
    days: i64,
) -> Result<Certificate, PkiError> {
    check_request(request)?;
    if SubjectPublicKeyInfoOwned::from_key(*csca_key.verifying_key()).map_err(x509)?
        != csca.tbs_certificate.subject_public_key_info
    {
        return Err(PkiError::Key(
            "the CSCA key is not the CSCA certificate's".into(),
        ));
    }
    let csca_end = csca.tbs_certificate.validity.not_after.to_unix_duration();
    let end = now + chrono::Duration::days(days);
    if u64::try_from(end.timestamp()).unwrap_or(0) > csca_end.as_secs() {
        return Err(PkiError::Validity(
            "the signer would outlive the CSCA: issue fewer days or renew the CSCA".into(),
        ));
    }
    let builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: csca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::new(serial).map_err(x509)?,
        validity(now, end)?,
        request.info.subject.clone(),
        request.info.public_key.clone(),
        csca_key,
    )
    .map_err(x509)?;
    // Extensions the request asks for are not copied: the profile decides.
    builder.build::<DerSignature>().map_err(x509)
}

/// That `signer` is signed by `csca`'s key and names it as issuer.
pub fn check_issued_by(signer: &Certificate, csca: &Certificate) -> Result<(), PkiError> {
    if signer.tbs_certificate.issuer != csca.tbs_certificate.subject {
        return Err(PkiError::CertificateSignature);
    }
    ecdsa_sha256(&signer.signature_algorithm)?;
    let key = p256_key(&csca.tbs_certificate.subject_public_key_info)?;
    let tbs = signer.tbs_certificate.to_der().map_err(x509)?;
    verify(
        &key,
        &tbs,
        &signer.signature,
        PkiError::CertificateSignature,
    )
}

/// The certificate's public key (to compare with a signer's).
pub fn public_key(cert: &Certificate) -> Result<VerifyingKey, PkiError> {
    p256_key(&cert.tbs_certificate.subject_public_key_info)
}

/// The serial number's bytes, without DER's leading zero (a positive
/// number whose first byte is 0x80 or more carries one).
pub fn serial(cert: &Certificate) -> &[u8] {
    let bytes = cert.tbs_certificate.serial_number.as_bytes();
    match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => bytes,
    }
}

pub fn to_pem(cert: &Certificate) -> Result<String, PkiError> {
    cert.to_pem(LineEnding::LF).map_err(x509)
}

pub fn to_der(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    cert.to_der().map_err(x509)
}

pub fn from_pem(pem: &str) -> Result<Certificate, PkiError> {
    Certificate::from_pem(pem).map_err(x509)
}

pub fn from_der(der: &[u8]) -> Result<Certificate, PkiError> {
    Certificate::from_der(der).map_err(x509)
}

pub fn request_to_pem(request: &CertReq) -> Result<String, PkiError> {
    request.to_pem(LineEnding::LF).map_err(x509)
}

pub fn request_from_pem(pem: &str) -> Result<CertReq, PkiError> {
    CertReq::from_pem(pem).map_err(x509)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use p256::ecdsa::signature::Signer;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap()
    }

    #[test]
    fn a_signer_issued_by_the_csca_verifies_and_carries_its_serial() {
        let csca_key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let csca = new_csca(&csca_key, now(), 3650).unwrap();
        check_issued_by(&csca, &csca).expect("self-signed");
        let signer_key = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let request = request_for(&signer_key).unwrap();
        let number = serial_for_key("kz-evisa-1");
        let cert = issue_signer(&csca_key, &csca, &request, &number, now(), 1100).unwrap();
        check_issued_by(&cert, &csca).unwrap();
        assert_eq!(serial(&cert), &number[..]);
        assert_eq!(public_key(&cert).unwrap(), *signer_key.verifying_key());
        assert_eq!(certificate_reference("kz-evisa-1").len(), 6);

        // Another CA's key does not verify it.
        let other = new_csca(&SigningKey::from_slice(&[9u8; 32]).unwrap(), now(), 30).unwrap();
        assert!(matches!(
            check_issued_by(&cert, &other),
            Err(PkiError::CertificateSignature)
        ));
        // PEM round trip.
        let back = from_pem(&to_pem(&cert).unwrap()).unwrap();
        assert_eq!(back, cert);
    }

    #[test]
    fn a_remote_request_takes_only_the_keys_own_signature() {
        let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let remote = RemoteKey(*key.verifying_key());
        let pending = PendingRequest::new(&remote).unwrap();
        let sig: DerSignature = key.sign(pending.to_be_signed());
        let request = pending.finish(sig.as_bytes()).unwrap();
        check_request(&request).unwrap();

        let pending = PendingRequest::new(&remote).unwrap();
        let stranger = SigningKey::from_slice(&[6u8; 32]).unwrap();
        let sig: DerSignature = stranger.sign(pending.to_be_signed());
        assert!(matches!(
            pending.finish(sig.as_bytes()),
            Err(PkiError::RequestSignature)
        ));
    }

    #[test]
    fn a_signer_never_outlives_its_csca() {
        let csca_key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let csca = new_csca(&csca_key, now(), 365).unwrap();
        let request = request_for(&SigningKey::from_slice(&[5u8; 32]).unwrap()).unwrap();
        assert!(matches!(
            issue_signer(&csca_key, &csca, &request, &[1, 2, 3], now(), 400),
            Err(PkiError::Validity(_))
        ));
        let wrong_key = SigningKey::from_slice(&[4u8; 32]).unwrap();
        assert!(matches!(
            issue_signer(&wrong_key, &csca, &request, &[1, 2, 3], now(), 30),
            Err(PkiError::Key(_))
        ));
    }
}
