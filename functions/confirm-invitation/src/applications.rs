//! The applicant's applications: create against an invitation, read,
//! and confirm the data to open the checkout.

use crate::Deps;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use visa_core::application::{Application, NewApplication, Payment, Stay};
use visa_core::auth::applicant;
use visa_core::http::{Request, Response, json, read_json};
use visa_core::invitation::{InvitationStatus, is_invitation_number};
use visa_core::money::Money;
use visa_core::payment::CheckoutRequest;
use visa_core::problem::{FieldError, Problem};
use visa_core::rules;
use visa_core::store::StoreError;
use visa_core::{Category, Status};

pub async fn create(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let new: NewApplication = read_json(req.body())?;
    let today = deps.clock.today();
    let passport = new.passport.normalised();
    let number = new.invitation_number.trim().to_owned();
    let errors = passport.field_errors("passport", today);
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(errors));
    }
    let missing = rules::missing_declarations(&new.declarations);
    if !missing.is_empty() {
        return Err(
            Problem::declarations_missing("confirm both statements about the passport")
                .with_errors(missing),
        );
    }

    let not_found = || {
        Problem::invitation_not_found("no approved invitation has this number").with_field(
            "invitation_number",
            "no approved invitation has this number",
        )
    };
    // A number of another shape names no invitation: the same 404 as an
    // unknown one (docs/API.md lists no other problem for it).
    if !is_invitation_number(&number) {
        return Err(not_found());
    }
    let invitation = deps
        .invitations
        .invitation(&number)
        .await?
        .ok_or_else(not_found)?;
    match invitation.status {
        InvitationStatus::Approved if invitation.valid_until >= today => {}
        InvitationStatus::Used => return Err(already_used()),
        _ => return Err(not_found()),
    }
    let mismatches = rules::invitation_mismatches(&invitation, &passport);
    if !mismatches.is_empty() {
        return Err(Problem::invitation_mismatch(
            "the passport details differ from the invitation",
        )
        .with_errors(mismatches));
    }
    if !rules::eligible(deps.annexes, invitation.category, &passport.nationality) {
        return Err(not_eligible(invitation.category, &passport.nationality));
    }
    if !rules::passport_valid_long_enough(passport.expiry_date, invitation.valid_until) {
        let earliest = rules::earliest_passport_expiry(invitation.valid_until);
        return Err(Problem::passport_expires_too_soon(format!(
            "the passport must be valid until at least {earliest} (3 months after the visa's last day, {})",
            invitation.valid_until
        ))
        .with_field("passport.expiry_date", &format!("must be {earliest} or later")));
    }

    let now = deps.clock.now();
    let application = Application {
        id: deps.ids.new_id(),
        account_id,
        status: Status::InvitationConfirmed,
        category: invitation.category,
        invitation_number: invitation.number.clone(),
        passport,
        declarations: new.declarations,
        inviter: invitation.inviter.clone(),
        stay: Stay {
            valid_from: invitation.valid_from,
            valid_until: invitation.valid_until,
        },
        fee: deps.fees.for_category(invitation.category).clone(),
        details_confirmed_at: None,
        payment: None,
        visa: None,
        under_review: false,
        emailed_at: None,
        history: Vec::new(),
        group_id: None,
        invitation_revoked_at: None,
        created_at: now,
        updated_at: now,
    };
    match deps.applications.create_application(&application).await {
        Ok(()) => {
            tracing::info!(application_id = %application.id, invitation = %number, "application created");
            Ok(json(StatusCode::CREATED, &application.view()))
        }
        // Lost the race for the invitation, or it was revoked meanwhile.
        Err(StoreError::InvitationNotClaimable) => {
            match deps.invitations.invitation(&number).await? {
                Some(i) if i.status == InvitationStatus::Used => Err(already_used()),
                _ => Err(not_found()),
            }
        }
        Err(e) => Err(Problem::from(e)),
    }
}

fn already_used() -> Problem {
    Problem::invitation_already_used("an application was already made on this invitation")
        .with_field("invitation_number", "already used")
}

fn not_eligible(category: Category, nationality: &str) -> Problem {
    Problem::not_eligible(format!(
        "citizens of {nationality} cannot get the {category} e-visa"
    ))
    .with_field(
        "passport.nationality",
        "not on the list for this visa category",
    )
}

/// The caller's own application, or 404.
async fn owned(deps: &Deps, account_id: &str, id: &str) -> Result<Application, Problem> {
    visa_core::auth::own_application(deps.applications.as_ref(), account_id, id).await
}

pub async fn list(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let apps = deps.applications.applications_of(&account_id).await?;
    let items: Vec<_> = apps.iter().map(Application::view).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items })))
}

