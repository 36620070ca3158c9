//! The injected clock. Production uses [`SystemClock`]; tests use [`ManualClock`] so that
//! deadlines, reminders and session expiry can be tested without sleeping.
//!
//! Every time mace handles is UTC and truncated to whole microseconds, PostgreSQL's precision,
//! so a value round-trips through either database unchanged.

use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime, UtcOffset};

pub trait Clock: Send + Sync + 'static {
    /// The current instant, UTC, truncated to microseconds.
    fn now(&self) -> OffsetDateTime;
}

/// Truncate to whole microseconds and normalise to UTC.
pub fn normalise(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

/// Microseconds since the Unix epoch (the SQLite encoding of a timestamp).
pub fn to_unix_micros(t: OffsetDateTime) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000)).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// Inverse of [`to_unix_micros`]; `None` when out of the representable range.
pub fn from_unix_micros(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one production reading of the wall clock
    fn now(&self) -> OffsetDateTime {
        normalise(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(normalise(start))),
        }
    }

    /// A fixed, memorable start: 2026-01-05 09:00:00 UTC (a Monday).
    pub fn default_start() -> Self {
        Self::new(time::macros::datetime!(2026-01-05 09:00:00 UTC))
    }

    pub fn advance(&self, by: Duration) {
        let mut guard = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *guard = normalise(*guard + by);
    }

    pub fn set(&self, to: OffsetDateTime) {
        let mut guard = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *guard = normalise(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_advances_and_truncates() {
        let c = ManualClock::new(datetime!(2026-01-01 00:00:00.123456789 UTC));
        assert_eq!(c.now(), datetime!(2026-01-01 00:00:00.123456 UTC));
        c.advance(Duration::minutes(15));
        assert_eq!(c.now(), datetime!(2026-01-01 00:15:00.123456 UTC));
        let shared = c.clone();
        shared.advance(Duration::seconds(1));
        assert_eq!(c.now(), datetime!(2026-01-01 00:15:01.123456 UTC));
    }

    #[test]
    fn micros_round_trip_including_before_epoch() {
        for t in [
            datetime!(2026-11-23 10:11:12.654321 UTC),
            datetime!(1969-12-31 23:59:59.999999 UTC),
            datetime!(1900-01-01 00:00:00 UTC),
        ] {
            assert_eq!(from_unix_micros(to_unix_micros(t)), Some(t));
        }
    }

    #[test]
    fn system_clock_is_utc_and_whole_micros() {
        let t = SystemClock.now();
        assert_eq!(t.offset(), UtcOffset::UTC);
        assert_eq!(t.nanosecond() % 1_000, 0);
    }
}
