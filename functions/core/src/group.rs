//! Families and groups: one account pays once for several applications.
//!
//! Each member stays an application of its own (its invitation, passport
//! and visa); the group holds only which applications it pays for, their
//! total and the one checkout. Its state machine mirrors the
//! application's: open -> awaiting_payment -> paid, or open -> dissolved
//! (the applicant undid it, or every member was dropped). A member whose
//! invitation the migration service revoked before payment is dropped
//! before the checkout opens, never charged for.

use crate::application::{Application, Conflict, Payment, PaymentView, Status};
use crate::category::Category;
use crate::money::Money;
use crate::problem::FieldError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A group pays for at least two people (one is an application alone) and
/// at most this many: a family or a small group, and one DynamoDB
/// transaction for all of them with room to spare.
pub const MAX_MEMBERS: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    Open,
    AwaitingPayment,
    Paid,
    Dissolved,
}

impl GroupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Open => "open",
            GroupStatus::AwaitingPayment => "awaiting_payment",
            GroupStatus::Paid => "paid",
            GroupStatus::Dissolved => "dissolved",
        }
    }

    fn conflict(self) -> Conflict {
        Conflict {
            from: self.as_str(),
        }
    }
}

/// A member taken out of the group before its checkout opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    pub application_id: String,
    pub invitation_number: String,
    pub surname: String,
    pub given_names: String,
    /// Why: `invitation_revoked` (the only reason there is).
    pub reason: String,
    pub dropped_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub account_id: String,
    pub status: GroupStatus,
    /// The member applications' ids, in the order the applicant gave.
    pub members: Vec<String>,
    pub total: Money,
    pub payment: Option<Payment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<Dropped>,
    /// The last day of the longest member's stay: the group's record is
    /// kept as long as the visas it paid for.
    pub last_day: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a group cannot be formed of these applications; each names the
/// member at fault by its place in the request (`application_ids[i]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormRefused {
    /// Fewer than two, more than [`MAX_MEMBERS`], or one twice.
    Invalid(Vec<FieldError>),
    /// Not `invitation_confirmed` (a checkout was opened for it alone), or
    /// in another group.
    NotGroupable(Vec<FieldError>),
    /// Its invitation was revoked.
    Revoked(Vec<FieldError>),
}

fn member_field(i: usize) -> String {
    format!("application_ids[{i}]")
}

/// The checks on the ids alone, before anything is read.
pub fn check_ids(ids: &[String]) -> Result<(), FormRefused> {
    if ids.len() < 2 || ids.len() > MAX_MEMBERS {
        return Err(FormRefused::Invalid(vec![FieldError::new(
            "application_ids",
            format!("a group pays for 2 to {MAX_MEMBERS} applications"),
        )]));
    }
    let errors: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(i, id)| ids[..*i].contains(id))
        .map(|(i, _)| FieldError::new(member_field(i), "this application is listed twice"))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(FormRefused::Invalid(errors))
    }
}

impl Group {
    /// A new open group of `members` (the caller's own applications, in
    /// the order asked).
    pub fn form(
        id: String,
        account_id: &str,
        members: &[Application],
        at: DateTime<Utc>,
    ) -> Result<Group, FormRefused> {
        let ids: Vec<String> = members.iter().map(|a| a.id.clone()).collect();
        check_ids(&ids)?;
        let at_fault = |what: &dyn Fn(&Application) -> bool, message: &str| -> Vec<FieldError> {
            members
                .iter()
                .enumerate()
                .filter(|(_, a)| what(a))
                .map(|(i, _)| FieldError::new(member_field(i), message))
                .collect()
        };
        let revoked = at_fault(
            &|a| a.invitation_revoked_at.is_some(),
            "the migration service revoked this application's invitation",
        );
        if !revoked.is_empty() {
            return Err(FormRefused::Revoked(revoked));
        }
        let taken = at_fault(
            &|a| a.status != Status::InvitationConfirmed || a.group_id.is_some(),
            "only an application not yet paid for, alone or in another group, can join",
        );
        if !taken.is_empty() {
            return Err(FormRefused::NotGroupable(taken));
        }
        let currency = &members[0].fee.currency;
        let other_currency = at_fault(
            &|a| &a.fee.currency != currency,
            "its fee is in another currency: pay for it alone",
        );
        if !other_currency.is_empty() {
            return Err(FormRefused::Invalid(other_currency));
        }
        Ok(Group {
            id,
            account_id: account_id.to_owned(),
            status: GroupStatus::Open,
            members: ids,
            total: Money::new(members.iter().map(|a| a.fee.amount_minor).sum(), currency),
            payment: None,
            dropped: Vec::new(),
            last_day: members
                .iter()
                .map(|a| a.stay.valid_until)
                .max()
                .expect("a group has members"),
            created_at: at,
            updated_at: at,
        })
    }

