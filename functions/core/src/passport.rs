//! The passport as the applicant types it, validated and normalised.

use crate::names;
use crate::printable;
use crate::problem::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    // Lower case is accepted too: the passport is normalised to upper case.
    #[serde(alias = "m")]
    M,
    #[serde(alias = "f")]
    F,
    /// Unspecified (ICAO Doc 9303 prints `<`).
    #[serde(alias = "x")]
    X,
}

impl Sex {
    /// `M`, `F` or `X`, as the API, the PDF and the QR payload write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
            Sex::X => "X",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passport {
    pub number: String,
    pub surname: String,
    pub given_names: String,
    pub nationality: String,
    pub sex: Sex,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub date_of_birth: NaiveDate,
    pub issuing_state: String,
    #[serde(deserialize_with = "crate::date::ymd")]
    pub expiry_date: NaiveDate,
}

/// Both declarations the seed asks of the passport (criteria 1 and 2); one
/// left out of a request is one not made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Declarations {
    pub two_blank_pages: bool,
    pub passport_undamaged: bool,
}

pub fn is_alpha3(s: &str) -> bool {
    s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase())
}

/// Letters, spaces, hyphens and apostrophes, all of which the visa can
/// print (Latin, Greek or Cyrillic letters).
fn is_name(s: &str) -> bool {
    s.chars().all(|c| {
        (c.is_alphabetic() || c == ' ' || c == '-' || c == '\'' || c == '’')
            && printable::is_printable(c)
    })
}

pub fn is_passport_number(s: &str) -> bool {
    (5..=12).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl Passport {
    /// Upper-cases and trims every text field (docs/API.md: "normalised to upper case").
    pub fn normalised(mut self) -> Passport {
        self.number = self.number.trim().to_ascii_uppercase().replace(' ', "");
        self.surname = names::normalise(&self.surname);
        self.given_names = names::normalise(&self.given_names);
        self.nationality = self.nationality.trim().to_ascii_uppercase();
        self.issuing_state = self.issuing_state.trim().to_ascii_uppercase();
        self
    }

    /// Field errors of a normalised passport; `prefix` is e.g. `passport`.
    pub fn field_errors(&self, prefix: &str, today: NaiveDate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut bad = |f: &str, m: &str| errors.push(FieldError::new(format!("{prefix}.{f}"), m));
        if !is_passport_number(&self.number) {
            bad("number", "5 to 12 letters A-Z and digits");
        }
        if self.surname.is_empty() || self.surname.chars().count() > 60 || !is_name(&self.surname) {
            bad(
                "surname",
                "1 to 60 Latin, Greek or Cyrillic letters, spaces, hyphens or apostrophes",
            );
        }
        if self.given_names.chars().count() > 60 || !is_name(&self.given_names) {
            bad(
                "given_names",
                "at most 60 Latin, Greek or Cyrillic letters, spaces, hyphens or apostrophes",
            );
        }
        if !is_alpha3(&self.nationality) {
            bad("nationality", "an ISO 3166-1 alpha-3 code such as IND");
        }
        if !is_alpha3(&self.issuing_state) {
            bad("issuing_state", "an ISO 3166-1 alpha-3 code such as IND");
        }
        let oldest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
        if self.date_of_birth >= today || self.date_of_birth < oldest {
            bad("date_of_birth", "a date in the past");
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passport() -> Passport {
        Passport {
            number: " z1234567 ".into(),
            surname: " sharma ".into(),
            given_names: "priya   anil".into(),
            nationality: "ind".into(),
            sex: Sex::F,
            date_of_birth: NaiveDate::from_ymd_opt(1990, 4, 12).unwrap(),
            issuing_state: "ind".into(),
            expiry_date: NaiveDate::from_ymd_opt(2031, 1, 31).unwrap(),
        }
    }

    #[test]
    fn normalises_to_upper_case() {
        let p = passport().normalised();
        assert_eq!(
            (
                p.number.as_str(),
                p.surname.as_str(),
                p.given_names.as_str()
            ),
            ("Z1234567", "SHARMA", "PRIYA ANIL")
        );
        assert_eq!(p.nationality, "IND");
        assert!(
            p.field_errors("passport", NaiveDate::from_ymd_opt(2026, 11, 25).unwrap())
                .is_empty()
        );
    }

    #[test]
    fn names_the_visa_cannot_print_are_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for (surname, ok) in [
            ("王", false),
            ("כהן", false),
            ("ΠΑΠΑΔΟΠΟΥΛΟΣ", true),
            ("NGUYỄN", true),
        ] {
            let mut p = passport();
            p.surname = surname.into();
            let errors = p.normalised().field_errors("passport", today);
            assert_eq!(
                errors.iter().all(|e| e.field != "passport.surname"),
                ok,
                "{surname}"
            );
        }
    }

    #[test]
    fn reports_each_bad_field() {
        let mut p = passport().normalised();
        p.number = "Z1".into();
        p.nationality = "INDIA".into();
        p.surname = "R2D2".into();
        p.date_of_birth = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        let fields: Vec<_> = p
            .field_errors("passport", NaiveDate::from_ymd_opt(2026, 11, 25).unwrap())
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "passport.number",
                "passport.surname",
                "passport.nationality",
                "passport.date_of_birth"
            ]
        );
    }
}