pub async fn get(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let app = owned(deps, &account_id, id).await?;
    Ok(json(StatusCode::OK, &app.view()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    details_match_passport: bool,
}

/// The body `{"details_match_passport": true}` of a confirmation (one
/// application's or a group's): anything else is refused with `refusal`.
pub(crate) fn details_confirmed(req: &Request, refusal: &str) -> Result<(), Problem> {
    let body: Confirmation = read_json(req.body())?;
    if body.details_match_passport {
        Ok(())
    } else {
        Err(Problem::invalid_fields(vec![FieldError::new(
            "details_match_passport",
            refusal,
        )]))
    }
}

pub async fn confirm(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let app = owned(deps, &account_id, id).await?;
    details_confirmed(req, "confirm that the visa data matches your passport")?;
    let now = deps.clock.now();
    let expired = match (app.status, app.payment.as_ref()) {
        (Status::InvitationConfirmed, _) => None,
        // An expired session is replaced: the applicant pays in a new one.
        (Status::AwaitingPayment, Some(p)) if p.expired(now) => Some(p.clone()),
        // Idempotent: the same open checkout, no second session, no second charge.
        (Status::AwaitingPayment, _) => return Ok(json(StatusCode::OK, &app.view())),
        (Status::Paid | Status::Issued, _) => return Err(invalid_state(app.status)),
    };
    if app.invitation_revoked_at.is_some() {
        return Err(Problem::invitation_revoked(
            "the migration service revoked this application's invitation: it cannot be paid for",
        ));
    }
    if let Some(group) = &app.group_id {
        return Err(Problem::invalid_state(format!(
            "the application is paid for with its group {group}: confirm the group"
        )));
    }
    let site = deps.site_origin.trim_end_matches('/');
    let checkout = open_provider_checkout(
        deps,
        Checkout {
            reference: &app.id,
            amount: &app.fee,
            description: format!("Kazakhstan e-visa ({}), consular fee", app.category),
            success_url: format!("{site}/payment-return?application={}", app.id),
            cancel_url: format!("{site}/check?application={}&cancelled=1", app.id),
            expired: expired.as_ref(),
        },
    )
    .await?;
    let expires_at = checkout.expires_at;
    let opened = match &expired {
        // Conditional on the expired session still being the current one:
        // of concurrent confirmations one replaces it, the rest answer
        // with the winner's session below.
        Some(old) => {
            let payment = old.replaced_by(checkout.session_id, checkout.url, expires_at);
            let replaced = deps
                .applications
                .reopen_checkout(&app.id, &old.checkout_session_id, &payment, now)
                .await;
            if replaced.is_ok() {
                tracing::info!(application_id = %app.id, expired = %old.checkout_session_id, session = %payment.checkout_session_id, "expired checkout replaced");
            }
            replaced
        }
        None => {
            let payment = Payment {
                payment_intent: None,
                checkout_session_id: checkout.session_id,
                checkout_url: checkout.url,
                paid_at: None,
                expires_at: Some(expires_at),
                replaced_sessions: Vec::new(),
            };
            deps.applications
                .open_checkout(&app.id, &payment, now)
                .await
        }
    };
    match opened {
        Ok(updated) => {
            let session = updated
                .payment
                .as_ref()
                .map(|p| p.checkout_session_id.as_str());
            tracing::info!(application_id = %app.id, session, "checkout opened");
            Ok(json(StatusCode::OK, &updated.view()))
        }
        // A concurrent confirmation won: answer with its session. Or the
        // invitation was revoked, or the application grouped, meanwhile.
        Err(StoreError::StatusConflict) => {
            let current = owned(deps, &account_id, id).await?;
            match current.status {
                Status::AwaitingPayment => Ok(json(StatusCode::OK, &current.view())),
                _ if current.invitation_revoked_at.is_some() => Err(Problem::invitation_revoked(
                    "the migration service revoked this application's invitation: it cannot be paid for",
                )),
                other => Err(invalid_state(other)),
            }
        }
        Err(e) => Err(Problem::from(e)),
    }
}

/// What a checkout is for: one application, or a group.
pub(crate) struct Checkout<'a> {
    /// The application's or group's id: the provider's client reference.
    pub reference: &'a str,
    pub amount: &'a Money,
    pub description: String,
    pub success_url: String,
    pub cancel_url: String,
    /// The expired payment a new session replaces, if any.
    pub expired: Option<&'a Payment>,
}

pub(crate) struct Opened {
    pub session_id: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Opens a session at the provider, idempotent per reference and attempt.
pub(crate) async fn open_provider_checkout(
    deps: &Deps,
    c: Checkout<'_>,
) -> Result<Opened, Problem> {
    let expires_at = deps.clock.now() + deps.checkout_lifetime;
    let checkout = deps
        .payments
        .open_checkout(&CheckoutRequest {
            application_id: c.reference.to_owned(),
            amount: c.amount.clone(),
            description: c.description,
            success_url: c.success_url,
            cancel_url: c.cancel_url,
            customer_email: None,
            expires_at,
            attempt: c.expired.map_or(0, |p| p.replaced_sessions.len() + 1),
        })
        .await
        .map_err(|e| Problem::payment_provider_unavailable(e.to_string()))?;
    Ok(Opened {
        session_id: checkout.session_id,
        url: checkout.url,
        expires_at,
    })
}

fn invalid_state(status: Status) -> Problem {
    Problem::invalid_state(format!("the application is {}", status.as_str()))
}
