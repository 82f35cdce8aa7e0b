//! Staff sign-in against an Amazon Cognito user pool (TOTP MFA required):
//! `InitiateAuth` with the password, then `RespondToAuthChallenge` with
//! the authenticator's code. Both are Cognito's public, unsigned
//! operations (what a browser calls with only the app client's id), so
//! they are two JSON posts here rather than the whole Cognito SDK crate in
//! the function: the role needs no Cognito permission at all.
//!
//! API Gateway's JWT authorizer verifies the ID token this returns on
//! every `/api/officer/*` request (issuer: the pool, audience: the client).

use async_trait::async_trait;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use visa_core::staff::{
    SignInChallenge, StaffDirectory, StaffMember, StaffSignInError, StaffToken, render_claim_array,
};

pub struct CognitoStaff {
    /// Built at the first sign-in, not at the cold start (a TLS client's
    /// set-up), as the Stripe client is.
    http: std::sync::OnceLock<reqwest::Client>,
    endpoint: String,
    client_id: String,
}

impl CognitoStaff {
    /// The pool's regional endpoint (`eu-central-1_AbC` is in
    /// eu-central-1), or `endpoint` when given (moto in tests).
    pub fn new(
        pool_id: &str,
        client_id: String,
        endpoint: Option<String>,
    ) -> Result<CognitoStaff, String> {
        let region = pool_id
            .split_once('_')
            .map(|(r, _)| r)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| format!("{pool_id:?} is no user pool id (<region>_<id>)"))?;
        let endpoint =
            endpoint.unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com/"));
        Ok(CognitoStaff {
            http: std::sync::OnceLock::new(),
            endpoint,
            client_id,
        })
    }

    /// One operation: its answer, or Cognito's error type (`__type`,
    /// without the namespace) and message.
    async fn call(&self, operation: &str, body: Value) -> Result<Value, (String, String)> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let built = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .connect_timeout(Duration::from_secs(2))
                    .build()
                    .map_err(|e| ("Unreachable".to_owned(), format!("http client: {e}")))?;
                self.http.get_or_init(|| built)
            }
        };
        let res = http
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{operation}"),
            )
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| ("Unreachable".to_owned(), e.to_string()))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| ("Unreachable".to_owned(), e.to_string()))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let kind = value["__type"]
            .as_str()
            .unwrap_or("")
            .rsplit('#')
            .next()
            .unwrap_or("")
            .to_owned();
        let message = value["message"]
            .as_str()
            .or(value["Message"].as_str())
            .unwrap_or("")
            .to_owned();
        Err((
            if kind.is_empty() {
                format!("HTTP {status}")
            } else {
                kind
            },
            message,
        ))
    }
}

fn unavailable((kind, message): (String, String)) -> StaffSignInError {
    StaffSignInError::Unavailable(format!("{kind}: {message}"))
}

#[async_trait]
impl StaffDirectory for CognitoStaff {
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<SignInChallenge, StaffSignInError> {
        let answer = self
            .call(
                "InitiateAuth",
                json!({
                    "AuthFlow": "USER_PASSWORD_AUTH",
                    "ClientId": self.client_id,
                    "AuthParameters": {"USERNAME": email.trim().to_lowercase(), "PASSWORD": password},
                }),
            )
            .await
            .map_err(|(kind, message)| match kind.as_str() {
                // Cognito's lockout after repeated wrong passwords.
                "NotAuthorizedException" if message.contains("attempts exceeded") => {
                    StaffSignInError::TooManyAttempts
                }
                "NotAuthorizedException" | "UserNotFoundException" | "UserNotConfirmedException"
                | "PasswordResetRequiredException" => StaffSignInError::Refused,
                _ => unavailable((kind, message)),
            })?;
        match (answer["ChallengeName"].as_str(), answer["Session"].as_str()) {
            (Some("SOFTWARE_TOKEN_MFA"), Some(session)) => Ok(SignInChallenge {
                session: session.to_owned(),
            }),
            (challenge, _) => {
                // No code asked (a pool without MFA) or a set-up the
                // operator's runbook should have done: refused, and said
                // in the log.
                tracing::error!(
                    ?challenge,
                    "staff sign-in: the pool did not ask for a TOTP code"
                );
                Err(StaffSignInError::Refused)
            }
        }
    }

    async fn answer_code(
        &self,
        email: &str,
        session: &str,
        code: &str,
    ) -> Result<StaffToken, StaffSignInError> {
        let answer = self
            .call(
                "RespondToAuthChallenge",
                json!({
                    "ChallengeName": "SOFTWARE_TOKEN_MFA",
                    "ClientId": self.client_id,
                    "Session": session,
                    "ChallengeResponses": {
                        "USERNAME": email.trim().to_lowercase(),
                        "SOFTWARE_TOKEN_MFA_CODE": code,
                    },
                }),
            )
            .await
            .map_err(|(kind, message)| match kind.as_str() {
                "CodeMismatchException" => StaffSignInError::WrongCode,
                "NotAuthorizedException"
                | "ExpiredCodeException"
                | "UserNotFoundException"
                | "ResourceNotFoundException" => StaffSignInError::Expired,
                _ => unavailable((kind, message)),
            })?;
        let result = &answer["AuthenticationResult"];
        let token = result["IdToken"]
            .as_str()
            .ok_or_else(|| StaffSignInError::Unavailable("no IdToken in the answer".into()))?;
        let expires_in = result["ExpiresIn"]
            .as_u64()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(3600);
        // Straight from Cognito over TLS: read, not verified here (API
        // Gateway verifies it on every use).
        let member = payload_claims(token)
            .and_then(|claims| StaffMember::from_claims(&claims))
            .ok_or(StaffSignInError::NoRole)?;
        Ok(StaffToken {
            token: token.to_owned(),
            expires_in_seconds: expires_in,
            member,
        })
    }
}

/// A JWT's claims as API Gateway passes them: strings, arrays as `[a b]`.
pub fn payload_claims(token: &str) -> Option<BTreeMap<String, String>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let Value::Object(map) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    Some(
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    Value::Array(items) => {
                        render_claim_array(items.iter().filter_map(Value::as_str))
                    }
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use visa_core::staff::GROUPS_CLAIM;

    #[test]
    fn claims_as_api_gateway_passes_them() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({"sub": "u1", "email": "a@mvd.kz", GROUPS_CLAIM: ["officer", "auditor"], "exp": 1_800_000_000})
                .to_string(),
        );
        let claims = payload_claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!(claims[GROUPS_CLAIM], "[officer auditor]");
        assert_eq!(claims["exp"], "1800000000");
        assert!(StaffMember::from_claims(&claims).is_some());
        assert!(payload_claims("nonsense").is_none());
        assert!(CognitoStaff::new("nope", "c".into(), None).is_err());
        assert_eq!(
            CognitoStaff::new("eu-central-1_AbC", "c".into(), None)
                .unwrap()
                .endpoint,
            "https://cognito-idp.eu-central-1.amazonaws.com/"
        );
    }
}
