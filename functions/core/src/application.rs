//! The application and its state machine:
//! invitation_confirmed -> awaiting_payment -> paid -> issued, only forward.

use crate::category::Category;
use crate::invitation::Inviter;
use crate::money::Money;
use crate::passport::{Declarations, Passport};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InvitationConfirmed,
    AwaitingPayment,
    Paid,
    Issued,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InvitationConfirmed => "invitation_confirmed",
            Status::AwaitingPayment => "awaiting_payment",
            Status::Paid => "paid",
            Status::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::InvitationConfirmed,
            Status::AwaitingPayment,
            Status::Paid,
            Status::Issued,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// The one status this one may move to.
    pub fn next(self) -> Option<Status> {
        match self {
            Status::InvitationConfirmed => Some(Status::AwaitingPayment),
            Status::AwaitingPayment => Some(Status::Paid),
            Status::Paid => Some(Status::Issued),
            Status::Issued => None,
        }
    }

    pub fn can_move_to(self, to: Status) -> bool {
        self.next() == Some(to)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stay {
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub checkout_session_id: String,
    pub checkout_url: String,
    pub paid_at: Option<DateTime<Utc>>,
    /// The provider's payment (Stripe's PaymentIntent id), known once paid:
    /// a dispute names only this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    /// When the provider stops taking payment in this session (Stripe: at
    /// most 24 hours); confirming again after it opens a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Earlier sessions of this application that a new one replaced: a
    /// late payment in one is still honoured, or refunded if another paid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced_sessions: Vec<String>,
}

impl Payment {
    pub fn view(&self) -> PaymentView<'_> {
        PaymentView {
            checkout_session_id: &self.checkout_session_id,
            checkout_url: &self.checkout_url,
            paid_at: self.paid_at,
            expires_at: self.expires_at,
        }
    }

    /// Unpaid and past its session's expiry at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.paid_at.is_none() && self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether `session` is this application's, current or replaced.
    pub fn knows(&self, session: &str) -> bool {
        self.checkout_session_id == session || self.replaced_sessions.iter().any(|s| s == session)
    }

    /// The payment as paid in `session`, which becomes the current one
    /// (the one that was current joins the replaced).
    pub fn paid_in(
        &self,
        session: &str,
        at: DateTime<Utc>,
        payment_intent: Option<String>,
    ) -> Payment {
        let mut paid = self.clone();
        if paid.checkout_session_id != session {
            paid.replaced_sessions.retain(|s| s != session);
            paid.replaced_sessions.push(std::mem::replace(
                &mut paid.checkout_session_id,
                session.to_owned(),
            ));
        }
        paid.paid_at = Some(at);
        paid.payment_intent = payment_intent;
        paid
    }

    /// A new session replacing this expired one.
    pub fn replaced_by(
        &self,
        session_id: String,
        url: String,
        expires_at: DateTime<Utc>,
    ) -> Payment {
        let mut replaced_sessions = self.replaced_sessions.clone();
        replaced_sessions.push(self.checkout_session_id.clone());
        Payment {
            checkout_session_id: session_id,
            checkout_url: url,
            paid_at: None,
            payment_intent: None,
            expires_at: Some(expires_at),
            replaced_sessions,
        }
    }
}

/// What a payment event in one checkout session means for what a payment
/// pays for (an application, or a group of them): the one decision every
/// store makes before it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventFor {
    /// Not one of its sessions (or no checkout at all): a mismatch.
    Stranger,
    /// Unpaid, and the session is one of its own: this event pays it.
    Unpaid,
    /// Paid in this very session: another event of the same payment.
    PaidHere,
    /// Paid in another of its sessions: a second payment, to refund.
    PaidElsewhere,
}

impl EventFor {
    /// `payment` as stored, `paid` whether it was paid already.
    pub fn of(payment: Option<&Payment>, paid: bool, session: &str) -> EventFor {
        match payment.filter(|p| p.knows(session)) {
            None => EventFor::Stranger,
            Some(_) if !paid => EventFor::Unpaid,
            Some(p) if p.checkout_session_id == session => EventFor::PaidHere,
            Some(_) => EventFor::PaidElsewhere,
        }
    }
}

