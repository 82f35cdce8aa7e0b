//! Families and groups: the applicant pays once for several of their
//! applications (`visa_core::group`). Each member keeps its own invitation,
//! passport and visa; the group holds one checkout for the total.

use crate::Deps;
use crate::applications::{Checkout, details_confirmed, open_provider_checkout};
use http::StatusCode;
use serde::Deserialize;
use visa_core::application::{Application, Payment};
use visa_core::auth::applicant;
use visa_core::group::{FormRefused, Group, GroupStatus, check_ids};
use visa_core::http::{Request, Response, json, read_json};
use visa_core::problem::Problem;
use visa_core::store::StoreError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    application_ids: Vec<String>,
}

/// The group as the API shows it, its members read as they are now.
async fn view(deps: &Deps, group: &Group, status: StatusCode) -> Result<Response, Problem> {
    let members = members(deps, group).await?;
    Ok(json(status, &group.view(&members)))
}

/// The members' applications (one erased meanwhile is left out).
async fn members(deps: &Deps, group: &Group) -> Result<Vec<Application>, Problem> {
    let mut apps = Vec::with_capacity(group.members.len());
    for id in &group.members {
        if let Some(app) = deps.applications.application(id).await? {
            apps.push(app);
        }
    }
    Ok(apps)
}

/// The caller's own group, or 404 (another account's reads as none).
async fn owned(deps: &Deps, account_id: &str, id: &str) -> Result<Group, Problem> {
    match deps.groups.group(id).await? {
        Some(g) if g.account_id == account_id => Ok(g),
        _ => Err(Problem::not_found("no such group")),
    }
}

fn refused(refusal: FormRefused) -> Problem {
    match refusal {
        FormRefused::Invalid(errors) => Problem::invalid_fields(errors),
        FormRefused::NotGroupable(errors) => {
            Problem::invalid_state("an application is paid for already, or in another group")
                .with_errors(errors)
        }
        FormRefused::Revoked(errors) => {
            Problem::invitation_revoked("the migration service revoked an application's invitation")
                .with_errors(errors)
        }
    }
}

pub async fn create(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let body: NewGroup = read_json(req.body())?;
    check_ids(&body.application_ids).map_err(refused)?;
    let mut apps = Vec::with_capacity(body.application_ids.len());
    for (i, id) in body.application_ids.iter().enumerate() {
        match deps.applications.application(id).await? {
            Some(app) if app.account_id == account_id => apps.push(app),
            _ => {
                return Err(Problem::not_found("no such application")
                    .with_field(&format!("application_ids[{i}]"), "no such application"));
            }
        }
    }
    let group =
        Group::form(deps.ids.new_id(), &account_id, &apps, deps.clock.now()).map_err(refused)?;
    match deps.groups.create_group(&group).await {
        Ok(()) => {
            tracing::info!(group_id = %group.id, members = group.members.len(), "group formed");
            // The members as just read: joining changed nothing the view shows.
            Ok(json(StatusCode::CREATED, &group.view(&apps)))
        }
        // A member moved between the read and the write (paid alone,
        // grouped elsewhere, its invitation revoked): answer as if read now.
        Err(StoreError::StatusConflict) => {
            let mut now = Vec::with_capacity(apps.len());
            for app in &apps {
                if let Some(a) = deps.applications.application(&app.id).await? {
                    now.push(a);
                }
            }
            match Group::form(group.id.clone(), &account_id, &now, deps.clock.now()) {
                Err(refusal) => Err(refused(refusal)),
                Ok(_) => Err(Problem::invalid_state(
                    "an application changed meanwhile: try again",
                )),
            }
        }
        Err(e) => Err(Problem::from(e)),
    }
}

pub async fn get(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let group = owned(deps, &account_id, id).await?;
    view(deps, &group, StatusCode::OK).await
}

/// Undo an open group: its members can be paid alone or grouped again.
pub async fn dissolve(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let group = owned(deps, &account_id, id).await?;
    if group.status == GroupStatus::Dissolved {
        return view(deps, &group, StatusCode::OK).await;
    }
    let next = group
        .dissolve(deps.clock.now())
        .map_err(|_| invalid_state(group.status))?;
    match deps
        .groups
        .release_members(&group, &next, &group.members)
        .await
    {
        Ok(()) => {
            tracing::info!(group_id = %group.id, "group dissolved");
            view(deps, &next, StatusCode::OK).await
        }
        Err(StoreError::StatusConflict) => {
            let now = owned(deps, &account_id, id).await?;
            Err(invalid_state(now.status))
        }
        Err(e) => Err(Problem::from(e)),
    }
}

