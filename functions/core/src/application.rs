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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visa {
    /// 9 characters A-Z0-9: the MRZ document number of the visa.
    pub number: String,
    pub category: Category,
    pub entries: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub entry_points: Vec<String>,
    pub issued_at: DateTime<Utc>,
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
    pub payment: Option<&'a Payment>,
    pub visa: Option<&'a Visa>,
    pub under_review: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Application {
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
            payment: self.payment.as_ref(),
            visa: self.visa.as_ref(),
            under_review: self.under_review,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
