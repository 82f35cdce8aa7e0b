//! Who is calling: the applicant behind a bearer session token, or an
//! administrator (an IAM caller in the cloud, the admin token locally).

use crate::account::token_hash;
use crate::http::{GatewayContext, Request, bearer};
use crate::problem::Problem;
use crate::routes::Route;
use crate::store::Sessions;
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

/// The signed-in applicant's account id, or 401 `unauthenticated`.
pub async fn applicant(
    sessions: &dyn Sessions,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<String, Problem> {
    let token = bearer(req).ok_or_else(|| Problem::unauthenticated("missing bearer token"))?;
    match sessions.session(&token_hash(token), now).await? {
        Some(session) => Ok(session.account_id),
        None => Err(Problem::unauthenticated(
            "the session is unknown or has expired",
        )),
    }
}

/// The caller's own application, or 404 (never 403: docs/API.md): another
/// account's application reads exactly as one that does not exist.
pub async fn own_application(
    applications: &dyn crate::store::Applications,
    account_id: &str,
    id: &str,
) -> Result<crate::Application, Problem> {
    match applications.application(id).await? {
        Some(app) if app.account_id == account_id => Ok(app),
        _ => Err(Problem::not_found("no such application")),
    }
}

/// How administrators (the migration service's machine integrations and
/// operators) prove who they are.
pub enum AdminAuth {
    /// Local gateway: `Authorization: Bearer <VISA_ADMIN_TOKEN>`.
    Token(String),
    /// Cloud: API Gateway authorised the caller with IAM. Checked again
    /// here from the request context: the IAM identity must be there and
    /// the route API Gateway matched must be the admin route itself.
    Iam,
}

/// Who the local gateway's administrator is, in the audit trail.
pub const LOCAL_OFFICER: &str = "visa-local officer (admin token)";

/// The administrator making this request, proven by the request itself:
/// every admin handler calls this first.
pub fn admin(auth: &AdminAuth, req: &Request, route: &Route) -> Result<String, Problem> {
    match auth {
        AdminAuth::Iam => {
            let context = req.extensions().get::<GatewayContext>();
            match context {
                Some(GatewayContext {
                    route_key,
                    iam_caller: Some(arn),
                    ..
                }) if is_route(route_key, route) && !arn.is_empty() => Ok(arn.clone()),
                _ => {
                    tracing::warn!(
                        anomaly = true,
                        route = %route.route_key(),
                        route_key = context.map_or("", |c| c.route_key.as_str()),
                        iam_caller = context.and_then(|c| c.iam_caller.as_deref()).unwrap_or(""),
                        "admin route refused: no IAM caller on the admin route"
                    );
                    Err(Problem::forbidden(
                        "officer routes are authorised with IAM on their own route",
                    ))
                }
            }
        }
        AdminAuth::Token(expected) => {
            let given = bearer(req).unwrap_or("");
            if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(LOCAL_OFFICER.to_owned())
            } else {
                Err(Problem::unauthenticated("an officer's token is required"))
            }
        }
    }
}

/// The route API Gateway matched is `route`, or its HEAD twin (a GET
/// route's, which the template deploys beside it).
pub fn is_route(route_key: &str, route: &Route) -> bool {
    route_key == route.route_key()
        || (route.method == http::Method::GET
            && route_key.strip_prefix("HEAD ") == Some(route.path))
}
