//! The machine-readable zone of a visa in the MRV-B format of ICAO Doc 9303
//! Part 7: two lines of 36 characters from the alphabet `A-Z 0-9 <`.
//!
//! Line 1: `V`, type filler, issuing state (3), name field (31).
//! Line 2: document number (9) + check digit, nationality (3), date of birth
//! (YYMMDD) + check digit, sex, expiry date (YYMMDD) + check digit, optional
//! data (8). Visas have no composite check digit (Doc 9303 Part 7, 5.2).

//!
//! The one MRZ of the portal: the printed visa (visa-pdf) and the preview
//! the API returns with every application are both made here.

use crate::passport::Sex;
use chrono::{Datelike, NaiveDate};

/// Characters in one MRV-B line.
pub const LINE_LEN: usize = 36;
/// Characters of the name field on line 1 (positions 6-36).
const NAME_LEN: usize = LINE_LEN - 5;
/// Characters of the document number field on line 2 (positions 1-9).
const NUMBER_LEN: usize = 9;
/// Characters of the optional data field on line 2 (positions 29-36).
const OPTIONAL_LEN: usize = 8;
/// The issuing state of every visa this portal makes.
pub const ISSUING_STATE: &str = "KAZ";

/// The fields an MRV-B encodes, already chosen by the issuer. Text is
/// transliterated and padded when the lines are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MrvB<'a> {
    pub issuing_state: &'a str,
    pub surname: &'a str,
    pub given_names: &'a str,
    pub document_number: &'a str,
    pub nationality: &'a str,
    pub date_of_birth: NaiveDate,
    /// `M`, `F`; anything else is written as the unspecified filler `<`.
    pub sex: &'a str,
    pub expiry: NaiveDate,
    pub optional_data: &'a str,
}

impl MrvB<'_> {
    /// The two lines, each exactly [`LINE_LEN`] characters.
    pub fn lines(&self) -> [String; 2] {
        let mut line1 = String::with_capacity(LINE_LEN);
        line1.push_str("V<");
        line1.push_str(&code_field(self.issuing_state, 3));
        line1.push_str(&name_field(self.surname, self.given_names, NAME_LEN));

        let number = code_field(self.document_number, NUMBER_LEN);
        let birth = yymmdd(self.date_of_birth);
        let expiry = yymmdd(self.expiry);
        let mut line2 = String::with_capacity(LINE_LEN);
        line2.push_str(&number);
        line2.push(check_digit(&number));
        line2.push_str(&code_field(self.nationality, 3));
        line2.push_str(&birth);
        line2.push(check_digit(&birth));
        line2.push(match self.sex.trim().to_ascii_uppercase().as_str() {
            "M" => 'M',
            "F" => 'F',
            _ => '<',
        });
        line2.push_str(&expiry);
        line2.push(check_digit(&expiry));
        line2.push_str(&code_field(self.optional_data, OPTIONAL_LEN));

        debug_assert_eq!(line1.len(), LINE_LEN);
        debug_assert_eq!(line2.len(), LINE_LEN);
        [line1, line2]
    }
}

/// The document number of a visa not yet issued: fillers in its place.
pub const UNASSIGNED_NUMBER: &str = "<<<<<<<<<";

/// What a Kazakh e-visa's MRZ holds of its holder and the visa.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KazakhVisa<'a> {
    pub surname: &'a str,
    pub given_names: &'a str,
    /// The visa number, or [`UNASSIGNED_NUMBER`] before issue.
    pub visa_number: &'a str,
    /// ISO 3166-1 alpha-3.
    pub nationality: &'a str,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub valid_until: NaiveDate,
}

impl KazakhVisa<'_> {
    /// The MRV-B lines: the visa number is the document number, the visa's
    /// last day its expiry date, and the optional data field is left empty
    /// (all fillers).
    pub fn lines(&self) -> [String; 2] {
        MrvB {
            issuing_state: ISSUING_STATE,
            surname: self.surname,
            given_names: self.given_names,
            document_number: self.visa_number,
            nationality: &mrz_nationality(self.nationality),
            date_of_birth: self.date_of_birth,
            sex: self.sex.as_str(),
            expiry: self.valid_until,
            optional_data: "",
        }
        .lines()
    }
}

/// Doc 9303 Part 3 codes nationality with ISO 3166-1 alpha-3, except Germany,
/// which is `D` (written `D<<`).
fn mrz_nationality(alpha3: &str) -> String {
    if alpha3.trim().eq_ignore_ascii_case("DEU") {
        "D".to_owned()
    } else {
        alpha3.to_owned()
    }
}

