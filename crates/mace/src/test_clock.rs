//! A clock the browser tests can move forward, so deadlines (reviews falling overdue) can be
//! shown in a real browser against the real server. Only debug builds honour it, and only when
//! `MACE_TEST_CLOCK_FILE` names a file: the file holds a number of seconds added to the system
//! clock (read on every call; missing or unreadable means no offset). Release builds always use
//! the system clock.

use mace_domain::{Clock, Ctx, SystemClock, UuidV7Ids};
use std::path::PathBuf;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The system clock plus the offset in a file.
#[derive(Debug)]
struct OffsetClock {
    file: PathBuf,
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        let offset = std::fs::read_to_string(&self.file)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        SystemClock.now() + Duration::seconds(offset)
    }
}

/// The context `mace serve` runs with: the system's, or (debug builds, variable set) one whose
/// clock the tests move.
pub fn serve_ctx() -> Ctx {
    match std::env::var_os("MACE_TEST_CLOCK_FILE") {
        Some(file) if cfg!(debug_assertions) => {
            tracing::warn!("test clock in use: times follow MACE_TEST_CLOCK_FILE");
            Ctx::new(
                Arc::new(OffsetClock { file: file.into() }),
                Arc::new(UuidV7Ids),
            )
        }
        _ => Ctx::system(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_the_clock_and_nothing_means_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clock");
        let c = OffsetClock { file: file.clone() };
        let before = SystemClock.now();
        assert!((c.now() - before).abs() < Duration::minutes(1));
        std::fs::write(&file, "86400\n").unwrap();
        assert!(c.now() - before >= Duration::hours(23));
    }
}
