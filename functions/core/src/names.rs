//! Name and text folding for matching an invitation against a passport:
//! case, repeated spaces and Latin diacritics do not matter (docs/API.md).

/// Trimmed, inner whitespace collapsed to one space.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Upper case, trimmed, inner whitespace collapsed to one space. Keeps
/// diacritics: this is how the data is stored and printed.
pub fn normalise(s: &str) -> String {
    collapse(s).to_uppercase()
}

/// The matching key: `normalise` with diacritics and ligatures folded to
/// plain Latin letters (Müller = MULLER, Øre = ORE, Straße = STRASSE).
pub fn fold(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                deunicode::deunicode_char(c).unwrap_or("").to_string()
            }
        })
        .collect();
    normalise(&folded)
}

/// The same name, as typed or as a machine-readable zone writes it (an
/// applicant may fill the form from the passport's MRZ: MÜLLER is MUELLER
/// there, O'BRIEN is OBRIEN, MARIE-ÉLISE is MARIE ELISE).
pub fn same(a: &str, b: &str) -> bool {
    fold(a) == fold(b) || as_mrz(a) == as_mrz(b)
}

/// The name's components in the MRZ alphabet (Doc 9303 Part 3), one
/// space between them.
fn as_mrz(s: &str) -> String {
    crate::mrz::name_components(s).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_case_spaces_and_latin_diacritics() {
        assert!(same("  Priya   anil ", "PRIYA ANIL"));
        assert!(same("José Álvarez", "JOSE ALVAREZ"));
        assert!(same("Nguyễn Thị", "NGUYEN THI"));
        assert!(same("Çağlar", "CAGLAR"));
        assert!(same("straße", "STRASSE"));
        assert!(!same("PRIYA", "PRIYANKA"));
        assert!(!same("ANN MARIE", "ANNMARIE"));
    }

    #[test]
    fn a_name_as_the_passports_mrz_writes_it_is_the_same_name() {
        assert!(same("Müller Jürgen", "MUELLER JUERGEN"));
        assert!(same("O'Brien", "OBRIEN"));
        assert!(same("Marie-Élise", "MARIE ELISE"));
        assert!(same("Иванова", "IVANOVA"));
        assert!(!same("MUELLER", "MULLERS"));
        assert!(!same("O'BRIEN", "O BRIEN"));
    }

    #[test]
    fn normalise_keeps_diacritics() {
        assert_eq!(normalise(" josé  álvarez "), "JOSÉ ÁLVAREZ");
    }
}