    /// The group as its members now are (`now`, read by id): those whose
    /// invitation was revoked are dropped (listed in `dropped`), those
    /// erased meanwhile leave without a trace, and the total is the fees of
    /// those left; dissolved if none is. Only while open; equal members
    /// mean nothing changed.
    pub fn without_unpayable(
        &self,
        now: &[Application],
        at: DateTime<Utc>,
    ) -> Result<Group, Conflict> {
        if self.status != GroupStatus::Open {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        let current = |id: &String| now.iter().find(|a| &a.id == id);
        for app in self.members.iter().filter_map(current) {
            if app.invitation_revoked_at.is_some() {
                next.dropped.push(Dropped {
                    application_id: app.id.clone(),
                    invitation_number: app.invitation_number.clone(),
                    surname: app.passport.surname.clone(),
                    given_names: app.passport.given_names.clone(),
                    reason: "invitation_revoked".into(),
                    dropped_at: at,
                });
            }
        }
        next.members
            .retain(|id| current(id).is_some_and(|a| a.invitation_revoked_at.is_none()));
        next.total.amount_minor = next
            .members
            .iter()
            .filter_map(current)
            .map(|a| a.fee.amount_minor)
            .sum();
        if next.members.is_empty() {
            next.status = GroupStatus::Dissolved;
        }
        if next.members != self.members {
            next.updated_at = at;
        }
        Ok(next)
    }

    /// The members `next` dropped that this group still had.
    pub fn newly_dropped<'a>(&self, next: &'a Group) -> &'a [Dropped] {
        &next.dropped[self.dropped.len().min(next.dropped.len())..]
    }

    /// open -> dissolved: the applicant undid the group before paying.
    pub fn dissolve(&self, at: DateTime<Utc>) -> Result<Group, Conflict> {
        if self.status != GroupStatus::Open {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        next.status = GroupStatus::Dissolved;
        next.updated_at = at;
        Ok(next)
    }

    /// open -> awaiting_payment with the one checkout for the total.
    pub fn open_checkout(&self, payment: Payment, at: DateTime<Utc>) -> Result<Group, Conflict> {
        if self.status != GroupStatus::Open {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        next.status = GroupStatus::AwaitingPayment;
        next.payment = Some(payment);
        next.updated_at = at;
        Ok(next)
    }

    /// Still awaiting payment, its expired checkout replaced by `payment`.
    pub fn reopen_checkout(&self, payment: Payment, at: DateTime<Utc>) -> Result<Group, Conflict> {
        if self.status != GroupStatus::AwaitingPayment {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        next.payment = Some(payment);
        next.updated_at = at;
        Ok(next)
    }

    /// awaiting_payment -> paid in `session` (the current checkout, or one
    /// it replaced: a late payment).
    pub fn mark_paid(
        &self,
        session: &str,
        at: DateTime<Utc>,
        payment_intent: Option<String>,
    ) -> Result<Group, Conflict> {
        let payment = self
            .payment
            .as_ref()
            .filter(|p| p.knows(session))
            .ok_or(self.status.conflict())?;
        if self.status != GroupStatus::AwaitingPayment {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        next.payment = Some(payment.paid_in(session, at, payment_intent));
        next.status = GroupStatus::Paid;
        next.updated_at = at;
        Ok(next)
    }

    /// What the API shows, with each member as it is now (`members` read
    /// by id; one erased meanwhile is left out).
    pub fn view<'a>(&'a self, members: &'a [Application]) -> GroupView<'a> {
        GroupView {
            id: &self.id,
            status: self.status,
            members: self
                .members
                .iter()
                .filter_map(|id| members.iter().find(|a| &a.id == id))
                .map(|a| MemberView {
                    application_id: &a.id,
                    status: a.status,
                    surname: &a.passport.surname,
                    given_names: &a.passport.given_names,
                    nationality: &a.passport.nationality,
                    category: a.category,
                    fee: &a.fee,
                    visa_number: a.visa.as_ref().map(|v| v.number.as_str()),
                })
                .collect(),
            total: &self.total,
            payment: self.payment.as_ref().map(Payment::view),
            dropped: &self.dropped,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Serialize)]
pub struct MemberView<'a> {
    pub application_id: &'a str,
    pub status: Status,
    pub surname: &'a str,
    pub given_names: &'a str,
    pub nationality: &'a str,
    pub category: Category,
    pub fee: &'a Money,
    pub visa_number: Option<&'a str>,
}

/// What the API shows of a group (the account id stays inside).
#[derive(Serialize)]
pub struct GroupView<'a> {
    pub id: &'a str,
    pub status: GroupStatus,
    pub members: Vec<MemberView<'a>>,
    pub total: &'a Money,
    pub payment: Option<PaymentView<'a>>,
    pub dropped: &'a [Dropped],
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::tests::draft;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, hour, 0, 0).unwrap()
    }

    fn member(id: &str, until: &str) -> Application {
        let mut app = draft();
        app.id = id.into();
        app.stay.valid_until = until.parse().unwrap();
        app
    }

    fn payment(session: &str) -> Payment {
        Payment {
            checkout_session_id: session.into(),
            checkout_url: format!("https://pay.example/{session}"),
            paid_at: None,
            payment_intent: None,
            expires_at: Some(at(23)),
            replaced_sessions: Vec::new(),
        }
    }

    fn family() -> (Group, Vec<Application>) {
        let members = vec![
            member("a", "2026-12-30"),
            member("b", "2027-01-02"),
            member("c", "2026-12-28"),
        ];
        let group = Group::form("g".into(), "acc", &members, at(1)).unwrap();
        (group, members)
    }

    #[test]
    fn a_group_totals_its_members_fees_and_keeps_the_longest_stay() {
        let (group, _) = family();
        assert_eq!(group.total, Money::new(18000, "USD"));
        assert_eq!(group.members, ["a", "b", "c"]);
        assert_eq!(group.last_day.to_string(), "2027-01-02");
        assert_eq!(group.status, GroupStatus::Open);
    }

    #[test]
    fn a_group_is_two_to_ten_distinct_applications() {
        let one = vec![member("a", "2026-12-30")];
        assert!(matches!(
            Group::form("g".into(), "acc", &one, at(1)),
            Err(FormRefused::Invalid(_))
        ));
        let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        assert!(matches!(check_ids(&eleven), Err(FormRefused::Invalid(_))));
        let twice = vec!["a".to_owned(), "b".into(), "a".into()];
        match check_ids(&twice) {
            Err(FormRefused::Invalid(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].field, "application_ids[2]");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_member_paid_alone_grouped_revoked_or_in_another_currency_is_named() {
        let mut members = vec![member("a", "2026-12-30"), member("b", "2026-12-30")];
        members[1].group_id = Some("other".into());
        match Group::form("g".into(), "acc", &members, at(1)) {
            Err(FormRefused::NotGroupable(e)) => assert_eq!(e[0].field, "application_ids[1]"),
            other => panic!("{other:?}"),
        }
        members[1].group_id = None;
        members[0].status = Status::AwaitingPayment;
        assert!(matches!(
            Group::form("g".into(), "acc", &members, at(1)),
            Err(FormRefused::NotGroupable(_))
        ));
        members[0].status = Status::InvitationConfirmed;
        members[0].invitation_revoked_at = Some(at(0));
        match Group::form("g".into(), "acc", &members, at(1)) {
            Err(FormRefused::Revoked(e)) => assert_eq!(e[0].field, "application_ids[0]"),
            other => panic!("{other:?}"),
        }
        members[0].invitation_revoked_at = None;
        members[1].fee = Money::new(5000, "EUR");
        match Group::form("g".into(), "acc", &members, at(1)) {
            Err(FormRefused::Invalid(e)) => assert_eq!(e[0].field, "application_ids[1]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_revoked_member_leaves_with_its_fee_and_the_last_one_dissolves_it() {
        let (group, mut members) = family();
        members[1].invitation_revoked_at = Some(at(2));
        let next = group.without_unpayable(&members, at(2)).unwrap();
        assert_eq!(next.members, ["a", "c"]);
        assert_eq!(next.total.amount_minor, 12000);
        assert_eq!(next.dropped.len(), 1);
        assert_eq!(next.dropped[0].application_id, "b");
        assert_eq!(next.dropped[0].reason, "invitation_revoked");
        assert_eq!(next.status, GroupStatus::Open);
        assert_eq!(group.newly_dropped(&next), &next.dropped[..]);
        for m in &mut members {
            m.invitation_revoked_at = Some(at(3));
        }
        let empty = next.without_unpayable(&members, at(3)).unwrap();
        assert_eq!(empty.status, GroupStatus::Dissolved);
        assert_eq!(empty.total.amount_minor, 0);
        assert_eq!(empty.dropped.len(), 3, "b is not dropped twice");
        assert_eq!(next.newly_dropped(&empty).len(), 2);
    }

    #[test]
    fn an_erased_member_leaves_without_a_trace_and_nothing_else_changes() {
        let (group, members) = family();
        assert_eq!(group.without_unpayable(&members, at(2)).unwrap(), group);
        let next = group.without_unpayable(&members[..2], at(2)).unwrap();
        assert_eq!(next.members, ["a", "b"]);
        assert_eq!(next.total.amount_minor, 12000);
        assert!(next.dropped.is_empty());
    }

    #[test]
    fn the_group_moves_only_forward_and_pays_in_its_own_sessions() {
        let (group, _) = family();
        assert!(group.mark_paid("cs_1", at(2), None).is_err());
        let awaiting = group.open_checkout(payment("cs_1"), at(2)).unwrap();
        assert!(awaiting.open_checkout(payment("cs_x"), at(2)).is_err());
        assert!(awaiting.dissolve(at(2)).is_err());
        assert!(awaiting.without_unpayable(&[], at(2)).is_err());
        let replaced = awaiting.payment.as_ref().unwrap().replaced_by(
            "cs_2".into(),
            "https://pay.example/cs_2".into(),
            at(23),
        );
        let reopened = awaiting.reopen_checkout(replaced, at(3)).unwrap();
        assert!(reopened.mark_paid("cs_other", at(4), None).is_err());
        // A late payment in the replaced session pays it.
        let paid = reopened
            .mark_paid("cs_1", at(4), Some("pi_1".into()))
            .unwrap();
        assert_eq!(paid.status, GroupStatus::Paid);
        let p = paid.payment.as_ref().unwrap();
        assert_eq!(p.checkout_session_id, "cs_1");
        assert_eq!(p.paid_at, Some(at(4)));
        assert!(paid.mark_paid("cs_1", at(5), None).is_err());
    }

    #[test]
    fn a_member_with_a_revoked_invitation_never_opens_a_checkout() {
        let (_, mut members) = family();
        let p = payment("cs_1");
        let opened = members[0].open_checkout(p.clone(), at(2)).unwrap();
        assert_eq!(opened.status, Status::AwaitingPayment);
        members[0].invitation_revoked_at = Some(at(1));
        assert!(members[0].open_checkout(p, at(2)).is_err());
    }

    #[test]
    fn the_view_shows_members_as_they_are_and_skips_an_erased_one() {
        let (group, mut members) = family();
        members.remove(2);
        let view = serde_json::to_value(group.view(&members)).unwrap();
        assert_eq!(view["members"].as_array().unwrap().len(), 2);
        assert_eq!(view["members"][1]["application_id"], "b");
        assert_eq!(view["total"]["amount_minor"], 18000);
        assert_eq!(view["status"], "open");
        assert!(view.get("account_id").is_none());
    }
}
