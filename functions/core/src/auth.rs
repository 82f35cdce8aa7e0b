//! Who is calling: the applicant behind a bearer session token.

use crate::account::token_hash;
use crate::http::{Request, bearer};
use crate::problem::Problem;
use crate::store::{Sessions, StoreError};
use chrono::{DateTime, Utc};

/// The signed-in applicant's account id, or 401 `unauthenticated`.
pub async fn applicant(
    sessions: &dyn Sessions,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<String, Problem> {
    let token = bearer(req).ok_or_else(|| Problem::unauthenticated("missing bearer token"))?;
    match sessions
        .session(&token_hash(token), now)
        .await
        .map_err(store_problem)?
    {
        Some(session) => Ok(session.account_id),
        None => Err(Problem::unauthenticated(
            "the session is unknown or has expired",
        )),
    }
}

/// A store failure that no domain rule explains: the caller's request was
/// fine, the service was not.
pub fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::Unavailable(m) => Problem::unavailable(m),
        other => Problem::internal(other.to_string()),
    }
}
