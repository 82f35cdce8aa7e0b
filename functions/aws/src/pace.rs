//! Keeps one sender within its share of a rate quota (SES's maximum send
//! rate): calls are spaced at least an interval apart, so several
//! concurrent senders, each with rate / senders, stay within the account's
//! rate instead of being refused and retried.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct Pace {
    interval: Duration,
    /// The earliest moment the next call may start.
    next: Mutex<Option<Instant>>,
}

impl Pace {
    /// `senders` concurrent senders sharing `rate` calls a second: each
    /// waits `senders / rate` seconds between its calls. `None` when
    /// either is not a positive number (no pacing asked for).
    pub fn share(rate: f64, senders: f64) -> Option<Pace> {
        (rate > 0.0 && senders > 0.0 && rate.is_finite() && senders.is_finite()).then(|| Pace {
            interval: Duration::from_secs_f64(senders / rate),
            next: Mutex::new(None),
        })
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for this call's turn.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        let (start, following) = slot(Instant::now(), *next, self.interval);
        *next = Some(following);
        tokio::time::sleep_until(start).await;
    }
}

/// When a call made at `now` may start, given the earliest start `next`
/// the previous call left, and the earliest start it leaves for the one
/// after it.
fn slot(now: Instant, next: Option<Instant>, interval: Duration) -> (Instant, Instant) {
    let start = next.map_or(now, |n| n.max(now));
    (start, start + interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sender_takes_its_share_of_the_rate() {
        let pace = Pace::share(14.0, 2.0).unwrap();
        assert_eq!(pace.interval(), Duration::from_secs_f64(2.0 / 14.0));
        assert!(Pace::share(0.0, 2.0).is_none());
        assert!(Pace::share(14.0, 0.0).is_none());
        assert!(Pace::share(f64::NAN, 2.0).is_none());
    }

    #[test]
    fn calls_in_a_burst_are_spaced_and_a_late_call_starts_at_once() {
        let t0 = Instant::now();
        let gap = Duration::from_millis(100);
        let (first, next) = slot(t0, None, gap);
        assert_eq!((first, next), (t0, t0 + gap));
        // Three more at the same moment: each one interval after the last.
        let (second, next) = slot(t0, Some(next), gap);
        let (third, next) = slot(t0, Some(next), gap);
        assert_eq!((second, third), (t0 + gap, t0 + gap * 2));
        // A call long after the last: no wait, and the spacing restarts.
        let later = t0 + Duration::from_secs(5);
        let (start, after) = slot(later, Some(next), gap);
        assert_eq!((start, after), (later, later + gap));
    }
}
