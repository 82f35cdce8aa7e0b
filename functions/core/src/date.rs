//! Dates on the wire are exactly `YYYY-MM-DD` (docs/API.md). chrono alone also
//! reads expanded years (`+262142-12-01`), which no passport holds and no
//! client could print back.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, de};

/// A date of the form `YYYY-MM-DD` and nothing else.
pub fn parse(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shape
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

/// For `#[serde(deserialize_with = "crate::date::ymd")]`.
pub fn ymd<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    // Owned: request bodies arrive as a serde_json::Value, which lends no &str.
    let s = String::deserialize(d).map_err(|_| de::Error::custom("a date as YYYY-MM-DD"))?;
    parse(&s).ok_or_else(|| de::Error::custom(format!("{s:?} is not a date as YYYY-MM-DD")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_digit_years_and_real_days() {
        assert_eq!(parse("1990-04-12"), NaiveDate::from_ymd_opt(1990, 4, 12));
        for bad in [
            "+262142-12-01",
            "-0001-01-01",
            "1990-4-12",
            "1990-02-30",
            "19900412",
            "1990-04-12T00:00:00Z",
            " 1990-04-12",
            "1990/04/12",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
