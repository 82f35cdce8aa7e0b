//! The staff user pool of `infra/template.yaml` in moto (Cognito), set up
//! as the operator's runbook does it (infra/README.md, "Officers"), and
//! API Gateway's JWT authorizer in front of `/api/officer/*`: the ID
//! token's RS256 signature against the pool's JWKS, its issuer, audience
//! and expiry, then its claims as the request context carries them.
//!
//! Moto takes unsigned Cognito calls (InitiateAuth, RespondToAuthChallenge:
//! what the function makes) in us-east-1 only, so the pool lives there;
//! and with `MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP` (the harness sets it)
//! it checks authenticator codes against its one fixed secret.

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Where moto keeps pools that unsigned calls reach.
pub const POOL_REGION: &str = "us-east-1";
/// Moto's authenticator secret for every user (`COGNITO_TOTP_MFA_SECRET`).
const MOTO_TOTP_SECRET: &str = "asdfasdfasdf";

pub struct StaffPool {
    endpoint: String,
    http: reqwest::Client,
    pub pool_id: String,
    pub client_id: String,
    pub issuer: String,
    /// The JWKS: (kid, modulus, exponent).
    keys: Vec<(String, Vec<u8>, Vec<u8>)>,
}

fn b64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

impl StaffPool {
    /// One Cognito operation. `admin` ones carry a SigV4-shaped header
    /// naming us-east-1 (moto routes by it; it checks no signature).
    async fn call(&self, operation: &str, body: Value, admin: bool) -> Result<Value, Value> {
        let mut req = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            )
            .body(body.to_string());
        if admin {
            req = req.header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIAOPERATOR/20261205/{POOL_REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"
                ),
            );
        }
        let res = req.send().await.expect("moto answers");
        let ok = res.status().is_success();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        if ok { Ok(value) } else { Err(value) }
    }

    async fn admin(&self, operation: &str, body: Value) -> Value {
        self.call(operation, body, true)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// The pool, its console client and its two groups, as the template
    /// makes them (TOTP required, accounts made only by an operator).
    pub async fn create(endpoint: &str) -> StaffPool {
        let mut pool = StaffPool {
            endpoint: format!("{}/", endpoint.trim_end_matches('/')),
            http: reqwest::Client::new(),
            pool_id: String::new(),
            client_id: String::new(),
            issuer: String::new(),
            keys: Vec::new(),
        };
        let created = pool
            .admin(
                "CreateUserPool",
                json!({
                    "PoolName": format!("staff-{}", ulid::Ulid::new()),
                    "UsernameAttributes": ["email"],
                    "MfaConfiguration": "ON",
                    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": true},
                    "Policies": {"PasswordPolicy": {"MinimumLength": 14, "RequireLowercase": true,
                        "RequireUppercase": true, "RequireNumbers": true, "RequireSymbols": false}},
                }),
            )
            .await;
        pool.pool_id = created["UserPool"]["Id"].as_str().unwrap().to_owned();
        let client = pool
            .admin(
                "CreateUserPoolClient",
                json!({
                    "UserPoolId": pool.pool_id,
                    "ClientName": "officer-console",
                    "GenerateSecret": false,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                    "ReadAttributes": ["email", "name"],
                }),
            )
            .await;
        pool.client_id = client["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_owned();
        for group in ["officer", "auditor", "border"] {
            pool.admin(
                "CreateGroup",
                json!({"UserPoolId": pool.pool_id, "GroupName": group}),
            )
            .await;
        }
        pool.issuer = format!(
            "https://cognito-idp.{POOL_REGION}.amazonaws.com/{}",
            pool.pool_id
        );
        let jwks: Value = pool
            .http
            .get(format!(
                "{}{}/.well-known/jwks.json",
                pool.endpoint, pool.pool_id
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pool.keys = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["kid"].as_str().unwrap().to_owned(),
                    b64(k["n"].as_str().unwrap()).unwrap(),
                    b64(k["e"].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        pool
    }

    /// A member of staff in `group`, added by the operator's script
    /// (`infra/add-officer.py`, boto3, against moto): a permanent password
    /// and a verified authenticator, TOTP asked at every sign-in from now
    /// on. The password it printed once.
    pub async fn add(&self, email: &str, name: &str, group: &str) -> String {
        let script = crate::apigw::repo_root().join("infra/add-officer.py");
        let out = tokio::process::Command::new(crate::moto::python())
            .arg(&script)
            .args(["--pool", &self.pool_id, "--client", &self.client_id])
            .args(["--email", email, "--name", name, "--role", group])
            .env("AWS_ENDPOINT_URL", self.endpoint.trim_end_matches('/'))
            .env("AWS_ACCESS_KEY_ID", "AKIAOPERATOR")
            .env("AWS_SECRET_ACCESS_KEY", "operator")
            .env_remove("AWS_PROFILE")
            .output()
            .await
            .expect("python3 runs the operator's script");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "infra/add-officer.py failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("{name} <{email}> ({group}) added")),
            "{stdout}"
        );
        let secret = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("authenticator secret: "))
            .expect("the secret is printed");
        assert_eq!(
            secret.to_ascii_lowercase(),
            MOTO_TOTP_SECRET,
            "moto's one secret"
        );
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("password: "))
            .expect("the password is printed")
            .to_owned()
    }

    /// The code every moto user's authenticator shows now (RFC 6238).
    pub fn code(&self) -> String {
        totp(MOTO_TOTP_SECRET, chrono::Utc::now().timestamp())
    }

    /// API Gateway's JWT authorizer: the token's claims as the request
    /// context carries them, or `None` (401 before any function runs).
    pub fn authorize(&self, token: &str) -> Option<BTreeMap<String, String>> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        let head: Value = serde_json::from_slice(&b64(header)?).ok()?;
        if head["alg"] != "RS256" {
            return None;
        }
        let (_, n, e) = self
            .keys
            .iter()
            .find(|(kid, _, _)| head["kid"].as_str() == Some(kid))?;
        RsaPublicKeyComponents { n, e }
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                format!("{header}.{payload}").as_bytes(),
                &b64(signature)?,
            )
            .ok()?;
        // As the request context carries them: strings, arrays `[a b]`.
        let claims = visa_aws::cognito::payload_claims(token)?;
        let audience = claims.get("aud").or_else(|| claims.get("client_id"));
        let expires: i64 = claims.get("exp")?.parse().ok()?;
        if claims.get("iss") != Some(&self.issuer)
            || audience != Some(&self.client_id)
            || expires <= chrono::Utc::now().timestamp()
        {
            return None;
        }
        Some(claims)
    }
}

/// RFC 6238 with HMAC-SHA1, 6 digits, 30-second steps; the secret base32
/// (no padding, any case).
pub fn totp(secret: &str, at: i64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut key = Vec::new();
    for c in secret.to_ascii_uppercase().bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        bits = (bits << 5) | v as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            key.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    let step = (at / 30) as u64;
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key),
        &step.to_be_bytes(),
    );
    let digest = tag.as_ref();
    let offset = (digest[19] & 15) as usize;
    let value = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (the six-digit ends of its codes).
    #[test]
    fn rfc_6238_vectors() {
        // base32 of "12345678901234567890"
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        for (at, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(totp(secret, at), eight[2..], "{at}");
        }
    }
}
