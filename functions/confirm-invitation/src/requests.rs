//! Hosts' invitation requests (`visa_core::invitation_request`): an
//! approved host asks for invitations, one foreigner each, several in one
//! go; officers approve each (it becomes an invitation, the host its
//! inviting party) or refuse it with a reason, once.

use crate::Deps;
use crate::hosts::HostsSeen;
use crate::staff::member;
use http::StatusCode;
use serde_json::{Value, json};
use visa_core::application::{Application, Status};
use visa_core::audit::{AuditAction, AuditEvent};
use visa_core::auth::applicant;
use visa_core::decision::DecisionError;
use visa_core::host::Host;
use visa_core::http::{Request, Response, client_addr, json, query_param, read_json};
use visa_core::invitation_request::{
    InvitationRequest, NewInvitationRequests, RequestRefusal, RequestStatus,
};
use visa_core::notify::EmailRequest;
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::Route;
use visa_core::search::{SearchKey, SearchKind};
use visa_core::store::StoreError;

/// What the host reads of its request: the officer's name stays with the
/// migration service.
fn host_view(r: &InvitationRequest) -> Value {
    json!({
        "id": r.id,
        "batch_id": r.batch_id,
        "created_at": r.created_at,
        "category": r.category,
        "valid_from": r.valid_from,
        "valid_until": r.valid_until,
        "purpose": r.purpose,
        "invitee": r.invitee,
        "status": r.status,
        "decided_at": r.decision.as_ref().map(|d| d.at),
        "reason": r.decision.as_ref().and_then(|d| d.reason.clone()),
        "invitation_number": r.invitation_number,
    })
}

pub(crate) async fn own_host(deps: &Deps, req: &Request) -> Result<Host, Problem> {
    let account_id = applicant(deps.sessions.as_ref(), req, deps.clock.now()).await?;
    deps.hosts
        .host_of_account(&account_id)
        .await?
        .ok_or_else(|| Problem::not_found("this account is not an inviting party"))
}

/// `POST /api/hosts/current/invitation-requests`.
pub async fn create(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let host = own_host(deps, req).await?;
    let new: NewInvitationRequests = read_json(req.body())?;
    let batch_id = deps.ids.new_id();
    let requests = new
        .into_requests(
            &host,
            batch_id.clone(),
            || deps.ids.new_id(),
            deps.annexes,
            deps.clock.today(),
            deps.clock.now(),
        )
        .map_err(|refusal| match refusal {
            RequestRefusal::Fields(errors) => Problem::invalid_fields(errors),
            RequestRefusal::NotEligible { field, nationality } => Problem::not_eligible(format!(
                "citizens of {nationality} cannot get this category's e-visa"
            ))
            .with_field(&field, "not on the list for this visa category"),
            RequestRefusal::HostNotApproved => Problem::host_not_approved(format!(
                "the inviting party is {}",
                host.status.as_str()
            )),
        })?;
    deps.requests.create_requests(&requests).await?;
    tracing::info!(host_id = %host.id, %batch_id, count = requests.len(), "invitations requested");
    let views: Vec<Value> = requests.iter().map(host_view).collect();
    Ok(json(
        StatusCode::CREATED,
        &json!({ "batch_id": batch_id, "requests": views }),
    ))
}

/// `GET /api/hosts/current/invitation-requests`: the host's own, newest first.
pub async fn list_own(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let host = own_host(deps, req).await?;
    let requests = deps.requests.requests_of_host(&host.id).await?;
    let views: Vec<Value> = requests.iter().map(host_view).collect();
    Ok(json(StatusCode::OK, &json!({ "requests": views })))
}

/// How far an invitee has come, as the host may know it: never the
/// applicant's own data, only the stage and the border's dates.
fn progress(app: Option<&Application>) -> (&'static str, Value, Value) {
    let Some(app) = app else {
        return ("invited", Value::Null, Value::Null);
    };
    let (entry, exit) = app.crossings();
    let stage = match (app.status, entry, exit) {
        (_, _, Some(_)) => "left",
        (_, Some(_), None) => "entered",
        (Status::Issued, None, None) => "issued",
        (Status::Paid, ..) => "paid",
        _ => "applied",
    };
    let at = |e: Option<&visa_core::application::VisaEvent>| {
        e.map_or(
            Value::Null,
            |e| json!({"at": e.at, "checkpoint": e.checkpoint}),
        )
    };
    (stage, at(entry), at(exit))
}

