//! Time and identifiers as ports, so tests can pin them.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use rand::Rng;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today in Kazakhstan's time zone (UTC+5 since 2024), where stay
    /// windows are counted.
    fn today(&self) -> NaiveDate {
        (self.now() + chrono::Duration::hours(5)).date_naive()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// To the millisecond: instants go out as `...T04:38:52.249Z`, which
    /// every client parses (JavaScript's Date keeps milliseconds; Python's
    /// `%f` and `fromisoformat` before 3.11 refuse nine digits).
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

pub trait Ids: Send + Sync {
    /// A new, time-ordered unique id (ULID).
    fn new_id(&self) -> String;
    /// A new 12-digit invitation number.
    fn invitation_number(&self) -> String;
}

pub struct RandomIds;

impl Ids for RandomIds {
    fn new_id(&self) -> String {
        ulid::Ulid::new().to_string()
    }

    fn invitation_number(&self) -> String {
        let mut rng = rand::thread_rng();
        format!(
            "{:012}",
            rng.gen_range(100_000_000_000u64..1_000_000_000_000)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_go_out_to_the_millisecond() {
        let now = SystemClock.now();
        assert_eq!(now.timestamp_subsec_nanos() % 1_000_000, 0);
        let wire = serde_json::to_string(&now).unwrap();
        let fraction = wire.trim_matches('"').split('.').nth(1).unwrap_or("Z");
        assert!(fraction.len() <= 4, "{wire}");
    }
}