/// How many times a visa lets its holder in. The e-visa of the seed is
/// single entry; the others are the Rules' kinds a visa may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entries {
    Single,
    Double,
    Multiple,
}

impl Entries {
    pub fn as_str(self) -> &'static str {
        match self {
            Entries::Single => "single",
            Entries::Double => "double",
            Entries::Multiple => "multiple",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visa {
    /// 9 characters A-Z0-9: the MRZ document number of the visa.
    pub number: String,
    pub category: Category,
    pub entries: Entries,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub entry_points: Vec<String>,
    pub issued_at: DateTime<Utc>,
    /// When the migration service cancelled the visa; `None` while it
    /// stands (a restored visa stands again). The reason is in the audit
    /// trail, never shown to the public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The last day as issued (and printed), once an officer has shortened
    /// the visa: `valid_until` is then the new last day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortened_from: Option<NaiveDate>,
    /// How many times officers have changed the visa: each change is
    /// written conditional on the count it read, so of two concurrent
    /// changes one wins and the other is refused.
    #[serde(default)]
    pub revision: u32,
}

impl Visa {
    /// A visa as issued: standing, as long as issued, never changed.
    pub fn new(
        number: String,
        category: Category,
        stay: &Stay,
        entry_points: Vec<String>,
        issued_at: DateTime<Utc>,
    ) -> Visa {
        Visa {
            number,
            category,
            entries: Entries::Single,
            valid_from: stay.valid_from,
            valid_until: stay.valid_until,
            entry_points,
            issued_at,
            cancelled_at: None,
            shortened_from: None,
            revision: 0,
        }
    }

    /// The last day the visa's document prints (and its MRZ holds).
    pub fn printed_until(&self) -> NaiveDate {
        self.shortened_from.unwrap_or(self.valid_until)
    }
}

/// Why an officer's change to a visa cannot be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VisaChangeRefused {
    #[error("no visa has been issued for this application")]
    NotIssued,
    #[error("the visa is cancelled already")]
    AlreadyCancelled,
    #[error("the visa is not cancelled: there is nothing to restore")]
    NotCancelled,
    #[error("a cancelled visa cannot be shortened: restore it first")]
    Cancelled,
    #[error("the new last day must be on or after the first day and before the current last day")]
    OutsideValidity,
    #[error("the application is not under review: it was decided already")]
    NotUnderReview,
}

/// What happened to an issued visa after it was issued, for officers'
/// timeline (never shown to the public or the holder as such).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisaEvent {
    pub at: DateTime<Utc>,
    pub event: VisaEventKind,
    /// Where a border crossing was recorded (`NQZ`, `ALA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisaEventKind {
    /// The fee payment was disputed: held for review.
    Disputed,
    Cancelled,
    Restored,
    Shortened,
    /// A dispute decided: the visa kept.
    ReviewKept,
    /// A dispute decided: the visa cancelled.
    ReviewCancelled,
    /// Border control recorded the holder's entry.
    Entered,
    /// Border control recorded the holder's exit: the visa is used.
    Exited,
}

/// Where the seed lets an e-visa holder enter and leave: Astana and
/// Almaty international airports.
pub const CHECKPOINTS: [&str; 2] = ["NQZ", "ALA"];

/// A border crossing border control records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crossing {
    Entry,
    Exit,
}

/// Why a crossing is not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CrossingRefused {
    #[error("no visa has been issued for this application")]
    NotIssued,
    #[error("the visa is cancelled")]
    Cancelled,
    #[error("the visa is held while its payment is reviewed")]
    UnderReview,
    #[error("the visa is not in force today")]
    NotInForce,
    #[error("the e-visa allows entry and exit only at Astana (NQZ) and Almaty (ALA)")]
    Checkpoint,
    #[error("the single entry was made already")]
    AlreadyEntered,
    #[error("the visa was used: its holder entered and left")]
    Used,
    #[error("no entry was recorded: there is nothing to leave from")]
    NotEntered,
}

