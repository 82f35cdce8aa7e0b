//! The migration service's changes to issued visas and its audit trail,
//! on the officers' API (IAM in the cloud, for machine integrations; the
//! admin token locally): each change goes through `visa_core::visa_life`,
//! recorded under the calling identity, and the trail is exported as CSV.

use crate::Deps;
use crate::admin::officer;
use chrono::{Duration, NaiveDate};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use visa_core::http::{Request, Response, client_addr, json, query_param, read_json};
use visa_core::problem::{FieldError, Problem};
use visa_core::routes::Route;
use visa_core::visa_life::{self, Officer, VisaChange};

/// `{"reason"}`: why a visa is cancelled or restored.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

/// `{"valid_until", "reason"}`: a visa's new last day, and why.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Shortening {
    #[serde(deserialize_with = "visa_core::date::ymd")]
    valid_until: NaiveDate,
    reason: String,
}

/// The longest range one export covers.
pub const MAX_EXPORT_DAYS: i64 = 366;

/// `POST /api/admin/visas/{visa_number}/cancellation|restoration|shortening`.
pub async fn change(
    deps: &Deps,
    req: &Request,
    route: &Route,
    number: &str,
) -> Result<Response, Problem> {
    let name = officer(deps, req, route)?;
    let (change, reason) = match route.op {
        visa_core::routes::Op::ShortenVisa | visa_core::routes::Op::OfficerShortenVisa => {
            let body: Shortening = read_json(req.body())?;
            (
                VisaChange::Shorten {
                    until: body.valid_until,
                },
                body.reason,
            )
        }
        visa_core::routes::Op::RestoreVisa | visa_core::routes::Op::OfficerRestoreVisa => {
            (VisaChange::Restore, read_json::<Reason>(req.body())?.reason)
        }
        _ => (VisaChange::Cancel, read_json::<Reason>(req.body())?.reason),
    };
    let ports = deps.ports();
    let officer = Officer {
        name,
        from: client_addr(req),
    };
    let app = visa_life::change(&ports, number, change, &officer, &reason).await?;
    let standing = visa_core::verification::standing(&app, deps.clock.today());
    tracing::info!(application_id = %app.id, officer = %officer.name, ?change, "visa changed");
    Ok(json(
        StatusCode::OK,
        &json!({"status": standing.as_str(), "visa": app.visa}),
    ))
}

fn day(req: &Request, name: &str) -> Result<Option<NaiveDate>, Problem> {
    query_param(req, name)
        .map(|raw| {
            visa_core::date::parse(&raw).ok_or_else(|| {
                Problem::invalid_fields(vec![FieldError::new(name, "a date as YYYY-MM-DD")])
            })
        })
        .transpose()
}

/// `GET /api/admin/audit-events?from=&to=`: the trail as CSV, days in
/// UTC with both ends included (the last 30 days when not given).
pub async fn export(deps: &Deps, req: &Request, route: &Route) -> Result<Response, Problem> {
    officer(deps, req, route)?;
    let to = day(req, "to")?.unwrap_or_else(|| deps.clock.now().date_naive());
    let from = day(req, "from")?.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "from",
            "the first day must not be after the last",
        )]));
    }
    if (to - from).num_days() >= MAX_EXPORT_DAYS {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "to",
            "one export covers at most 366 days",
        )]));
    }
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let events = deps
        .audit
        .audit_events(start(from), start(to) + Duration::days(1))
        .await?;
    let mut res = http::Response::new(bytes::Bytes::from(visa_core::audit::csv(&events)));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"audit-{from}-{to}.csv\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
