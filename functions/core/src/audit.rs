//! The migration service's audit trail: every officer action as an event
//! that is only ever appended (who, what, which record, when, why, from
//! where). The stores refuse to change or delete one (docs/DESIGN.md,
//! "Audit trail"); auditors read a date range as CSV.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an officer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    InvitationCreated,
    InvitationRevoked,
    VisaCancelled,
    VisaRestored,
    VisaShortened,
    /// The review of a disputed payment decided (the visa kept or cancelled).
    ReviewDecided,
    /// Border control recorded the holder's entry.
    EntryRecorded,
    /// Border control recorded the holder's exit.
    ExitRecorded,
    /// A member of staff signed in (password and authenticator code).
    SignedIn,
    /// A sign-in was refused at the authenticator code: the password was
    /// right, so someone holds it.
    SignInRefused,
    /// An officer approved or refused an inviting party.
    HostDecided,
    /// An officer refused a host's invitation request (an approval is
    /// `InvitationCreated`).
    RequestRefused,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::InvitationCreated => "invitation_created",
            AuditAction::InvitationRevoked => "invitation_revoked",
            AuditAction::VisaCancelled => "visa_cancelled",
            AuditAction::VisaRestored => "visa_restored",
            AuditAction::VisaShortened => "visa_shortened",
            AuditAction::ReviewDecided => "review_decided",
            AuditAction::EntryRecorded => "entry_recorded",
            AuditAction::ExitRecorded => "exit_recorded",
            AuditAction::SignedIn => "signed_in",
            AuditAction::SignInRefused => "sign_in_refused",
            AuditAction::HostDecided => "host_decided",
            AuditAction::RequestRefused => "request_refused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// A ULID: unique, and ordered by time.
    pub id: String,
    pub at: DateTime<Utc>,
    /// The one named person (or machine identity) who acted.
    pub actor: String,
    pub action: AuditAction,
    /// What was acted on, as `<kind>/<id>` (`visa/K7Q4M2X9A`).
    pub record: String,
    /// Why, in the officer's words (empty where the action asks none:
    /// creating an invitation).
    pub reason: String,
    /// The address the request came from.
    pub from: String,
    /// What changed, where the action alone does not say
    /// (`valid_until 2026-12-30 -> 2026-12-24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The longest reason kept; a longer one is refused, not cut.
pub const MAX_REASON_CHARS: usize = 500;

/// A reason as recorded: trimmed, at least one character and at most
/// [`MAX_REASON_CHARS`], no control characters.
pub fn reason(raw: &str) -> Result<String, &'static str> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err("give the reason for this action");
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err("a reason may be at most 500 characters");
    }
    if reason.chars().any(char::is_control) {
        return Err("a reason is one line of text");
    }
    Ok(reason.to_owned())
}

const COLUMNS: [&str; 8] = [
    "id", "at", "actor", "action", "record", "reason", "from", "detail",
];

/// The events as CSV (RFC 4180, a header row), for auditors' spreadsheets.
/// A cell that a spreadsheet would read as a formula (it starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) is written with a leading
/// apostrophe, as OWASP's CSV injection advice says.
pub fn csv(events: &[AuditEvent]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [&str; 8]| {
        out.write_record(row.map(|cell| guarded(cell).into_owned()))
            .expect("writing to memory cannot fail");
    };
    write(&mut out, COLUMNS);
    for e in events {
        let at = e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        write(
            &mut out,
            [
                &e.id,
                &at,
                &e.actor,
                e.action.as_str(),
                &e.record,
                &e.reason,
                &e.from,
                e.detail.as_deref().unwrap_or(""),
            ],
        );
    }
    out.into_inner().expect("writing to memory cannot fail")
}

fn guarded(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reason: &str) -> AuditEvent {
        AuditEvent {
            id: "01JEXAMPLE".into(),
            at: "2026-12-05T10:00:00.250Z".parse().unwrap(),
            actor: "Aigerim Nurlanovna, officer".into(),
            action: AuditAction::VisaShortened,
            record: "visa/K7Q4M2X9A".into(),
            reason: reason.into(),
            from: "192.0.2.7".into(),
            detail: Some("valid_until 2026-12-30 -> 2026-12-24".into()),
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let out = String::from_utf8(csv(&[
            event("the inviting party asked, \"urgently\""),
            event("=HYPERLINK(\"http://x\")"),
        ]))
        .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "id,at,actor,action,record,reason,from,detail");
        assert_eq!(
            lines[1],
            "01JEXAMPLE,2026-12-05T10:00:00.250Z,\"Aigerim Nurlanovna, officer\",visa_shortened,visa/K7Q4M2X9A,\"the inviting party asked, \"\"urgently\"\"\",192.0.2.7,valid_until 2026-12-30 -> 2026-12-24"
        );
        assert!(
            lines[2].contains(",\"'=HYPERLINK(\"\"http://x\"\")\","),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn a_reason_is_one_line_of_one_to_five_hundred_characters() {
        assert_eq!(reason("  overstay risk  ").as_deref(), Ok("overstay risk"));
        assert!(reason("   ").is_err());
        assert!(reason("two\nlines").is_err());
        assert!(reason(&"я".repeat(500)).is_ok());
        assert!(reason(&"я".repeat(501)).is_err());
    }
}
