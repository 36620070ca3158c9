//! A child's record page under load (issue 4): the release `mace serve` on SQLite, a child with
//! 200 chronology entries from several agencies among demo background data, a user who signed in
//! as a browser does (password, then authenticator enrolment), and `oha` offering a fixed rate of
//! requests over loopback with latency correction (open loop, so queueing shows). Then, unless
//! `--no-sweep`, the closed-loop saturation throughput and the latency at 25/50/75 % of it.
//! Target: p99 under 20 ms at 200 requests per second on the 2-core machine.
//!
//! `crates/bench/setup-tools.sh` (once: oha, pinned, into target/bench-tools), then
//! `cargo run --release -p mace-bench --bin page_load [-- OPTIONS]`:
//!
//! | option | default | |
//! |---|---|---|
//! | `--rate N`, `--duration S`, `--rounds N` | 200, 30, 3 | the fixed-rate runs (after `--warmup S`, 5) |
//! | `--connections N` | 50 | oha's connections for the fixed-rate runs (16 for saturation) |
//! | `--entries N`, `--people N`, `--background N` | 200, 2000, 800 | the child's concerns, demo people, other children's concerns |
//! | `--no-sweep`, `--sweep-duration S` | sweep, 15 | saturation and 25/50/75 % of it |
//! | `--quiet-wait S` | 120 | before each run, wait up to S s for other processes' CPU pressure to drop under 20 % |
//! | `--nice N` | none | run the server and oha under `nice -n N` |
//! | `--mace PATH`, `--oha PATH`, `--data-dir DIR` | builds `target/release/mace`; `target/bench-tools/bin/oha`; `target/bench-data/page_load` (emptied first) | |
//!
//! Data is made through the real binary only: `mace serve --demo` (demo organisations, accounts
//! and people), `mace user add --password-stdin` (the viewer), `mace token create` (one token per
//! raising account), and the JSON API (`POST /api/v1/concerns`) for the concerns. Every request
//! goes to 127.0.0.1 only, and every run is bounded in time (oha `-z`, with a backstop).
//! The machine is shared: each run reports the CPU used by the server, oha and everything else,
//! and Linux's pressure stall figures, so a run spoiled by another process shows as such.

use anyhow::{Context, Result, bail, ensure};
use mace_domain::identity::totp;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The demo accounts (`mace serve --demo`) that raise the concerns: four agencies.
const RAISERS: &[&str] = &[
    "dsl@school.demo.invalid",
    "teacher@school.demo.invalid",
    "social.worker@csc.demo.invalid",
    "intel@police.demo.invalid",
    "worker@exploitation.demo.invalid",
];
const SCHOOL: &str = "Thames Estuary Academy";
const VIEWER: &str = "page.load@school.bench.invalid";
const SESSION_COOKIE: &str = "__Host-mace_session";

/// Environment variables that would point mace somewhere else than the bench's data directory.
const MACE_ENV: &[&str] = &[
    "DATABASE_URL",
    "MACE_DATABASE_URL",
    "MACE_DATA_DIR",
    "MACE_CONFIG",
    "MACE_ADDR",
    "MACE_DEMO",
    "MACE_AUDIT_KEY_FILE",
    "MACE_LOG_LEVEL",
    "MACE_LOG_FORMAT",
];

const NARRATIVES: &[&str] = &[
    "Seen getting into a car with older males outside school at lunchtime; came back late with new trainers.",
    "Reported missing overnight and returned with a new phone and cash that could not be explained.",
    "Told a youth worker that an adult met online sends gifts and asks for messages to be kept secret.",
    "Found with a large amount of cannabis in a bag and said it belonged to a friend.",
    "Has been travelling to another town on school days; train tickets found in a coat pocket.",
    "Mother says older young people collect the child from home late at night.",
    "Attended A&E with a cut to the hand; would not say how it happened.",
    "Attendance has fallen to 60 per cent this term; seen near the station during lessons.",
    "A second phone rings repeatedly during lessons; the child becomes anxious when it does.",
    "Police stop: found in a vehicle with two adults known for supplying drugs.",
    "Said they owe money to someone and have to work it off.",
    "Shared a social media post showing a large amount of cash and designer clothing.",
];
const LOCATIONS: &[&str] = &[
    "outside the school gates",
    "Southend Central station",
    "the high street",
    "the youth centre",
    "home address",
    "the park near the estate",
    "",
];
const TYPES: &[&str] = &[
    "sexual",
    "criminal",
    "county_lines",
    "trafficking",
    "online",
    "other",
];
const INDICATORS: &[&str] = &[
    "missing",
    "older_associates",
    "gifts_money",
    "vehicles",
    "locations",
    "online",
    "substances",
    "education",
    "injuries",
    "behaviour",
    "travel_out_of_area",
    "debt_control",
];