/// Check digit of Doc 9303 Part 3, 4.9: weights 7, 3, 1 repeating; digits
/// count as themselves, `A`-`Z` as 10-35, the filler `<` as 0.
pub fn check_digit(field: &str) -> char {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let sum: u32 = field
        .chars()
        .zip(WEIGHTS.iter().cycle())
        .map(|(c, w)| char_value(c) * w)
        .sum();
    char::from_digit(sum % 10, 10).expect("a number modulo 10 is one digit")
}

fn char_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A'..='Z' => c as u32 - 'A' as u32 + 10,
        _ => 0,
    }
}

fn yymmdd(date: NaiveDate) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year().rem_euclid(100),
        date.month(),
        date.day()
    )
}

/// A code field (number, state, optional data): transliterated, without
/// separators, cut or padded with fillers to `len`.
fn code_field(value: &str, len: usize) -> String {
    let mut out: String = transliterate(value)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(len)
        .collect();
    pad(&mut out, len);
    out
}

fn pad(out: &mut String, len: usize) {
    while out.len() < len {
        out.push('<');
    }
}

/// The name field: `PRIMARY<<SECONDARY`, components joined by one filler,
/// padded to `len`.
///
/// Truncation follows Doc 9303 Part 3, 4.6: the primary identifier is kept
/// whole when it can be, and the secondary identifier is cut first; when the
/// primary identifier alone does not fit (with `<<` and one letter of a given
/// name) it is cut and the secondary identifier left out.
pub fn name_field(surname: &str, given_names: &str, len: usize) -> String {
    let primary = name_components(surname).join("<");
    let secondary = name_components(given_names).join("<");
    let mut out = String::with_capacity(len);
    if primary.len() + 2 + secondary.len() <= len {
        out.push_str(&primary);
        if !secondary.is_empty() {
            out.push_str("<<");
            out.push_str(&secondary);
        }
    } else if primary.len() + 3 > len {
        out.push_str(&primary[..primary.len().min(len)]);
    } else {
        out.push_str(&primary);
        out.push_str("<<");
        let room = len - out.len();
        out.push_str(&secondary[..room]);
    }
    pad(&mut out, len);
    out
}

/// Name components in the MRZ alphabet: Doc 9303 Part 3, 6 writes spaces and
/// hyphens as a filler between components and omits apostrophes and other
/// punctuation (D'ARTAGNAN -> DARTAGNAN).
pub(crate) fn name_components(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || c == '-' || c == '‐' || c == ',')
        .map(|part| {
            transliterate(part)
                .chars()
                .filter(|c| c.is_ascii_uppercase())
                .collect::<String>()
        })
        .filter(|part| !part.is_empty())
        .collect()
}

/// Upper-case text in the MRZ alphabet, by the recommended transliterations
/// of Doc 9303 Part 3, section 6 (Latin table, Cyrillic table); other Latin
/// letters lose their diacritics. Spaces and hyphens are kept for the caller
/// to split names on; anything else without a Latin form is dropped.
pub fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_uppercase) {
        if c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '-' {
            out.push(c);
        } else if let Some(latin) = doc9303_table(c) {
            out.push_str(latin);
        } else if !c.is_ascii() {
            // Remaining Latin letters with diacritics (É, Č, Ł ...) become the
            // base letter, as the Doc 9303 table does for each of them.
            out.extend(
                deunicode::deunicode_char(c)
                    .unwrap_or("")
                    .chars()
                    .filter(char::is_ascii_alphabetic)
                    .map(|c| c.to_ascii_uppercase()),
            );
        }
    }
    out
}

