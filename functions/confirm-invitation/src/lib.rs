//! confirm-invitation: the applicant turns an approved invitation into an
//! application, confirms the data against the passport and is sent to pay;
//! the migration officer creates and revokes invitations.

mod admin;
mod applications;
mod catalogue;

use http::Method;
use std::sync::Arc;
use visa_core::annex::Annexes;
use visa_core::clock::{Clock, Ids};
use visa_core::http::{Request, Response, api_segments, is_get, method_not_allowed, respond};
use visa_core::money::Fees;
use visa_core::payment::PaymentProvider;
use visa_core::problem::Problem;
use visa_core::store::{Applications, Invitations, Sessions};

/// How officers prove who they are.
pub enum AdminAuth {
    /// Local gateway: `Authorization: Bearer <VISA_ADMIN_TOKEN>`.
    Token(String),
    /// Cloud: API Gateway has already authorised the caller with IAM.
    Iam,
}

pub struct Deps {
    pub invitations: Arc<dyn Invitations>,
    pub applications: Arc<dyn Applications>,
    pub sessions: Arc<dyn Sessions>,
    pub payments: Arc<dyn PaymentProvider>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub annexes: &'static Annexes,
    pub fees: Fees,
    /// Where the site lives, for the checkout's return links.
    pub site_origin: String,
    pub admin: AdminAuth,
}

pub async fn handle(deps: &Deps, req: Request) -> Response {
    let segments = api_segments(req.uri().path()).unwrap_or_default();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = req.method();
    match segments.as_slice() {
        ["health"] if is_get(m) => catalogue::health(),
        ["countries"] if is_get(m) => catalogue::countries(deps),
        ["requirements"] if is_get(m) => respond(catalogue::requirements(deps, &req)),
        ["health"] | ["countries"] | ["requirements"] => method_not_allowed("GET, HEAD"),
        ["applications"] if m == Method::POST => respond(applications::create(deps, &req).await),
        ["applications"] if is_get(m) => respond(applications::list(deps, &req).await),
        ["applications"] => method_not_allowed("GET, HEAD, POST"),
        ["applications", id] if is_get(m) => respond(applications::get(deps, &req, id).await),
        ["applications", _] => method_not_allowed("GET, HEAD"),
        ["applications", id, "confirmation"] if m == Method::POST => {
            respond(applications::confirm(deps, &req, id).await)
        }
        ["applications", _, "confirmation"] => method_not_allowed("POST"),
        ["admin", "invitations"] if m == Method::POST => respond(admin::create(deps, &req).await),
        ["admin", "invitations"] => method_not_allowed("POST"),
        ["admin", "invitations", number] if m == Method::DELETE => {
            respond(admin::revoke(deps, &req, number).await)
        }
        ["admin", "invitations", _] => method_not_allowed("DELETE"),
        _ => respond(Err(Problem::not_found("no such route"))),
    }
}
