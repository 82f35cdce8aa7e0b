//! Hosts' arrival notices (`visa_core::arrival`): the border's entry opens
//! one; the host files it, once; officers see the overdue.

use crate::Deps;
use crate::hosts::HostsSeen;
use crate::requests::own_host;
use crate::staff::member;
use chrono::{Duration, NaiveDate};
use http::StatusCode;
use serde_json::{Value, json};
use visa_core::arrival::{Arrival, NewNotice, NoticeRefused};
use visa_core::http::{Request, Response, json, query_param, read_json};
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::Route;
use visa_core::store::StoreError;

/// What the host reads: what it entered, the border's day, what is due;
/// never the applicant's own data (the visa number included).
fn host_view(a: &Arrival, today: NaiveDate) -> Value {
    json!({
        "request_id": a.request_id,
        "invitation_number": a.invitation_number,
        "invitee": a.invitee,
        "checkpoint": a.checkpoint,
        "entered_at": a.entered_at,
        "entered_on": a.entered_on,
        "due_on": a.due_on,
        "stay_until": a.stay_until,
        "status": a.status(today),
        "notice": a.notice,
    })
}

/// `GET /api/hosts/current/arrivals`: the host's arrivals, the latest
/// entry first.
pub async fn list_own(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let host = own_host(deps, req).await?;
    let today = deps.clock.today();
    let views: Vec<Value> = deps
        .arrivals
        .arrivals_of_host(&host.id)
        .await?
        .iter()
        .map(|a| host_view(a, today))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "arrivals": views })))
}

/// `POST /api/hosts/current/arrivals/{request_id}/notice`: the host files
/// its notice, once; after the due day it is marked late. Another host's
/// arrival is not found, like none.
pub async fn file(deps: &Deps, req: &Request, request_id: &str) -> Result<Response, Problem> {
    let host = own_host(deps, req).await?;
    let not_found = || Problem::not_found("no arrival of this inviting party has this request");
    let mut arrival = deps
        .arrivals
        .arrival(request_id)
        .await?
        .filter(|a| a.is_of(&host))
        .ok_or_else(not_found)?;
    let notice: NewNotice = read_json(req.body())?;
    let today = deps.clock.today();
    arrival
        .file(notice, deps.clock.now(), today)
        .map_err(|refused| match refused {
            NoticeRefused::AlreadyFiled => already_filed(),
            NoticeRefused::Fields(errors) => Problem::invalid_fields(errors),
        })?;
    match deps.arrivals.file_notice(&arrival).await {
        Ok(()) => {}
        Err(StoreError::StatusConflict) => return Err(already_filed()),
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    }
    let late = arrival.notice.as_ref().is_some_and(|n| n.late);
    tracing::info!(request_id = %arrival.request_id, host_id = %host.id, late, "arrival notice filed");
    Ok(json(StatusCode::CREATED, &host_view(&arrival, today)))
}

fn already_filed() -> Problem {
    Problem::notice_already_filed("the arrival notice was filed already")
}

/// How far back the officers' overdue list reaches: a notice this late is
/// a case for the migration service, not a list.
const OVERDUE_DAYS: i64 = 365;

/// `GET /api/officer/arrivals?status=overdue|awaiting`: notices not filed,
/// past their due day (the default) or still on time, the earliest due
/// first, each with its inviting party and the visa.
pub async fn list(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let today = deps.clock.today();
    let (from, until) = match query_param(req, "status").as_deref() {
        None | Some("overdue") => (
            today - Duration::days(OVERDUE_DAYS),
            today - Duration::days(1),
        ),
        Some("awaiting") => (today, today + Duration::days(OVERDUE_DAYS)),
        Some(_) => {
            return Err(Problem::invalid_fields(vec![FieldError::new(
                "status",
                "overdue or awaiting",
            )]));
        }
    };
    let arrivals = deps.arrivals.open_arrivals(from, until, None).await?;
    let mut hosts = HostsSeen::default();
    let mut out = Vec::with_capacity(arrivals.len());
    for a in arrivals {
        let mut view = host_view(&a, today);
        view["visa_number"] = json!(a.visa_number);
        view["reminded_at"] = json!(a.reminded_at);
        view["host"] = hosts.get(deps, &a.host_id).await?.map_or(
            Value::Null,
            |h| json!({"id": h.id, "kind": h.kind, "number": h.number, "name": h.name, "contact": h.contact}),
        );
        out.push(view);
    }
    Ok(json(StatusCode::OK, &json!({ "arrivals": out })))
}
