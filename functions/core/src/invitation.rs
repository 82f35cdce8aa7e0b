//! The invitation a migration officer approves for a foreigner: the
//! e-visa is issued only against one (seed), and only once.

use crate::category::Category;
use crate::passport::{is_alpha3, is_passport_number};
use crate::problem::FieldError;
use crate::{names, printable, rules};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inviter {
    pub name: String,
    /// Business identification number (Kazakhstan, 12 digits).
    pub bin: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitee {
    pub surname: String,
    pub given_names: String,
    pub nationality: String,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub date_of_birth: NaiveDate,
    pub passport_number: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Approved,
    Used,
    Revoked,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Approved => "approved",
            InvitationStatus::Used => "used",
            InvitationStatus::Revoked => "revoked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub number: String,
    pub category: Category,
    pub inviter: Inviter,
    pub invitee: Invitee,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    /// The officer who created it: the caller's IAM ARN in the cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// The officer who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// The host's request it was approved from: the border's entry opens
    /// that host's arrival notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Invitee {
    /// Upper case, spaces collapsed: as the visa prints it.
    pub fn normalised(&self) -> Invitee {
        Invitee {
            surname: names::normalise(&self.surname),
            given_names: names::normalise(&self.given_names),
            nationality: self.nationality.trim().to_ascii_uppercase(),
            date_of_birth: self.date_of_birth,
            passport_number: self.passport_number.trim().to_ascii_uppercase(),
        }
    }

    /// What is wrong with a normalised invitee, its fields named under
    /// `prefix` (`invitee.`, `invitees[2].`): the same rules wherever an
    /// invitation's foreigner is entered.
    pub fn errors(&self, prefix: &str, today: NaiveDate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let field = |name: &str| format!("{prefix}{name}");
        if self.surname.is_empty() || self.surname.chars().count() > 60 {
            errors.push(FieldError::new(field("surname"), "1 to 60 characters"));
        }
        if self.given_names.chars().count() > 60 {
            errors.push(FieldError::new(
                field("given_names"),
                "at most 60 characters",
            ));
        }
        if !is_alpha3(&self.nationality) {
            errors.push(FieldError::new(
                field("nationality"),
                "an ISO 3166-1 alpha-3 code such as IND",
            ));
        }
        if self.date_of_birth >= today {
            errors.push(FieldError::new(
                field("date_of_birth"),
                "a date in the past",
            ));
        }
        if !is_passport_number(&self.passport_number) {
            errors.push(FieldError::new(
                field("passport_number"),
                "5 to 12 letters A-Z and digits",
            ));
        }
        errors
    }
}

/// The officer's request body (`POST /api/admin/invitations`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub number: Option<String>,
    pub category: Category,
    pub inviter: Inviter,
    pub invitee: Invitee,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub valid_from: NaiveDate,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub valid_until: NaiveDate,
}

pub fn is_invitation_number(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl NewInvitation {
    /// Validates and normalises; `number` is the one to use when the officer
    /// gave none; `officer` is who creates it.
    pub fn into_invitation(
        self,
        officer: &str,
        generated_number: String,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Invitation, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = match self.number {
            Some(n) => n.trim().to_owned(),
            None => generated_number,
        };
        if !is_invitation_number(&number) {
            errors.push(FieldError::new("number", "12 digits"));
        }
        let inviter = Inviter {
            name: self.inviter.name.trim().to_owned(),
            bin: self.inviter.bin.trim().to_owned(),
        };
        if inviter.name.is_empty()
            || inviter.name.chars().count() > 200
            || !printable::all_printable(&inviter.name)
        {
            errors.push(FieldError::new(
                "inviter.name",
                "1 to 200 characters the visa can print (Latin, Greek, Cyrillic, digits, punctuation)",
            ));
        }
        if inviter.bin.len() != 12 || !inviter.bin.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new("inviter.bin", "12 digits"));
        }
        let invitee = self.invitee.normalised();
        errors.extend(invitee.errors("invitee.", today));
        errors.extend(rules::stay_window_errors(
            self.valid_from,
            self.valid_until,
            today,
        ));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Invitation {
            number,
            category: self.category,
            inviter,
            invitee,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            status: InvitationStatus::Approved,
            created_at: now,
            created_by: Some(officer.to_owned()),
            revoked_by: None,
            request_id: None,
        })
    }
}
