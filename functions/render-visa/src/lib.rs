//! render-visa: turns a paid application into an e-visa and serves it:
//! the applicant's download link, border control's verification and the
//! public keys for the QR code's signature.

pub mod issue;
pub mod jws;
pub mod mail;
pub mod reminders;

use chrono::Duration;
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use visa_core::Status;
use visa_core::annex::Annexes;
use visa_core::auth::{AdminAuth, applicant};
use visa_core::clock::Clock;
use visa_core::http::{Request, Response, json, query_param, respond};
use visa_core::notify::{EmailQueue, EmailRequest, Notifier};
use visa_core::problem::Problem;
use visa_core::routes::{self, Function, Op};
use visa_core::signing::VisaSigner;
use visa_core::store::{
    Accounts, Applications, Arrivals, Blobs, Hosts, InvitationRequests, Sessions, Visas,
};
use visa_core::verification;
use visa_pdf::Renderer;

/// Presigned links live at most this long.
pub use visa_core::store::LINK_SECONDS;

pub struct Deps {
    pub applications: Arc<dyn Applications>,
    pub visas: Arc<dyn Visas>,
    pub accounts: Arc<dyn Accounts>,
    pub sessions: Arc<dyn Sessions>,
    pub blobs: Arc<dyn Blobs>,
    pub signer: Arc<dyn VisaSigner>,
    pub notifier: Arc<dyn Notifier>,
    /// The email queue (the cloud's SQS queue, a task locally): issuance
    /// and retrieval only ask for an email; the queue's handler sends it.
    pub emails: Arc<dyn EmailQueue>,
    pub renderer: Arc<Renderer>,
    pub clock: Arc<dyn Clock>,
    pub annexes: &'static Annexes,
    pub site_origin: String,
    /// Who may ask for the signing key's certificate request.
    pub admin: AdminAuth,
    /// Hosts' approved invitation requests, whose foreigners are emailed.
    pub requests: Arc<dyn InvitationRequests>,
    /// Arrival notices whose hosts are reminded, and the hosts' accounts.
    pub arrivals: Arc<dyn Arrivals>,
    pub hosts: Arc<dyn Hosts>,
}

impl visa_core::http::Handler for Deps {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send {
        handle(self, req)
    }
}

pub async fn handle(deps: &Deps, req: Request) -> Response {
    let m = match routes::dispatch(Function::RenderVisa, &req) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match m.route.op {
        Op::GetVisaDownload => respond(visa_link(deps, &req, m.param("id")).await),
        Op::VerifyVisa => respond(verify(deps, &req, m.param("visa_number")).await),
        Op::RetrieveVisa => respond(retrieve(deps, &req).await),
        Op::GetJwks => respond(jwks(deps).await),
        Op::GetSealCertificates => respond(seal_certificates(deps).await),
        Op::CreateSealCertificateRequest => {
            respond(seal_certificate_request(deps, &req, m.route).await)
        }
        // routes::dispatch hands this function only its own routes.
        _ => respond(Err(Problem::not_found("no such route"))),
    }
}

async fn visa_link(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let now = deps.clock.now();
    let account_id = applicant(deps.sessions.as_ref(), req, now).await?;
    let app = visa_core::auth::own_application(deps.applications.as_ref(), &account_id, id).await?;
    let (Status::Issued, Some(visa)) = (app.status, app.visa.as_ref()) else {
        return Err(Problem::visa_not_ready(format!(
            "the application is {}",
            app.status.as_str()
        )));
    };
    download(deps, &app.id, visa, now).await
}

/// A fresh presigned link to an issued visa's PDF, as both download
/// routes answer it.
async fn download(
    deps: &Deps,
    application_id: &str,
    visa: &visa_core::application::Visa,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Response, Problem> {
    let expires_at = now + Duration::seconds(LINK_SECONDS);
    let url = deps
        .blobs
        .link(&issue::pdf_key(application_id, &visa.number), expires_at)
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
    let record = deps.visas.visa(&number).await?.ok_or_else(not_found)?;
    let app = deps
        .applications
        .application(&record.application_id)
        .await?
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
            // The application's copy: an officer's changes (a shorter
            // validity, a cancellation) are made to it.
            "visa": app.visa.as_ref().unwrap_or(&record.visa),
            "holder": {
                "surname": p.surname, "given_names": p.given_names, "nationality": p.nationality,
                "date_of_birth": p.date_of_birth, "sex": p.sex, "passport_number": p.number,
            },
        }),
    ))
}

