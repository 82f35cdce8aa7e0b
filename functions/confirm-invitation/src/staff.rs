//! The migration service's staff on `/api/officer/*`: signing in (password,
//! then the authenticator's code, through the staff directory: Cognito in
//! the cloud), and who is calling, read from the request context the
//! gateway's JWT authorizer filled and checked again here.

use crate::Deps;
use http::StatusCode;
use serde_json::json;
use visa_core::audit::{AuditAction, AuditEvent};
use visa_core::auth::is_route;
use visa_core::http::{GatewayContext, Request, Response, client_addr, json, read_json};
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::{Access, Route};
use visa_core::staff::{StaffGroup, StaffMember, StaffSignInError};

/// The member of staff making this request and the role they act in.
/// Behind the JWT authorizer, and checked again: the claims must be in the
/// request context, on this very route, unexpired, naming a member of a
/// staff group; a changing route needs the `officer` group.
pub(crate) fn member(
    deps: &Deps,
    req: &Request,
    route: &Route,
) -> Result<(StaffMember, StaffGroup), Problem> {
    let context = req.extensions().get::<GatewayContext>();
    let claims = match context {
        Some(GatewayContext {
            route_key,
            jwt_claims: Some(claims),
            ..
        }) if is_route(route_key, route) => claims,
        _ => {
            tracing::warn!(
                anomaly = true,
                route = %route.route_key(),
                route_key = context.map_or("", |c| c.route_key.as_str()),
                "staff route refused: no verified token on this route"
            );
            return Err(Problem::unauthenticated("sign in as a member of staff"));
        }
    };
    let expired = claims
        .get("exp")
        .and_then(|e| e.parse::<i64>().ok())
        .is_none_or(|exp| exp <= deps.clock.now().timestamp());
    if expired {
        return Err(Problem::unauthenticated("the sign-in has expired"));
    }
    let member = StaffMember::from_claims(claims)
        .ok_or_else(|| Problem::forbidden("this token names no member of staff"))?;
    let acting = match route.access {
        Access::StaffOfficer if member.is(StaffGroup::Officer) => StaffGroup::Officer,
        Access::StaffOfficer => {
            return Err(Problem::forbidden(
                "only officers change records: auditors and border control read",
            ));
        }
        Access::StaffBorder if member.is(StaffGroup::Border) => StaffGroup::Border,
        Access::StaffBorder => {
            return Err(Problem::forbidden(
                "only border control records entries and exits",
            ));
        }
        _ => member.reading_as(),
    };
    Ok((member, acting))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Password {
    email: String,
    password: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    email: String,
    session: String,
    code: String,
}

fn directory_problem(e: StaffSignInError) -> Problem {
    match e {
        StaffSignInError::Refused => Problem::invalid_credentials("email or password is wrong"),
        StaffSignInError::WrongCode => {
            Problem::wrong_code("the code is wrong, or was already used: wait for the next one")
                .with_field("code", "wrong or already used")
        }
        StaffSignInError::Expired => Problem::sign_in_expired("sign in again with your password"),
        StaffSignInError::TooManyAttempts => Problem::too_many_attempts(
            "too many failed sign-ins for this address: try again in 15 minutes",
        )
        .with_retry_after(900),
        StaffSignInError::NoRole => Problem::forbidden("this account is in no staff group"),
        StaffSignInError::Unavailable(e) => {
            tracing::error!(error = %e, "staff directory unavailable");
            Problem::unavailable("sign-in is briefly unavailable")
        }
    }
}

/// `POST /api/officer/sessions` `{email, password}`: the password step.
pub async fn start(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let body: Password = read_json(req.body())?;
    if body.email.trim().is_empty() || body.password.is_empty() {
        let mut errors = Vec::new();
        if body.email.trim().is_empty() {
            errors.push(FieldError::new("email", "required"));
        }
        if body.password.is_empty() {
            errors.push(FieldError::new("password", "required"));
        }
        return Err(Problem::invalid_fields(errors));
    }
    let challenge = deps
        .staff
        .sign_in(&body.email, &body.password)
        .await
        .map_err(directory_problem)?;
    Ok(json(
        StatusCode::OK,
        &json!({"challenge": "totp", "session": challenge.session}),
    ))
}

/// `POST /api/officer/sessions/totp` `{email, session, code}`: the code
/// step; a sign-in, and a wrong code after a right password, are recorded
/// in the audit trail.
pub async fn complete(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let body: Code = read_json(req.body())?;
    if body.code.len() != 6 || !body.code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "code",
            "the six digits your authenticator shows",
        )]));
    }
    let email = body.email.trim().to_lowercase();
    let event = |actor: String, action| AuditEvent {
        id: deps.ids.new_id(),
        at: deps.clock.now(),
        actor,
        action,
        record: format!("staff/{email}"),
        reason: String::new(),
        from: client_addr(req),
        detail: None,
    };
    match deps
        .staff
        .answer_code(&body.email, &body.session, &body.code)
        .await
    {
        Ok(token) => {
            let acting = token.member.reading_as();
            deps.audit
                .append_audit_event(&event(token.member.actor(acting), AuditAction::SignedIn))
                .await?;
            tracing::info!(staff = %token.member.email, "staff signed in");
            Ok(json(
                StatusCode::OK,
                &json!({
                    "token": token.token,
                    "expires_in": token.expires_in_seconds,
                    "member": token.member,
                }),
            ))
        }
        Err(StaffSignInError::WrongCode) => {
            // The password was right: someone holds it. Recorded under the
            // address, which is all that is known of them.
            deps.audit
                .append_audit_event(&event(
                    format!("<{email}> (unverified)"),
                    AuditAction::SignInRefused,
                ))
                .await?;
            tracing::warn!(anomaly = true, staff = %email, "staff sign-in: wrong code after a right password");
            Err(directory_problem(StaffSignInError::WrongCode))
        }
        Err(e) => Err(directory_problem(e)),
    }
}

/// `GET /api/officer/me`: who the token names, and the role they act in.
pub fn me(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    let (member, acting) = member(deps, req, route)?;
    Ok(json(
        StatusCode::OK,
        &json!({"member": member, "acting_as": acting}),
    ))
}
