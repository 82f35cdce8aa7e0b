//! What a visa can print. Its faces (functions/pdf/fonts) cover Latin
//! (with Extended-A and -B and Vietnamese), Greek and Cyrillic letters,
//! digits and common punctuation. A name or inviter outside them would be
//! accepted, paid for and then never issued (the PDF/UA export refuses a
//! missing glyph), so requests with them are refused up front.

/// The characters the bold face (every field value) covers, as inclusive
/// ranges in order. A visa-pdf test checks them against the font itself.
const RANGES: &[(char, char)] = &[
    ('\u{0020}', '\u{007E}'),
    ('\u{00A0}', '\u{024F}'),
    ('\u{0374}', '\u{0375}'),
    ('\u{037A}', '\u{037E}'),
    ('\u{0384}', '\u{038A}'),
    ('\u{038C}', '\u{038C}'),
    ('\u{038E}', '\u{03A1}'),
    ('\u{03A3}', '\u{03CE}'),
    ('\u{03D0}', '\u{03E1}'),
    ('\u{03F0}', '\u{03F6}'),
    ('\u{03F8}', '\u{03F9}'),
    ('\u{03FB}', '\u{03FB}'),
    ('\u{03FD}', '\u{045F}'),
    ('\u{0462}', '\u{0463}'),
    ('\u{0470}', '\u{0477}'),
    ('\u{0490}', '\u{04C4}'),
    ('\u{04C7}', '\u{04CC}'),
    ('\u{04D0}', '\u{04F9}'),
    ('\u{1E00}', '\u{1E9B}'),
    ('\u{1E9E}', '\u{1E9E}'),
    ('\u{1EA0}', '\u{1EF9}'),
    ('\u{2010}', '\u{2027}'),
    ('\u{2030}', '\u{2037}'),
    ('\u{2039}', '\u{203A}'),
    ('\u{20AC}', '\u{20AC}'),
    ('\u{2116}', '\u{2116}'),
];

/// Whether the visa can print `c`.
pub fn is_printable(c: char) -> bool {
    // The first range not wholly below `c` holds it, if any does.
    let at = RANGES.partition_point(|&(_, last)| last < c);
    RANGES.get(at).is_some_and(|&(first, _)| first <= c)
}

/// Whether the visa can print every character of `s`.
pub fn all_printable(s: &str) -> bool {
    s.chars().all(is_printable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_ordered_and_apart() {
        for pair in RANGES.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && (pair[0].1 as u32) + 1 < pair[1].0 as u32);
        }
    }

    #[test]
    fn latin_greek_and_cyrillic_names_print() {
        for name in [
            "O'BRIEN",
            "MÜLLER-ŁĄCKA",
            "NGUYỄN THỊ",
            "ΠΑΠΑΔΟΠΟΥΛΟΣ",
            "ӘЛІБЕК",
            "ȘTEFAN",
        ] {
            assert!(all_printable(name), "{name}");
        }
    }

    #[test]
    fn other_scripts_and_controls_do_not() {
        for text in ["王", "כהן", "محمد", "ԱՐԱՄ", "ნინო", "A\tB", "😀"] {
            assert!(!all_printable(text), "{text}");
        }
    }
}