/// What the migration service decides of a visa whose fee payment was
/// disputed (the visa is held meanwhile: verification says `under_review`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// The payment stands: the visa is in force again.
    Keep,
    /// The visa is cancelled.
    Cancel,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Keep => "keep",
            ReviewDecision::Cancel => "cancel",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub account_id: String,
    pub status: Status,
    pub category: Category,
    pub invitation_number: String,
    pub passport: Passport,
    pub declarations: Declarations,
    pub inviter: Inviter,
    pub stay: Stay,
    pub fee: Money,
    /// When the applicant confirmed the visa data matches the passport.
    pub details_confirmed_at: Option<DateTime<Utc>>,
    pub payment: Option<Payment>,
    pub visa: Option<Visa>,
    /// Set by a payment dispute: officers review the application.
    #[serde(default)]
    pub under_review: bool,
    /// When the issued visa was emailed (recorded once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emailed_at: Option<DateTime<Utc>>,
    /// Disputes and the migration service's changes, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<VisaEvent>,
    /// The group paying for it with others (`crate::group`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// When the migration service revoked its invitation, before any
    /// checkout opened: it can no longer be paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The request body of `POST /api/applications`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    pub invitation_number: String,
    pub passport: Passport,
    /// Absent or partial declarations are declarations not made: 422
    /// `declarations-missing` names them, as an explicit `false` does.
    #[serde(default)]
    pub declarations: Declarations,
}

/// What the API shows of a payment (the provider's payment id and the
/// replaced sessions stay inside).
#[derive(Serialize)]
pub struct PaymentView<'a> {
    pub checkout_session_id: &'a str,
    pub checkout_url: &'a str,
    pub paid_at: Option<DateTime<Utc>>,
    /// When the checkout stops taking payment; confirming after it opens a
    /// new one.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the API shows of an application (the account id stays inside).
