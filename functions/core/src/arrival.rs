//! A host's duty after its foreigner arrives (seed: "the inviting persons
//! inform the migration authorities about arrived foreigners within three
//! working days"): the border's entry opens an arrival, due on the third
//! Kazakh working day after it, reminded on the second; the host files the
//! notice once, on time or marked late.

use crate::host::Host;
use crate::invitation::Invitee;
use crate::invitation_request::InvitationRequest;
use crate::printable;
use crate::problem::FieldError;
use crate::workdays::Calendar;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The host's notice of where the foreigner stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The address of stay in Kazakhstan.
    pub address: String,
    pub stay_from: NaiveDate,
    pub stay_until: NaiveDate,
    pub filed_at: DateTime<Utc>,
    /// Filed on a day after `due_on` (Kazakhstan's date).
    pub late: bool,
}

/// One invitee's arrival, keyed by its invitation request: a request has
/// one invitation, an invitation one visa, a visa one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    pub request_id: String,
    pub host_id: String,
    pub invitation_number: String,
    /// The foreigner as the host entered them: what the host is shown.
    pub invitee: Invitee,
    pub visa_number: String,
    pub checkpoint: String,
    pub entered_at: DateTime<Utc>,
    /// The entry's day in Kazakhstan, from which working days count.
    pub entered_on: NaiveDate,
    /// The last day to file on time.
    pub due_on: NaiveDate,
    /// The day an unfiled notice is reminded.
    pub remind_on: NaiveDate,
    /// The last day the invitation allowed the stay.
    pub stay_until: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// Where an arrival stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalStatus {
    /// Not filed, still on time.
    Awaiting,
    /// Not filed, and its due day has passed.
    Overdue,
    Filed,
    FiledLate,
}

/// What a host sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    pub address: String,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub stay_from: NaiveDate,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub stay_until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeRefused {
    #[error("the arrival notice was filed already")]
    AlreadyFiled,
    #[error("some fields are not valid")]
    Fields(Vec<FieldError>),
}

impl Arrival {
    /// The arrival an entry on visa `visa_number` at `entered_at` opens
    /// for the host of `request`.
    pub fn open(
        request: &InvitationRequest,
        visa_number: &str,
        checkpoint: &str,
        entered_at: DateTime<Utc>,
        entered_on: NaiveDate,
        calendar: &Calendar,
    ) -> Arrival {
        Arrival {
            request_id: request.id.clone(),
            host_id: request.host_id.clone(),
            invitation_number: request.invitation_number.clone().unwrap_or_default(),
            invitee: request.invitee.invitee(),
            visa_number: visa_number.to_owned(),
            checkpoint: checkpoint.to_owned(),
            entered_at,
            entered_on,
            due_on: calendar.notice_due(entered_on),
            remind_on: calendar.reminder_day(entered_on),
            stay_until: request.valid_until,
            reminded_at: None,
            notice: None,
        }
    }

    pub fn status(&self, today: NaiveDate) -> ArrivalStatus {
        match &self.notice {
            Some(n) if n.late => ArrivalStatus::FiledLate,
            Some(_) => ArrivalStatus::Filed,
            None if today > self.due_on => ArrivalStatus::Overdue,
            None => ArrivalStatus::Awaiting,
        }
    }

    /// Whether the sweep on `today` should remind the host.
    pub fn needs_reminder(&self, today: NaiveDate) -> bool {
        self.notice.is_none() && self.reminded_at.is_none() && today >= self.remind_on
    }

    /// Whether `host` is this arrival's host.
    pub fn is_of(&self, host: &Host) -> bool {
        self.host_id == host.id
    }

