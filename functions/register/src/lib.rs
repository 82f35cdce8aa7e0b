//! register: creating accounts and signing in and out.
//!
//! `handle` is the whole function: the Lambda main and the local gateway
//! both hand it plain `http` requests.

use chrono::Duration;
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use visa_core::account::{self, Account, Credentials, Registration, Session};
use visa_core::application::OnDeletion;
use visa_core::clock::{Clock, Ids};
use visa_core::http::{Request, Response, bearer, json, no_content, read_json, respond};
use visa_core::notify::{EmailQueue, EmailRequest};
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::{self, Function, Op};
use visa_core::store::{Accounts, Applications, Hosts, Sessions, StoreError};

pub struct Deps {
    pub accounts: Arc<dyn Accounts>,
    /// An account's applications, read when the account is deleted.
    pub applications: Arc<dyn Applications>,
    pub sessions: Arc<dyn Sessions>,
    /// Where reset requests go to be emailed (render-visa's mail queue).
    pub emails: Arc<dyn EmailQueue>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    /// The host role of an account (an inviting party).
    pub hosts: Arc<dyn Hosts>,
}

impl visa_core::http::Handler for Deps {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send {
        handle(self, req)
    }
}

pub async fn handle(deps: &Deps, req: Request) -> Response {
    let m = match routes::dispatch(Function::Register, &req) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match m.route.op {
        Op::CreateAccount => respond(create_account(deps, &req).await),
        Op::CreateSession => respond(sign_in(deps, &req).await),
        Op::DeleteCurrentSession => respond(sign_out(deps, &req).await),
        Op::RequestPasswordReset => respond(request_reset(deps, &req).await),
        Op::ResetPassword => respond(reset_password(deps, &req).await),
        Op::GetCurrentAccount => respond(current_account(deps, &req).await),
        Op::DeleteCurrentAccount => respond(delete_account(deps, &req).await),
        Op::RequestEmailVerification => respond(request_verification(deps, &req).await),
        Op::VerifyEmail => respond(verify_email(deps, &req).await),
        Op::RegisterHost => respond(register_host(deps, &req).await),
        Op::GetCurrentHost => respond(current_host(deps, &req).await),
        // routes::dispatch hands this function only its own routes.
        _ => respond(Err(Problem::not_found("no such route"))),
    }
}

/// Hashes running at once: one per core. Unbounded, a burst of sign-ups
/// runs dozens of Argon2id threads that crowd the async workers off the
/// CPU, and every other route's latency goes with them; queued here, the
/// burst waits its turn and the rest of the portal stays fast. (In Lambda
/// an instance serves one request at a time, so this never waits there.)
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new(cores)
});

/// Argon2id takes tens of milliseconds of CPU: keep it off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Problem> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| Problem::internal(format!("hashing queue closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("hashing task failed: {e}")))
}

/// The language a request names for its emails: en when it names none.
fn language(lang: Option<&str>, errors: &mut Vec<FieldError>) -> String {
    let lang = lang.unwrap_or("en");
    if !account::LANGUAGES.contains(&lang) {
        errors.push(FieldError::new("lang", "one of en, ru, kk"));
    }
    lang.to_owned()
}

async fn create_account(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let creds: Registration = read_json(req.body())?;
    let mut errors = Vec::new();
    let email = account::normalise_email(&creds.email);
    if email.is_none() {
        errors.push(FieldError::new("email", "a valid email address"));
    }
    if let Some(message) = account::password_problem(&creds.password) {
        errors.push(FieldError::new("password", message));
    }
    let lang = language(creds.lang.as_deref(), &mut errors);
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(Problem::invalid_fields(errors));
    };
    let password = creds.password;
    let password_hash = blocking(move || account::hash_password(&password)).await?;
    let account = Account {
        id: deps.ids.new_id(),
        email,
        password_hash,
        created_at: deps.clock.now(),
        email_verified_at: None,
        lang,
    };
    match deps.accounts.create_account(&account).await {
        Ok(()) => {
            tracing::info!(account_id = %account.id, "account created");
            // Counted like a resend, so the first link is one of the five.
            let _ = count_verification_request(deps, &account.id).await;
            let link = EmailRequest::EmailVerification {
                account_id: account.id.clone(),
                lang: account.lang.clone(),
            };
            // The account stands without the link: its owner can ask for
            // another from the cabinet.
            if let Err(e) = deps.emails.enqueue(&link).await {
                tracing::warn!(account_id = %account.id, error = %e, "verification email not queued");
            }
            Ok(json(
                StatusCode::CREATED,
                &json!({"account_id": account.id, "email": account.email}),
            ))
        }
        Err(StoreError::EmailTaken) => {
            Err(Problem::email_taken("an account with this email exists")
                .with_field("email", "already registered"))
        }
        Err(e) => Err(Problem::from(e)),
    }
}

