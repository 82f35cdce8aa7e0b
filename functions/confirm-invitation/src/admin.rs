//! The migration officer's invitations.

use crate::Deps;
use http::StatusCode;
use visa_core::Status;
use visa_core::audit::{AuditAction, AuditEvent};
use visa_core::http::{Request, Response, json, no_content, read_json};
use visa_core::invitation::{NewInvitation, is_invitation_number};
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::Route;
use visa_core::search::{SearchKey, SearchKind};
use visa_core::store::StoreError;

/// The officer making this request, proven by the request itself: every
/// officer handler calls this first.
pub(crate) fn officer(deps: &Deps, req: &Request, route: &Route) -> Result<String, Problem> {
    if route.access.is_staff() {
        let (member, acting) = crate::staff::member(deps, req, route)?;
        return Ok(member.actor(acting));
    }
    visa_core::auth::admin(&deps.admin, req, route)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

/// The audit event of an officer's action on invitation `number`.
fn officer_event(
    deps: &Deps,
    req: &Request,
    officer: &str,
    action: AuditAction,
    number: &str,
    detail: Option<String>,
) -> AuditEvent {
    AuditEvent {
        id: deps.ids.new_id(),
        at: deps.clock.now(),
        actor: officer.to_owned(),
        action,
        record: format!("invitation/{number}"),
        reason: String::new(),
        from: visa_core::http::client_addr(req),
        detail,
    }
}

pub async fn create(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    let officer = officer(deps, req, route)?;
    let new: NewInvitation = read_json(req.body())?;
    let chosen = new.number.is_some();
    // A generated number may collide: draw again a few times.
    for _ in 0..5 {
        let invitation = new
            .clone()
            .into_invitation(
                &officer,
                deps.ids.invitation_number(),
                deps.clock.today(),
                deps.clock.now(),
            )
            .map_err(Problem::invalid_fields)?;
        let event = officer_event(
            deps,
            req,
            &officer,
            AuditAction::InvitationCreated,
            &invitation.number,
            Some(format!(
                "{} for {}, {} to {}",
                invitation.category.as_str(),
                invitation.invitee.nationality,
                invitation.valid_from,
                invitation.valid_until
            )),
        );
        match deps
            .invitations
            .create_invitation(&invitation, Some(&event))
            .await
        {
            Ok(()) => {
                tracing::info!(number = %invitation.number, category = %invitation.category, %officer, "invitation created");
                return Ok(json(StatusCode::CREATED, &invitation));
            }
            Err(StoreError::InvitationExists) if chosen => {
                return Err(Problem::invitation_exists(format!(
                    "invitation {} exists",
                    invitation.number
                ))
                .with_field("number", "already exists"));
            }
            Err(StoreError::InvitationExists) => continue,
            Err(e) => return Err(Problem::from(e)),
        }
    }
    Err(Problem::unavailable(
        "could not draw a free invitation number",
    ))
}

pub async fn revoke(
    deps: &Deps,
    req: &Request,
    route: &Route,
    number: &str,
) -> Result<Response, Problem> {
    let officer = officer(deps, req, route)?;
    // The staff console's revocation gives a reason; the IAM admin API's
    // DELETE carries no body.
    let reason = if route.access.is_staff() {
        let body: Reason = read_json(req.body())?;
        visa_core::audit::reason(&body.reason)
            .map_err(|m| Problem::invalid_fields(vec![FieldError::new("reason", m)]))?
    } else {
        String::new()
    };
    if !is_invitation_number(number) {
        return Err(Problem::not_found("no such invitation"));
    }
    let mut event = officer_event(
        deps,
        req,
        &officer,
        AuditAction::InvitationRevoked,
        number,
        None,
    );
    event.reason = reason;
    match deps
        .invitations
        .revoke_invitation(number, &officer, Some(&event))
        .await
    {
        Ok(_) => {
            tracing::info!(%number, %officer, "invitation revoked");
            Ok(no_content())
        }
        Err(StoreError::NotFound) => Err(Problem::not_found("no such invitation")),
        Err(StoreError::InvitationNotClaimable) => {
            revoke_used(deps, number, &officer, &event).await
        }
        Err(e) => Err(Problem::from(e)),
    }
}

/// A used invitation is still revoked while its application has opened no
/// checkout: the application can then never be paid for (a family's
/// group drops it before its checkout). Once a checkout is open or paid,
/// the visa is the officers' to cancel instead.
async fn revoke_used(
    deps: &Deps,
    number: &str,
    officer: &str,
    event: &AuditEvent,
) -> Result<Response, Problem> {
    let in_checkout = || {
        Problem::invitation_already_used(
            "an application on this invitation has opened its checkout or been paid: cancel its visa instead",
        )
    };
    let invitation = deps
        .invitations
        .invitation(number)
        .await?
        .ok_or_else(|| Problem::not_found("no such invitation"))?;
    // The application is found by the invitee's passport number, which the
    // application had to match.
    let key = SearchKey::new(
        SearchKind::PassportNumber,
        &invitation.invitee.passport_number,
    )
    .ok_or_else(in_checkout)?;
    let application = deps
        .applications
        .find_applications(&key)
        .await?
        .into_iter()
        .find(|a| a.invitation_number == number)
        .ok_or_else(in_checkout)?;
    if application.status != Status::InvitationConfirmed {
        return Err(in_checkout());
    }
    match deps
        .invitations
        .revoke_used_invitation(number, &application.id, officer, event, deps.clock.now())
        .await
    {
        Ok(_) => {
            tracing::info!(%number, %officer, application_id = %application.id, "used invitation revoked before payment");
            Ok(no_content())
        }
        Err(StoreError::StatusConflict | StoreError::NotFound) => Err(in_checkout()),
        Err(e) => Err(Problem::from(e)),
    }
}
