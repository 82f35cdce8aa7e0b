//! Who is calling: the applicant behind a bearer session token.

use crate::account::token_hash;
use crate::http::{Request, bearer};
use crate::problem::Problem;
use crate::store::Sessions;
use chrono::{DateTime, Utc};

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
