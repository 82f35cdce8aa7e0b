//! API Gateway's IAM authorisation, as far as the emulated stack needs it:
//! a request's SigV4 signature is checked by signing the same request
//! again with aws-sigv4 (the SDK's own signer) over exactly the headers the
//! caller says it signed, and comparing. The caller is then the IAM
//! identity that owns the access key, as the authorizer reports it.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// How far a signature's time may be from now (AWS allows 15 minutes).
const SKEW: Duration = Duration::from_secs(15 * 60);

/// An IAM identity that may sign: its secret key and its ARN.
#[derive(Clone, Debug)]
pub struct Identity {
    pub secret_access_key: String,
    pub arn: String,
}

/// Why a request is not authorised. API Gateway answers each with 403.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("Missing Authentication Token")]
    Unsigned,
    #[error("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'")]
    Malformed,
    #[error("Credential should be scoped to a valid region and service")]
    WrongScope,
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error("Signature expired or not yet current")]
    Skewed,
    #[error("The request signature we calculated does not match the signature you provided.")]
    Mismatch,
}

/// The access keys an account knows, for one region's `execute-api`.
pub struct Verifier {
    region: String,
    keys: HashMap<String, Identity>,
}

struct Parsed<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse(authorization: &str) -> Option<Parsed<'_>> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let parsed = Parsed {
        access_key: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    };
    (scope.next()? == "aws4_request" && scope.next().is_none()).then_some(parsed)
}

fn amz_time(value: &str) -> Option<SystemTime> {
    let t = chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ").ok()?;
    let secs = u64::try_from(t.and_utc().timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

impl Verifier {
    pub fn new(region: &str, keys: impl IntoIterator<Item = (String, Identity)>) -> Verifier {
        Verifier {
            region: region.to_owned(),
            keys: keys.into_iter().collect(),
        }
    }

    /// The caller's ARN if `headers` (lower-case names) sign this request:
    /// `path_and_query` exactly as sent, `body` as received.
    pub fn verify(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
        now: SystemTime,
    ) -> Result<String, Refusal> {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let authorization = header("authorization").ok_or(Refusal::Unsigned)?;
        let parsed = parse(authorization).ok_or(Refusal::Malformed)?;
        if parsed.region != self.region || parsed.service != "execute-api" {
            return Err(Refusal::WrongScope);
        }
        let identity = self
            .keys
            .get(parsed.access_key)
            .ok_or(Refusal::UnknownKey)?;
        let amz_date = header("x-amz-date").ok_or(Refusal::Malformed)?;
        let time = amz_time(amz_date).ok_or(Refusal::Malformed)?;
        if !amz_date.starts_with(parsed.date) {
            return Err(Refusal::Malformed);
        }
        let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
        if skew > SKEW {
            return Err(Refusal::Skewed);
        }
        // Sign again over the headers named as signed, nothing else.
        let mut signed = Vec::new();
        for name in &parsed.signed_headers {
            let value = header(name).ok_or(Refusal::Mismatch)?;
            signed.push((*name, value));
        }
        let host = header("host").ok_or(Refusal::Malformed)?;
        let token = header("x-amz-security-token").map(str::to_owned);
        let credentials = Credentials::new(
            parsed.access_key,
            &identity.secret_access_key,
            token,
            None,
            "emulated-iam",
        );
        let identity_for_signing = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity_for_signing)
            .region(&self.region)
            .name("execute-api")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| Refusal::Malformed)?
            .into();
        let request = SignableRequest::new(
            method,
            format!("http://{host}{path_and_query}"),
            signed.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|_| Refusal::Malformed)?;
        let (_, expected) = sign(request, &params)
            .map_err(|_| Refusal::Malformed)?
            .into_parts();
        if expected == parsed.signature {
            Ok(identity.arn.clone())
        } else {
            Err(Refusal::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = "eu-central-1";
    const KEY: &str = "AKIAOFFICER0000TEST";
    const SECRET: &str = "officer-secret-key-for-the-test";
    const ARN: &str = "arn:aws:iam::123456789012:user/officer";

    fn verifier() -> Verifier {
        Verifier::new(
            REGION,
            [(
                KEY.to_owned(),
                Identity {
                    secret_access_key: SECRET.into(),
                    arn: ARN.into(),
                },
            )],
        )
    }

    /// The headers an SDK client would send: signed by aws-sigv4 itself.
    fn signed(secret: &str, path: &str, body: &[u8], time: SystemTime) -> Vec<(String, String)> {
        let identity = Credentials::new(KEY, secret, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("execute-api")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let mut headers = vec![
            ("host".to_owned(), "api.example".to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let request = SignableRequest::new(
            "POST",
            format!("http://api.example{path}"),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            headers.push((name.to_ascii_lowercase(), value.to_owned()));
        }
        headers
    }

    #[test]
    fn a_signature_made_with_the_key_is_its_owner() {
        let now = SystemTime::now();
        let headers = signed(SECRET, "/api/admin/invitations?x=1", b"{}", now);
        let who = verifier().verify("POST", "/api/admin/invitations?x=1", &headers, b"{}", now);
        assert_eq!(who, Ok(ARN.to_owned()));
    }

    #[test]
    fn anything_changed_after_signing_is_refused() {
        let now = SystemTime::now();
        let headers = signed(SECRET, "/api/admin/invitations", b"{}", now);
        let v = verifier();
        let path = "/api/admin/invitations";
        assert_eq!(
            v.verify("POST", path, &headers, b"{\"a\":1}", now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            v.verify("DELETE", path, &headers, b"{}", now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            v.verify("POST", "/api/admin/invitations/", &headers, b"{}", now),
            Err(Refusal::Mismatch)
        );
        let forged = signed("another-secret", path, b"{}", now);
        assert_eq!(
            v.verify("POST", path, &forged, b"{}", now),
            Err(Refusal::Mismatch)
        );
        let late = now + Duration::from_secs(16 * 60);
        assert_eq!(
            v.verify("POST", path, &headers, b"{}", late),
            Err(Refusal::Skewed)
        );
    }

    #[test]
    fn unsigned_unknown_and_malformed_are_refused() {
        let now = SystemTime::now();
        let v = verifier();
        let path = "/api/admin/invitations";
        assert_eq!(
            v.verify("POST", path, &[], b"", now),
            Err(Refusal::Unsigned)
        );
        let mut headers = signed(SECRET, path, b"{}", now);
        for (k, v) in headers.iter_mut() {
            if k == "authorization" {
                *v = v.replace(KEY, "AKIAIOSFODNN7EXAMPLE");
            }
        }
        assert_eq!(
            v.verify("POST", path, &headers, b"{}", now),
            Err(Refusal::UnknownKey)
        );
        let bearer = vec![("authorization".to_owned(), "Bearer adm_x".to_owned())];
        assert_eq!(
            v.verify("POST", path, &bearer, b"", now),
            Err(Refusal::Malformed)
        );
    }
}