    /// The host files its notice at `now` (`today` in Kazakhstan): once;
    /// the stay within the entry and the invitation's last day.
    pub fn file(
        &mut self,
        notice: NewNotice,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<&Notice, NoticeRefused> {
        if self.notice.is_some() {
            return Err(NoticeRefused::AlreadyFiled);
        }
        let address = crate::names::collapse(&notice.address);
        let mut errors = Vec::new();
        if address.chars().count() < 5
            || address.chars().count() > 300
            || !printable::all_printable(&address)
        {
            errors.push(FieldError::new("address", "5 to 300 characters"));
        }
        if notice.stay_from < self.entered_on || notice.stay_from > self.stay_until {
            errors.push(FieldError::new(
                "stay_from",
                format!(
                    "from the day of entry ({}) to {}",
                    self.entered_on, self.stay_until
                ),
            ));
        }
        if notice.stay_until < notice.stay_from || notice.stay_until > self.stay_until {
            errors.push(FieldError::new(
                "stay_until",
                format!("from stay_from to {}", self.stay_until),
            ));
        }
        if !errors.is_empty() {
            return Err(NoticeRefused::Fields(errors));
        }
        Ok(self.notice.insert(Notice {
            address,
            stay_from: notice.stay_from,
            stay_until: notice.stay_until,
            filed_at: now,
            late: today > self.due_on,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::invitation_request::{RequestStatus, RequestedInvitee};
    use crate::passport::Sex;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn request() -> InvitationRequest {
        InvitationRequest {
            id: "01REQ".into(),
            host_id: "01HOST".into(),
            batch_id: "01BATCH".into(),
            created_at: "2026-12-01T09:00:00Z".parse().unwrap(),
            category: Category::Business,
            valid_from: day("2026-12-10"),
            valid_until: day("2027-01-08"),
            purpose: "talks".into(),
            invitee: RequestedInvitee {
                surname: "DOE".into(),
                given_names: "JANE".into(),
                sex: Sex::F,
                nationality: "DEU".into(),
                date_of_birth: day("1990-01-01"),
                passport_number: "C01X00T47".into(),
                email: "jane@example.org".into(),
                lang: "en".into(),
            },
            status: RequestStatus::Approved,
            decision: None,
            invitation_number: Some("250000000001".into()),
        }
    }

    /// Friday 11 December 2026: the weekend, then Independence Day on
    /// Wednesday the 16th.
    fn friday_entry() -> Arrival {
        Arrival::open(
            &request(),
            "KZ0000001",
            "NQZ",
            "2026-12-11T04:00:00Z".parse().unwrap(),
            day("2026-12-11"),
            Calendar::builtin(),
        )
    }

    fn notice() -> NewNotice {
        NewNotice {
            address: " Astana,  Mangilik El 55 ".into(),
            stay_from: day("2026-12-11"),
            stay_until: day("2026-12-20"),
        }
    }

    #[test]
    fn an_entry_before_a_weekend_and_a_holiday_is_due_the_next_thursday() {
        let a = friday_entry();
        assert_eq!(a.remind_on, day("2026-12-15"));
        assert_eq!(a.due_on, day("2026-12-17"));
        assert_eq!(a.status(day("2026-12-17")), ArrivalStatus::Awaiting);
        assert_eq!(a.status(day("2026-12-18")), ArrivalStatus::Overdue);
        assert!(!a.needs_reminder(day("2026-12-14")));
        assert!(a.needs_reminder(day("2026-12-15")));
    }

    #[test]
    fn a_notice_is_filed_once_and_late_after_the_due_day() {
        let mut a = friday_entry();
        let filed = a
            .file(
                notice(),
                "2026-12-17T18:00:00Z".parse().unwrap(),
                day("2026-12-17"),
            )
            .unwrap();
        assert_eq!(filed.address, "Astana, Mangilik El 55");
        assert!(!filed.late);
        assert_eq!(a.status(day("2026-12-30")), ArrivalStatus::Filed);
        assert!(!a.needs_reminder(day("2026-12-30")));
        assert_eq!(
            a.file(
                notice(),
                "2026-12-18T09:00:00Z".parse().unwrap(),
                day("2026-12-18")
            ),
            Err(NoticeRefused::AlreadyFiled)
        );

        let mut late = friday_entry();
        let filed = late
            .file(
                notice(),
                "2026-12-18T09:00:00Z".parse().unwrap(),
                day("2026-12-18"),
            )
            .unwrap();
        assert!(filed.late);
        assert_eq!(late.status(day("2026-12-18")), ArrivalStatus::FiledLate);
    }

    #[test]
    fn a_stay_outside_the_entry_and_the_invitation_is_refused_by_field() {
        let mut a = friday_entry();
        let bad = NewNotice {
            address: "  x ".into(),
            stay_from: day("2026-12-10"),
            stay_until: day("2027-01-09"),
        };
        let Err(NoticeRefused::Fields(errors)) = a.file(
            bad,
            "2026-12-14T09:00:00Z".parse().unwrap(),
            day("2026-12-14"),
        ) else {
            panic!("accepted");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["address", "stay_from", "stay_until"]);
        assert!(a.notice.is_none());
    }
}