/// The entries of the Doc 9303 Part 3 tables that are not "drop the
/// diacritic" (its recommended option where it offers several, e.g. Ä -> AE
/// rather than A), the Cyrillic table (Russian values where languages
/// differ), and the Kazakh letters the ICAO table lacks, written as their
/// nearest base letter.
fn doc9303_table(c: char) -> Option<&'static str> {
    Some(match c {
        // Latin (upper case only: the input was upper-cased first).
        'Ä' | 'Æ' => "AE",
        'Å' => "AA",
        'Ö' | 'Ø' | 'Œ' => "OE",
        'Ü' => "UE",
        'ẞ' => "SS",
        'Þ' => "TH",
        'Ð' | 'Đ' => "D",
        'Ĳ' => "IJ",
        'Ł' | 'Ŀ' => "L",
        'Ħ' => "H",
        'Ŋ' => "N",
        'İ' => "I",
        // Cyrillic.
        'А' => "A",
        'Б' => "B",
        'В' => "V",
        'Г' | 'Ґ' | 'Ѓ' => "G",
        'Д' | 'Ђ' => "D",
        'Е' | 'Ё' | 'Э' => "E",
        'Є' => "IE",
        'Ж' => "ZH",
        'З' => "Z",
        'Ѕ' | 'Џ' => "DZ",
        'И' | 'І' | 'Ї' | 'Й' => "I",
        'Ј' => "J",
        'К' | 'Ќ' => "K",
        'Л' => "L",
        'Љ' => "LJ",
        'М' => "M",
        'Н' => "N",
        'Њ' => "NJ",
        'О' => "O",
        'П' => "P",
        'Р' => "R",
        'С' => "S",
        'Т' => "T",
        'Ћ' => "C",
        'У' | 'Ў' => "U",
        'Ф' => "F",
        'Х' => "KH",
        'Ц' => "TS",
        'Ч' => "CH",
        'Ш' => "SH",
        'Щ' => "SHCH",
        'Ъ' => "IE",
        'Ы' => "Y",
        'Ь' => "",
        'Ю' => "IU",
        'Я' => "IA",
        // Kazakh letters (not in the ICAO table).
        'Ә' => "A",
        'Ғ' => "G",
        'Қ' => "K",
        'Ң' => "N",
        'Ө' => "O",
        'Ұ' | 'Ү' => "U",
        'Һ' => "H",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The MRV-B specimen of ICAO Doc 9303 Part 7.
    fn specimen() -> MrvB<'static> {
        MrvB {
            issuing_state: "UTO",
            surname: "Eriksson",
            given_names: "Anna Maria",
            document_number: "L898902C",
            nationality: "UTO",
            date_of_birth: date(1969, 8, 6),
            sex: "F",
            expiry: date(1994, 6, 23),
            optional_data: "ZE184226",
        }
    }

    #[test]
    fn reproduces_the_icao_specimen_exactly() {
        let [l1, l2] = specimen().lines();
        assert_eq!(l1, "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<");
        assert_eq!(l2, "L898902C<3UTO6908061F9406236ZE184226");
    }

    #[test]
    fn check_digits_of_published_specimens() {
        // Doc 9303 Part 3 worked example and the TD1/TD3/MRV specimens.
        assert_eq!(check_digit("520727"), '3');
        assert_eq!(check_digit("L898902C<"), '3');
        assert_eq!(check_digit("L898902C3"), '6');
        assert_eq!(check_digit("690806"), '1');
        assert_eq!(check_digit("940623"), '6');
        assert_eq!(check_digit("D23145890"), '7');
        assert_eq!(check_digit("740812"), '2');
        assert_eq!(check_digit("120415"), '9');
        assert_eq!(check_digit("<<<<<<"), '0');
    }

    /// visa-pdf's sample visa: KZ1234567, a DEU holder born 1988-03-14, F,
    /// valid until 2026-08-30.
    fn example() -> KazakhVisa<'static> {
        KazakhVisa {
            surname: "MÜLLER",
            given_names: "ANNA MARIA",
            visa_number: "KZ1234567",
            nationality: "DEU",
            date_of_birth: date(1988, 3, 14),
            sex: Sex::F,
            valid_until: date(2026, 8, 30),
        }
    }

    fn doc<'a>(surname: &'a str, given: &'a str, sex: Sex) -> KazakhVisa<'a> {
        KazakhVisa {
            surname,
            given_names: given,
            sex,
            ..example()
        }
    }

    #[test]
    fn visa_lines_are_36_characters_of_the_mrz_alphabet() {
        for d in [
            doc("Müller-Lüdenscheidt", "Jürgen Ägidius", Sex::M),
            doc(
                "Nilavadhanananda",
                "Chayapa Dejthamrong Krasuang Somchai",
                Sex::X,
            ),
            doc(&"W".repeat(40), "Anna", Sex::F),
            doc("Ли", "", Sex::F),
        ] {
            for line in d.lines() {
                assert_eq!(line.len(), LINE_LEN, "{line}");
                assert!(
                    line.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<')
                );
            }
        }
    }

    #[test]
    fn kazakh_visa_line_two_layout() {
        let [l1, l2] = example().lines();
        assert!(l1.starts_with("V<KAZ"));
        // Sample: visa KZ1234567, DEU holder (D<<), born 1988-03-14, F,
        // valid until 2026-08-30.
        assert_eq!(&l2[..9], "KZ1234567");
        assert_eq!(l2.as_bytes()[9] as char, check_digit("KZ1234567"));
        assert_eq!(&l2[10..13], "D<<");
        assert_eq!(&l2[13..19], "880314");
        assert_eq!(&l2[20..21], "F");
        assert_eq!(&l2[21..27], "260830");
        assert_eq!(&l2[28..], "<<<<<<<<");
    }

    #[test]
    fn a_visa_not_yet_numbered_shows_fillers() {
        let [l1, l2] = KazakhVisa {
            surname: "Sharma",
            given_names: "Priya  Anil",
            visa_number: UNASSIGNED_NUMBER,
            nationality: "IND",
            date_of_birth: date(1990, 4, 12),
            sex: Sex::F,
            valid_until: date(2026, 12, 30),
        }
        .lines();
        assert_eq!(l1, "V<KAZSHARMA<<PRIYA<ANIL<<<<<<<<<<<<<");
        assert_eq!(l2, "<<<<<<<<<0IND9004126F2612306<<<<<<<<");
        // Kazakh letters the ICAO table lacks: their nearest base letter.
        let [l1, _] = doc("Нұрсұлтанова", "Әлия", Sex::F).lines();
        assert!(l1.starts_with("V<KAZNURSULTANOVA<<ALIIA<"), "{l1}");
    }

    #[test]
    fn sex_x_is_the_filler() {
        let [_, l2] = doc("Doe", "Sam", Sex::X).lines();
        assert_eq!(&l2[20..21], "<");
    }

    #[test]
    fn transliterates_per_doc_9303() {
        assert_eq!(transliterate("Müller"), "MUELLER");
        assert_eq!(transliterate("Åsa Ærø"), "AASA AEROE");
        assert_eq!(transliterate("Straße"), "STRASSE");
        assert_eq!(transliterate("Þórunn"), "THORUNN");
        assert_eq!(transliterate("Muñoz"), "MUNOZ");
        assert_eq!(
            transliterate("Élodie Dvořák Wałęsa"),
            "ELODIE DVORAK WALESA"
        );
        assert_eq!(transliterate("Юлия Щеглова"), "IULIIA SHCHEGLOVA");
        assert_eq!(transliterate("Хрущёв"), "KHRUSHCHEV");
        assert_eq!(transliterate("Қасым-Жомарт Тоқаев"), "KASYM-ZHOMART TOKAEV");
        assert_eq!(transliterate("Ольга"), "OLGA");
    }

    #[test]
    fn names_use_fillers_and_drop_punctuation() {
        assert_eq!(
            name_field("D'Artagnan", "Marie-Élise", 31),
            "DARTAGNAN<<MARIE<ELISE<<<<<<<<<"
        );
        assert_eq!(
            name_field("van der Steen", "Marianne  Louise", 31),
            "VAN<DER<STEEN<<MARIANNE<LOUISE<"
        );
        // One name only: it is the primary identifier.
        assert_eq!(name_field("Ли", "", 31), format!("LI{}", "<".repeat(29)));
    }

    #[test]
    fn truncates_the_secondary_identifier_first() {
        let f = name_field("Nilavadhanananda", "Chayapa Dejthamrong Krasuang", 31);
        assert_eq!(f, "NILAVADHANANANDA<<CHAYAPA<DEJTH");
        assert_eq!(f.len(), 31);
    }

    #[test]
    fn a_cut_falls_where_the_field_ends() {
        let f = name_field("Abcdefghijkl", "Johnathan Peterso Xavier", 31);
        assert_eq!(f, "ABCDEFGHIJKL<<JOHNATHAN<PETERSO");
        let f = name_field("Abcdefghijkl", "Johnathan Petersonn Xavier", 31);
        assert_eq!(f, "ABCDEFGHIJKL<<JOHNATHAN<PETERSO");
        let f = name_field("Abcdefghijklm", "Johnathan Petersonn", 31);
        assert_eq!(f, "ABCDEFGHIJKLM<<JOHNATHAN<PETERS");
        let f = name_field("Abcdefghijklmnopq", "Jonathan Peter", 31);
        assert_eq!(f, "ABCDEFGHIJKLMNOPQ<<JONATHAN<PET");
        let f = name_field("Abcdefghijklmnopqrs", "Jonathan Xy", 31);
        assert_eq!(f, "ABCDEFGHIJKLMNOPQRS<<JONATHAN<X");
        let f = name_field("Abcdefghijklmnopqrst", "Jonathan Xy", 31);
        assert_eq!(f, "ABCDEFGHIJKLMNOPQRST<<JONATHAN<");
    }

    #[test]
    fn a_primary_identifier_too_long_is_cut_and_stands_alone() {
        let surname = "Abcdefghijklmnopqrstuvwxyzabcdefgh";
        assert_eq!(
            name_field(surname, "Anna", 31),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDE"
        );
        assert_eq!(
            name_field("Abcdefghijklmnopqrstuvwxyzab", "Anna", 31),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZAB<<A"
        );
        assert_eq!(
            name_field("Abcdefghijklmnopqrstuvwxyzabc", "Anna", 31),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABC<<"
        );
    }

    #[test]
    fn document_number_is_cut_or_padded_to_nine() {
        assert_eq!(code_field("AB12", 9), "AB12<<<<<");
        assert_eq!(code_field("ab-12 34567890", 9), "AB1234567");
    }
}
