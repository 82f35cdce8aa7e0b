//! How long the portal keeps what it stores: the one place the policy
//! lives. The cloud writes each instant as the item's DynamoDB TTL; the
//! embedded store's sweep erases what is past it. docs/DESIGN.md lists the
//! figure for each kind of data.

use crate::application::{Application, Status};
use crate::arrival::Arrival;
use crate::invitation::Invitation;
use crate::invitation_request::InvitationRequest;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// The applicant's days to pay or abandon by default; then the
/// application and its passport data go.
pub const DEFAULT_UNPAID_DAYS: i64 = 30;
/// Days an issued visa's application is kept after the visa's last day
/// by default (overstay checks, disputes, the audit).
pub const DEFAULT_AFTER_VISA_END_DAYS: i64 = 365;
/// Payment events (their ids, to apply each once) outlive Stripe's three
/// days of retries, then go.
pub const PAYMENT_EVENT_DAYS: i64 = 90;
/// A paid application's provider payment id, for disputes: Stripe takes
/// them for up to 120 days after the charge, some card networks longer.
pub const PAYMENT_INTENT_DAYS: i64 = 540;
/// Environment variables that override the defaults, in both runtimes.
pub const UNPAID_DAYS_VAR: &str = "RETENTION_UNPAID_DAYS";
pub const AFTER_VISA_END_DAYS_VAR: &str = "RETENTION_AFTER_VISA_END_DAYS";

/// Shorter than this and an open checkout (Stripe: 24 hours at most)
/// could outlive the application it pays for.
const SHORTEST_UNPAID_DAYS: i64 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Drafts and unpaid applications: after their last change or the end
    /// of their checkout, whichever is later.
    pub unpaid: Duration,
    /// Issued visas' applications, visa records and PDFs, and invitations:
    /// after the last day of the visa (or invitation).
    pub after_visa_end: Duration,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("{0} must be a whole number of days")]
    NotANumber(&'static str),
    #[error("{0} must be at least {1} days")]
    TooShort(&'static str, i64),
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            unpaid: Duration::days(DEFAULT_UNPAID_DAYS),
            after_visa_end: Duration::days(DEFAULT_AFTER_VISA_END_DAYS),
        }
    }
}

/// The end of a day counted in Kazakhstan's time (UTC+5), as stay windows are.
fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(NaiveDate::MAX);
    next.and_time(NaiveTime::MIN).and_utc() - Duration::hours(5)
}