#[derive(Serialize)]
pub struct ApplicationView<'a> {
    pub id: &'a str,
    pub status: Status,
    pub category: Category,
    pub invitation_number: &'a str,
    pub passport: &'a Passport,
    pub inviter: &'a Inviter,
    pub stay: &'a Stay,
    pub fee: &'a Money,
    pub details_confirmed_at: Option<DateTime<Utc>>,
    pub payment: Option<PaymentView<'a>>,
    pub visa: Option<&'a Visa>,
    pub under_review: bool,
    /// When the visa was emailed; absent until then (the cabinet says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailed_at: Option<DateTime<Utc>>,
    /// The visa's machine-readable zone as it prints (fillers for the
    /// number until issued): what the applicant checks before paying.
    pub mrz: [String; 2],
    /// The group paying for it with others, or null.
    pub group_id: Option<&'a str>,
    /// When its invitation was revoked (it can no longer be paid), or null.
    pub invitation_revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What deleting its account does to an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnDeletion {
    /// Unpaid: erased with its passport data.
    Erase,
    /// Paid or issued: the migration service keeps it (the reason says why).
    Keep(&'static str),
    /// Its checkout can still be paid until then: a payment landing after
    /// the erasure would pay for nothing, so the deletion waits.
    WaitForCheckout(DateTime<Utc>),
}

/// A transition asked of an application whose status (or checkout) does
/// not allow it: the stores answer `StatusConflict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an application {from} cannot do that")]
pub struct Conflict {
    pub from: &'static str,
}

impl Status {
    fn conflict(self) -> Conflict {
        Conflict {
            from: self.as_str(),
        }
    }
}

/// Stripe keeps a Checkout Session open at most this long.
const LONGEST_CHECKOUT_HOURS: i64 = 24;

/// The state machine's transitions. Each returns the application as it is
/// after the step, or the conflict; stores persist the result conditional
/// on the status it had (and nothing else decides a status).
impl Application {
    /// The next application: `to` must be the one status after this one.
    fn moved(&self, to: Status, at: DateTime<Utc>) -> Result<Application, Conflict> {
        if !self.status.can_move_to(to) {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        next.status = to;
        next.updated_at = at;
        Ok(next)
    }

    /// invitation_confirmed -> awaiting_payment: the applicant confirmed the
    /// data matches the passport, and `payment` is the checkout opened for it.
    pub fn open_checkout(
        &self,
        payment: Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, Conflict> {
        if self.invitation_revoked_at.is_some() {
            return Err(Conflict {
                from: "revoked_invitation",
            });
        }
        let mut next = self.moved(Status::AwaitingPayment, at)?;
        next.details_confirmed_at = Some(at);
        next.payment = Some(payment);
        Ok(next)
    }

    /// Still awaiting payment, the expired checkout `expired_session` (the
    /// current one) replaced by `payment`.
    pub fn reopen_checkout(
        &self,
        expired_session: &str,
        payment: Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, Conflict> {
        let current = self
            .payment
            .as_ref()
            .map(|p| p.checkout_session_id.as_str());
        if self.status != Status::AwaitingPayment || current != Some(expired_session) {
            return Err(self.status.conflict());
        }
        let mut next = self.clone();
        next.payment = Some(payment);
        next.updated_at = at;
        Ok(next)
    }

    /// awaiting_payment -> paid in `session`: the current checkout, or one
    /// it replaced (a late payment, which becomes the current one).
    pub fn mark_paid(
        &self,
        session: &str,
        at: DateTime<Utc>,
        payment_intent: Option<String>,
    ) -> Result<Application, Conflict> {
        let payment = self
            .payment
            .as_ref()
            .filter(|p| p.knows(session))
            .ok_or(self.status.conflict())?;
        let paid = payment.paid_in(session, at, payment_intent);
        let mut next = self.moved(Status::Paid, at)?;
        next.payment = Some(paid);
        Ok(next)
    }

    /// paid -> issued with `visa`.
    pub fn issue(&self, visa: Visa, at: DateTime<Utc>) -> Result<Application, Conflict> {
        let mut next = self.moved(Status::Issued, at)?;
        next.visa = Some(visa);
        Ok(next)
    }

    /// The issued visa emailed at `at`, recorded once: `None` if it was
    /// recorded already.
    pub fn mark_emailed(&self, at: DateTime<Utc>) -> Result<Option<Application>, Conflict> {
        match (self.status, self.emailed_at) {
            (Status::Issued, Some(_)) => Ok(None),
            (Status::Issued, None) => {
                let mut next = self.clone();
                next.emailed_at = Some(at);
                Ok(Some(next))
            }
            (other, _) => Err(other.conflict()),
        }
    }

    /// The issued visa an officer's change applies to, and the next
    /// application with `change` made to it (its revision counted).
    fn change_visa(
        &self,
        at: DateTime<Utc>,
        event: VisaEventKind,
        change: impl FnOnce(&mut Visa) -> Result<(), VisaChangeRefused>,
    ) -> Result<Application, VisaChangeRefused> {
        let mut next = self.clone();
        let visa = match (next.status, next.visa.as_mut()) {
            (Status::Issued, Some(visa)) => visa,
            _ => return Err(VisaChangeRefused::NotIssued),
        };
        change(visa)?;
        visa.revision += 1;
        next.updated_at = at;
        next.history.push(VisaEvent {
            at,
            event,
            checkpoint: None,
        });
        Ok(next)
    }

    /// The holder's entry and exit as border control recorded them.
    pub fn crossings(&self) -> (Option<&VisaEvent>, Option<&VisaEvent>) {
        let find = |kind| self.history.iter().find(|e| e.event == kind);
        (find(VisaEventKind::Entered), find(VisaEventKind::Exited))
    }

    /// Border control records the holder's entry or exit at `checkpoint`
    /// on `today` (Kazakhstan's date). A single-entry visa allows one entry,
    /// in force, at NQZ or ALA, then one exit (at either; an overstay's
    /// exit is still recorded). Counts in the visa's revision, so of two
    /// officers scanning at once one records it.
    pub fn record_crossing(
        &self,
        crossing: Crossing,
        checkpoint: &str,
        today: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Application, CrossingRefused> {
        let visa = match (self.status, self.visa.as_ref()) {
            (Status::Issued, Some(visa)) => visa,
            _ => return Err(CrossingRefused::NotIssued),
        };
        if !CHECKPOINTS.contains(&checkpoint) {
            return Err(CrossingRefused::Checkpoint);
        }
        let (entered, exited) = self.crossings();
        if exited.is_some() {
            return Err(CrossingRefused::Used);
        }
        match crossing {
            Crossing::Entry => {
                if entered.is_some() {
                    return Err(CrossingRefused::AlreadyEntered);
                }
                if visa.cancelled_at.is_some() {
                    return Err(CrossingRefused::Cancelled);
                }
                if self.under_review {
                    return Err(CrossingRefused::UnderReview);
                }
                if today < visa.valid_from || today > visa.valid_until {
                    return Err(CrossingRefused::NotInForce);
                }
            }
            Crossing::Exit => {
                if entered.is_none() {
                    return Err(CrossingRefused::NotEntered);
                }
            }
        }
        let mut next = self.clone();
        if let Some(visa) = next.visa.as_mut() {
            visa.revision += 1;
        }
        next.updated_at = at;
        next.history.push(VisaEvent {
            at,
            event: match crossing {
                Crossing::Entry => VisaEventKind::Entered,
                Crossing::Exit => VisaEventKind::Exited,
            },
            checkpoint: Some(checkpoint.to_owned()),
        });
        Ok(next)
    }

    /// The migration service cancels the issued visa: it no longer lets
    /// its holder in.
    pub fn cancel_visa(&self, at: DateTime<Utc>) -> Result<Application, VisaChangeRefused> {
        self.change_visa(at, VisaEventKind::Cancelled, |visa| {
            match visa.cancelled_at {
                Some(_) => Err(VisaChangeRefused::AlreadyCancelled),
                None => {
                    visa.cancelled_at = Some(at);
                    Ok(())
                }
            }
        })
    }

    /// A cancelled visa restored: it stands again, with its dates as they were.
    pub fn restore_visa(&self, at: DateTime<Utc>) -> Result<Application, VisaChangeRefused> {
        self.change_visa(at, VisaEventKind::Restored, |visa| {
            match visa.cancelled_at {
                None => Err(VisaChangeRefused::NotCancelled),
                Some(_) => {
                    visa.cancelled_at = None;
                    Ok(())
                }
            }
        })
    }

    /// The review of a disputed payment decided: the hold ends, and the
    /// visa stands or is cancelled. Only while under review, only once.
    pub fn decide_review(
        &self,
        decision: ReviewDecision,
        at: DateTime<Utc>,
    ) -> Result<Application, VisaChangeRefused> {
        if !self.under_review {
            return Err(VisaChangeRefused::NotUnderReview);
        }
        let event = match decision {
            ReviewDecision::Keep => VisaEventKind::ReviewKept,
            ReviewDecision::Cancel => VisaEventKind::ReviewCancelled,
        };
        let mut next = self.change_visa(at, event, |visa| {
            if decision == ReviewDecision::Cancel && visa.cancelled_at.is_none() {
                visa.cancelled_at = Some(at);
            }
            Ok(())
        })?;
        next.under_review = false;
        Ok(next)
    }

    /// The visa's validity reduced: `until` becomes its last day, on or
    /// after its first and before its current last day (a validity is only
    /// ever reduced; lengthening is a new visa).
    pub fn shorten_visa(
        &self,
        until: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Application, VisaChangeRefused> {
        self.change_visa(at, VisaEventKind::Shortened, |visa| {
            if visa.cancelled_at.is_some() {
                return Err(VisaChangeRefused::Cancelled);
            }
            if until < visa.valid_from || until >= visa.valid_until {
                return Err(VisaChangeRefused::OutsideValidity);
            }
            visa.shortened_from = Some(visa.printed_until());
            visa.valid_until = until;
            Ok(())
        })
    }

    /// Held for officers' review (a payment dispute), whatever its status.
    pub fn flag_for_review(&mut self, at: DateTime<Utc>) {
        self.under_review = true;
        self.updated_at = at;
        self.history.push(VisaEvent {
            at,
            event: VisaEventKind::Disputed,
            checkpoint: None,
        });
    }

    /// The rule for deleting the applicant's account, at `now`.
    pub fn on_account_deletion(&self, now: DateTime<Utc>) -> OnDeletion {
        match self.status {
            Status::InvitationConfirmed => OnDeletion::Erase,
            Status::AwaitingPayment => {
                let open_until = self.payment.as_ref().map(|p| {
                    p.expires_at.unwrap_or(
                        self.updated_at + chrono::Duration::hours(LONGEST_CHECKOUT_HOURS),
                    )
                });
                match open_until {
                    Some(until) if until > now => OnDeletion::WaitForCheckout(until),
                    _ => OnDeletion::Erase,
                }
            }
            Status::Paid => OnDeletion::Keep(
                "paid: the visa is being issued, and the migration service keeps paid applications with their payment records",
            ),
            Status::Issued => OnDeletion::Keep(
                "issued: the migration service keeps issued visas for border control and its audit trail; retrieve it without an account",
            ),
        }
    }

    /// The MRZ of this application's visa, as it prints once issued; before
    /// that, fillers in place of the visa number.
    pub fn mrz(&self) -> [String; 2] {
        let p = &self.passport;
        crate::mrz::KazakhVisa {
            surname: &p.surname,
            given_names: &p.given_names,
            visa_number: self
                .visa
                .as_ref()
                .map_or(crate::mrz::UNASSIGNED_NUMBER, |v| v.number.as_str()),
            nationality: &p.nationality,
            date_of_birth: p.date_of_birth,
            sex: p.sex,
            valid_until: self
                .visa
                .as_ref()
                .map_or(self.stay.valid_until, Visa::printed_until),
        }
        .lines()
    }

    pub fn view(&self) -> ApplicationView<'_> {
        ApplicationView {
            id: &self.id,
            status: self.status,
            category: self.category,
            invitation_number: &self.invitation_number,
            passport: &self.passport,
            inviter: &self.inviter,
            stay: &self.stay,
            fee: &self.fee,
            details_confirmed_at: self.details_confirmed_at,
            payment: self.payment.as_ref().map(Payment::view),
            visa: self.visa.as_ref(),
            under_review: self.under_review,
            emailed_at: self.emailed_at,
            mrz: self.mrz(),
            group_id: self.group_id.as_deref(),
            invitation_revoked_at: self.invitation_revoked_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::passport::Sex;

    fn at(hour: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 12, 5, hour, 0, 0).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_event_is_a_strangers_a_payment_a_repeat_or_a_second_payment() {
        let p = Payment {
            checkout_session_id: "cs_2".into(),
            checkout_url: "https://pay.example/cs_2".into(),
            paid_at: None,
            payment_intent: None,
            expires_at: None,
            replaced_sessions: vec!["cs_1".into()],
        };
        assert_eq!(EventFor::of(None, false, "cs_2"), EventFor::Stranger);
        assert_eq!(EventFor::of(Some(&p), false, "cs_9"), EventFor::Stranger);
        assert_eq!(EventFor::of(Some(&p), false, "cs_1"), EventFor::Unpaid);
        assert_eq!(EventFor::of(Some(&p), true, "cs_2"), EventFor::PaidHere);
        assert_eq!(
            EventFor::of(Some(&p), true, "cs_1"),
            EventFor::PaidElsewhere
        );
    }

    pub(crate) fn draft() -> Application {
        Application {
            id: "app".into(),
            account_id: "acc".into(),
            status: Status::InvitationConfirmed,
            category: Category::Tourist,
            invitation_number: "250000000001".into(),
            passport: Passport {
                number: "Z1234567".into(),
                surname: "SHARMA".into(),
                given_names: "PRIYA ANIL".into(),
                nationality: "IND".into(),
                sex: Sex::F,
                date_of_birth: day("1990-04-12"),
                issuing_state: "IND".into(),
                expiry_date: day("2031-01-01"),
            },
            declarations: Declarations {
                two_blank_pages: true,
                passport_undamaged: true,
            },
            inviter: Inviter {
                name: "Kazakh Tourism JSC".into(),
                bin: "123456789012".into(),
            },
            stay: Stay {
                valid_from: day("2026-12-20"),
                valid_until: day("2026-12-30"),
            },
            fee: Money::new(6000, "USD"),
            details_confirmed_at: None,
            payment: None,
            visa: None,
            under_review: false,
            emailed_at: None,
            history: Vec::new(),
            group_id: None,
            invitation_revoked_at: None,
            created_at: at(1),
            updated_at: at(1),
        }
    }

    fn checkout(session: &str) -> Payment {
        Payment {
            checkout_session_id: session.into(),
            checkout_url: format!("https://checkout.example/{session}"),
            paid_at: None,
            payment_intent: None,
            expires_at: Some(at(23)),
            replaced_sessions: Vec::new(),
        }
    }

    fn visa() -> Visa {
        let stay = Stay {
            valid_from: day("2026-12-20"),
            valid_until: day("2026-12-30"),
        };
        Visa::new(
            "K7Q4M2X9A".into(),
            Category::Tourist,
            &stay,
            Vec::new(),
            at(5),
        )
    }

    fn issued() -> Application {
        Application {
            status: Status::Issued,
            visa: Some(visa()),
            ..draft()
        }
    }

    #[test]
    fn a_visa_is_cancelled_once_restored_once_and_counts_each_change() {
        let app = issued();
        assert_eq!(app.cancel_visa(at(6)).map(|_| ()), Ok(()));
        let cancelled = app.cancel_visa(at(6)).unwrap();
        let v = cancelled.visa.as_ref().unwrap();
        assert_eq!((v.cancelled_at, v.revision), (Some(at(6)), 1));
        assert_eq!(cancelled.updated_at, at(6));
        assert_eq!(
            cancelled.cancel_visa(at(7)).unwrap_err(),
            VisaChangeRefused::AlreadyCancelled
        );
        assert_eq!(
            cancelled
                .shorten_visa(day("2026-12-25"), at(7))
                .unwrap_err(),
            VisaChangeRefused::Cancelled
        );
        assert_eq!(
            app.restore_visa(at(7)).unwrap_err(),
            VisaChangeRefused::NotCancelled
        );
        let restored = cancelled.restore_visa(at(7)).unwrap();
        let v = restored.visa.as_ref().unwrap();
        assert_eq!((v.cancelled_at, v.revision), (None, 2));
        assert_eq!(v.valid_until, day("2026-12-30"));
        // Only an issued visa has a life to change.
        for unissued in [
            draft(),
            Application {
                status: Status::Paid,
                ..draft()
            },
        ] {
            assert_eq!(
                unissued.cancel_visa(at(6)).unwrap_err(),
                VisaChangeRefused::NotIssued
            );
        }
    }

    #[test]
    fn a_visa_is_shortened_within_its_window_only_and_keeps_its_printed_end() {
        let app = issued();
        for outside in ["2026-12-19", "2026-12-30", "2027-01-05"] {
            assert_eq!(
                app.shorten_visa(day(outside), at(6)).unwrap_err(),
                VisaChangeRefused::OutsideValidity,
                "{outside}"
            );
        }
        // The first day itself is a one-day visa.
        assert!(app.shorten_visa(day("2026-12-20"), at(6)).is_ok());
        let once = app.shorten_visa(day("2026-12-29"), at(6)).unwrap();
        let twice = once.shorten_visa(day("2026-12-24"), at(7)).unwrap();
        let v = twice.visa.as_ref().unwrap();
        assert_eq!(v.valid_until, day("2026-12-24"));
        // What the PDF printed stays what it printed.
        assert_eq!(v.shortened_from, Some(day("2026-12-30")));
        assert_eq!(v.printed_until(), day("2026-12-30"));
        assert_eq!(v.revision, 2);
        assert!(twice.mrz()[1].contains("261230"), "{:?}", twice.mrz());
    }

    #[test]
    fn transitions_go_one_step_forward_from_their_own_status_only() {
        let app = draft();
        assert!(
            app.mark_paid("cs_1", at(2), None).is_err(),
            "no checkout yet"
        );
        assert!(app.issue(visa(), at(2)).is_err());
        assert!(app.mark_emailed(at(2)).is_err());

        let open = app.open_checkout(checkout("cs_1"), at(2)).unwrap();
        assert_eq!(open.status, Status::AwaitingPayment);
        assert_eq!(open.details_confirmed_at, Some(at(2)));
        assert_eq!(open.updated_at, at(2));
        assert!(
            open.open_checkout(checkout("cs_2"), at(3)).is_err(),
            "opened once"
        );
        assert!(
            open.mark_paid("cs_other", at(3), None).is_err(),
            "not its session"
        );

        // An expired checkout replaced; a payment in the old one still counts.
        assert!(
            open.reopen_checkout("cs_other", checkout("cs_2"), at(3))
                .is_err()
        );
        let replacement = open.payment.as_ref().unwrap().replaced_by(
            "cs_2".into(),
            "https://checkout.example/cs_2".into(),
            at(23),
        );
        let reopened = open.reopen_checkout("cs_1", replacement, at(3)).unwrap();
        let paid = reopened
            .mark_paid("cs_1", at(4), Some("pi_1".into()))
            .unwrap();
        assert_eq!(paid.status, Status::Paid);
        let payment = paid.payment.as_ref().unwrap();
        assert_eq!(payment.checkout_session_id, "cs_1");
        assert_eq!(payment.replaced_sessions, ["cs_2"]);
        assert_eq!(payment.paid_at, Some(at(4)));
        assert!(paid.mark_paid("cs_1", at(4), None).is_err(), "paid once");

        let issued = paid.issue(visa(), at(5)).unwrap();
        assert_eq!(
            (issued.status, issued.visa.as_ref()),
            (Status::Issued, Some(&visa()))
        );
        assert!(issued.issue(visa(), at(6)).is_err());
        let emailed = issued.mark_emailed(at(6)).unwrap().unwrap();
        assert_eq!(emailed.emailed_at, Some(at(6)));
        assert_eq!(emailed.mark_emailed(at(7)), Ok(None), "recorded once");
    }

    #[test]
    fn the_mrz_carries_the_visa_number_once_issued() {
        let app = draft();
        let [l1, l2] = app.mrz();
        assert_eq!(l1, "V<KAZSHARMA<<PRIYA<ANIL<<<<<<<<<<<<<");
        assert_eq!(l2, "<<<<<<<<<0IND9004126F2612306<<<<<<<<");
        let mut issued = app;
        issued.visa = Some(visa());
        assert!(issued.mrz()[1].starts_with("K7Q4M2X9A"));
    }

    #[test]
    fn status_moves_only_forward_one_step() {
        use Status::*;
        assert!(InvitationConfirmed.can_move_to(AwaitingPayment));
        assert!(AwaitingPayment.can_move_to(Paid));
        assert!(Paid.can_move_to(Issued));
        assert!(!InvitationConfirmed.can_move_to(Paid));
        assert!(!Paid.can_move_to(AwaitingPayment));
        assert!(!Issued.can_move_to(Issued));
        assert_eq!(Issued.next(), None);
        for s in [InvitationConfirmed, AwaitingPayment, Paid, Issued] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
