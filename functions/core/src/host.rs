//! Inviting parties ("hosts"): a Kazakh organisation (by its BIN) or a
//! resident person (by their IIN) who requests invitations for foreigners
//! and reports their arrival. A host signs in with an ordinary account of
//! the portal (the applicant's machinery: Argon2id, throttling, reset,
//! a verified email); the host record beside the account is its role. An
//! officer approves a host, or refuses it with a reason, before its first
//! request; the decision is taken once.

use crate::decision::{Decision, DecisionError};
use crate::kz_id::{self, IdError, IdKind};
use crate::names::collapse;
use crate::printable;
use crate::problem::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostKind {
    /// A legal entity or entrepreneur, by its BIN.
    Organisation,
    /// A resident person, by their IIN.
    Resident,
}

impl HostKind {
    fn id_kind(self) -> IdKind {
        match self {
            HostKind::Organisation => IdKind::Bin,
            HostKind::Resident => IdKind::Iin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HostKind::Organisation => "organisation",
            HostKind::Resident => "resident",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    PendingApproval,
    Approved,
    Refused,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::PendingApproval => "pending_approval",
            HostStatus::Approved => "approved",
            HostStatus::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<HostStatus> {
        [
            HostStatus::PendingApproval,
            HostStatus::Approved,
            HostStatus::Refused,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// The person the migration service calls about the host's invitations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    /// International format: `+` and 8 to 15 digits.
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub id: String,
    pub account_id: String,
    pub kind: HostKind,
    /// The BIN or IIN: unique among hosts.
    pub number: String,
    /// The organisation's registered name, or the resident's full name.
    pub name: String,
    pub contact: Contact,
    pub status: HostStatus,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// What a person registering as a host sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHost {
    pub kind: HostKind,
    pub number: String,
    pub name: String,
    pub contact: Contact,
}

fn id_message(e: IdError, kind: HostKind) -> &'static str {
    match (e, kind) {
        (IdError::Format, _) => "12 digits",
        (IdError::CheckDigit, _) => "the check digit does not match: check the number",
        (_, HostKind::Organisation) => "not an organisation's BIN",
        (_, HostKind::Resident) => "not a person's IIN",
    }
}

/// `+` then 8 to 15 digits, spaces and dashes typed between them dropped.
fn phone(s: &str) -> Option<String> {
    let digits: String = s
        .trim()
        .strip_prefix('+')?
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    ((8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+{digits}"))
}

impl NewHost {
    /// The host record, or every field at fault.
    pub fn into_host(
        self,
        id: String,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Host, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = self.number.trim().to_owned();
        if let Err(e) = kz_id::check(self.kind.id_kind(), &number) {
            errors.push(FieldError::new("number", id_message(e, self.kind)));
        }
        let name = collapse(&self.name);
        if name.is_empty() || name.chars().count() > 200 || !printable::all_printable(&name) {
            errors.push(FieldError::new(
                "name",
                "1 to 200 characters (Latin, Greek, Cyrillic, digits, punctuation)",
            ));
        }
        let contact_name = collapse(&self.contact.name);
        if contact_name.is_empty()
            || contact_name.chars().count() > 100
            || !printable::all_printable(&contact_name)
        {
            errors.push(FieldError::new("contact.name", "1 to 100 characters"));
        }
        let contact_phone = phone(&self.contact.phone);
        if contact_phone.is_none() {
            errors.push(FieldError::new(
                "contact.phone",
                "international format: + and 8 to 15 digits",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Host {
            id,
            account_id: account_id.to_owned(),
            kind: self.kind,
            number,
            name,
            contact: Contact {
                name: contact_name,
                phone: contact_phone.unwrap_or_default(),
            },
            status: HostStatus::PendingApproval,
            created_at: now,
            decision: None,
        })
    }
}

impl Host {
    /// An officer approves the host, or refuses it with a reason: once.
    pub fn decide(
        &mut self,
        approve: bool,
        by: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DecisionError> {
        if self.status != HostStatus::PendingApproval {
            return Err(DecisionError::AlreadyDecided(self.status.as_str()));
        }
        self.decision = Some(Decision::new(approve, by, reason, now)?);
        self.status = if approve {
            HostStatus::Approved
        } else {
            HostStatus::Refused
        };
        Ok(())
    }

    /// Only an approved host requests invitations.
    pub fn may_request_invitations(&self) -> bool {
        self.status == HostStatus::Approved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-05T09:00:00Z".parse().unwrap()
    }

    fn new(kind: HostKind, number: &str) -> NewHost {
        NewHost {
            kind,
            number: number.into(),
            name: "  Steppe   Tours LLP ".into(),
            contact: Contact {
                name: "Aigerim  Nurlanovna".into(),
                phone: "+7 701 234-56-78".into(),
            },
        }
    }

    #[test]
    fn a_resident_registers_with_an_iin_and_an_organisation_with_a_bin() {
        let host = new(HostKind::Resident, "061211600012")
            .into_host("h1".into(), "acc-1", now())
            .unwrap();
        assert_eq!(host.status, HostStatus::PendingApproval);
        assert_eq!(host.name, "Steppe Tours LLP");
        assert_eq!(host.contact.phone, "+77012345678");
        assert!(!host.may_request_invitations());
        // An IIN is not a BIN.
        let errors = new(HostKind::Organisation, "061211600012")
            .into_host("h2".into(), "acc-2", now())
            .unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new("number", "not an organisation's BIN")]
        );
    }

    #[test]
    fn every_field_at_fault_is_named() {
        let mut bad = new(HostKind::Resident, "061211600013");
        bad.name = " ".into();
        bad.contact = Contact {
            name: "".into(),
            phone: "8 701 234 56 78".into(),
        };
        let fields: Vec<String> = bad
            .into_host("h".into(), "a", now())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["number", "name", "contact.name", "contact.phone"]);
    }

    #[test]
    fn a_host_is_decided_once_and_a_refusal_says_why() {
        let mut host = new(HostKind::Resident, "061211600012")
            .into_host("h1".into(), "acc-1", now())
            .unwrap();
        assert_eq!(
            host.decide(false, "officer", Some("  ".into()), now()),
            Err(DecisionError::ReasonRequired)
        );
        assert_eq!(host.status, HostStatus::PendingApproval);
        host.decide(true, "Dana <d@mvd.kz> (officer)", None, now())
            .unwrap();
        assert!(host.may_request_invitations());
        assert_eq!(
            host.decide(false, "other", Some("late".into()), now()),
            Err(DecisionError::AlreadyDecided("approved"))
        );
        assert_eq!(
            host.decision.as_ref().map(|d| d.by.as_str()),
            Some("Dana <d@mvd.kz> (officer)")
        );
        let json = serde_json::to_value(&host).unwrap();
        assert_eq!(json["kind"], "resident");
        assert_eq!(json["status"], "approved");
        assert_eq!(
            HostStatus::parse("pending_approval"),
            Some(HostStatus::PendingApproval)
        );
    }
}
