//! render-visa: turns a paid application into an e-visa and serves it:
//! the applicant's download link, border control's verification and the
//! public keys for the QR code's signature.

pub mod issue;
pub mod jws;
pub mod mail;

use chrono::Duration;
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use visa_core::Status;
use visa_core::annex::Annexes;
use visa_core::auth::{applicant, store_problem};
use visa_core::clock::Clock;
use visa_core::http::{Request, Response, json, query_param, respond};
use visa_core::notify::Notifier;
use visa_core::problem::Problem;
use visa_core::routes::{self, Function, Op};
use visa_core::signing::VisaSigner;
use visa_core::store::{Accounts, Applications, Blobs, Sessions, Visas};
use visa_core::verification;
use visa_pdf::Renderer;

/// Presigned links live at most this long.
pub const LINK_SECONDS: i64 = 300;

pub struct Deps {
    pub applications: Arc<dyn Applications>,
    pub visas: Arc<dyn Visas>,
    pub accounts: Arc<dyn Accounts>,
    pub sessions: Arc<dyn Sessions>,
    pub blobs: Arc<dyn Blobs>,
    pub signer: Arc<dyn VisaSigner>,
    pub notifier: Arc<dyn Notifier>,
    pub renderer: Arc<Renderer>,
    pub clock: Arc<dyn Clock>,
    pub annexes: &'static Annexes,
    pub site_origin: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response {
    let m = match routes::dispatch(Function::RenderVisa, &req) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match m.route.op {
        Op::GetVisaDownload => respond(visa_link(deps, &req, m.param("id")).await),
        Op::VerifyVisa => respond(verify(deps, &req, m.param("visa_number")).await),
        Op::GetJwks => respond(jwks(deps).await),
        // routes::dispatch hands this function only its own routes.
        _ => respond(Err(Problem::not_found("no such route"))),
    }
}

async fn visa_link(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let now = deps.clock.now();
    let account_id = applicant(deps.sessions.as_ref(), req, now).await?;
    let app = match deps
        .applications
        .application(id)
        .await
        .map_err(store_problem)?
    {
        Some(app) if app.account_id == account_id => app,
        _ => return Err(Problem::not_found("no such application")),
    };
    let (Status::Issued, Some(visa)) = (app.status, app.visa.as_ref()) else {
        return Err(Problem::visa_not_ready(format!(
            "the application is {}",
            app.status.as_str()
        )));
    };
    let expires_at = now + Duration::seconds(LINK_SECONDS);
    let url = deps
        .blobs
        .link(&issue::pdf_key(&app.id, &visa.number), expires_at)
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    Ok(json(
        StatusCode::OK,
        &json!({"visa_number": visa.number, "url": url, "expires_at": expires_at}),
    ))
}

async fn verify(deps: &Deps, req: &Request, number: &str) -> Result<Response, Problem> {
    let passport_number =
        query_param(req, "passport_number").map(|p| p.trim().to_ascii_uppercase().replace(' ', ""));
    // docs/API.md lists only 404 here: a visa is found by its number together
    // with the passport it was issued for, and no passport matches none.
    let Some(passport_number) = passport_number.filter(|p| !p.is_empty()) else {
        return Err(Problem::not_found(
            "give the holder's passport number: ?passport_number=...",
        ));
    };
    let not_found = || Problem::not_found("no visa with this number for this passport");
    let number = number.trim().to_ascii_uppercase();
    let record = deps
        .visas
        .visa(&number)
        .await
        .map_err(store_problem)?
        .ok_or_else(not_found)?;
    let app = deps
        .applications
        .application(&record.application_id)
        .await
        .map_err(store_problem)?
        .ok_or_else(not_found)?;
    // Seed: valid only with the passport it was issued for.
    if app.passport.number != passport_number {
        return Err(not_found());
    }
    let standing = verification::standing(&app, deps.clock.today());
    let p = &app.passport;
    Ok(json(
        StatusCode::OK,
        &json!({
            "valid": standing.valid(),
            "status": standing.as_str(),
            "visa": record.visa,
            "holder": {
                "surname": p.surname, "given_names": p.given_names, "nationality": p.nationality,
                "date_of_birth": p.date_of_birth, "sex": p.sex, "passport_number": p.number,
            },
        }),
    ))
}

/// The current key first, then every retired key whose visas may still be
/// in force (a rotation keeps them verifying).
async fn jwks(deps: &Deps) -> Result<Response, Problem> {
    let unavailable = |e: visa_core::signing::SignError| Problem::unavailable(e.to_string());
    let mut keys = vec![deps.signer.public_jwk().await.map_err(unavailable)?];
    keys.extend(deps.signer.retired_jwks().await.map_err(unavailable)?);
    let mut res = json(StatusCode::OK, &json!({ "keys": keys }));
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}
