//! The migration service's commands on a laptop, against the data dir a
//! running visa-local uses (SQLite takes both processes):
//!
//! ```text
//! visa-local visa cancel  <number> --officer <name> --reason <text>
//! visa-local visa restore <number> --officer <name> --reason <text>
//! visa-local visa shorten <number> --until <YYYY-MM-DD> --officer <name> --reason <text>
//! visa-local audit [--from <YYYY-MM-DD>] [--to <YYYY-MM-DD>]
//! ```
//!
//! Each change goes through `visa_core::visa_life`, as the officers' API
//! will, and is recorded in the audit trail under the officer's name;
//! `audit` prints the trail as CSV (days in UTC, both ends included; the
//! last 30 days by default).

use crate::sqlite::SqliteStore;
use async_trait::async_trait;
use chrono::{Duration, NaiveDate, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use visa_core::clock::{Clock, RandomIds, SystemClock};
use visa_core::notify::{EmailQueue, EmailRequest, NotifyError};
use visa_core::store::AuditTrail;
use visa_core::visa_life::{self, Officer, Ports, VisaChange};

/// The email queue of a one-shot command: each request is delivered by
/// render-visa's own code before the command ends (the outbox).
pub struct InlineMail {
    pub render: Arc<visa_render_visa::Deps>,
}

#[async_trait]
impl EmailQueue for InlineMail {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError> {
        visa_render_visa::mail::deliver(&self.render, request)
            .await
            .map(|outcome| tracing::info!(%outcome, "email request handled"))
            .map_err(NotifyError::Unavailable)
    }
}

pub const USAGE: &str =
    "usage: visa-local officer add <email> --role officer|auditor|border [--name <name>]
       visa-local officer disable <email>
       visa-local visa cancel|restore <number> --officer <name> --reason <text>
       visa-local visa shorten <number> --until <YYYY-MM-DD> --officer <name> --reason <text>
       visa-local audit [--from <YYYY-MM-DD>] [--to <YYYY-MM-DD>]";

/// `visa-local officer add <email> --role officer|auditor|border [--name <name>]`:
/// a member of staff for the console at /officer; their password and
/// authenticator secret are printed once.
pub async fn officer(store: &SqliteStore, args: &[String]) -> Result<String, String> {
    let (email, rest) = match args {
        [add, email, rest @ ..] if add == "add" => (email.as_str(), rest),
        [disable, email] if disable == "disable" => {
            return crate::staff::disable(store, email).await;
        }
        _ => return Err(USAGE.into()),
    };
    let flags = flags(rest)?;
    if let Some(unknown) = flags.keys().find(|k| !["name", "role"].contains(k)) {
        return Err(format!("--{unknown} does not go with officer add\n{USAGE}"));
    }
    let role = flags
        .get("role")
        .and_then(|r| visa_core::staff::StaffGroup::parse(r))
        .ok_or("give the role: --role officer, --role auditor or --role border")?;
    let name = flags.get("name").copied().unwrap_or("");
    crate::staff::add(store, email, name, role).await
}

/// `--name value` pairs after the positional arguments.
fn flags(args: &[String]) -> Result<HashMap<&str, &str>, String> {
    let mut flags = HashMap::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected {flag:?}\n{USAGE}"))?;
        let value = rest
            .next()
            .ok_or_else(|| format!("--{name} needs a value\n{USAGE}"))?;
        flags.insert(name, value.as_str());
    }
    Ok(flags)
}

fn date(flag: &str, raw: &str) -> Result<NaiveDate, String> {
    raw.parse()
        .map_err(|_| format!("--{flag} {raw}: a date as YYYY-MM-DD"))
}

/// `visa-local visa ...`: one officer's change to one visa.
pub async fn visa(
    store: &SqliteStore,
    emails: &dyn EmailQueue,
    args: &[String],
) -> Result<String, String> {
    let (action, number, rest) = match args {
        [action, number, rest @ ..] => (action.as_str(), number.as_str(), rest),
        _ => return Err(USAGE.into()),
    };
    let flags = flags(rest)?;
    let allowed: &[&str] = match action {
        "shorten" => &["until", "officer", "reason"],
        _ => &["officer", "reason"],
    };
    if let Some(unknown) = flags.keys().find(|k| !allowed.contains(k)) {
        return Err(format!("--{unknown} does not go with {action}\n{USAGE}"));
    }
    let change = match action {
        "cancel" => VisaChange::Cancel,
        "restore" => VisaChange::Restore,
        "shorten" => VisaChange::Shorten {
            until: date("until", flags.get("until").ok_or("shorten needs --until")?)?,
        },
        other => return Err(format!("unknown visa action {other:?}\n{USAGE}")),
    };
    let name = flags
        .get("officer")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .ok_or("give your name: --officer <name> (every change is recorded under it)")?;
    let officer = Officer {
        name: name.to_owned(),
        from: "console".into(),
    };
    let reason = flags.get("reason").copied().unwrap_or("");
    let ports = Ports {
        applications: store,
        visas: store,
        emails,
        clock: &SystemClock,
        ids: &RandomIds,
        invitations: store,
        requests: store,
        arrivals: store,
    };
    let app = visa_life::change(&ports, number, change, &officer, reason)
        .await
        .map_err(|p| format!("{} {}: {}", p.status, p.slug, p.detail))?;
    let visa = app.visa.as_ref().ok_or("the application has no visa")?;
    let standing = visa_core::verification::standing(&app, SystemClock.today());
    Ok(format!(
        "visa {} now: {} (valid {} to {}), recorded as {}'s action",
        visa.number,
        standing.as_str(),
        visa.valid_from,
        visa.valid_until,
        officer.name
    ))
}

/// `visa-local audit ...`: the trail as CSV.
pub async fn audit(store: &SqliteStore, args: &[String]) -> Result<Vec<u8>, String> {
    let flags = flags(args)?;
    if let Some(unknown) = flags.keys().find(|k| !["from", "to"].contains(k)) {
        return Err(format!("--{unknown} does not go with audit\n{USAGE}"));
    }
    let today = Utc::now().date_naive();
    let to = match flags.get("to") {
        Some(raw) => date("to", raw)?,
        None => today,
    };
    let from = match flags.get("from") {
        Some(raw) => date("from", raw)?,
        None => to - Duration::days(29),
    };
    if from > to {
        return Err(format!("--from {from} is after --to {to}"));
    }
    let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let events = store
        .audit_events(start(from), start(to) + Duration::days(1))
        .await
        .map_err(|e| e.to_string())?;
    Ok(visa_core::audit::csv(&events))
}
