//! An approved host's request for an invitation: one foreigner per
//! request, several made in one go (a batch), each checked on entry with
//! the applicant side's rules (the invitee's fields, the stay window, and
//! eligibility by nationality for the category: the annexes), and each
//! approved or refused by an officer, once. An approved request becomes an
//! invitation like the migration service's own, its inviting party the
//! host, and its number is emailed to the foreigner.

use crate::annex::Annexes;
use crate::category::Category;
use crate::decision::{Decision, DecisionError};
use crate::host::Host;
use crate::invitation::{Invitation, InvitationStatus, Invitee, Inviter};
use crate::names::collapse;
use crate::passport::Sex;
use crate::problem::FieldError;
use crate::{account, printable, rules};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Foreigners in one batch, at most.
pub const MAX_INVITEES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Refused,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<RequestStatus> {
        [
            RequestStatus::Pending,
            RequestStatus::Approved,
            RequestStatus::Refused,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// The foreigner, as the host enters them from the passport, and where the
/// invitation's number goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedInvitee {
    pub surname: String,
    #[serde(default)]
    pub given_names: String,
    pub sex: Sex,
    pub nationality: String,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub date_of_birth: NaiveDate,
    pub passport_number: String,
    pub email: String,
    /// The language of the email that brings the invitation (en, ru, kk).
    #[serde(default = "english")]
    pub lang: String,
}

fn english() -> String {
    "en".to_owned()
}

impl RequestedInvitee {
    /// The invitation's foreigner: what the host entered, less the address
    /// the number goes to.
    pub fn invitee(&self) -> Invitee {
        Invitee {
            surname: self.surname.clone(),
            given_names: self.given_names.clone(),
            nationality: self.nationality.clone(),
            date_of_birth: self.date_of_birth,
            passport_number: self.passport_number.clone(),
        }
    }
}

/// What a host sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitationRequests {
    pub category: Category,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub valid_from: NaiveDate,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub valid_until: NaiveDate,
    /// Why the foreigners come, in the host's words.
    pub purpose: String,
    pub invitees: Vec<RequestedInvitee>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationRequest {
    pub id: String,
    pub host_id: String,
    /// The requests made in one go share it.
    pub batch_id: String,
    pub created_at: DateTime<Utc>,
    pub category: Category,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub purpose: String,
    pub invitee: RequestedInvitee,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The invitation an approval made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_number: Option<String>,
}

/// Why a batch is refused on entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRefusal {
    /// Fields at fault (`invitees[1].passport_number`, `valid_until`).
    Fields(Vec<FieldError>),
    /// A foreigner's nationality cannot get this category's e-visa: the
    /// applicant side's `not-eligible`, naming the invitee.
    NotEligible { field: String, nationality: String },
    /// The host is not approved (yet, or at all).
    HostNotApproved,
}