struct Args {
    entries: usize,
    rate: u32,
    duration: u64,
    warmup: u64,
    connections: u32,
    people: usize,
    background: usize,
    rounds: u32,
    nice: Option<i32>,
    quiet_wait: u64,
    sweep: bool,
    sweep_duration: u64,
    mace: Option<PathBuf>,
    oha: PathBuf,
    data: PathBuf,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse_args() -> Result<Args> {
    let root = repo_root();
    let mut a = Args {
        entries: 200,
        rate: 200,
        duration: 30,
        warmup: 5,
        connections: 50,
        people: 2000,
        background: 800,
        rounds: 3,
        nice: None,
        quiet_wait: 120,
        sweep: true,
        sweep_duration: 15,
        mace: None,
        oha: std::env::var_os("MACE_BENCH_OHA")
            .map_or_else(|| root.join("target/bench-tools/bin/oha"), PathBuf::from),
        data: root.join("target/bench-data/page_load"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--entries" => a.entries = val()?.parse()?,
            "--rate" => a.rate = val()?.parse()?,
            "--duration" => a.duration = val()?.parse()?,
            "--warmup" => a.warmup = val()?.parse()?,
            "--connections" => a.connections = val()?.parse()?,
            "--rounds" => a.rounds = val()?.parse()?,
            "--nice" => a.nice = Some(val()?.parse()?),
            "--quiet-wait" => a.quiet_wait = val()?.parse()?,
            "--people" => a.people = val()?.parse()?,
            "--background" => a.background = val()?.parse()?,
            "--sweep-duration" => a.sweep_duration = val()?.parse()?,
            "--no-sweep" => a.sweep = false,
            "--mace" => a.mace = Some(val()?.into()),
            "--oha" => a.oha = val()?.into(),
            "--data-dir" => a.data = val()?.into(),
            "--bench" => {}
            other => bail!(
                "unknown argument {other}; see the options at the top of crates/bench/src/bin/page_load.rs"
            ),
        }
    }
    ensure!(
        a.rate > 0 && a.duration > 0 && a.duration <= 600,
        "--rate must be positive and --duration 1 to 600 seconds"
    );
    ensure!(a.sweep_duration <= 120, "--sweep-duration at most 120 s");
    ensure!((1..=10).contains(&a.rounds), "--rounds 1 to 10");
    ensure!(a.quiet_wait <= 600, "--quiet-wait at most 600 s");
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// The server

/// `program`, run under `nice -n N` when a niceness is given (negative: ahead of the machine's
/// other processes, which is how to tell contention from mace's own cost).
fn command(program: &Path, nice: Option<i32>) -> Command {
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
fn proc_cpu_secs(pid: u32) -> Option<f64> {
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
fn stall_secs(resource: &str) -> Option<f64> {
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
fn context_switches(pid: u32) -> Option<u64> {
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
fn cpu_pressure_avg10() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|l| l.starts_with("some"))?;
    some.split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// Wait, at most `max` seconds, until other processes leave the CPUs mostly free (the server is
/// idle between runs, so the pressure is theirs). Returns a note for the report.
fn wait_for_quiet(max: u64) -> String {
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
fn machine_busy_secs() -> Option<f64> {
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

/// The `mace serve` child process; stopped (SIGTERM, then SIGKILL) when dropped, also on error.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(mace: &Path, data: &Path, people: usize, nice: Option<i32>) -> Result<Self> {
        let mut cmd = command(mace, nice);
        cmd.args(["serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("MACE_DEMO_PEOPLE", people.to_string())
            .env("MACE_DEMO_SEED", "2026")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(data.join("server.log"))
                    .context("cannot create the server log")?,
            ));
        for v in MACE_ENV {
            cmd.env_remove(v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", mace.display()))?;
        let stdout = child.stdout.take().context("no stdout from mace")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        // Keep draining stdout for the server's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_secs(1))) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("mace listening on http://") {
                        server.addr = a.trim().parse().context("cannot read mace's address")?;
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    bail!(
                        "mace serve stopped before listening; see {}",
                        data.join("server.log").display()
                    )
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "mace serve exited ({status}); see {}",
                    data.join("server.log").display()
                );
            }
            if left.is_zero() {
                bail!("mace serve did not start listening within 10 minutes");
            }
        }
        ensure!(
            server.addr.ip().is_loopback() && server.addr.port() != 0,
            "mace listens on {}, not loopback",
            server.addr
        );
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run a `mace` command against the bench's data directory; its standard output.
fn mace_cli(mace: &Path, data: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(mace);
    cmd.args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in MACE_ENV {
        cmd.env_remove(v);
    }
    cmd.env("MACE_LOG_LEVEL", "warn");
    let mut child = cmd.spawn().context("cannot run mace")?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().context("no stdin for mace")?;
        writeln!(pipe, "{input}")?;
    }
    let out = child.wait_with_output()?;
    ensure!(
        out.status.success(),
        "mace {} failed: {}",
        args.first().copied().unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------
// A small HTTP/1.1 client over std, for setting up and checking (one connection per request).

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).with_context(|| {
            format!(
                "not JSON ({}): {}",
                self.status,
                self.body.chars().take(200).collect::<String>()
            )
        })
    }
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(&str, String)>,
) -> Result<Reply> {
    let timeout = Duration::from_secs(60);
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = match body {
        Some((ctype, b)) => {
            req.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
                b.len()
            ));
            b
        }
        None => String::new(),
    };
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers in the reply")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status in the reply")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .context("bad chunk")?;
            let size_line = String::from_utf8_lossy(&rest[..eol]).into_owned();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .context("bad chunk size")?;
            if size == 0 {
                break;
            }
            let (start, end) = (eol + 2, eol + 2 + size);
            ensure!(rest.len() >= end, "short chunk");
            out.extend_from_slice(&rest[start..end]);
            rest = rest.get(end + 2..).unwrap_or_default().to_vec();
        }
        rest = out;
    }
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&rest).into_owned(),
    })
}

