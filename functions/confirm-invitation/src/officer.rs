//! What the migration service's staff read on `/api/officer/*`: finding
//! applications, one application with its whole timeline, one invitation.
//! Officers and auditors alike; the changes live in `admin.rs` and
//! `visas.rs`, shared with the IAM admin API.

use crate::Deps;
use crate::staff::member;
use http::StatusCode;
use serde::Serialize;
use serde_json::json;
use visa_core::application::{Application, Crossing, ReviewDecision, Status};
use visa_core::http::{Request, Response, client_addr, json, query_param, read_json};
use visa_core::invitation::is_invitation_number;
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::Route;
use visa_core::search::{SEARCH_LIMIT, SearchKey, SearchKind};
use visa_core::visa_life::{self, Officer};

/// A line of a search's results.
#[derive(Serialize)]
struct Found<'a> {
    id: &'a str,
    status: Status,
    under_review: bool,
    category: visa_core::Category,
    surname: &'a str,
    given_names: &'a str,
    nationality: &'a str,
    passport_number: &'a str,
    invitation_number: &'a str,
    visa_number: Option<&'a str>,
    created_at: chrono::DateTime<chrono::Utc>,
}

fn found(app: &Application) -> Found<'_> {
    Found {
        id: &app.id,
        status: app.status,
        under_review: app.under_review,
        category: app.category,
        surname: &app.passport.surname,
        given_names: &app.passport.given_names,
        nationality: &app.passport.nationality,
        passport_number: &app.passport.number,
        invitation_number: &app.invitation_number,
        visa_number: app.visa.as_ref().map(|v| v.number.as_str()),
        created_at: app.created_at,
    }
}

/// The filter `status=`: a status, or `under_review` (disputed payments).
enum StatusFilter {
    Status(Status),
    UnderReview,
}

impl StatusFilter {
    fn keeps(&self, app: &Application) -> bool {
        match self {
            StatusFilter::Status(s) => app.status == *s,
            StatusFilter::UnderReview => app.under_review,
        }
    }
}

/// `GET /api/officer/applications?q=&status=`: `q` is an application id,
/// a visa number, a passport number or a surname (exact, case and accents
/// aside); `status` narrows it. Newest first, at most 50.
pub async fn search(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let q = query_param(req, "q").unwrap_or_default();
    let q = q.trim().to_owned();
    let filter = match query_param(req, "status") {
        None => None,
        Some(s) if s == "under_review" => Some(StatusFilter::UnderReview),
        Some(s) => Some(StatusFilter::Status(Status::parse(&s).ok_or_else(
            || {
                Problem::invalid_fields(vec![FieldError::new(
                    "status",
                    "one of the application statuses, or under_review",
                )])
            },
        )?)),
    };
    if q.chars().count() > 100 || (q.is_empty() && filter.is_none()) {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "q",
            "a passport number, a surname, a visa number or an application id (or a status alone)",
        )]));
    }
    // A status alone: its newest applications.
    if q.is_empty() {
        let apps = match filter {
            Some(StatusFilter::UnderReview) => deps.applications.under_review().await?,
            Some(StatusFilter::Status(status)) => deps.applications.applications_in(status).await?,
            None => Vec::new(),
        };
        let list: Vec<_> = apps.iter().map(found).collect();
        return Ok(json(StatusCode::OK, &json!({ "applications": list })));
    }
    let q = q.as_str();
    let mut apps: Vec<Application> = Vec::new();
    let upper = q.to_ascii_uppercase();
    // Exact identifiers first: an application id, a visa number.
    if upper.len() == 26 && upper.bytes().all(|b| b.is_ascii_alphanumeric()) {
        apps.extend(deps.applications.application(&upper).await?);
    }
    if upper.len() == 9
        && upper.bytes().all(|b| b.is_ascii_alphanumeric())
        && let Some(record) = deps.visas.visa(&upper).await?
    {
        apps.extend(
            deps.applications
                .application(&record.application_id)
                .await?,
        );
    }
    for kind in [SearchKind::PassportNumber, SearchKind::Surname] {
        if let Some(key) = SearchKey::new(kind, q) {
            apps.extend(deps.applications.find_applications(&key).await?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    apps.retain(|a| seen.insert(a.id.clone()));
    if let Some(f) = &filter {
        apps.retain(|a| f.keeps(a));
    }
    apps.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    apps.truncate(SEARCH_LIMIT);
    let list: Vec<_> = apps.iter().map(found).collect();
    Ok(json(StatusCode::OK, &json!({ "applications": list })))
}

/// `GET /api/officer/reviews`: the disputed payments to decide, the
/// longest waiting first.
pub async fn reviews(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let apps = deps.applications.under_review().await?;
    let list: Vec<_> = apps.iter().map(found).collect();
    Ok(json(StatusCode::OK, &json!({ "applications": list })))
}

/// `{"decision": "keep"|"cancel", "reason"}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    decision: ReviewDecision,
    reason: String,
}

/// `POST /api/officer/applications/{id}/review-decision`: an officer
/// decides a disputed payment's visa (kept or cancelled), with a reason.
pub async fn decide(
    deps: &Deps,
    req: &Request,
    route: &Route,
    id: &str,
) -> Result<Response, Problem> {
    let (member, acting) = member(deps, req, route)?;
    let body: Decision = read_json(req.body())?;
    let ports = deps.ports();
    let officer = Officer {
        name: member.actor(acting),
        from: client_addr(req),
    };
    let app = visa_life::decide(&ports, id, body.decision, &officer, &body.reason).await?;
    let standing = visa_core::verification::standing(&app, deps.clock.today());
    tracing::info!(application_id = %app.id, decision = body.decision.as_str(), "review decided");
    Ok(json(
        StatusCode::OK,
        &json!({"status": standing.as_str(), "visa": app.visa}),
    ))
}

/// `{"checkpoint": "NQZ"|"ALA"}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AtCheckpoint {
    checkpoint: String,
}

