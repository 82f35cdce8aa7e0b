//! The migration service's side of inviting parties: the approval queue
//! and an officer's decision on a host (`visa_core::host`).

use crate::Deps;
use crate::staff::member;
use http::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use visa_core::audit::{AuditAction, AuditEvent};
use visa_core::host::{Host, HostStatus};
use visa_core::http::{Request, Response, client_addr, json, query_param};
use visa_core::notify::EmailRequest;
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::Route;
use visa_core::store::StoreError;

/// `GET /api/officer/hosts?status=`: the hosts in a status (the approval
/// queue by default), the longest waiting first.
pub async fn list(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let status = match query_param(req, "status") {
        None => HostStatus::PendingApproval,
        Some(s) => HostStatus::parse(&s).ok_or_else(|| {
            Problem::invalid_fields(vec![FieldError::new(
                "status",
                "pending_approval, approved or refused",
            )])
        })?,
    };
    let hosts = deps.hosts.hosts_in(status).await?;
    Ok(json(StatusCode::OK, &json!({ "hosts": hosts })))
}

/// `POST /api/officer/hosts/{id}/decision`: an officer approves a host or
/// refuses it with a reason, once; the decision is an audit event.
pub async fn decide(
    deps: &Deps,
    req: &Request,
    route: &Route,
    id: &str,
) -> Result<Response, Problem> {
    let (member, acting) = member(deps, req, route)?;
    let verdict = crate::verdict::read(req)?;
    let mut host = deps
        .hosts
        .host(id)
        .await?
        .ok_or_else(|| Problem::not_found("no such inviting party"))?;
    let now = deps.clock.now();
    let actor = member.actor(acting);
    host.decide(verdict.approve, &actor, verdict.reason, now)
        .map_err(|e| crate::verdict::problem(e, Problem::host_already_decided, "host"))?;
    let event = AuditEvent {
        id: deps.ids.new_id(),
        at: now,
        actor,
        action: AuditAction::HostDecided,
        record: format!("host/{}", host.id),
        reason: host
            .decision
            .as_ref()
            .and_then(|d| d.reason.clone())
            .unwrap_or_default(),
        from: client_addr(req),
        detail: Some(format!(
            "{} {} {}",
            host.status.as_str(),
            host.kind.as_str(),
            host.number
        )),
    };
    match deps.hosts.decide_host(&host, &event).await {
        Ok(()) => {}
        Err(StoreError::StatusConflict) => {
            return Err(Problem::host_already_decided("decided meanwhile"));
        }
        Err(StoreError::NotFound) => return Err(Problem::not_found("no such inviting party")),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(host_id = %host.id, status = host.status.as_str(), "inviting party decided");
    // The host is told either way; a queue outage does not undo the
    // decision (the host's page shows it).
    let email = EmailRequest::HostDecided {
        host_id: host.id.clone(),
    };
    if let Err(e) = deps.emails.enqueue(&email).await {
        tracing::warn!(host_id = %host.id, error = %e, "host decision email not queued");
    }
    Ok(json(StatusCode::OK, &host))
}

/// The inviting parties of an officers' list, each read once: a queue
/// names the same host many times.
#[derive(Default)]
pub(crate) struct HostsSeen(HashMap<String, Option<Host>>);

impl HostsSeen {
    /// The host `id`, `None` if its record is gone.
    pub(crate) async fn get(&mut self, deps: &Deps, id: &str) -> Result<Option<&Host>, Problem> {
        if !self.0.contains_key(id) {
            let host = deps.hosts.host(id).await?;
            self.0.insert(id.to_owned(), host);
        }
        Ok(self.0.get(id).and_then(Option::as_ref))
    }
}
