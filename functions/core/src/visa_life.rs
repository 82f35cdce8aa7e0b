//! The migration service's changes to an issued visa (the Rules on
//! "cancelling, restoring visas ... and reduction of their validity
//! terms"): the one use case every entry point calls (the local console
//! command now, the officers' API next). Each change is made by
//! `Application`'s transitions, written conditional on the visa's revision
//! together with its audit event, and attributed to one named officer.

use crate::application::{
    Application, Crossing, CrossingRefused, ReviewDecision, VisaChangeRefused,
};
use crate::arrival::Arrival;
use crate::audit::{self, AuditAction, AuditEvent};
use crate::clock::{Clock, Ids};
use crate::notify::{EmailQueue, EmailRequest};
use crate::problem::Problem;
use crate::store::{Applications, Arrivals, InvitationRequests, Invitations, StoreError, Visas};
use crate::workdays::Calendar;
use chrono::NaiveDate;

/// What an officer does to a visa.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisaChange {
    Cancel,
    Restore,
    /// Reduce the validity: `until` becomes the last day.
    Shorten {
        until: NaiveDate,
    },
}

/// Who acts, and from where: every change is attributable to one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Officer {
    pub name: String,
    /// The address the request came from (`console` for the local command).
    pub from: String,
}

/// What a change reads, writes and tells.
pub struct Ports<'a> {
    pub applications: &'a dyn Applications,
    pub visas: &'a dyn Visas,
    /// The holder is emailed what the visa now is.
    pub emails: &'a dyn EmailQueue,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn Ids,
    /// An entry on a host's invitation opens its arrival notice: the
    /// invitation names its request, the request its host.
    pub invitations: &'a dyn Invitations,
    pub requests: &'a dyn InvitationRequests,
    pub arrivals: &'a dyn Arrivals,
}

/// Makes `change` to the visa numbered `number` for `officer`, with
/// `reason`, queues the holder's email, and returns the application as it
/// now is. 404 `not-found` for
/// no such visa; 409 `invalid-state` when the visa's state does not allow
/// the change or another officer changed it first (nothing is written
/// then, the audit event included); 422 `validation` for a reason or a
/// date that cannot be.
pub async fn change(
    ports: &Ports<'_>,
    number: &str,
    change: VisaChange,
    officer: &Officer,
    reason: &str,
) -> Result<Application, Problem> {
    let reason = audit::reason(reason)
        .map_err(|m| Problem::invalid_fields(vec![crate::FieldError::new("reason", m)]))?;
    let number = number.trim().to_ascii_uppercase();
    let not_found = || Problem::not_found("no visa has this number");
    let record = ports.visas.visa(&number).await?.ok_or_else(not_found)?;
    let current = ports
        .applications
        .application(&record.application_id)
        .await?
        .ok_or_else(not_found)?;
    let at = ports.clock.now();
    let (next, action, detail) = match change {
        VisaChange::Cancel => (current.cancel_visa(at), AuditAction::VisaCancelled, None),
        VisaChange::Restore => (current.restore_visa(at), AuditAction::VisaRestored, None),
        VisaChange::Shorten { until } => {
            let was = current.visa.as_ref().map(|v| v.valid_until);
            let detail = was.map(|was| format!("valid_until {was} -> {until}"));
            (
                current.shorten_visa(until, at),
                AuditAction::VisaShortened,
                detail,
            )
        }
    };
    let next = next.map_err(refused)?;
    let event = AuditEvent {
        id: ports.ids.new_id(),
        at,
        actor: officer.name.clone(),
        action,
        record: format!("visa/{number}"),
        reason,
        from: officer.from.clone(),
        detail,
    };
    write(ports, &current, next, &event).await
}

/// The decision on a disputed payment's visa (application `id`): the hold
/// ends, the visa kept or cancelled, recorded with `reason`, the holder
/// emailed. 404 `not-found`; 409 `invalid-state` when it is not under
/// review (decided already) or has no visa, or another officer changed it
/// first; 422 `validation` for the reason.
pub async fn decide(
    ports: &Ports<'_>,
    id: &str,
    decision: ReviewDecision,
    officer: &Officer,
    reason: &str,
) -> Result<Application, Problem> {
    let reason = audit::reason(reason)
        .map_err(|m| Problem::invalid_fields(vec![crate::FieldError::new("reason", m)]))?;
    let current = ports
        .applications
        .application(id)
        .await?
        .ok_or_else(|| Problem::not_found("no such application"))?;
    let at = ports.clock.now();
    let next = current.decide_review(decision, at).map_err(refused)?;
    let number = next.visa.as_ref().map_or("", |v| v.number.as_str());
    let event = AuditEvent {
        id: ports.ids.new_id(),
        at,
        actor: officer.name.clone(),
        action: AuditAction::ReviewDecided,
        record: format!("visa/{number}"),
        reason,
        from: officer.from.clone(),
        detail: Some(format!("decision: {}", decision.as_str())),
    };
    write(ports, &current, next, &event).await
}

