//! Kazakhstan's identification numbers: the IIN of a resident person and
//! the BIN of an organisation, twelve digits each, the last a check digit
//! (Government Decree No. 565 of 11 June 2003): the digits weighted 1 to 11,
//! modulo 11; a remainder of 10 is weighed again with 3 to 11, 1, 2; a
//! second 10 is a number never issued.

use chrono::NaiveDate;

/// Which register a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A person: YYMMDD of birth, then the century and sex digit (1-6).
    Iin,
    /// An organisation: YYMM of registration, then its type (4 resident,
    /// 5 non-resident, 6 individual entrepreneur).
    Bin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an IIN or BIN is twelve digits")]
    Format,
    #[error("the check digit does not match")]
    CheckDigit,
    #[error("not a person's IIN (its date of birth or century digit)")]
    NotIin,
    #[error("not an organisation's BIN (its month or type digit)")]
    NotBin,
}

const FIRST: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

fn digits(number: &str) -> Result<[u32; 12], IdError> {
    let bytes = number.as_bytes();
    if bytes.len() != 12 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(IdError::Format);
    }
    let mut out = [0; 12];
    for (d, b) in out.iter_mut().zip(bytes) {
        *d = u32::from(b - b'0');
    }
    Ok(out)
}

/// The check digit of the first eleven digits, or None for a combination
/// the register never issues.
pub fn check_digit(first_eleven: &[u32; 11]) -> Option<u32> {
    let weigh = |w: &[u32; 11]| first_eleven.iter().zip(w).map(|(d, w)| d * w).sum::<u32>() % 11;
    match weigh(&FIRST) {
        10 => match weigh(&SECOND) {
            10 => None,
            c => Some(c),
        },
        c => Some(c),
    }
}

fn checked(number: &str) -> Result<[u32; 12], IdError> {
    let d = digits(number)?;
    let first: [u32; 11] = d[..11].try_into().expect("eleven digits");
    if check_digit(&first) != Some(d[11]) {
        return Err(IdError::CheckDigit);
    }
    Ok(d)
}

/// A person's IIN: twelve digits, a real date of birth, century digit 1-6,
/// and the check digit.
pub fn check_iin(number: &str) -> Result<(), IdError> {
    let d = checked(number)?;
    let century = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return Err(IdError::NotIin),
    };
    let year = century + (d[0] * 10 + d[1]) as i32;
    NaiveDate::from_ymd_opt(year, d[2] * 10 + d[3], d[4] * 10 + d[5])
        .map(|_| ())
        .ok_or(IdError::NotIin)
}

/// An organisation's BIN: twelve digits, a month 01-12, type digit 4-6,
/// and the check digit.
pub fn check_bin(number: &str) -> Result<(), IdError> {
    let d = checked(number)?;
    let month = d[2] * 10 + d[3];
    if !(1..=12).contains(&month) || !(4..=6).contains(&d[4]) {
        return Err(IdError::NotBin);
    }
    Ok(())
}

pub fn check(kind: IdKind, number: &str) -> Result<(), IdError> {
    match kind {
        IdKind::Iin => check_iin(number),
        IdKind::Bin => check_bin(number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes eleven digits with their check digit.
    fn with_check(first: &str) -> String {
        let d: Vec<u32> = first.bytes().map(|b| u32::from(b - b'0')).collect();
        let c = check_digit(&d.try_into().unwrap()).expect("issued");
        format!("{first}{c}")
    }

    #[test]
    fn the_second_weighing_decides_when_the_first_gives_ten() {
        // A published example: 0·1+6·2+1·3+2·4+1·5+1·6+6·7+1·11 = 87 ≡ 10,
        // then with 3..11,1,2: 112 ≡ 2.
        assert_eq!(check_iin("061211600012"), Ok(()));
        assert_eq!(check_iin("061211600013"), Err(IdError::CheckDigit));
    }

    #[test]
    fn a_person_has_an_iin_and_an_organisation_a_bin() {
        let person = with_check("90041230012"); // 12 Apr 1990, male, 20th century
        assert_eq!(check_iin(&person), Ok(()));
        assert_eq!(
            check_bin(&person),
            Err(IdError::NotBin),
            "day 12 is no type digit"
        );
        let company = with_check("05034000123"); // March 2005, resident legal entity
        assert_eq!(check_bin(&company), Ok(()));
        assert_eq!(check_iin(&company), Err(IdError::NotIin), "century digit 0");
        assert_eq!(check(IdKind::Bin, &company), Ok(()));
        // 31 February does not exist.
        assert_eq!(check_iin(&with_check("90023130012")), Err(IdError::NotIin));
        // Month 13.
        assert_eq!(check_bin(&with_check("05134000123")), Err(IdError::NotBin));
    }

    #[test]
    fn anything_but_twelve_digits_is_refused() {
        for bad in [
            "",
            "06121160001",
            "0612116000122",
            "06121160001a",
            "０６１２１１６０００１２",
        ] {
            assert_eq!(check_iin(bad), Err(IdError::Format), "{bad:?}");
        }
    }

    #[test]
    fn a_changed_digit_among_the_first_ten_is_caught_by_the_first_weighing() {
        // 11 is prime: a change of one of the first ten digits moves the
        // first weighing's remainder; where neither the number's nor the
        // change's is 10, it is caught. (The eleventh weighs 11, nothing
        // modulo 11: the scheme does not catch it.)
        let weigh = |d: &[u8]| {
            d[..11]
                .iter()
                .zip(FIRST)
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum::<u32>()
                % 11
        };
        for number in [with_check("05034000123"), with_check("90041230012")] {
            assert_ne!(weigh(number.as_bytes()), 10, "{number}");
            for i in 0..10 {
                for replacement in b'0'..=b'9' {
                    let mut changed = number.as_bytes().to_vec();
                    if changed[i] == replacement {
                        continue;
                    }
                    changed[i] = replacement;
                    let first = weigh(&changed);
                    let changed = String::from_utf8(changed).unwrap();
                    if first != 10 {
                        assert_eq!(
                            checked(&changed).err(),
                            Some(IdError::CheckDigit),
                            "{changed}"
                        );
                    }
                }
            }
        }
    }
}
