//! The migration officer's invitations.

use crate::{AdminAuth, Deps};
use http::StatusCode;
use subtle::ConstantTimeEq;
use visa_core::auth::store_problem;
use visa_core::http::{Request, Response, bearer, json, no_content, read_json};
use visa_core::invitation::{NewInvitation, is_invitation_number};
use visa_core::problem::Problem;
use visa_core::store::StoreError;

fn authorise(deps: &Deps, req: &Request) -> Result<(), Problem> {
    match &deps.admin {
        AdminAuth::Iam => Ok(()),
        AdminAuth::Token(expected) => {
            let given = bearer(req).unwrap_or("");
            if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(Problem::unauthenticated("an officer's token is required"))
            }
        }
    }
}

pub async fn create(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    authorise(deps, req)?;
    let new: NewInvitation = read_json(req.body())?;
    let chosen = new.number.is_some();
    // A generated number may collide: draw again a few times.
    for _ in 0..5 {
        let invitation = new
            .clone()
            .into_invitation(
                deps.ids.invitation_number(),
                deps.clock.today(),
                deps.clock.now(),
            )
            .map_err(Problem::invalid_fields)?;
        match deps.invitations.create_invitation(&invitation).await {
            Ok(()) => {
                tracing::info!(number = %invitation.number, category = %invitation.category, "invitation created");
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
            Err(e) => return Err(store_problem(e)),
        }
    }
    Err(Problem::unavailable(
        "could not draw a free invitation number",
    ))
}

pub async fn revoke(deps: &Deps, req: &Request, number: &str) -> Result<Response, Problem> {
    authorise(deps, req)?;
    if !is_invitation_number(number) {
        return Err(Problem::not_found("no such invitation"));
    }
    match deps.invitations.revoke_invitation(number).await {
        Ok(_) => {
            tracing::info!(%number, "invitation revoked");
            Ok(no_content())
        }
        Err(StoreError::NotFound) => Err(Problem::not_found("no such invitation")),
        Err(StoreError::InvitationNotClaimable) => Err(Problem::invitation_already_used(
            "an application was made on this invitation",
        )),
        Err(e) => Err(store_problem(e)),
    }
}
