//! What officers find applications and invitations by: a passport number
//! or a surname (and an invitation by its inviting party's BIN or IIN),
//! exact after normalising (case, accents and punctuation do not count),
//! so both stores can look them up by key instead of scanning.

use crate::application::Application;
use crate::invitation::Invitation;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKind {
    PassportNumber,
    Surname,
    /// The inviting party's BIN (or a resident's IIN): 12 digits.
    InviterBin,
}

/// One lookup key: `PASSPORT#Z1234567`, `SURNAME#O BRIEN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchKey {
    pub kind: SearchKind,
    term: String,
}

impl SearchKey {
    /// `None` when nothing searchable is left of `raw`.
    pub fn new(kind: SearchKind, raw: &str) -> Option<SearchKey> {
        let term = normalise(raw);
        (!term.is_empty()).then_some(SearchKey { kind, term })
    }

    /// The keys an application is found by.
    pub fn of_application(app: &Application) -> Vec<SearchKey> {
        [
            SearchKey::new(SearchKind::PassportNumber, &app.passport.number),
            SearchKey::new(SearchKind::Surname, &app.passport.surname),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The keys an invitation is found by.
    pub fn of_invitation(inv: &Invitation) -> Vec<SearchKey> {
        [
            SearchKey::new(SearchKind::PassportNumber, &inv.invitee.passport_number),
            SearchKey::new(SearchKind::Surname, &inv.invitee.surname),
            SearchKey::new(SearchKind::InviterBin, &inv.inviter.bin),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The key as stored (a DynamoDB index's partition key, SQLite's term).
    pub fn as_key(&self) -> String {
        let prefix = match self.kind {
            SearchKind::PassportNumber => "PASSPORT#",
            SearchKind::Surname => "SURNAME#",
            SearchKind::InviterBin => "INVITER#",
        };
        format!("{prefix}{}", self.term)
    }
}

/// Upper case ASCII letters and digits, every other run of characters one
/// space, accents transliterated (`Müller-Lüdenscheidt` -> `MULLER
/// LUDENSCHEIDT`).
fn normalise(raw: &str) -> String {
    let ascii = deunicode::deunicode(raw).to_ascii_uppercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The most applications one search returns (newest first).
pub const SEARCH_LIMIT: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_and_punctuation_do_not_count() {
        let a = SearchKey::new(SearchKind::Surname, "Müller-Lüdenscheidt").unwrap();
        let b = SearchKey::new(SearchKind::Surname, "  muller  ludenscheidt ").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_key(), "SURNAME#MULLER LUDENSCHEIDT");
        assert_eq!(
            SearchKey::new(SearchKind::PassportNumber, "z 123-4567")
                .unwrap()
                .as_key(),
            "PASSPORT#Z 123 4567"
        );
        assert!(SearchKey::new(SearchKind::Surname, " -- ").is_none());
        assert_ne!(
            SearchKey::new(SearchKind::Surname, "Z1234567"),
            SearchKey::new(SearchKind::PassportNumber, "Z1234567")
        );
    }
}
