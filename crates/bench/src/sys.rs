//! The machine while a benchmark runs (Linux `/proc`): CPU used by a process and by the whole
//! machine, pressure stall figures, context switches, and waiting for other processes to quieten.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `program`, run under `nice -n N` when a niceness is given (negative: ahead of the machine's
/// other processes, which is how to tell contention from mace's own cost).
pub fn command(program: &Path, nice: Option<i32>) -> Command {
    match nice {
        Some(n) => {
            let mut c = Command::new("nice");
            c.args(["-n", &n.to_string()]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// User + system CPU seconds a process has used so far (Linux).
pub fn proc_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Seconds in which some task on the machine waited for `resource` (`cpu` or `io`): Linux's
/// pressure stall information, a direct measure of contention from other processes.
pub fn stall_secs(resource: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/pressure/{resource}")).ok()?;
    let some = text.lines().find(|l| l.starts_with("some"))?;
    let total: f64 = some
        .split_whitespace()
        .find_map(|f| f.strip_prefix("total="))?
        .parse()
        .ok()?;
    Some(total / 1e6)
}

/// Context switches of all a process's threads so far (voluntary and not).
pub fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let status = std::fs::read_to_string(t.ok()?.path().join("status")).ok()?;
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(total)
}

/// The share of the last 10 s in which some task waited for a CPU (percent).
pub fn cpu_pressure_avg10() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|l| l.starts_with("some"))?;
    some.split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// Wait, at most `max` seconds, until other processes leave the CPUs mostly free (the server is
/// idle between runs, so the pressure is theirs). Returns a note for the report.
pub fn wait_for_quiet(max: u64) -> String {
    let t = Instant::now();
    let limit = 20.0;
    loop {
        let p = cpu_pressure_avg10();
        let waited = t.elapsed().as_secs();
        match p {
            None => return "CPU pressure unknown".into(),
            Some(p) if p < limit => {
                return format!("CPU pressure {p:.0} % (waited {waited} s)");
            }
            Some(p) if waited >= max => {
                return format!(
                    "CPU pressure still {p:.0} % after {waited} s: other processes are busy"
                );
            }
            Some(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

/// CPU seconds the whole machine has been busy (all cores, idle and I/O wait left out).
pub fn machine_busy_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = f.iter().take(8).sum();
    Some((total - f.get(3)? - f.get(4)?) / 100.0)
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
