//! The rules of the seed as pure functions.

use crate::annex::Annexes;
use crate::category::Category;
use crate::invitation::Invitation;
use crate::names;
use crate::passport::{Declarations, Passport};
use crate::problem::FieldError;
use chrono::{Months, NaiveDate};

/// Seed: entry and exit only through the international airports of the
/// capital (Nur-Sultan in the seed, Astana again since 2022) and Almaty.
pub const ENTRY_POINTS: [&str; 2] = [
    "Astana International Airport (NQZ)",
    "Almaty International Airport (ALA)",
];

/// Longest stay an e-visa covers, in days, first and last day included.
pub const MAX_STAY_DAYS: i64 = 30;

/// Seed, passport criterion 3: expires no earlier than 3 months after the visa's last day.
pub const PASSPORT_MARGIN_MONTHS: u32 = 3;

/// The rules an applicant reads before applying (`GET /api/requirements`).
pub const RULES: [&str; 8] = [
    "An approved invitation from the Kazakh side is required; its number is sent to you by the inviting party.",
    "The e-visa is single entry, valid only for its holder and not extendable.",
    "The passport must expire no earlier than 3 months after the last day of the visa.",
    "The passport must have at least 2 blank pages and be undamaged, without erasures or corrections.",
    "Entry and exit only through Astana and Almaty international airports.",
    "Check that the visa data matches your passport before paying: a visa that disagrees with the passport is invalid.",
    "Consular fees are not refundable.",
    "If you replace your passport you must obtain a new e-visa; carry the printed e-visa with your passport.",
];

pub fn eligible(annexes: &Annexes, category: Category, nationality: &str) -> bool {
    annexes.eligible(category, nationality)
}

/// Stay window of an invitation: starts today or later, ends on or after
/// its start, and spans at most 30 days.
pub fn stay_window_errors(
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    today: NaiveDate,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if valid_from < today {
        errors.push(FieldError::new("valid_from", "may not be in the past"));
    }
    if valid_until < valid_from {
        errors.push(FieldError::new(
            "valid_until",
            "must be on or after valid_from",
        ));
    } else if (valid_until - valid_from).num_days() + 1 > MAX_STAY_DAYS {
        errors.push(FieldError::new(
            "valid_until",
            "the stay may be at most 30 days",
        ));
    }
    errors
}

/// The earliest passport expiry date acceptable for a visa ending on `visa_last_day`.
pub fn earliest_passport_expiry(visa_last_day: NaiveDate) -> NaiveDate {
    visa_last_day
        .checked_add_months(Months::new(PASSPORT_MARGIN_MONTHS))
        .unwrap_or(NaiveDate::MAX)
}

pub fn passport_valid_long_enough(passport_expiry: NaiveDate, visa_last_day: NaiveDate) -> bool {
    passport_expiry >= earliest_passport_expiry(visa_last_day)
}

/// The declarations not made, as field errors.
pub fn missing_declarations(d: &Declarations) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !d.two_blank_pages {
        errors.push(FieldError::new("declarations.two_blank_pages", "required"));
    }
    if !d.passport_undamaged {
        errors.push(FieldError::new(
            "declarations.passport_undamaged",
            "required",
        ));
    }
    errors
}

/// The passport fields that disagree with the invitee; empty when they match.
pub fn invitation_mismatches(invitation: &Invitation, passport: &Passport) -> Vec<FieldError> {
    let i = &invitation.invitee;
    let mut errors = Vec::new();
    let mut check = |ok: bool, field: &str| {
        if !ok {
            errors.push(FieldError::new(
                format!("passport.{field}"),
                "does not match the invitation",
            ));
        }
    };
    check(names::same(&i.surname, &passport.surname), "surname");
    check(
        names::same(&i.given_names, &passport.given_names),
        "given_names",
    );
    check(i.date_of_birth == passport.date_of_birth, "date_of_birth");
    check(i.nationality == passport.nationality, "nationality");
    check(
        names::fold(&i.passport_number).replace(' ', "") == passport.number,
        "number",
    );
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invitation::{InvitationStatus, Invitee, Inviter};
    use crate::passport::Sex;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn stay_window_is_at_most_30_days_and_not_in_the_past() {
        let today = d("2026-11-25");
        assert!(stay_window_errors(d("2026-12-01"), d("2026-12-30"), today).is_empty());
        assert!(stay_window_errors(d("2026-11-25"), d("2026-11-25"), today).is_empty());
        assert_eq!(
            stay_window_errors(d("2026-12-01"), d("2026-12-31"), today)[0].field,
            "valid_until"
        );
        assert_eq!(
            stay_window_errors(d("2026-11-24"), d("2026-11-30"), today)[0].field,
            "valid_from"
        );
        assert_eq!(
            stay_window_errors(d("2026-12-02"), d("2026-12-01"), today)[0].field,
            "valid_until"
        );
    }

    #[test]
    fn passport_must_outlast_the_visa_by_three_months() {
        assert!(passport_valid_long_enough(d("2027-03-30"), d("2026-12-30")));
        assert!(!passport_valid_long_enough(
            d("2027-03-29"),
            d("2026-12-30")
        ));
        // Month-end arithmetic: 30 Nov + 3 months is 28 Feb (chrono clamps).
        assert_eq!(earliest_passport_expiry(d("2026-11-30")), d("2027-02-28"));
    }

    #[test]
    fn both_declarations_are_required() {
        let all = Declarations {
            two_blank_pages: true,
            passport_undamaged: true,
        };
        assert!(missing_declarations(&all).is_empty());
        let none = Declarations {
            two_blank_pages: false,
            passport_undamaged: false,
        };
        assert_eq!(missing_declarations(&none).len(), 2);
    }

    fn invitation() -> Invitation {
        Invitation {
            number: "250000123456".into(),
            category: Category::Tourist,
            inviter: Inviter {
                name: "Kazakh Tourism JSC".into(),
                bin: "123456789012".into(),
            },
            invitee: Invitee {
                surname: "MÜLLER".into(),
                given_names: "JOSÉ  ANTONIO".into(),
                nationality: "IND".into(),
                date_of_birth: d("1990-04-12"),
                passport_number: "Z1234567".into(),
            },
            valid_from: d("2026-12-01"),
            valid_until: d("2026-12-30"),
            status: InvitationStatus::Approved,
            created_at: chrono::Utc::now(),
            created_by: None,
            revoked_by: None,
            request_id: None,
        }
    }

    fn passport() -> Passport {
        Passport {
            number: "Z1234567".into(),
            surname: "MULLER".into(),
            given_names: "JOSE ANTONIO".into(),
            nationality: "IND".into(),
            sex: Sex::M,
            date_of_birth: d("1990-04-12"),
            issuing_state: "IND".into(),
            expiry_date: d("2031-01-31"),
        }
    }

    #[test]
    fn matching_ignores_case_spaces_and_diacritics_but_not_data() {
        assert!(invitation_mismatches(&invitation(), &passport()).is_empty());
        let mut p = passport();
        p.date_of_birth = d("1990-04-13");
        p.number = "Z1234568".into();
        let fields: Vec<_> = invitation_mismatches(&invitation(), &p)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["passport.date_of_birth", "passport.number"]);
    }

    #[test]
    fn eligibility_follows_the_annexes() {
        let a = Annexes::builtin();
        assert!(eligible(a, Category::Tourist, "IND"));
        assert!(!eligible(a, Category::Medical, "IND"));
        assert!(eligible(a, Category::Medical, "VNM"));
    }
}