async fn sign_in(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let creds: Credentials = read_json(req.body())?;
    let now = deps.clock.now();
    let Some(email) = account::normalise_email(&creds.email) else {
        return Err(Problem::invalid_credentials("email or password is wrong"));
    };
    // Counted before the password is checked, atomically: of a burst of
    // concurrent attempts only the first MAX_FAILED_SIGN_INS get a hash
    // checked; a right password takes its count back.
    let window = Duration::minutes(account::SIGN_IN_WINDOW_MINUTES);
    let attempts = deps
        .sessions
        .record_failed_sign_in(&email, now, window)
        .await?;
    if attempts > account::MAX_FAILED_SIGN_INS {
        return Err(Problem::too_many_attempts(format!(
            "more than {} failed sign-ins in {} minutes: try again later",
            account::MAX_FAILED_SIGN_INS,
            account::SIGN_IN_WINDOW_MINUTES
        ))
        // The window's start is not known here: its length is an upper bound.
        .with_retry_after(account::SIGN_IN_WINDOW_MINUTES as u32 * 60));
    }
    let found = deps.accounts.account_by_email(&email).await?;
    let phc = found.as_ref().map(|a| a.password_hash.clone());
    let password = creds.password;
    let ok = password.len() <= account::MAX_PASSWORD_BYTES
        && blocking(move || account::verify_password(&password, phc.as_deref())).await?;
    let account = match (ok, found) {
        (true, Some(account)) => account,
        _ => return Err(Problem::invalid_credentials("email or password is wrong")),
    };
    // Not taking the count back only costs one attempt of the window.
    if let Err(e) = deps.sessions.forgive_failed_sign_in(&email).await {
        tracing::warn!(error = %e, "could not take back a sign-in attempt's count");
    }
    let (token, token_hash) = account::new_session_token();
    let session = Session {
        token_hash,
        account_id: account.id,
        expires_at: now + Duration::hours(account::SESSION_HOURS),
    };
    deps.sessions.create_session(&session).await?;
    Ok(json(
        StatusCode::CREATED,
        &json!({"token": token, "expires_at": session.expires_at}),
    ))
}

async fn sign_out(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id =
        visa_core::auth::applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let token = bearer(req).expect("authenticated requests carry a token");
    deps.sessions
        .delete_session(&account::token_hash(token))
        .await?;
    tracing::info!(%account_id, "signed out");
    Ok(no_content())
}

/// "Forgot your password?": queues the reset email and answers 202 at
/// once, the same words and the same work whether or not an account has
/// this address (whether one does is decided where the email is built).
async fn request_reset(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let asked: account::ResetRequest = read_json(req.body())?;
    let mut errors = Vec::new();
    let email = account::normalise_email(&asked.email);
    if email.is_none() {
        errors.push(FieldError::new("email", "a valid email address"));
    }
    let lang = asked.lang.as_deref().unwrap_or("en");
    if !["en", "ru", "kk"].contains(&lang) {
        errors.push(FieldError::new("lang", "one of en, ru, kk"));
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(Problem::invalid_fields(errors));
    };
    // Per address, counted alike for every address: a mailbox cannot be
    // flooded, and the count says nothing of an account.
    let window = Duration::minutes(account::RESET_WINDOW_MINUTES);
    let requests = deps
        .sessions
        .record_failed_sign_in(&format!("reset:{email}"), deps.clock.now(), window)
        .await?;
    if requests > account::MAX_RESET_REQUESTS {
        return Err(Problem::too_many_requests(format!(
            "more than {} reset requests for this address in {} minutes: try again later",
            account::MAX_RESET_REQUESTS,
            account::RESET_WINDOW_MINUTES
        ))
        .with_retry_after(account::RESET_WINDOW_MINUTES as u32 * 60));
    }
    deps.emails
        .enqueue(&EmailRequest::PasswordReset {
            email,
            lang: lang.to_owned(),
        })
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"detail": "If an account has this address, a link to choose a new password is on its way. It works once, for 60 minutes."}),
    ))
}