impl NewInvitationRequests {
    /// One request per foreigner, or why the batch is refused (nothing is
    /// made of a batch with one fault).
    pub fn into_requests(
        self,
        host: &Host,
        batch_id: String,
        mut new_id: impl FnMut() -> String,
        annexes: &Annexes,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<InvitationRequest>, RequestRefusal> {
        if !host.may_request_invitations() {
            return Err(RequestRefusal::HostNotApproved);
        }
        let mut errors = rules::stay_window_errors(self.valid_from, self.valid_until, today);
        let purpose = collapse(&self.purpose);
        if purpose.is_empty()
            || purpose.chars().count() > 300
            || !printable::all_printable(&purpose)
        {
            errors.push(FieldError::new("purpose", "1 to 300 characters"));
        }
        if self.invitees.is_empty() || self.invitees.len() > MAX_INVITEES {
            errors.push(FieldError::new("invitees", "1 to 10 foreigners"));
        }
        let mut invitees = Vec::with_capacity(self.invitees.len());
        for (i, given) in self.invitees.iter().enumerate() {
            let prefix = format!("invitees[{i}].");
            let normal = given.invitee().normalised();
            errors.extend(normal.errors(&prefix, today));
            let email = account::normalise_email(&given.email);
            if email.is_none() {
                errors.push(FieldError::new(
                    format!("{prefix}email"),
                    "an email address the invitation can be sent to",
                ));
            }
            if !account::LANGUAGES.contains(&given.lang.as_str()) {
                errors.push(FieldError::new(format!("{prefix}lang"), "en, ru or kk"));
            }
            invitees.push(RequestedInvitee {
                lang: given.lang.clone(),
                surname: normal.surname,
                given_names: normal.given_names,
                sex: given.sex,
                nationality: normal.nationality,
                date_of_birth: normal.date_of_birth,
                passport_number: normal.passport_number,
                email: email.unwrap_or_default(),
            });
        }
        // The same passport twice in one batch is one foreigner.
        for (i, a) in invitees.iter().enumerate() {
            if invitees[..i]
                .iter()
                .any(|b| b.passport_number == a.passport_number && b.nationality == a.nationality)
            {
                errors.push(FieldError::new(
                    format!("invitees[{i}].passport_number"),
                    "the same passport is in this request already",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(RequestRefusal::Fields(errors));
        }
        if let Some((i, who)) = invitees
            .iter()
            .enumerate()
            .find(|(_, who)| !rules::eligible(annexes, self.category, &who.nationality))
        {
            return Err(RequestRefusal::NotEligible {
                field: format!("invitees[{i}].nationality"),
                nationality: who.nationality.clone(),
            });
        }
        Ok(invitees
            .into_iter()
            .map(|invitee| InvitationRequest {
                id: new_id(),
                host_id: host.id.clone(),
                batch_id: batch_id.clone(),
                created_at: now,
                category: self.category,
                valid_from: self.valid_from,
                valid_until: self.valid_until,
                purpose: purpose.clone(),
                invitee,
                status: RequestStatus::Pending,
                decision: None,
                invitation_number: None,
            })
            .collect())
    }
}

impl InvitationRequest {
    fn decide(
        &mut self,
        status: RequestStatus,
        by: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DecisionError> {
        if self.status != RequestStatus::Pending {
            return Err(DecisionError::AlreadyDecided(self.status.as_str()));
        }
        let approve = status == RequestStatus::Approved;
        self.decision = Some(Decision::new(approve, by, reason, now)?);
        self.status = status;
        Ok(())
    }

    /// An officer approves, with a note for the host if they wrote one:
    /// the invitation it becomes, numbered `number`, its inviting party
    /// the host.
    pub fn approve(
        &mut self,
        host: &Host,
        by: &str,
        note: Option<String>,
        number: String,
        now: DateTime<Utc>,
    ) -> Result<Invitation, DecisionError> {
        self.decide(RequestStatus::Approved, by, note, now)?;
        self.invitation_number = Some(number.clone());
        Ok(Invitation {
            number,
            category: self.category,
            inviter: Inviter {
                name: host.name.clone(),
                bin: host.number.clone(),
            },
            invitee: self.invitee.invitee(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            status: InvitationStatus::Approved,
            created_at: now,
            created_by: Some(by.to_owned()),
            revoked_by: None,
            request_id: Some(self.id.clone()),
        })
    }

    /// An officer refuses, saying why.
    pub fn refuse(
        &mut self,
        by: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DecisionError> {
        self.decide(RequestStatus::Refused, by, reason, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Contact, HostKind, NewHost};

    fn now() -> DateTime<Utc> {
        "2026-12-05T09:00:00Z".parse().unwrap()
    }

    fn today() -> NaiveDate {
        now().date_naive()
    }

    fn approved_host() -> Host {
        let mut host = NewHost {
            kind: HostKind::Organisation,
            number: "050340001235".into(),
            name: "Steppe Tours LLP".into(),
            contact: Contact {
                name: "Aigerim Sadykova".into(),
                phone: "+77012345678".into(),
            },
        }
        .into_host("host-1".into(), "acc-1", now())
        .unwrap();
        host.decide(true, "officer", None, now()).unwrap();
        host
    }

    fn invitee(nationality: &str, passport: &str) -> RequestedInvitee {
        RequestedInvitee {
            surname: " sharma ".into(),
            given_names: "priya  anil".into(),
            sex: Sex::F,
            nationality: nationality.into(),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 4, 12).unwrap(),
            passport_number: passport.into(),
            email: " Priya@Example.COM ".into(),
            lang: "en".into(),
        }
    }

    fn batch(invitees: Vec<RequestedInvitee>) -> NewInvitationRequests {
        NewInvitationRequests {
            category: Category::Tourist,
            valid_from: today() + chrono::Duration::days(10),
            valid_until: today() + chrono::Duration::days(20),
            purpose: "  a tour of   the Altai ".into(),
            invitees,
        }
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("req-{n}")
        }
    }

    #[test]
    fn a_batch_of_two_makes_two_pending_requests_normalised() {
        let requests = batch(vec![invitee("IND", "z1234567"), invitee("BGD", "P7654321")])
            .into_requests(
                &approved_host(),
                "batch-1".into(),
                ids(),
                Annexes::builtin(),
                today(),
                now(),
            )
            .unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].invitee.surname, "SHARMA");
        assert_eq!(requests[0].invitee.given_names, "PRIYA ANIL");
        assert_eq!(requests[0].invitee.passport_number, "Z1234567");
        assert_eq!(requests[0].invitee.email, "priya@example.com");
        assert_eq!(requests[1].id, "req-2");
        assert_eq!(requests[1].batch_id, "batch-1");
        assert_eq!(requests[0].purpose, "a tour of the Altai");
        assert!(requests.iter().all(|r| r.status == RequestStatus::Pending));
    }

    #[test]
    fn a_batch_is_refused_whole_naming_the_invitee_at_fault() {
        let host = approved_host();
        let refused = |b: NewInvitationRequests| {
            b.into_requests(&host, "b".into(), ids(), Annexes::builtin(), today(), now())
                .unwrap_err()
        };
        let mut bad = invitee("IND", "Z1");
        bad.email = "nobody".into();
        let RequestRefusal::Fields(errors) = refused(batch(vec![invitee("BGD", "P7654321"), bad]))
        else {
            panic!("fields expected")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["invitees[1].passport_number", "invitees[1].email"]);
        // The same passport twice.
        let RequestRefusal::Fields(errors) = refused(batch(vec![
            invitee("IND", "Z1234567"),
            invitee("IND", "Z1234567"),
        ])) else {
            panic!("fields expected")
        };
        assert_eq!(errors[0].field, "invitees[1].passport_number");
        // The USA is on neither annex (2019 lists): not eligible, as on the
        // applicant's side.
        assert_eq!(
            refused(batch(vec![
                invitee("IND", "Z1234567"),
                invitee("USA", "123456789")
            ])),
            RequestRefusal::NotEligible {
                field: "invitees[1].nationality".into(),
                nationality: "USA".into()
            }
        );
        let mut long = batch(vec![invitee("IND", "Z1234567")]);
        long.valid_until = long.valid_from + chrono::Duration::days(30);
        let RequestRefusal::Fields(errors) = refused(long) else {
            panic!("fields expected")
        };
        assert_eq!(errors[0].field, "valid_until");
        let RequestRefusal::Fields(errors) = refused(batch(vec![])) else {
            panic!("fields expected")
        };
        assert_eq!(errors[0].field, "invitees");
        // A host not approved requests nothing.
        let pending = NewHost {
            kind: HostKind::Organisation,
            number: "050340001235".into(),
            name: "Steppe Tours LLP".into(),
            contact: Contact {
                name: "Aigerim".into(),
                phone: "+77012345678".into(),
            },
        }
        .into_host("h".into(), "a", now())
        .unwrap();
        assert_eq!(
            batch(vec![invitee("IND", "Z1234567")])
                .into_requests(
                    &pending,
                    "b".into(),
                    ids(),
                    Annexes::builtin(),
                    today(),
                    now()
                )
                .unwrap_err(),
            RequestRefusal::HostNotApproved
        );
    }

    #[test]
    fn an_approval_makes_the_hosts_invitation_and_a_refusal_says_why_once() {
        let host = approved_host();
        let mut requests = batch(vec![invitee("IND", "Z1234567"), invitee("BGD", "P7654321")])
            .into_requests(&host, "b".into(), ids(), Annexes::builtin(), today(), now())
            .unwrap();
        let invitation = requests[0]
            .approve(&host, "Dana (officer)", None, "250000000123".into(), now())
            .unwrap();
        assert_eq!(invitation.inviter.bin, "050340001235");
        assert_eq!(invitation.inviter.name, "Steppe Tours LLP");
        assert_eq!(invitation.invitee.passport_number, "Z1234567");
        assert_eq!(invitation.status, InvitationStatus::Approved);
        assert_eq!(
            requests[0].invitation_number.as_deref(),
            Some("250000000123")
        );
        assert_eq!(
            requests[0].refuse("Dana", Some("late".into()), now()),
            Err(DecisionError::AlreadyDecided("approved"))
        );
        assert_eq!(
            requests[1].refuse("Dana", Some(" ".into()), now()),
            Err(DecisionError::ReasonRequired)
        );
        requests[1]
            .refuse("Dana", Some("no tourism in the border zone".into()), now())
            .unwrap();
        assert_eq!(requests[1].status, RequestStatus::Refused);
        assert_eq!(requests[1].invitation_number, None);
    }
}
