//! Shared helpers for mace's benchmark binaries: timing statistics, peak memory, the Python
//! virtual environment that holds the peers, the machine's CPU figures (`sys`), and driving the
//! release `mace` binary over HTTP (`serve`).

pub mod serve;
pub mod sys;

use std::time::Duration;

/// Median, minimum and maximum of a set of timings, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn summary(xs: &[f64]) -> Summary {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let median = match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    Summary {
        median,
        min: v.first().copied().unwrap_or(f64::NAN),
        max: v.last().copied().unwrap_or(f64::NAN),
    }
}

/// The value at quantile `q` (0 to 1) of a sorted slice, nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// This process's peak resident set size in MiB (Linux), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The Python interpreter of the peers' virtual environment: `MACE_BENCH_PYTHON`, or
/// `target/bench-venv/bin/python` (made by `crates/bench/setup-peers.sh`).
pub fn peer_python() -> String {
    std::env::var("MACE_BENCH_PYTHON").unwrap_or_else(|_| "target/bench-venv/bin/python".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_quantiles() {
        let s = summary(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&d, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&d, 0.5), Duration::from_millis(50));
    }
}