fn api(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Reply> {
    let headers = [
        ("Authorization", format!("Bearer {token}")),
        ("Accept", "application/json".to_string()),
    ];
    http(
        addr,
        method,
        path,
        &headers,
        body.map(|b| ("application/json", b.to_string())),
    )
}

/// A browser's cookie jar and form handling, enough for signing in.
struct Browser {
    addr: SocketAddr,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take_cookies(&mut self, r: &Reply) {
        for (k, v) in &r.headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            if let Some((name, val)) = kv.split_once('=') {
                if attrs.contains("Max-Age=0") {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies.insert(name.trim().into(), val.trim().into());
                }
            }
        }
    }

    fn get(&mut self, path: &str) -> Result<Reply> {
        let headers = [
            ("Cookie", self.cookie_header()),
            ("Accept", "text/html".to_string()),
            ("Sec-Fetch-Site", "same-origin".to_string()),
        ];
        let r = http(self.addr, "GET", path, &headers, None)?;
        self.take_cookies(&r);
        Ok(r)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Reply> {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let headers = [
            ("Cookie", self.cookie_header()),
            ("Accept", "text/html".to_string()),
            ("Sec-Fetch-Site", "same-origin".to_string()),
            ("Origin", format!("http://{}", self.addr)),
        ];
        let r = http(
            self.addr,
            "POST",
            path,
            &headers,
            Some(("application/x-www-form-urlencoded", body)),
        )?;
        self.take_cookies(&r);
        Ok(r)
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of the page's first `csrf_token` field.
fn csrf(page: &str) -> Result<String> {
    let at = page
        .find("name=\"csrf_token\" value=\"")
        .context("no csrf_token field on the page")?;
    let rest = &page[at + "name=\"csrf_token\" value=\"".len()..];
    Ok(rest.split('"').next().unwrap_or_default().to_string())
}

/// The text inside the element with this id (no nested elements).
fn element_text(page: &str, id: &str) -> Result<String> {
    let at = page
        .find(&format!("id=\"{id}\""))
        .with_context(|| format!("no #{id} on the page"))?;
    let rest = &page[at..];
    let open = rest.find('>').context("unclosed tag")?;
    let close = rest.find('<').filter(|c| *c > open).context("no text")?;
    Ok(rest[open + 1..close].trim().to_string())
}

fn current_code(secret: &[u8]) -> Result<String> {
    let now = mace_domain::Clock::now(&mace_domain::SystemClock);
    let step = u64::try_from(totp::step_at(now)).context("the clock is before 1970")?;
    Ok(format!("{:06}", totp::hotp(secret, step, 6)))
}

/// Sign in as a browser does: the sign-in form (its CSRF token and pre-sign-in cookie), the
/// password, then the first-sign-in authenticator enrolment with a code from the setup key.
/// Returns the full session's cookie value.
fn sign_in(addr: SocketAddr, email: &str, password: &str, next: &str) -> Result<String> {
    let mut b = Browser {
        addr,
        cookies: BTreeMap::new(),
    };
    let form = b.get(&format!("/sign-in?next={}", enc(next)))?;
    ensure!(form.status == 200, "sign-in form: {}", form.status);
    let token = csrf(&form.body)?;
    let r = b.post(
        "/sign-in",
        &[
            ("csrf_token", &token),
            ("email", email),
            ("password", password),
            ("next", next),
        ],
    )?;
    let to = r.header("location").unwrap_or_default().to_string();
    ensure!(
        (300..400).contains(&r.status) && to.starts_with("/mfa/enrol"),
        "sign-in: expected a redirect to /mfa/enrol, got {} to {to:?}",
        r.status
    );
    let enrol = b.get(&to)?;
    ensure!(enrol.status == 200, "enrolment page: {}", enrol.status);
    let secret = totp::decode_secret(&element_text(&enrol.body, "setup-key")?)
        .context("the setup key is not base32")?;
    let token = csrf(&enrol.body)?;
    let done = b.post(
        "/mfa/enrol",
        &[
            ("csrf_token", &token),
            ("code", &current_code(&secret)?),
            ("next", next),
        ],
    )?;
    ensure!(
        done.status == 200 && done.body.contains("recovery codes"),
        "enrolment: {} (not the recovery codes page)",
        done.status
    );
    b.cookies
        .get(SESSION_COOKIE)
        .cloned()
        .context("no session cookie after enrolment")
}

// ---------------------------------------------------------------------------------------------
// Data

fn rfc3339(t: time::OffsetDateTime) -> Result<String> {
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

fn concern_body(
    rng: &mut ChaCha8Rng,
    child: &str,
    days_ago: i64,
    front_door: bool,
) -> Result<Value> {
    let now = mace_domain::Clock::now(&mace_domain::SystemClock);
    let observed =
        now - time::Duration::days(days_ago) - time::Duration::minutes(rng.random_range(0..1440));
    let (n_types, n_indicators) = (rng.random_range(1..=2), rng.random_range(0..=3));
    let types: Vec<&str> = TYPES.choose_multiple(rng, n_types).copied().collect();
    let indicators: Vec<&str> = INDICATORS
        .choose_multiple(rng, n_indicators)
        .copied()
        .collect();
    Ok(json!({
        "person_id": child,
        "narrative": NARRATIVES.choose(rng).copied().unwrap_or_default(),
        "exploitation_types": types,
        "indicators": indicators,
        "observed_at": rfc3339(observed)?,
        "location": LOCATIONS.choose(rng).copied().unwrap_or_default(),
        "to_front_door": front_door,
        "actions_taken": "Recorded and passed to the designated safeguarding lead.",
    }))
}

fn raise(addr: SocketAddr, token: &str, body: Value) -> Result<()> {
    let r = api(addr, token, "POST", "/api/v1/concerns", Some(body))?;
    ensure!(
        r.status == 201,
        "raising a concern: {} {}",
        r.status,
        r.body.chars().take(300).collect::<String>()
    );
    Ok(())
}

fn children_of(addr: SocketAddr, token: &str) -> Result<Vec<String>> {
    let r = api(addr, token, "GET", "/api/v1/children", None)?;
    ensure!(r.status == 200, "listing children: {}", r.status);
    Ok(r.json()?["children"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

fn chronology_len(addr: SocketAddr, token: &str, child: &str) -> Result<usize> {
    let r = api(
        addr,
        token,
        "GET",
        &format!("/api/v1/children/{child}"),
        None,
    )?;
    ensure!(
        r.status == 200,
        "opening the record over the API: {}",
        r.status
    );
    Ok(r.json()?["chronology"].as_array().map_or(0, Vec::len))
}

fn audit_events(mace: &Path, data: &Path) -> Result<u64> {
    let out = mace_cli(mace, data, &["audit", "verify"], None)?;
    out.split_whitespace()
        .skip_while(|w| *w != "OK:")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("unexpected audit verify output: {out}"))
}

// ---------------------------------------------------------------------------------------------
// Load

/// One oha run's figures (oha's JSON output).
struct Run {
    requests: u64,
    ok: u64,
    rps: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    other: String,
    /// Server CPU milliseconds per request.
    server_ms: f64,
    /// The server's context switches (all threads) per request.
    switches: f64,
    /// Cores used on average by oha, and by every other process on the machine.
    oha_cores: f64,
    others_cores: f64,
    /// The machine before the run.
    quiet: String,
    /// Share of the run's time in which some task waited for a CPU, or for I/O (percent).
    cpu_stall: f64,
    io_stall: f64,
}

fn oha_version(oha: &Path) -> Result<String> {
    let out = Command::new(oha)
        .arg("--version")
        .output()
        .with_context(|| {
            format!(
                "cannot run {}: install it with crates/bench/setup-tools.sh (or set MACE_BENCH_OHA)",
                oha.display()
            )
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What every load run shares: the generator, the server, the page and the session.
struct Load {
    oha: PathBuf,
    server: u32,
    url: String,
    cookie: String,
    nice: Option<i32>,
    quiet_wait: u64,
}

/// Drive the page with oha for `secs` seconds: at a fixed `rate` (open loop, latency measured
/// from each request's scheduled time), or closed loop when `rate` is `None`.
fn oha(l: &Load, out: &Path, secs: u64, rate: Option<f64>, connections: u32) -> Result<Run> {
    let (server, cookie) = (l.server, &l.cookie);
    let quiet = wait_for_quiet(l.quiet_wait);
    let mut cmd = command(&l.oha, l.nice);
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--redirect",
        "0",
        "-w",
    ])
    .args(["-z", &format!("{secs}s"), "-c", &connections.to_string()])
    .args(["-H", &format!("Cookie: {SESSION_COOKIE}={cookie}")])
    .args(["-H", "Accept: text/html"]);
    if let Some(q) = rate {
        cmd.args(["-q", &format!("{q:.1}"), "--latency-correction"]);
    }
    cmd.arg(&l.url)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(out)?))
        .stderr(Stdio::piped());
    let (server0, busy0, t0) = (proc_cpu_secs(server), machine_busy_secs(), Instant::now());
    let (cpu_stall0, io_stall0) = (stall_secs("cpu"), stall_secs("io"));
    let switches0 = context_switches(server);
    let mut child = cmd.spawn().context("cannot start oha")?;
    // oha stops itself after `secs`; this is the backstop.
    let deadline = Instant::now() + Duration::from_secs(secs + 60);
    let mut oha_cpu = 0.0;
    let status = loop {
        if let Some(c) = proc_cpu_secs(child.id()) {
            oha_cpu = c;
        }
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("oha did not finish within {} s", secs + 60);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    ensure!(status.success(), "oha failed: {}", err.trim());
    let wall = t0.elapsed().as_secs_f64();
    let server_cpu = match (server0, proc_cpu_secs(server)) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let busy = match (busy0, machine_busy_secs()) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let switches = match (switches0, context_switches(server)) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64,
        _ => f64::NAN,
    };
    let stalled = |before: Option<f64>, resource: &str| match (before, stall_secs(resource)) {
        (Some(a), Some(b)) => (b - a) * 100.0 / wall,
        _ => f64::NAN,
    };
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out)?)
        .context("cannot read oha's JSON output")?;
    let s = &v["summary"];
    let p = &v["latencyPercentiles"];
    let f = |x: &Value| x.as_f64().unwrap_or(f64::NAN) * 1e3;
    let codes = v["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let errors = v["errorDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let count =
        |m: &serde_json::Map<String, Value>| m.values().filter_map(Value::as_u64).sum::<u64>();
    let ok = codes.get("200").and_then(Value::as_u64).unwrap_or(0);
    let requests = count(&codes) + count(&errors);
    let mut other: Vec<String> = codes
        .iter()
        .filter(|(k, _)| k.as_str() != "200")
        .map(|(k, n)| format!("{n} × HTTP {k}"))
        .collect();
    other.extend(errors.iter().map(|(k, n)| format!("{n} × {k}")));
    Ok(Run {
        requests,
        ok,
        rps: s["requestsPerSec"].as_f64().unwrap_or(f64::NAN),
        p50: f(&p["p50"]),
        p99: f(&p["p99"]),
        p999: f(&p["p99.9"]),
        max: f(&s["slowest"]),
        other: if other.is_empty() {
            "none".into()
        } else {
            other.join(", ")
        },
        server_ms: server_cpu * 1e3 / requests.max(1) as f64,
        switches: switches / requests.max(1) as f64,
        oha_cores: oha_cpu / wall,
        others_cores: ((busy - server_cpu - oha_cpu) / wall).max(0.0),
        quiet,
        cpu_stall: stalled(cpu_stall0, "cpu"),
        io_stall: stalled(io_stall0, "io"),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn print_run(label: &str, r: &Run) {
    println!(
        "  {label}: {} requests, {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms, errors {} ({})",
        r.requests,
        r.rps,
        r.p50,
        r.p99,
        r.p999,
        r.max,
        r.requests - r.ok,
        r.other
    );
    println!(
        "    CPU: server {:.2} ms and {:.0} context switches per request; oha {:.2} cores; other processes on the machine {:.2} cores; some task waiting for a CPU {:.0} % of the time, for I/O {:.0} % (before: {})",
        r.server_ms, r.switches, r.oha_cores, r.others_cores, r.cpu_stall, r.io_stall, r.quiet
    );
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let root = repo_root();
    let oha_v = oha_version(&a.oha)?;
    let mace = match &a.mace {
        Some(m) => m.clone(),
        None => {
            let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args([
                    "build",
                    "--release",
                    "--quiet",
                    "-p",
                    "mace",
                    "--bin",
                    "mace",
                ])
                .current_dir(&root)
                .status()
                .context("cannot run cargo to build mace")?;
            ensure!(
                st.success(),
                "building the release mace binary failed (or pass --mace PATH to a built one)"
            );
            root.join("target/release/mace")
        }
    };
    let mace_v = Command::new(&mace)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", mace.display()))?;
    let mace_v = String::from_utf8_lossy(&mace_v.stdout).trim().to_string();

    // A fresh data directory every run.
    if a.data.exists() {
        std::fs::remove_dir_all(&a.data)
            .with_context(|| format!("cannot clear {}", a.data.display()))?;
    }
    std::fs::create_dir_all(&a.data)?;
    let data = a.data.canonicalize()?;
    println!(
        "page_load: {mace_v} (release, SQLite in {}), {oha_v}, {} cores, load average {}",
        data.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );

    let t = Instant::now();
    let mut server = Server::start(&mace, &data, a.people, a.nice)?;
    let addr = server.addr;
    println!(
        "  mace serve --demo on {addr} (pid {}{}), {} demo people: {:.1} s",
        server.pid(),
        a.nice
            .map(|n| format!("; server and oha under nice -n {n}"))
            .unwrap_or_default(),
        a.people,
        t.elapsed().as_secs_f64()
    );

    // The viewer: a designated safeguarding lead at the demo school, made with the CLI.
    let password = {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut r = rand::rng();
        (0..24)
            .map(|_| ALPHABET[r.random_range(0..ALPHABET.len())] as char)
            .collect::<String>()
    };
    mace_cli(
        &mace,
        &data,
        &[
            "user",
            "add",
            "--email",
            VIEWER,
            "--name",
            "Robin Page-Load",
            "--org",
            SCHOOL,
            "--org-type",
            "school",
            "--role",
            "designated_safeguarding_lead",
            "--password-stdin",
        ],
        Some(&password),
    )?;
    let mut tokens = Vec::new();
    for email in RAISERS {
        let out = mace_cli(
            &mace,
            &data,
            &[
                "token",
                "create",
                "--email",
                email,
                "--name",
                "page-load bench",
                "--scope",
                "write",
                "--days",
                "1",
            ],
            None,
        )?;
        let token = out
            .lines()
            .find_map(|l| l.strip_prefix("token, shown once: "))
            .context("mace token create printed no token")?;
        tokens.push(token.trim().to_string());
    }

    // The child: one the school knows (a generated demo child) with nothing recorded yet.
    let school = tokens.first().context("no tokens")?.clone();
    let mut child = None;
    for id in children_of(addr, &school)? {
        if chronology_len(addr, &school, &id)? == 0 {
            child = Some(id);
            break;
        }
    }
    let child = child.context("no child without a chronology among the school's children")?;

    // The child's concerns, from every raising account in turn (four agencies), spread over
    // about two years, one in eight also sent to the front door; then background concerns about
    // other children each agency knows.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let t = Instant::now();
    for i in 0..a.entries {
        let token = &tokens[i % tokens.len()];
        let days = ((a.entries - i) * 730 / a.entries.max(1)) as i64;
        let body = concern_body(&mut rng, &child, days, i % 8 == 5)?;
        raise(addr, token, body)?;
    }
    // Each account with children in its lists (a practitioner's list may be empty).
    let mut known: Vec<(&String, Vec<String>)> = Vec::new();
    for tk in &tokens {
        let others: Vec<String> = children_of(addr, tk)?
            .into_iter()
            .filter(|c| *c != child)
            .collect();
        if !others.is_empty() {
            known.push((tk, others));
        }
    }
    ensure!(
        !known.is_empty() || a.background == 0,
        "no account sees other children"
    );
    for i in 0..a.background {
        let (tk, others) = &known[i % known.len()];
        let other = others.choose(&mut rng).context("no other child")?;
        let days = rng.random_range(0..730);
        let body = concern_body(&mut rng, other, days, i % 8 == 5)?;
        raise(addr, tk, body)?;
    }
    let raised = t.elapsed();
    let entries = chronology_len(addr, &school, &child)?;
    ensure!(
        entries == a.entries,
        "the child's chronology has {entries} entries over the API, not {}",
        a.entries
    );
    println!(
        "  data: child {child} with {entries} chronology entries (concerns from {} accounts in 4 agencies), {} background concerns about {} accounts' other children; raised over the API in {:.1} s",
        tokens.len(),
        a.background,
        known.len(),
        raised.as_secs_f64()
    );

    // Sign in as a browser, and check the page.
    let path = format!("/children/{child}");
    let cookie = sign_in(addr, VIEWER, &password, &path)?;
    let mut viewer = Browser {
        addr,
        cookies: BTreeMap::from([(SESSION_COOKIE.to_string(), cookie.clone())]),
    };
    let page = viewer.get(&path)?;
    let rows = page.body.matches("id=\"entry-").count();
    ensure!(
        page.status == 200
            && rows == a.entries
            && page
                .body
                .contains(&format!("Showing {0} of {0} entries", a.entries)),
        "GET {path}: {} with {rows} entries",
        page.status
    );
    println!(
        "  signed in as {VIEWER} (password, then authenticator enrolment); GET {path}: 200, {rows} entries, {} KiB of HTML",
        page.body.len() / 1024
    );
    // One at a time, unloaded: the service time.
    let mut one = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let r = viewer.get(&path)?;
        one.push(t.elapsed());
        ensure!(r.status == 200, "GET {path}: {}", r.status);
    }
    one.sort_unstable();
    println!(
        "  one request at a time (new connection each, 100 requests): p50 {:.2} ms, p99 {:.2} ms",
        mace_bench::quantile(&one, 0.5).as_secs_f64() * 1e3,
        mace_bench::quantile(&one, 0.99).as_secs_f64() * 1e3
    );

    let load = Load {
        oha: a.oha.clone(),
        server: server.pid(),
        url: format!("http://{addr}{path}"),
        cookie: cookie.clone(),
        nice: a.nice,
        quiet_wait: a.quiet_wait,
    };
    let events_before = audit_events(&mace, &data)?;
    println!(
        "  fixed rate {} req/s (oha -q, latency corrected, {} connections, keep-alive): warm-up {} s, then {} rounds of {} s; load average {}",
        a.rate,
        a.connections,
        a.warmup,
        a.rounds,
        a.duration,
        loadavg()
    );
    if a.warmup > 0 {
        let w = oha(
            &load,
            &data.join("oha-warmup.json"),
            a.warmup,
            Some(f64::from(a.rate)),
            a.connections,
        )?;
        print_run("warm-up", &w);
    }
    // Several rounds: the machine is shared, and one round can meet another process's burst.
    let mut p99s = Vec::new();
    let mut failed = 0;
    for round in 1..=a.rounds {
        let run = oha(
            &load,
            &data.join(format!("oha-rate-{round}.json")),
            a.duration,
            Some(f64::from(a.rate)),
            a.connections,
        )?;
        print_run(
            &format!("round {round}: {} req/s for {} s", a.rate, a.duration),
            &run,
        );
        p99s.push(run.p99);
        failed += run.requests - run.ok;
    }
    p99s.sort_by(f64::total_cmp);
    let median = mace_bench::summary(&p99s);
    println!(
        "  verdict: p99 at {} req/s, median of {} rounds {:.2} ms (min {:.2}, max {:.2}), {failed} errors: {} the 20 ms target",
        a.rate,
        a.rounds,
        median.median,
        median.min,
        median.max,
        if median.median < 20.0 && failed == 0 {
            "meets"
        } else {
            "MISSES"
        }
    );

    if a.sweep {
        let sat = oha(
            &load,
            &data.join("oha-saturation.json"),
            a.sweep_duration,
            None,
            16,
        )?;
        print_run(
            &format!(
                "saturation (closed loop, 16 connections, {} s)",
                a.sweep_duration
            ),
            &sat,
        );
        for pct in [25u32, 50, 75] {
            let q = sat.rps * f64::from(pct) / 100.0;
            let r = oha(
                &load,
                &data.join(format!("oha-{pct}.json")),
                a.sweep_duration,
                Some(q),
                a.connections,
            )?;
            print_run(&format!("{pct} % of saturation ({q:.0} req/s)"), &r);
        }
    }

    let after = viewer.get(&path)?;
    ensure!(
        after.status == 200,
        "the session stopped working during the load: {}",
        after.status
    );
    let rss = server.peak_rss_mib();
    server.stop();
    let events_after = audit_events(&mace, &data)?;
    println!(
        "  server peak RSS {:.0} MiB; audit chain verified: {events_after} events, {} appended during the load (one per page view)",
        rss.unwrap_or(f64::NAN),
        events_after - events_before
    );
    Ok(())
}