impl Retention {
    /// The policy from `get` (an environment lookup): each figure in days,
    /// the default where unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, RetentionError> {
        let days = |name: &'static str, default: i64, least: i64| {
            let Some(raw) = get(name) else {
                return Ok(Duration::days(default));
            };
            let n: i64 = raw
                .trim()
                .parse()
                .map_err(|_| RetentionError::NotANumber(name))?;
            if n < least {
                return Err(RetentionError::TooShort(name, least));
            }
            Ok(Duration::days(n))
        };
        Ok(Retention {
            unpaid: days(UNPAID_DAYS_VAR, DEFAULT_UNPAID_DAYS, SHORTEST_UNPAID_DAYS)?,
            after_visa_end: days(AFTER_VISA_END_DAYS_VAR, DEFAULT_AFTER_VISA_END_DAYS, 1)?,
        })
    }

    /// From the process environment.
    pub fn from_env() -> Result<Self, RetentionError> {
        Retention::from_lookup(|name| std::env::var(name).ok())
    }

    /// When an unpaid application changed last at `last_change`, with a
    /// checkout open until `checkout_until`, is erased.
    pub fn unpaid_until(
        &self,
        last_change: DateTime<Utc>,
        checkout_until: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        checkout_until.map_or(last_change, |c| c.max(last_change)) + self.unpaid
    }

    /// When the application of a visa ending on `visa_last_day` is erased,
    /// with its visa record and PDF.
    pub fn issued_until(&self, visa_last_day: NaiveDate) -> DateTime<Utc> {
        end_of_day(visa_last_day) + self.after_visa_end
    }

    /// When the application is erased; `None` while it is kept whatever the
    /// time: paid and waiting for its visa, or under officers' review.
    pub fn application(&self, app: &Application) -> Option<DateTime<Utc>> {
        if app.under_review {
            return None;
        }
        match app.status {
            Status::InvitationConfirmed | Status::AwaitingPayment => Some(self.unpaid_until(
                app.updated_at,
                app.payment.as_ref().and_then(|p| p.expires_at),
            )),
            Status::Paid => None,
            Status::Issued => app.visa.as_ref().map(|v| self.issued_until(v.valid_until)),
        }
    }

    /// When an invitation (the migration service's record, with the
    /// invitee's passport data) is erased: as long as a visa under it
    /// could be kept.
    pub fn invitation(&self, invitation: &Invitation) -> DateTime<Utc> {
        self.issued_until(invitation.valid_until)
    }

    /// When a host's invitation request (the foreigner's passport data as
    /// the host entered it) is erased, whatever was decided: as its
    /// invitation would be.
    pub fn invitation_request(&self, request: &InvitationRequest) -> DateTime<Utc> {
        self.issued_until(request.valid_until)
    }

    /// When an arrival and its notice are erased: as the visa's
    /// application, counted from the last day the invitation allowed.
    pub fn arrival(&self, arrival: &Arrival) -> DateTime<Utc> {
        self.issued_until(arrival.stay_until)
    }

    /// When a group's record (ids, total and payment; no passport data)
    /// is erased: as an unpaid application while unpaid, then as long as
    /// the longest visa it paid for.
    pub fn group(&self, group: &crate::group::Group) -> DateTime<Utc> {
        match group.status {
            crate::group::GroupStatus::Paid => self.issued_until(group.last_day),
            _ => self.unpaid_until(
                group.updated_at,
                group.payment.as_ref().and_then(|p| p.expires_at),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn figures_come_from_the_environment_or_the_defaults() {
        assert_eq!(Retention::from_lookup(|_| None), Ok(Retention::default()));
        let env = HashMap::from([(UNPAID_DAYS_VAR, "7"), (AFTER_VISA_END_DAYS_VAR, "1825")]);
        let r = Retention::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(r.unpaid, Duration::days(7));
        assert_eq!(r.after_visa_end, Duration::days(1825));
        assert_eq!(
            Retention::from_lookup(|k| (k == UNPAID_DAYS_VAR).then(|| "1".into())),
            Err(RetentionError::TooShort(UNPAID_DAYS_VAR, 2))
        );
        assert_eq!(
            Retention::from_lookup(|k| (k == AFTER_VISA_END_DAYS_VAR).then(|| "a year".into())),
            Err(RetentionError::NotANumber(AFTER_VISA_END_DAYS_VAR))
        );
    }

    #[test]
    fn an_unpaid_application_outlives_its_open_checkout() {
        let r = Retention::default();
        let changed = at("2026-12-01T10:00:00Z");
        assert_eq!(r.unpaid_until(changed, None), at("2026-12-31T10:00:00Z"));
        // A checkout still open after the last change counts from its end.
        let open = at("2026-12-02T09:00:00Z");
        assert_eq!(
            r.unpaid_until(changed, Some(open)),
            at("2027-01-01T09:00:00Z")
        );
        assert_eq!(
            r.unpaid_until(changed, Some(at("2026-11-30T00:00:00Z"))),
            at("2026-12-31T10:00:00Z")
        );
    }

    #[test]
    fn an_issued_visa_is_kept_from_the_end_of_its_last_day_in_astana() {
        let r = Retention {
            after_visa_end: Duration::days(10),
            ..Retention::default()
        };
        let last_day = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
        // Midnight at UTC+5 ending 31 March is 19:00 UTC on 31 March.
        assert_eq!(r.issued_until(last_day), at("2027-04-10T19:00:00Z"));
    }

    #[test]
    fn a_group_is_kept_as_its_unpaid_members_then_as_its_longest_visa() {
        use crate::group::{Group, GroupStatus};
        let r = Retention::default();
        let changed = at("2026-12-01T10:00:00Z");
        let mut group = Group {
            id: "g".into(),
            account_id: "acc".into(),
            status: GroupStatus::Open,
            members: vec!["a".into(), "b".into()],
            total: crate::Money::new(12000, "USD"),
            payment: None,
            dropped: Vec::new(),
            last_day: NaiveDate::from_ymd_opt(2027, 1, 20).unwrap(),
            created_at: changed,
            updated_at: changed,
        };
        assert_eq!(r.group(&group), r.unpaid_until(changed, None));
        group.status = GroupStatus::Paid;
        assert_eq!(r.group(&group), r.issued_until(group.last_day));
    }
}