/// `POST /api/officer/visas/{visa_number}/entry|exit`: border control
/// records the holder's crossing.
pub async fn crossing(
    deps: &Deps,
    req: &Request,
    route: &Route,
    number: &str,
) -> Result<Response, Problem> {
    let (member, acting) = member(deps, req, route)?;
    let body: AtCheckpoint = read_json(req.body())?;
    let crossing = match route.op {
        visa_core::routes::Op::RecordExit => Crossing::Exit,
        _ => Crossing::Entry,
    };
    let ports = deps.ports();
    let officer = Officer {
        name: member.actor(acting),
        from: client_addr(req),
    };
    let app =
        visa_life::record_crossing(&ports, number, crossing, &body.checkpoint, &officer).await?;
    let standing = visa_core::verification::standing(&app, deps.clock.today());
    let (entry, exit) = app.crossings();
    tracing::info!(application_id = %app.id, ?crossing, checkpoint = %body.checkpoint, "crossing recorded");
    Ok(json(
        StatusCode::OK,
        &json!({"status": standing.as_str(), "entry": entry, "exit": exit}),
    ))
}

/// One step of an application's life.
#[derive(Serialize)]
struct Step {
    at: chrono::DateTime<chrono::Utc>,
    /// `applied`, `confirmed`, `paid`, `issued`, `emailed`, then the
    /// visa's history: `disputed`, `cancelled`, `restored`, `shortened`,
    /// `review_kept`, `review_cancelled`.
    event: &'static str,
}

fn timeline(app: &Application) -> Vec<Step> {
    use visa_core::application::VisaEventKind;
    let visa = app.visa.as_ref();
    let mut steps: Vec<(chrono::DateTime<chrono::Utc>, &'static str)> = [
        Some((app.created_at, "applied")),
        app.details_confirmed_at.map(|at| (at, "confirmed")),
        app.payment
            .as_ref()
            .and_then(|p| p.paid_at)
            .map(|at| (at, "paid")),
        visa.map(|v| (v.issued_at, "issued")),
        app.emailed_at.map(|at| (at, "emailed")),
    ]
    .into_iter()
    .flatten()
    .collect();
    steps.extend(app.history.iter().map(|e| {
        let event = match e.event {
            VisaEventKind::Disputed => "disputed",
            VisaEventKind::Cancelled => "cancelled",
            VisaEventKind::Restored => "restored",
            VisaEventKind::Shortened => "shortened",
            VisaEventKind::ReviewKept => "review_kept",
            VisaEventKind::ReviewCancelled => "review_cancelled",
            VisaEventKind::Entered => "entered",
            VisaEventKind::Exited => "exited",
        };
        (e.at, event)
    }));
    // Visas changed before the history was kept: their cancellation at least.
    if app.history.is_empty()
        && let Some(at) = visa.and_then(|v| v.cancelled_at)
    {
        steps.push((at, "cancelled"));
    }
    // Stable: events of one instant keep the order they happened in.
    steps.sort_by_key(|(at, _)| *at);
    steps
        .into_iter()
        .map(|(at, event)| Step { at, event })
        .collect()
}

/// `GET /api/officer/applications/{id}`: the whole application (passport
/// data included: staff compare it), where it stands, and its timeline.
pub async fn record(
    deps: &Deps,
    req: &Request,
    route: &Route,
    id: &str,
) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let app = deps
        .applications
        .application(id)
        .await?
        .ok_or_else(|| Problem::not_found("no such application"))?;
    let standing = visa_core::verification::standing(&app, deps.clock.today());
    Ok(json(
        StatusCode::OK,
        &json!({
            "application": app.view(),
            "standing": standing.as_str(),
            "timeline": timeline(&app),
        }),
    ))
}

/// `GET /api/officer/invitations?q=`: `q` an invitation number, the
/// inviting party's BIN (or IIN), the invitee's passport number or
/// surname (exact, case and accents aside). Newest first, at most 50.
pub async fn invitations(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    member(deps, req, route)?;
    let q = query_param(req, "q").unwrap_or_default();
    let q = q.trim();
    if q.is_empty() || q.chars().count() > 100 {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "q",
            "an invitation number, a BIN or IIN, a passport number or a surname",
        )]));
    }
    let mut found = Vec::new();
    let mut kinds = vec![SearchKind::PassportNumber, SearchKind::Surname];
    if is_invitation_number(q) {
        // Twelve digits: an invitation's number, or a BIN.
        found.extend(deps.invitations.invitation(q).await?);
        kinds.push(SearchKind::InviterBin);
    }
    for kind in kinds {
        if let Some(key) = SearchKey::new(kind, q) {
            found.extend(deps.invitations.find_invitations(&key).await?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|i| seen.insert(i.number.clone()));
    found.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.number.cmp(&a.number))
    });
    found.truncate(SEARCH_LIMIT);
    Ok(json(StatusCode::OK, &json!({ "invitations": found })))
}

/// `GET /api/officer/invitations/{number}`.
pub async fn invitation(
    deps: &Deps,
    req: &Request,
    route: &Route,
    number: &str,
) -> Result<Response, Problem> {
    member(deps, req, route)?;
    if !is_invitation_number(number) {
        return Err(Problem::not_found("no such invitation"));
    }
    let inv = deps
        .invitations
        .invitation(number)
        .await?
        .ok_or_else(|| Problem::not_found("no such invitation"))?;
    Ok(json(StatusCode::OK, &inv))
}
