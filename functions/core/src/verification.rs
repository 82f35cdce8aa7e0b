//! What border control is told about a visa on a given day.
//!
//! A visa is in force only while its application is issued, the payment is
//! not disputed, and the day falls within the visa's window. Anything else
//! has its own status, so an officer at the desk knows why it is not.

use crate::application::{Application, Status};
use chrono::NaiveDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Issued, undisputed, and today within the window (`issued` on the wire).
    InForce,
    /// The migration service cancelled it (`cancelled` on the wire; the
    /// reason stays in the audit trail).
    Cancelled,
    /// The payment was disputed: officers review it before it can be used.
    UnderReview,
    /// Before `valid_from`.
    NotYetValid,
    /// After `valid_until`.
    Expired,
    /// In force, and its holder entered (`entered` on the wire).
    Entered,
    /// Its holder entered and left: a single entry is spent (`used`).
    Used,
    /// Not issued (an application that has a visa number but no visa yet).
    NotIssued(Status),
}

impl Standing {
    /// A visa that lets its holder in (or, entered, stay and leave).
    pub fn valid(self) -> bool {
        matches!(self, Standing::InForce | Standing::Entered)
    }

    /// The `status` of `GET /api/visas/{number}/verification`.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::InForce => Status::Issued.as_str(),
            Standing::Cancelled => "cancelled",
            Standing::UnderReview => "under_review",
            Standing::NotYetValid => "not_yet_valid",
            Standing::Expired => "expired",
            Standing::Entered => "entered",
            Standing::Used => "used",
            Standing::NotIssued(status) => status.as_str(),
        }
    }
}

/// The standing of `app`'s visa on `today` (Kazakhstan's date). A
/// cancellation outranks everything, and a review the dates: a disputed
/// visa is not to be used whatever the day. A shortened visa's dates are
/// its new ones.
pub fn standing(app: &Application, today: NaiveDate) -> Standing {
    let visa = match (app.status, app.visa.as_ref()) {
        (Status::Issued, Some(visa)) => visa,
        (status, _) => return Standing::NotIssued(status),
    };
    let (entered, exited) = app.crossings();
    if visa.cancelled_at.is_some() {
        Standing::Cancelled
    } else if exited.is_some() {
        Standing::Used
    } else if app.under_review {
        Standing::UnderReview
    } else if today > visa.valid_until {
        Standing::Expired
    } else if entered.is_some() {
        Standing::Entered
    } else if today < visa.valid_from {
        Standing::NotYetValid
    } else {
        Standing::InForce
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issued(from: &str, until: &str, under_review: bool) -> Application {
        serde_json::from_value(json!({
            "id": "01J", "account_id": "a", "status": "issued", "category": "tourist",
            "invitation_number": "123456789012",
            "passport": {"number": "Z1", "surname": "DOE", "given_names": "JANE", "nationality": "DEU",
                "sex": "F", "date_of_birth": "1990-01-01", "issuing_state": "DEU", "expiry_date": "2030-01-01"},
            "declarations": {"two_blank_pages": true, "passport_undamaged": true},
            "inviter": {"name": "Host", "bin": "123456789012"},
            "stay": {"valid_from": from, "valid_until": until},
            "fee": {"amount_minor": 8000, "currency": "USD"},
            "details_confirmed_at": null, "payment": null,
            "visa": {"number": "K7Q4M2X9A", "category": "tourist", "entries": "single",
                "valid_from": from, "valid_until": until, "entry_points": ["ALA"],
                "issued_at": "2026-11-01T00:00:00Z"},
            "under_review": under_review,
            "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
        }))
        .unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn in_force_exactly_from_the_first_to_the_last_day() {
        let app = issued("2026-12-10", "2026-12-20", false);
        let on = |d| standing(&app, day(d));
        assert_eq!(on("2026-12-09"), Standing::NotYetValid);
        assert_eq!(on("2026-12-10"), Standing::InForce);
        assert_eq!(on("2026-12-20"), Standing::InForce);
        assert_eq!(on("2026-12-21"), Standing::Expired);
        assert!(on("2026-12-15").valid());
        assert_eq!(on("2026-12-15").as_str(), "issued");
        for d in ["2026-12-09", "2026-12-21"] {
            assert!(!on(d).valid(), "{d}");
        }
        assert_eq!(on("2026-12-09").as_str(), "not_yet_valid");
        assert_eq!(on("2026-12-21").as_str(), "expired");
    }

    #[test]
    fn a_disputed_payment_outranks_the_dates() {
        let app = issued("2026-12-10", "2026-12-20", true);
        for d in ["2026-12-09", "2026-12-15", "2026-12-21"] {
            let s = standing(&app, day(d));
            assert_eq!(s, Standing::UnderReview, "{d}");
            assert!(!s.valid());
            assert_eq!(s.as_str(), "under_review");
        }
    }

    #[test]
    fn a_cancelled_visa_outranks_everything_and_a_restored_one_stands_again() {
        let app = issued("2026-12-10", "2026-12-20", true);
        let at = "2026-12-12T08:00:00Z".parse().unwrap();
        let cancelled = app.cancel_visa(at).unwrap();
        for d in ["2026-12-09", "2026-12-15", "2026-12-21"] {
            let s = standing(&cancelled, day(d));
            assert_eq!(
                (s, s.valid(), s.as_str()),
                (Standing::Cancelled, false, "cancelled"),
                "{d}"
            );
        }
        let restored = Application {
            under_review: false,
            ..cancelled.restore_visa(at).unwrap()
        };
        assert_eq!(standing(&restored, day("2026-12-15")), Standing::InForce);
        // A shortened visa ends on its new last day.
        let shortened = restored.shorten_visa(day("2026-12-14"), at).unwrap();
        assert_eq!(standing(&shortened, day("2026-12-14")), Standing::InForce);
        assert_eq!(standing(&shortened, day("2026-12-15")), Standing::Expired);
    }

    #[test]
    fn an_application_not_issued_is_never_valid() {
        let mut app = issued("2026-12-10", "2026-12-20", false);
        app.status = Status::Paid;
        let s = standing(&app, day("2026-12-15"));
        assert_eq!(s, Standing::NotIssued(Status::Paid));
        assert!(!s.valid());
        assert_eq!(s.as_str(), "paid");
        app.status = Status::Issued;
        app.visa = None;
        assert!(!standing(&app, day("2026-12-15")).valid());
    }
}