/// `GET /api/hosts/current/invitees`: each foreigner of the host's
/// approved requests and how far they have come (invited, applied, paid,
/// issued, entered, left), with what the host itself entered and no more.
pub async fn invitees(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let host = own_host(deps, req).await?;
    let requests = deps.requests.requests_of_host(&host.id).await?;
    let mut out = Vec::new();
    for r in requests
        .iter()
        .filter(|r| r.status == RequestStatus::Approved)
    {
        let Some(number) = r.invitation_number.as_deref() else {
            continue;
        };
        // The application that claimed the invitation: found by the
        // passport the invitation names, which the application must match.
        let app = match SearchKey::new(SearchKind::PassportNumber, &r.invitee.passport_number) {
            Some(key) => deps
                .applications
                .find_applications(&key)
                .await?
                .into_iter()
                .find(|a| a.invitation_number == number),
            None => None,
        };
        let revoked = deps
            .invitations
            .invitation(number)
            .await?
            .is_some_and(|i| i.status == visa_core::invitation::InvitationStatus::Revoked);
        let (stage, entered, left) = progress(app.as_ref());
        out.push(json!({
            "request_id": r.id,
            "invitation_number": number,
            "invitee": r.invitee,
            "valid_from": r.valid_from,
            "valid_until": r.valid_until,
            "stage": if revoked { "revoked" } else { stage },
            "entered": entered,
            "left": left,
        }));
    }
    Ok(json(StatusCode::OK, &json!({ "invitees": out })))
}

/// `GET /api/officer/invitation-requests?status=`: the queue (pending by
/// default), the longest waiting first, each with its inviting party.
pub async fn list(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let status = match query_param(req, "status") {
        None => RequestStatus::Pending,
        Some(s) => RequestStatus::parse(&s).ok_or_else(|| {
            Problem::invalid_fields(vec![FieldError::new(
                "status",
                "pending, approved or refused",
            )])
        })?,
    };
    let requests = deps.requests.requests_in(status).await?;
    let mut hosts = HostsSeen::default();
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let mut view = serde_json::to_value(&r).map_err(|e| Problem::internal(e.to_string()))?;
        view["host"] = hosts.get(deps, &r.host_id).await?.map_or(
            Value::Null,
            |h| json!({"id": h.id, "kind": h.kind, "number": h.number, "name": h.name}),
        );
        out.push(view);
    }
    Ok(json(StatusCode::OK, &json!({ "requests": out })))
}

fn decision_problem(e: DecisionError) -> Problem {
    crate::verdict::problem(e, Problem::request_already_decided, "request")
}

fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::StatusConflict => Problem::request_already_decided("decided meanwhile"),
        StoreError::NotFound => Problem::not_found("no such invitation request"),
        other => other.into(),
    }
}

/// `POST /api/officer/invitation-requests/{id}/decision`: an officer
/// approves a request (the invitation is created with it) or refuses it
/// with a reason, once; an audit event either way.
pub async fn decide(
    deps: &Deps,
    req: &Request,
    route: &Route,
    id: &str,
) -> Result<Response, Problem> {
    let (member, acting) = member(deps, req, route)?;
    let verdict = crate::verdict::read(req)?;
    let request = deps
        .requests
        .invitation_request(id)
        .await?
        .ok_or_else(|| Problem::not_found("no such invitation request"))?;
    let host = deps
        .hosts
        .host(&request.host_id)
        .await?
        .ok_or_else(|| Problem::not_found("the request's inviting party is gone"))?;
    let now = deps.clock.now();
    let actor = member.actor(acting);
    let event = |action, record: String, reason: String, detail: String| AuditEvent {
        id: deps.ids.new_id(),
        at: now,
        actor: actor.clone(),
        action,
        record,
        reason,
        from: client_addr(req),
        detail: Some(detail),
    };
    if !verdict.approve {
        let mut refused = request.clone();
        refused
            .refuse(&actor, verdict.reason, now)
            .map_err(decision_problem)?;
        let reason = refused
            .decision
            .as_ref()
            .and_then(|d| d.reason.clone())
            .unwrap_or_default();
        let audit = event(
            AuditAction::RequestRefused,
            format!("request/{}", refused.id),
            reason,
            format!("host {} {}", host.number, refused.invitee.passport_number),
        );
        deps.requests
            .refuse_request(&refused, &audit)
            .await
            .map_err(store_problem)?;
        tracing::info!(request_id = %refused.id, "invitation request refused");
        return Ok(json(StatusCode::OK, &refused));
    }
    // A drawn number may be taken: draw again a few times.
    for _ in 0..5 {
        let mut approved = request.clone();
        let invitation = approved
            .approve(
                &host,
                &actor,
                verdict.reason.clone(),
                deps.ids.invitation_number(),
                now,
            )
            .map_err(decision_problem)?;
        let audit = event(
            AuditAction::InvitationCreated,
            format!("invitation/{}", invitation.number),
            String::new(),
            format!("request {} of host {}", approved.id, host.number),
        );
        match deps
            .requests
            .approve_request(&approved, &invitation, &audit)
            .await
        {
            Ok(()) => {
                tracing::info!(request_id = %approved.id, invitation = %invitation.number, "invitation request approved");
                // The foreigner is emailed the number; a queue outage does
                // not undo the approval (the officer's view shows it).
                let email = EmailRequest::InvitationIssued {
                    request_id: approved.id.clone(),
                };
                if let Err(e) = deps.emails.enqueue(&email).await {
                    tracing::warn!(request_id = %approved.id, error = %e, "invitation email not queued");
                }
                return Ok(json(StatusCode::OK, &approved));
            }
            Err(StoreError::InvitationExists) => continue,
            Err(e) => return Err(store_problem(e)),
        }
    }
    Err(Problem::unavailable("no free invitation number was drawn"))
}
