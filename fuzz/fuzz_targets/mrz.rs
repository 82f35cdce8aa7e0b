//! The ICAO Doc 9303 MRV-B builder (functions/core/src/mrz.rs) on arbitrary
//! names, numbers, codes and dates: always two lines of 36 characters from
//! `A-Z 0-9 <`, each field where Doc 9303 puts it, with correct check digits.
//!
//! The sex is typed (`visa_core::passport::Sex`), so each of its three
//! values is drawn.

#![no_main]

use arbitrary::Arbitrary;
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

use visa_core::mrz;
use visa_core::passport::Sex;

#[derive(Arbitrary, Debug)]
struct Input {
    surname: String,
    given_names: String,
    visa_number: String,
    nationality: String,
    sex: u8,
    birth_days: i32,
    until_days: i32,
}

fn date(days: i32) -> NaiveDate {
    // Any day from about 3700 BC to 9600 AD: inside chrono's range.
    NaiveDate::from_num_days_from_ce_opt(days.rem_euclid(4_800_000) - 1_300_000)
        .expect("in chrono's range")
}

fuzz_target!(|input: Input| {
    let [line1, line2] = mrz::KazakhVisa {
        surname: &input.surname,
        given_names: &input.given_names,
        visa_number: &input.visa_number,
        nationality: &input.nationality,
        date_of_birth: date(input.birth_days),
        sex: [Sex::M, Sex::F, Sex::X][usize::from(input.sex % 3)],
        valid_until: date(input.until_days),
    }
    .lines();
    for line in [&line1, &line2] {
        assert_eq!(line.len(), mrz::LINE_LEN, "{line:?}");
        assert!(
            line.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<'),
            "{line:?}"
        );
    }
    assert!(line1.starts_with("V<KAZ"), "{line1}");
    // (A surname with no Latin form gives `<<GIVEN...`: an empty primary
    // identifier. The handlers refuse such names before issuing; not asserted.)
    let check = |field: &str, digit: usize| {
        assert_eq!(
            line2.as_bytes()[digit] as char,
            mrz::check_digit(field),
            "check digit of {field:?} in {line2}"
        )
    };
    check(&line2[0..9], 9);
    check(&line2[13..19], 19);
    check(&line2[21..27], 27);
    assert!(matches!(&line2[20..21], "M" | "F" | "<"), "{line2}");
    assert!(line2[13..19].bytes().all(|b| b.is_ascii_digit()), "{line2}");
    assert!(line2[21..27].bytes().all(|b| b.is_ascii_digit()), "{line2}");
});