/// The emailed link's token and a new password: the password changes, the
/// link is spent, and every session of the account ends (before and after
/// the change, so none opened meanwhile with the old password survives).
async fn reset_password(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let asked: account::NewPassword = read_json(req.body())?;
    if let Some(message) = account::password_problem(&asked.password) {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "password", message,
        )]));
    }
    let invalid = || Problem::reset_link_invalid("ask for a new link on the sign-in page");
    let now = deps.clock.now();
    let token_hash = account::token_hash(asked.token.trim());
    let reset = deps
        .accounts
        .reset(&token_hash, now)
        .await?
        .ok_or_else(invalid)?;
    let password = asked.password;
    let password_hash = blocking(move || account::hash_password(&password)).await?;
    let sessions = deps.sessions.as_ref();
    sessions.end_sessions_of(&reset.account_id).await?;
    match deps
        .accounts
        .redeem_reset(&reset, &password_hash, now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(invalid()),
        Err(e) => return Err(Problem::from(e)),
    }
    let ended = sessions.end_sessions_of(&reset.account_id).await?;
    tracing::info!(account_id = %reset.account_id, late_sessions_ended = ended, "password reset");
    Ok(no_content())
}

/// The signed-in applicant's account, for the cabinet: whether its address
/// is confirmed yet.
async fn current_account(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id =
        visa_core::auth::applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let account = deps
        .accounts
        .account(&account_id)
        .await?
        .ok_or_else(|| Problem::unauthenticated("the account of this session is gone"))?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "account_id": account.id,
            "email": account.email,
            "email_verified": account.email_verified_at.is_some(),
            "lang": account.lang,
            "created_at": account.created_at,
        }),
    ))
}

/// Counts one verification email for the account; the count after it.
async fn count_verification_request(deps: &Deps, account_id: &str) -> Result<u32, Problem> {
    let window = Duration::minutes(account::VERIFICATION_WINDOW_MINUTES);
    deps.sessions
        .record_failed_sign_in(&format!("verify:{account_id}"), deps.clock.now(), window)
        .await
        .map_err(Problem::from)
}

/// "Send the link again" in the cabinet: a fresh link, the earlier ones
/// still good until they expire.
async fn request_verification(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id =
        visa_core::auth::applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let asked: account::VerificationRequest = if req.body().is_empty() {
        account::VerificationRequest::default()
    } else {
        read_json(req.body())?
    };
    let mut errors = Vec::new();
    let lang = asked
        .lang
        .as_deref()
        .map(|l| language(Some(l), &mut errors));
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(errors));
    }
    let account = deps
        .accounts
        .account(&account_id)
        .await?
        .ok_or_else(|| Problem::unauthenticated("the account of this session is gone"))?;
    if account.email_verified_at.is_some() {
        return Err(Problem::email_already_verified(
            "this address is confirmed: visas are emailed to it",
        ));
    }
    if count_verification_request(deps, &account.id).await? > account::MAX_VERIFICATION_REQUESTS {
        return Err(Problem::too_many_requests(format!(
            "more than {} confirmation emails in {} minutes: try again later",
            account::MAX_VERIFICATION_REQUESTS,
            account::VERIFICATION_WINDOW_MINUTES
        ))
        .with_retry_after(account::VERIFICATION_WINDOW_MINUTES as u32 * 60));
    }
    deps.emails
        .enqueue(&EmailRequest::EmailVerification {
            account_id: account.id,
            lang: lang.unwrap_or(account.lang),
        })
        .await
        .map_err(|e| Problem::unavailable(e.to_string()))?;
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"detail": format!(
            "A link to confirm {} is on its way. It works once, for {} hours.",
            account.email,
            account::VERIFICATION_HOURS
        )}),
    ))
}

/// The emailed link: the address is confirmed, and visas held back until
/// now are queued to be emailed.
async fn verify_email(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let asked: account::VerificationToken = read_json(req.body())?;
    let invalid =
        || Problem::verification_link_invalid("sign in and ask for a new link in your cabinet");
    let now = deps.clock.now();
    let token_hash = account::token_hash(asked.token.trim());
    let verification = deps
        .accounts
        .verification(&token_hash, now)
        .await?
        .ok_or_else(invalid)?;
    match deps.accounts.redeem_verification(&verification, now).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(invalid()),
        Err(e) => return Err(Problem::from(e)),
    }
    tracing::info!(account_id = %verification.account_id, "email confirmed");
    let held = EmailRequest::AddressVerified {
        account_id: verification.account_id.clone(),
    };
    // The address stays verified either way; a visa held back is still in
    // the cabinet, and retrieval emails it too.
    if let Err(e) = deps.emails.enqueue(&held).await {
        tracing::warn!(account_id = %verification.account_id, error = %e, "held visas not queued");
    }
    Ok(no_content())
}

