//! Driving the release `mace` binary for the web benchmarks: `mace serve --demo` on SQLite or
//! PostgreSQL, the operator commands, a small HTTP/1.1 client over std for setting up and
//! checking, signing in as a browser does (password, then authenticator enrolment), and
//! synthetic concerns raised over the JSON API.

use crate::sys::command;
use anyhow::{Context, Result, bail, ensure};
use mace_domain::identity::totp;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "__Host-mace_session";

/// Environment variables that would point mace somewhere else than the bench's data directory.
pub const MACE_ENV: &[&str] = &[
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

pub const NARRATIVES: &[&str] = &[
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
pub const LOCATIONS: &[&str] = &[
    "outside the school gates",
    "Southend Central station",
    "the high street",
    "the youth centre",
    "home address",
    "the park near the estate",
    "",
];
pub const TYPES: &[&str] = &[
    "sexual",
    "criminal",
    "county_lines",
    "trafficking",
    "online",
    "other",
];
pub const INDICATORS: &[&str] = &[
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

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `mace serve` child process; stopped (SIGTERM, then SIGKILL) when dropped, also on error.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

/// Where mace keeps its data: the data directory (the SQLite database, the audit key, the
/// server's log) and, for PostgreSQL, the database URL (passed in the environment, so no
/// password shows on a command line).
#[derive(Debug, Clone)]
pub struct Db {
    pub data: PathBuf,
    pub url: Option<String>,
}

impl Db {
    /// Point a `mace` command at this database (after clearing any inherited settings).
    pub fn apply(&self, cmd: &mut Command) {
        for v in MACE_ENV {
            cmd.env_remove(v);
        }
        cmd.arg("--data-dir").arg(&self.data);
        if let Some(url) = &self.url {
            cmd.env("MACE_DATABASE_URL", url);
        }
    }

    pub fn engine(&self) -> &'static str {
        if self.url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }
}

impl Server {
    pub fn start(mace: &Path, db: &Db, people: usize, nice: Option<i32>) -> Result<Self> {
        let data = &db.data;
        let mut cmd = command(mace, nice);
        cmd.args(["serve", "--demo", "--addr", "127.0.0.1:0"]);
        db.apply(&mut cmd);
        cmd.env("MACE_DEMO_PEOPLE", people.to_string())
            .env("MACE_DEMO_SEED", "2026")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(data.join("server.log"))
                    .context("cannot create the server log")?,
            ));
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    pub fn stop(&mut self) {
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

/// Run a `mace` command against the bench's database; its standard output.
pub fn mace_cli(mace: &Path, db: &Db, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(mace);
    cmd.args(args);
    db.apply(&mut cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
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

// A small HTTP/1.1 client over std, for setting up and checking (one connection per request).

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).with_context(|| {
            format!(
                "not JSON ({}): {}",
                self.status,
                self.body.chars().take(200).collect::<String>()
            )
        })
    }
}

pub fn http(
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

pub fn api(
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
pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn take_cookies(&mut self, r: &Reply) {
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

    pub fn get(&mut self, path: &str) -> Result<Reply> {
        let headers = [
            ("Cookie", self.cookie_header()),
            ("Accept", "text/html".to_string()),
            ("Sec-Fetch-Site", "same-origin".to_string()),
        ];
        let r = http(self.addr, "GET", path, &headers, None)?;
        self.take_cookies(&r);
        Ok(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Reply> {
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

pub fn enc(s: &str) -> String {
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
pub fn csrf(page: &str) -> Result<String> {
    let at = page
        .find("name=\"csrf_token\" value=\"")
        .context("no csrf_token field on the page")?;
    let rest = &page[at + "name=\"csrf_token\" value=\"".len()..];
    Ok(rest.split('"').next().unwrap_or_default().to_string())
}

/// The text inside the element with this id (no nested elements).
pub fn element_text(page: &str, id: &str) -> Result<String> {
    let at = page
        .find(&format!("id=\"{id}\""))
        .with_context(|| format!("no #{id} on the page"))?;
    let rest = &page[at..];
    let open = rest.find('>').context("unclosed tag")?;
    let close = rest.find('<').filter(|c| *c > open).context("no text")?;
    Ok(rest[open + 1..close].trim().to_string())
}

pub fn current_code(secret: &[u8]) -> Result<String> {
    let now = mace_domain::Clock::now(&mace_domain::SystemClock);
    let step = u64::try_from(totp::step_at(now)).context("the clock is before 1970")?;
    Ok(format!("{:06}", totp::hotp(secret, step, 6)))
}

/// Sign in as a browser does: the sign-in form (its CSRF token and pre-sign-in cookie), the
/// password, then the first-sign-in authenticator enrolment with a code from the setup key.
/// Returns the full session's cookie value.
pub fn sign_in(addr: SocketAddr, email: &str, password: &str, next: &str) -> Result<String> {
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

pub fn rfc3339(t: time::OffsetDateTime) -> Result<String> {
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

pub fn concern_body(
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

pub fn raise(addr: SocketAddr, token: &str, body: Value) -> Result<()> {
    let r = api(addr, token, "POST", "/api/v1/concerns", Some(body))?;
    ensure!(
        r.status == 201,
        "raising a concern: {} {}",
        r.status,
        r.body.chars().take(300).collect::<String>()
    );
    Ok(())
}

pub fn children_of(addr: SocketAddr, token: &str) -> Result<Vec<String>> {
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

pub fn chronology_len(addr: SocketAddr, token: &str, child: &str) -> Result<usize> {
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

pub fn audit_events(mace: &Path, db: &Db) -> Result<u64> {
    let out = mace_cli(mace, db, &["audit", "verify"], None)?;
    out.split_whitespace()
        .skip_while(|w| *w != "OK:")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("unexpected audit verify output: {out}"))
}

/// The `mace` binary to drive: `given`, or the release build (`cargo build --release -p mace`).
pub fn release_mace(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(m) = given {
        return Ok(m.to_path_buf());
    }
    let root = repo_root();
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
    Ok(root.join("target/release/mace"))
}

/// `mace --version`.
pub fn mace_version(mace: &Path) -> Result<String> {
    let out = Command::new(mace)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", mace.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A random password of 24 letters and digits (for accounts the benchmark makes).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut r = rand::rng();
    (0..24)
        .map(|_| ALPHABET[r.random_range(0..ALPHABET.len())] as char)
        .collect()
}
