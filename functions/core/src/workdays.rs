//! Kazakh working days: Monday to Friday, less public holidays and the
//! days off moved onto weekdays, plus the weekend days worked by transfer,
//! as `data/kz-calendar.tsv` lists them. The seed's duty on inviting
//! parties is counted in them: "the inviting persons inform the migration
//! authorities about arrived foreigners within three working days".

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Working days an inviting party has to file the arrival notice, counted
/// from the day after the entry.
pub const NOTICE_WORKING_DAYS: u32 = 3;
/// The working day (after the entry) on which an unfiled notice is
/// reminded.
pub const REMINDER_WORKING_DAY: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Holiday,
    DayOff,
    Working,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar line {line}: {reason}")]
pub struct CalendarError {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, (DayKind, String)>,
    years: BTreeSet<i32>,
}

impl Calendar {
    /// The calendar this build carries.
    pub fn builtin() -> &'static Calendar {
        static CALENDAR: OnceLock<Calendar> = OnceLock::new();
        CALENDAR.get_or_init(|| {
            Calendar::parse(include_str!("../data/kz-calendar.tsv")).expect("kz-calendar.tsv")
        })
    }

    /// `date<TAB>kind<TAB>name` lines; `#` comments. A date listed twice,
    /// a holiday on no date, or a "working" weekday is refused.
    pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        for (i, line) in text.lines().enumerate() {
            let err = |reason: &str| CalendarError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let (Some(date), Some(kind), Some(name), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(err("want date, kind and name, tab-separated"));
            };
            let date = crate::date::parse(date).ok_or_else(|| err("not a YYYY-MM-DD date"))?;
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let kind = match kind {
                "holiday" => DayKind::Holiday,
                "day-off" if !weekend => DayKind::DayOff,
                "day-off" => return Err(err("a day off on a weekend is no change")),
                "working" if weekend => DayKind::Working,
                "working" => return Err(err("a weekday is a working day already")),
                _ => return Err(err("kind is holiday, day-off or working")),
            };
            if name.trim().is_empty() {
                return Err(err("a day needs its name"));
            }
            if calendar
                .days
                .insert(date, (kind, name.trim().to_owned()))
                .is_some()
            {
                return Err(err("the date is listed twice"));
            }
            calendar.years.insert(date.year());
        }
        Ok(calendar)
    }

    /// Whether the calendar lists `year` (a year it does not list counts
    /// as Monday to Friday only).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        match self.days.get(&day) {
            Some((DayKind::Working, _)) => true,
            Some((DayKind::Holiday | DayKind::DayOff, _)) => false,
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `n`th working day after `day` (`day` itself not counted).
    pub fn working_day_after(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut at = day;
        let mut counted = 0;
        while counted < n {
            at = at.succ_opt().expect("a date before year 262143");
            if self.is_working_day(at) {
                counted += 1;
            }
        }
        at
    }

    /// The last day to file the arrival notice of an entry on `entered`.
    pub fn notice_due(&self, entered: NaiveDate) -> NaiveDate {
        self.working_day_after(entered, NOTICE_WORKING_DAYS)
    }

    /// The day an unfiled notice is reminded.
    pub fn reminder_day(&self, entered: NaiveDate) -> NaiveDate {
        self.working_day_after(entered, REMINDER_WORKING_DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::date::parse(s).unwrap()
    }

    #[test]
    fn an_entry_before_nauryz_waits_out_the_holidays_and_the_weekend() {
        let c = Calendar::builtin();
        // Friday 20 March 2026; then Nauryz (21-23), its two moved days off
        // (24, 25): Thursday 26 is the first working day, Monday 30 the third.
        assert_eq!(c.reminder_day(d("2026-03-20")), d("2026-03-27"));
        assert_eq!(c.notice_due(d("2026-03-20")), d("2026-03-30"));
        // An ordinary Wednesday: Thursday, Friday, Monday.
        assert_eq!(c.notice_due(d("2026-12-02")), d("2026-12-07"));
        // Tuesday 15 December 2026, across Independence Day (Wednesday 16).
        assert_eq!(c.notice_due(d("2026-12-15")), d("2026-12-21"));
        assert!(!c.is_working_day(d("2026-03-24")));
        assert!(c.is_working_day(d("2026-03-26")));
    }

    #[test]
    fn a_transferred_working_saturday_counts() {
        let c = Calendar::parse("2031-01-04\tworking\tTransfer\n2031-01-06\tday-off\tTransfer\n")
            .unwrap();
        // Friday 3 January 2031: Saturday 4 worked, Monday 6 off.
        assert_eq!(c.working_day_after(d("2031-01-03"), 1), d("2031-01-04"));
        assert_eq!(c.working_day_after(d("2031-01-03"), 2), d("2031-01-07"));
        assert!(c.covers(2031) && !c.covers(2030));
    }

    #[test]
    fn malformed_calendars_are_refused_with_their_line() {
        for (text, line) in [
            ("2026-01-01\tholiday\n", 1),
            ("# c\n2026-01-01\tfeast\tX\n", 2),
            ("2026-13-01\tholiday\tX\n", 1),
            ("2026-01-05\tworking\tMonday\n", 1),
            ("2026-01-03\tday-off\tSaturday\n", 1),
            ("2026-01-01\tholiday\tA\n2026-01-01\tholiday\tB\n", 2),
            ("2026-01-01\tholiday\t \n", 1),
        ] {
            assert_eq!(Calendar::parse(text).unwrap_err().line, line, "{text:?}");
        }
    }

    #[test]
    fn the_calendar_carries_the_years_ahead() {
        // From 1 December the next year must be in the file: the runbook's
        // yearly update (infra/README.md, "Working-day calendar").
        let today = chrono::Utc::now().date_naive();
        let c = Calendar::builtin();
        assert!(
            c.covers(today.year()),
            "kz-calendar.tsv lacks {}",
            today.year()
        );
        if today.month() == 12 {
            assert!(
                c.covers(today.year() + 1),
                "kz-calendar.tsv lacks {}",
                today.year() + 1
            );
        }
        // Every year listed has the fixed holidays.
        for year in c.years.iter() {
            for (m, day) in [
                (1, 1),
                (1, 7),
                (3, 8),
                (3, 21),
                (5, 1),
                (5, 9),
                (7, 6),
                (8, 30),
                (10, 25),
                (12, 16),
            ] {
                let date = NaiveDate::from_ymd_opt(*year, m, day).unwrap();
                assert_eq!(
                    c.days.get(&date).map(|d| d.0),
                    Some(DayKind::Holiday),
                    "{date}"
                );
            }
        }
    }
}