/// What deleting the account does to each of its applications now: the
/// ones to erase (with the status they must still have) and the kept ones,
/// as the answer lists them; `payment-open` while a checkout can be paid.
async fn erasure(
    deps: &Deps,
    account_id: &str,
) -> Result<(Vec<(String, visa_core::Status)>, Vec<serde_json::Value>), Problem> {
    let now = deps.clock.now();
    let applications = deps.applications.applications_of(account_id).await?;
    let mut erase = Vec::new();
    let mut kept = Vec::new();
    for app in &applications {
        match app.on_account_deletion(now) {
            OnDeletion::Erase => erase.push((app.id.clone(), app.status)),
            OnDeletion::Keep(reason) => kept.push(json!({
                "application_id": app.id,
                "status": app.status,
                "visa_number": app.visa.as_ref().map(|v| v.number.clone()),
                "reason": reason,
            })),
            OnDeletion::WaitForCheckout(until) => {
                return Err(Problem::payment_open(format!(
                    "application {} can still be paid until {until}: pay it, or try again after that",
                    app.id
                ))
                .with_until(until));
            }
        }
    }
    Ok((erase, kept))
}

/// Deletes the signed-in applicant's account, the password asked again:
/// the account, its sessions and its unpaid applications (passport data
/// included) are erased; paid and issued ones stay with the migration
/// service, and the answer says which and why.
async fn delete_account(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id =
        visa_core::auth::applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let asked: account::DeletionRequest = read_json(req.body())?;
    let account = deps
        .accounts
        .account(&account_id)
        .await?
        .ok_or_else(|| Problem::unauthenticated("the account of this session is gone"))?;
    let (password, phc) = (asked.password, account.password_hash.clone());
    let ok = password.len() <= account::MAX_PASSWORD_BYTES
        && blocking(move || account::verify_password(&password, Some(&phc))).await?;
    if !ok {
        return Err(Problem::invalid_credentials("the password is wrong")
            .with_field("password", "not this account's password"));
    }
    // An application that moves on between the reading and the erasure
    // (a payment lands) fails the erasure; read again and decide again.
    // Statuses only move forward, so this settles within a few tries.
    let mut attempts = 0;
    let (erase, kept) = loop {
        attempts += 1;
        let (erase, kept) = erasure(deps, &account.id).await?;
        match deps.accounts.erase_account(&account, &erase).await {
            Ok(()) => break (erase, kept),
            Err(StoreError::StatusConflict) if attempts < 4 => continue,
            Err(e) => return Err(Problem::from(e)),
        }
    };
    let ended = deps.sessions.end_sessions_of(&account.id).await?;
    let erased: Vec<&str> = erase.iter().map(|(id, _)| id.as_str()).collect();
    tracing::info!(account_id = %account.id, erased = erased.len(), kept = kept.len(), sessions = ended, "account deleted");
    Ok(json(
        StatusCode::OK,
        &json!({
            "deleted": {"account": true, "applications": erased},
            "kept": kept,
        }),
    ))
}

/// What a host reads of its own record: the officer's name stays with the
/// migration service.
fn host_view(host: &visa_core::host::Host) -> serde_json::Value {
    json!({
        "id": host.id,
        "kind": host.kind,
        "number": host.number,
        "name": host.name,
        "contact": host.contact,
        "status": host.status,
        "created_at": host.created_at,
        "decided_at": host.decision.as_ref().map(|d| d.at),
        "reason": host.decision.as_ref().and_then(|d| d.reason.clone()),
    })
}

/// `POST /api/hosts`: the signed-in account registers as an inviting
/// party (its email confirmed); an officer approves it before its first
/// invitation request.
async fn register_host(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let now = deps.clock.now();
    let account_id = visa_core::auth::applicant(deps.sessions.as_ref(), req, now).await?;
    let new: visa_core::host::NewHost = read_json(req.body())?;
    let host = new
        .into_host(deps.ids.new_id(), &account_id, now)
        .map_err(Problem::invalid_fields)?;
    let account = deps
        .accounts
        .account(&account_id)
        .await?
        .ok_or_else(|| Problem::unauthenticated("the account of this session is gone"))?;
    if account.email_verified_at.is_none() {
        return Err(Problem::email_not_verified(
            "an inviting party's email address is confirmed first",
        ));
    }
    match deps.hosts.create_host(&host).await {
        Ok(()) => {}
        Err(StoreError::HostExists) => {
            return Err(Problem::host_exists(
                "this account or this BIN/IIN is registered already",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(host_id = %host.id, kind = host.kind.as_str(), "inviting party registered");
    Ok(json(StatusCode::CREATED, &host_view(&host)))
}

/// `GET /api/hosts/current`: the signed-in account's host record.
async fn current_host(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id =
        visa_core::auth::applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let host = deps
        .hosts
        .host_of_account(&account_id)
        .await?
        .ok_or_else(|| Problem::not_found("this account is not an inviting party"))?;
    Ok(json(StatusCode::OK, &host_view(&host)))
}
