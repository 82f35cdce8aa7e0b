//! RFC 9457 problem details with the stable slugs of docs/API.md. The site
//! translates by slug, so a slug never changes once published.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {slug}: {detail}")]
pub struct Problem {
    pub status: u16,
    pub slug: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds after which trying again may succeed (`Retry-After`, RFC
    /// 9110 10.2.3), for 429 and 503.
    pub retry_after: Option<u32>,
    /// Until when the conflict lasts (`payment-open`): an extension member.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The wire shape: `{"type","title","status","detail","errors"?}`.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<chrono::DateTime<chrono::Utc>>,
}

macro_rules! problems {
    ($($fn_name:ident => $status:literal, $slug:literal, $title:literal;)*) => {
        impl Problem {
            $(
                pub fn $fn_name(detail: impl Into<String>) -> Problem {
                    Problem { status: $status, slug: $slug, detail: detail.into(), errors: Vec::new(), retry_after: None, until: None }
                }
            )*

            /// The short, fixed title of a slug.
            pub fn title_of(slug: &str) -> &'static str {
                match slug {
                    $($slug => $title,)*
                    _ => "Error",
                }
            }

            /// Every slug this service can produce.
            pub const SLUGS: &'static [&'static str] = &[$($slug),*];
        }
    };
}

problems! {
    malformed_body => 400, "malformed-body", "The request body is not valid JSON";
    bad_signature => 400, "bad-signature", "The webhook signature is not valid";
    bad_request => 400, "bad-request", "The request is not valid";
    reset_link_invalid => 400, "reset-link-invalid", "This password reset link is not valid: it was used, it expired, or it was never issued";
    verification_link_invalid => 400, "verification-link-invalid", "This email confirmation link is not valid: it was used, it expired, or it was never issued";
    unauthenticated => 401, "unauthenticated", "Sign in to continue";
    invalid_credentials => 401, "invalid-credentials", "Email or password is wrong";
    wrong_code => 401, "wrong-code", "The authenticator code is wrong or was already used";
    sign_in_expired => 401, "sign-in-expired", "This sign-in took too long: start again";
    forbidden => 403, "forbidden", "Not allowed";
    not_found => 404, "not-found", "Not found";
    invitation_not_found => 404, "invitation-not-found", "No approved invitation has this number";
    method_not_allowed => 405, "method-not-allowed", "This method is not allowed on this resource";
    email_taken => 409, "email-taken", "An account with this email already exists";
    payment_open => 409, "payment-open", "A payment of one of your applications can still complete";
    email_already_verified => 409, "email-already-verified", "This email address is already confirmed";
    invitation_already_used => 409, "invitation-already-used", "This invitation has already been used";
    invitation_exists => 409, "invitation-exists", "An invitation with this number already exists";
    host_exists => 409, "host-exists", "This account, or this BIN or IIN, is registered as an inviting party already";
    email_not_verified => 409, "email-not-verified", "Confirm your email address first";
    host_already_decided => 409, "host-already-decided", "The inviting party was approved or refused already";
    host_not_approved => 409, "host-not-approved", "The inviting party is not approved by the migration service";
    notice_already_filed => 409, "notice-already-filed", "The arrival notice was filed already";
    request_already_decided => 409, "request-already-decided", "The invitation request was approved or refused already";
    invitation_revoked => 409, "invitation-revoked", "The migration service revoked this application's invitation";
    group_changed => 409, "group-changed", "Some members were removed from this payment: look at it again before paying";
    invalid_state => 409, "invalid-state", "The application is not in a state that allows this";
    visa_not_ready => 409, "visa-not-ready", "The visa has not been issued yet";
    visa_cancelled => 409, "visa-cancelled", "The visa is cancelled";
    visa_not_in_force => 409, "visa-not-in-force", "The visa is not in force today";
    visa_already_entered => 409, "visa-already-entered", "The visa's single entry was made already";
    visa_used => 409, "visa-used", "The visa was used: its holder entered and left";
    visa_not_entered => 409, "visa-not-entered", "No entry was recorded on this visa";
    body_too_large => 413, "body-too-large", "The request body is larger than 64 KiB";
    unsupported_media_type => 415, "unsupported-media-type", "Send the body as application/json";
    validation => 422, "validation", "Some fields are not valid";
    checkpoint_not_allowed => 422, "checkpoint-not-allowed", "The e-visa allows entry and exit only at Astana (NQZ) and Almaty (ALA)";
    invitation_mismatch => 422, "invitation-mismatch", "The passport does not match the invitation";
    not_eligible => 422, "not-eligible", "Citizens of this country cannot get this e-visa";
    passport_expires_too_soon => 422, "passport-expires-too-soon", "The passport expires too soon";
    declarations_missing => 422, "declarations-missing", "Both passport declarations are required";
    payment_mismatch => 422, "payment-mismatch", "The payment does not match the application";
    too_many_attempts => 429, "too-many-attempts", "Too many failed sign-in attempts";
    too_many_requests => 429, "too-many-requests", "Too many requests: try again later";
    internal => 500, "internal", "Something went wrong on our side";
    payment_provider_unavailable => 502, "payment-provider-unavailable", "The payment provider did not answer";
    unavailable => 503, "unavailable", "The service is briefly unavailable";
}

impl Problem {
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_until(mut self, until: chrono::DateTime<chrono::Utc>) -> Self {
        self.until = Some(until);
        self
    }

    pub fn with_field(mut self, field: &str, message: &str) -> Self {
        self.errors.push(FieldError::new(field, message));
        self
    }

    /// A 422 `validation` problem listing the fields at fault.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Problem {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Problem::validation(detail).with_errors(errors)
    }

    pub fn type_uri(&self) -> String {
        format!("/problems/{}", self.slug)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&Wire {
            kind: self.type_uri(),
            title: Problem::title_of(self.slug),
            status: self.status,
            detail: &self.detail,
            errors: &self.errors,
            until: self.until,
        })
        .expect("problem serialises")
    }
}

/// A store failure that no domain rule explains: the caller's request was
/// fine, the service was not.
impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Problem {
        match e {
            crate::store::StoreError::Unavailable(m) => Problem::unavailable(m),
            other => Problem::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc9457_shape() {
        let p = Problem::invalid_fields(vec![FieldError::new(
            "passport.expiry_date",
            "must be a date",
        )]);
        let v: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(v["type"], "/problems/validation");
        assert_eq!(v["status"], 422);
        assert_eq!(v["title"], "Some fields are not valid");
        assert_eq!(v["errors"][0]["field"], "passport.expiry_date");
        let plain: serde_json::Value =
            serde_json::from_slice(&Problem::not_found("x").to_json()).unwrap();
        assert!(plain.get("errors").is_none());
    }

    #[test]
    fn every_slug_has_a_title() {
        for slug in Problem::SLUGS {
            assert_ne!(Problem::title_of(slug), "Error", "{slug}");
        }
    }
}