/// Misses of the retrieval per client address in `RETRIEVAL_WINDOW_MINUTES`
/// before it answers 429 (the WAF limits per address in the cloud too).
pub const MAX_RETRIEVAL_MISSES: u32 = 20;
pub const RETRIEVAL_WINDOW_MINUTES: i64 = 60;

/// `{"visa_number", "passport_number", "date_of_birth"}` of
/// `POST /api/visa-retrievals`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Retrieval {
    visa_number: String,
    passport_number: String,
    #[serde(deserialize_with = "visa_core::date::ymd")]
    date_of_birth: chrono::NaiveDate,
}

/// The visa again without signing in (a phone lost at the airport): the
/// visa number, the passport number and the date of birth must all match;
/// the answer is a fresh short-lived download link. Every miss is the same
/// 404, and misses count per client address, so guessing is slow.
async fn retrieve(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let asked: Retrieval = visa_core::http::read_json(req.body())?;
    let now = deps.clock.now();
    // Counted before the check, atomically (as sign-in is); a match takes
    // its count back.
    let client = format!("retrieve:{}", visa_core::http::client_addr(req));
    let window = Duration::minutes(RETRIEVAL_WINDOW_MINUTES);
    let tries = deps
        .sessions
        .record_failed_sign_in(&client, now, window)
        .await?;
    if tries > MAX_RETRIEVAL_MISSES {
        return Err(Problem::too_many_requests(format!(
            "more than {MAX_RETRIEVAL_MISSES} attempts in {RETRIEVAL_WINDOW_MINUTES} minutes: try again later"
        ))
        .with_retry_after(RETRIEVAL_WINDOW_MINUTES as u32 * 60));
    }
    let not_found = || Problem::not_found("no visa matches these three details");
    let number = asked.visa_number.trim().to_ascii_uppercase();
    let passport = asked
        .passport_number
        .trim()
        .to_ascii_uppercase()
        .replace(' ', "");
    if number.is_empty() || passport.is_empty() {
        return Err(not_found());
    }
    let record = deps.visas.visa(&number).await?;
    let app = match record {
        Some(record) => {
            deps.applications
                .application(&record.application_id)
                .await?
        }
        None => None,
    };
    let app = app
        .filter(|a| {
            a.passport.number == passport && a.passport.date_of_birth == asked.date_of_birth
        })
        .filter(|a| a.status == Status::Issued)
        .ok_or_else(not_found)?;
    if let Err(e) = deps.sessions.forgive_failed_sign_in(&client).await {
        tracing::warn!(error = %e, "could not take back a retrieval's count");
    }
    let visa = app.visa.as_ref().ok_or_else(not_found)?;
    tracing::info!(application_id = %app.id, visa = %visa.number, "visa retrieved without signing in");
    // And a copy by email, to the account's confirmed address only; the
    // link in the answer does not wait for it.
    let copy = EmailRequest::VisaCopy {
        application_id: app.id.clone(),
    };
    if let Err(e) = deps.emails.enqueue(&copy).await {
        tracing::warn!(application_id = %app.id, error = %e, "visa copy not queued");
    }
    download(deps, &app.id, visa, now).await
}

/// The current key first, then every retired key whose visas may still be
/// in force (a rotation keeps them verifying). A key whose signer
/// certificate is published carries it with the CSCA's as `x5c`, so the
/// seal's certificate reference (the serial number) finds its key.
async fn jwks(deps: &Deps) -> Result<Response, Problem> {
    let mut keys = signing_keys(deps).await?;
    match published(deps, &keys).await {
        Ok(Some(published)) => {
            for (key, signer) in keys.iter_mut().zip(&published.signers) {
                if let Some(signer) = signer {
                    key["x5c"] = json!([pem_body(signer), pem_body(&published.csca)]);
                }
            }
        }
        Ok(None) => {}
        // The keys verify the QR without certificates: serve them.
        Err(e) => tracing::warn!(error = %e, "seal certificates not read"),
    }
    let mut res = json(StatusCode::OK, &json!({ "keys": keys }));
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}

/// The JWKs of the current signing key, then of every retired one.
async fn signing_keys(deps: &Deps) -> Result<Vec<serde_json::Value>, Problem> {
    let unavailable = |e: visa_core::signing::SignError| Problem::unavailable(e.to_string());
    let mut keys = vec![deps.signer.public_jwk().await.map_err(unavailable)?];
    keys.extend(deps.signer.retired_jwks().await.map_err(unavailable)?);
    Ok(keys)
}