fn invalid_state(status: GroupStatus) -> Problem {
    Problem::invalid_state(format!("the group is {}", status.as_str()))
}

/// Confirm the members' data and open one checkout for the total. Members
/// whose invitation was revoked meanwhile are dropped first, and the
/// applicant told before anything is charged (409 `group-changed`).
pub async fn confirm(deps: &Deps, req: &Request, id: &str) -> Result<Response, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    let group = owned(deps, &account_id, id).await?;
    details_confirmed(req, "confirm that the visa data matches each passport")?;
    let now = deps.clock.now();
    let expired = match (group.status, group.payment.as_ref()) {
        (GroupStatus::Open, _) => None,
        (GroupStatus::AwaitingPayment, Some(p)) if p.expired(now) => Some(p.clone()),
        // Idempotent: the same open checkout, no second session.
        (GroupStatus::AwaitingPayment, _) => return view(deps, &group, StatusCode::OK).await,
        (GroupStatus::Paid | GroupStatus::Dissolved, _) => return Err(invalid_state(group.status)),
    };
    if expired.is_none() {
        let apps = members(deps, &group).await?;
        let next = group
            .without_unpayable(&apps, now)
            .map_err(|_| invalid_state(group.status))?;
        if next.members != group.members {
            return drop_members(deps, &group, &next).await;
        }
    }
    let site = deps.site_origin.trim_end_matches('/');
    let checkout = open_provider_checkout(
        deps,
        Checkout {
            reference: &group.id,
            amount: &group.total,
            description: format!(
                "Kazakhstan e-visas for {} people, consular fees",
                group.members.len()
            ),
            success_url: format!("{site}/payment-return?group={}", group.id),
            cancel_url: format!("{site}/check?group={}&cancelled=1", group.id),
            expired: expired.as_ref(),
        },
    )
    .await?;
    let payment = match &expired {
        Some(old) => old.replaced_by(checkout.session_id, checkout.url, checkout.expires_at),
        None => Payment {
            payment_intent: None,
            checkout_session_id: checkout.session_id,
            checkout_url: checkout.url,
            paid_at: None,
            expires_at: Some(checkout.expires_at),
            replaced_sessions: Vec::new(),
        },
    };
    let next = match expired {
        Some(_) => group.reopen_checkout(payment, now),
        None => group.open_checkout(payment, now),
    }
    .map_err(|_| invalid_state(group.status))?;
    match deps.groups.open_group_checkout(&group, &next, now).await {
        Ok(()) => {
            tracing::info!(group_id = %group.id, session = ?next.payment.as_ref().map(|p| &p.checkout_session_id), "group checkout opened");
            view(deps, &next, StatusCode::OK).await
        }
        // A concurrent confirmation won, or a member's invitation was
        // revoked meanwhile: answer with what is stored now.
        Err(StoreError::StatusConflict) => {
            let current = owned(deps, &account_id, id).await?;
            match current.status {
                GroupStatus::AwaitingPayment => view(deps, &current, StatusCode::OK).await,
                GroupStatus::Open => Err(Problem::group_changed(
                    "a member changed meanwhile: look at the group again before paying",
                )),
                other => Err(invalid_state(other)),
            }
        }
        Err(e) => Err(Problem::from(e)),
    }
}

async fn drop_members(deps: &Deps, group: &Group, next: &Group) -> Result<Response, Problem> {
    let dropped = group.newly_dropped(next);
    let leaving: Vec<String> = dropped.iter().map(|d| d.application_id.clone()).collect();
    match deps.groups.release_members(group, next, &leaving).await {
        Ok(()) | Err(StoreError::StatusConflict) => {}
        Err(e) => return Err(Problem::from(e)),
    }
    let names: Vec<String> = dropped
        .iter()
        .map(|d| format!("{} {}", d.given_names, d.surname))
        .collect();
    tracing::info!(group_id = %group.id, dropped = dropped.len(), "revoked members dropped before checkout");
    Err(Problem::group_changed(format!(
        "the migration service revoked the invitation of {}: removed from this payment, nothing was charged; look at the group again before paying",
        if names.is_empty() {
            "a member".to_owned()
        } else {
            names.join(", ")
        }
    )))
}