/// Border control records the holder's `crossing` at `checkpoint` on the
/// visa numbered `number`: 404 `not-found`; 409 `visa-cancelled`,
/// `visa-not-in-force` (outside its days, or held for review),
/// `visa-already-entered`, `visa-used`, `visa-not-entered`; 422
/// `checkpoint-not-allowed`. Of officers scanning one visa at once, one
/// records it; the others are answered from what is now recorded.
pub async fn record_crossing(
    ports: &Ports<'_>,
    number: &str,
    crossing: Crossing,
    checkpoint: &str,
    officer: &Officer,
) -> Result<Application, Problem> {
    let number = number.trim().to_ascii_uppercase();
    let not_found = || Problem::not_found("no visa has this number");
    let record = ports.visas.visa(&number).await?.ok_or_else(not_found)?;
    let checkpoint = checkpoint.trim().to_ascii_uppercase();
    let mut request = None;
    for _ in 0..3 {
        let current = ports
            .applications
            .application(&record.application_id)
            .await?
            .ok_or_else(not_found)?;
        let at = ports.clock.now();
        let next = current
            .record_crossing(crossing, &checkpoint, ports.clock.today(), at)
            .map_err(crossing_refused)?;
        let (action, what) = match crossing {
            Crossing::Entry => (AuditAction::EntryRecorded, "entry"),
            Crossing::Exit => (AuditAction::ExitRecorded, "exit"),
        };
        let event = AuditEvent {
            id: ports.ids.new_id(),
            at,
            actor: officer.name.clone(),
            action,
            record: format!("visa/{number}"),
            reason: String::new(),
            from: officer.from.clone(),
            detail: Some(format!("{what} at {checkpoint}")),
        };
        if crossing == Crossing::Entry && request.is_none() {
            request = Some(host_request(ports, &current.invitation_number).await?);
        }
        let written = match request.as_ref().and_then(Option::as_ref) {
            Some(r) if crossing == Crossing::Entry => {
                let arrival = Arrival::open(
                    r,
                    &number,
                    &checkpoint,
                    at,
                    ports.clock.today(),
                    Calendar::builtin(),
                );
                ports
                    .arrivals
                    .record_entry(&current, &next, &event, &arrival)
                    .await
            }
            _ => ports.visas.change_visa(&current, &next, &event).await,
        };
        match written {
            Ok(()) => return Ok(next),
            // Another scan came first: read again, and answer from that.
            Err(StoreError::StatusConflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::invalid_state(
        "the visa changed while it was being recorded: scan it again",
    ))
}

/// The host's request behind the invitation numbered `number`, if a host
/// asked for it (an officer's own invitation has none).
async fn host_request(
    ports: &Ports<'_>,
    number: &str,
) -> Result<Option<crate::invitation_request::InvitationRequest>, StoreError> {
    let Some(request_id) = ports
        .invitations
        .invitation(number)
        .await?
        .and_then(|i| i.request_id)
    else {
        return Ok(None);
    };
    ports.requests.invitation_request(&request_id).await
}

fn crossing_refused(e: CrossingRefused) -> Problem {
    let detail = e.to_string();
    match e {
        CrossingRefused::NotIssued => Problem::invalid_state(detail),
        CrossingRefused::Cancelled => Problem::visa_cancelled(detail),
        CrossingRefused::UnderReview | CrossingRefused::NotInForce => {
            Problem::visa_not_in_force(detail)
        }
        CrossingRefused::Checkpoint => {
            Problem::checkpoint_not_allowed(detail).with_field("checkpoint", "NQZ or ALA")
        }
        CrossingRefused::AlreadyEntered => Problem::visa_already_entered(detail),
        CrossingRefused::Used => Problem::visa_used(detail),
        CrossingRefused::NotEntered => Problem::visa_not_entered(detail),
    }
}

/// Writes an officer's change with its audit event, conditional on the
/// state read, and queues the holder's email.
async fn write(
    ports: &Ports<'_>,
    current: &Application,
    next: Application,
    event: &AuditEvent,
) -> Result<Application, Problem> {
    match ports.visas.change_visa(current, &next, event).await {
        Ok(()) => {
            let request = EmailRequest::VisaChanged {
                application_id: next.id.clone(),
                revision: next.visa.as_ref().map_or(0, |v| v.revision),
            };
            // The change stands either way: the cabinet and verification
            // show it at once; a lost email is logged for the operators.
            if let Err(e) = ports.emails.enqueue(&request).await {
                tracing::error!(application_id = %next.id, error = %e, "visa change email not queued");
            }
            Ok(next)
        }
        Err(StoreError::StatusConflict) => Err(Problem::invalid_state(
            "another officer changed this visa a moment ago: read it again",
        )),
        Err(e) => Err(e.into()),
    }
}

fn refused(e: VisaChangeRefused) -> Problem {
    match e {
        VisaChangeRefused::OutsideValidity => {
            Problem::invalid_fields(vec![crate::FieldError::new("valid_until", e.to_string())])
        }
        _ => Problem::invalid_state(e.to_string()),
    }
}