/// Where an operator publishes the seal's certificates (PEM): the CSCA's,
/// and each signing key's under its key id (infra/README.md).
pub const CSCA_CERTIFICATE_KEY: &str = "trust/csca.pem";

pub fn signer_certificate_key(kid: &str) -> String {
    format!("trust/signers/{kid}.pem")
}

struct Published {
    csca: String,
    /// One per JWK, in the JWKS's order; None where none was issued.
    signers: Vec<Option<String>>,
}

/// The published certificates, or None before the CSCA's is.
async fn published(
    deps: &Deps,
    keys: &[serde_json::Value],
) -> Result<Option<Published>, visa_core::store::BlobError> {
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).ok();
    let Some(csca) = deps.blobs.get(CSCA_CERTIFICATE_KEY).await?.and_then(text) else {
        return Ok(None);
    };
    let mut signers = Vec::with_capacity(keys.len());
    for key in keys {
        let kid = key["kid"].as_str().unwrap_or_default();
        let pem = match kid {
            "" => None,
            kid => deps
                .blobs
                .get(&signer_certificate_key(kid))
                .await?
                .and_then(text),
        };
        signers.push(pem);
    }
    Ok(Some(Published { csca, signers }))
}

/// A PEM certificate's base64 body: the DER that `x5c` carries.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect()
}

/// The signer certificates (current key first) and then the CSCA's, as one
/// PEM file: `openssl verify` and border equipment check a seal's signer
/// against the CSCA with it.
async fn seal_certificates(deps: &Deps) -> Result<Response, Problem> {
    let keys = signing_keys(deps).await?;
    let published = published(deps, &keys)
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    let Some(Published { csca, signers }) = published.filter(|p| p.signers[0].is_some()) else {
        return Err(Problem::not_found(
            "the seal's certificates are not published yet",
        ));
    };
    let mut body = String::new();
    for pem in signers.into_iter().flatten().chain([csca]) {
        body.push_str(pem.trim_end());
        body.push('\n');
    }
    let mut res = http::Response::new(bytes::Bytes::from(body));
    let headers = res.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/pem-certificate-chain"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}

/// A certificate signing request (PKCS#10) for the current signing key,
/// signed by it: what the country signing CA certifies offline (the
/// runbook in infra/README.md). The key signs only here, visas and seals:
/// a request's DER (a SEQUENCE) can be mistaken for neither a JWS signing
/// input nor a seal (0xDC).
async fn seal_certificate_request(
    deps: &Deps,
    req: &Request,
    route: &visa_core::routes::Route,
) -> Result<Response, Problem> {
    let caller = visa_core::auth::admin(&deps.admin, req, route)?;
    let unavailable = |e: String| Problem::unavailable(e);
    let jwk = deps
        .signer
        .public_jwk()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let key = remote_key(&jwk).map_err(unavailable)?;
    let pending = visa_pki::PendingRequest::new(&key).map_err(|e| unavailable(e.to_string()))?;
    let raw = deps
        .signer
        .sign(pending.to_be_signed())
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let der = p256::ecdsa::Signature::from_slice(&raw)
        .map_err(|e| unavailable(e.to_string()))?
        .to_der();
    let request = pending
        .finish(der.as_bytes())
        .and_then(|r| visa_pki::request_to_pem(&r))
        .map_err(|e| unavailable(e.to_string()))?;
    let kid = deps.signer.key_id();
    tracing::info!(%caller, key_id = %kid, "seal certificate request signed");
    Ok(json(
        StatusCode::OK,
        &json!({
            "key_id": kid,
            "certificate_reference": visa_pki::certificate_reference(kid),
            "request": request,
        }),
    ))
}

/// The signer's public key from its JWK.
fn remote_key(jwk: &serde_json::Value) -> Result<visa_pki::RemoteKey, String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let coordinate = |name: &str| -> Result<Vec<u8>, String> {
        let text = jwk[name].as_str().ok_or(format!("JWK without {name}"))?;
        B64.decode(text).map_err(|e| e.to_string())
    };
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    if x.len() != 32 || y.len() != 32 {
        return Err("JWK coordinates are not P-256's".into());
    }
    let point = p256::EncodedPoint::from_affine_coordinates(
        x.as_slice().into(),
        y.as_slice().into(),
        false,
    );
    p256::ecdsa::VerifyingKey::from_encoded_point(&point)
        .map(visa_pki::RemoteKey)
        .map_err(|e| e.to_string())
}
