//! Crash drill (security guide §4.2, Protocol A): drive the real `mace serve` with concurrent
//! authenticated writes over loopback, kill it with SIGKILL at a random moment, restart it, and
//! check that every write acknowledged (2xx received) before the kill is present and intact,
//! that every write is wholly present or wholly absent (its chronology entry and audit event
//! with it), that the database passes its integrity check, and that `mace audit verify` passes.
//!
//! ```sh
//! cargo run --release -p mace-drill --bin crash_drill -- --rounds 20
//! cargo run --release -p mace-drill --bin crash_drill -- --rounds 20 \
//!     --database-url postgres://mace:mace@127.0.0.1:5432/postgres
//! ```
//!
//! With `--database-url` the drill creates a database `mace_drill_<random>` on that server
//! (needs CREATEDB) and drops it afterwards. Kill moments and the mix of writes come from a
//! seeded RNG (`--seed`), so a run can be repeated. Every server it starts is killed on every
//! path (kill-on-drop), all traffic goes to 127.0.0.1, and every loop is bounded in count and
//! time. Exit status 0 only when nothing acknowledged was lost and every check passed.

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::Connection;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "crash_drill",
    about = "kill -9 mace under concurrent writes; check nothing acknowledged is lost"
)]
struct Args {
    /// Kill-and-restart rounds
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Run on PostgreSQL: a server URL (a database is created there and dropped afterwards)
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Seed for the kill moments and the mix of writes
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Concurrent writers
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Earliest kill, in milliseconds after the server answers
    #[arg(long, default_value_t = 500)]
    min_kill_ms: u64,
    /// Latest kill, in milliseconds after the server answers
    #[arg(long, default_value_t = 3000)]
    max_kill_ms: u64,
    /// The mace binary [default: `mace` beside this program, built first when run by cargo]
    #[arg(long, value_name = "PATH")]
    mace: Option<PathBuf>,
    /// Stop (and fail) if the whole drill takes longer than this
    #[arg(long, default_value_t = 30)]
    max_minutes: u64,
}

/// At most this many writes per worker per round (a bound; the kill comes first).
const MAX_WRITES_PER_WORKER_ROUND: u32 = 20_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------------------------------------
// The server

/// A running `mace serve`; killed (SIGKILL) when dropped, on every path.
struct Server {
    child: Child,
    addr: String,
}

struct Mace {
    bin: PathBuf,
    data_dir: PathBuf,
    database_url: Option<String>,
}

impl Mace {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args).arg("--data-dir").arg(&self.data_dir);
        if let Some(u) = &self.database_url {
            c.arg("--database-url").arg(u);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("MACE_") || k == "DATABASE_URL" {
                c.env_remove(k);
            }
        }
        c.env("MACE_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    async fn start(&self, demo: bool) -> Result<Server> {
        let mut args = vec!["serve", "--addr", "127.0.0.1:0"];
        if demo {
            args.push("--demo");
        }
        let mut c = self.command(&args);
        c.env("MACE_DEMO_PEOPLE", "30")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().context("cannot start mace serve")?;
        let stdout = child
            .stdout
            .take()
            .context("no standard output from mace serve")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.trim().strip_prefix("mace listening on http://") {
                    return Ok(rest.to_string());
                }
            }
            bail!("mace serve exited before it listened")
        })
        .await
        .context("mace serve did not listen in time")??;
        if !addr.starts_with("127.0.0.1:") {
            bail!("mace listens on {addr}, not on 127.0.0.1");
        }
        // Keep draining its standard output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, addr })
    }

    async fn run(&self, args: &[&str]) -> Result<String> {
        let mut c = self.command(args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = tokio::time::timeout(Duration::from_secs(300), c.output())
            .await
            .with_context(|| format!("mace {} took too long", args.join(" ")))??;
        if !out.status.success() {
            bail!(
                "mace {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Server {
    async fn kill(mut self) -> Result<()> {
        self.child.start_kill().context("cannot kill mace")?;
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("mace did not die after SIGKILL")??;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------
// HTTP over loopback: one request per connection, so "sent, no reply" is exact.

enum Reply {
    /// No connection: nothing was sent.
    NotSent,
    /// Sent, but no complete reply (the server died): in flight.
    Unanswered,
    Status(u16, String),
}

async fn request(addr: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> Reply {
    let Ok(Ok(mut s)) =
        tokio::time::timeout(REQUEST_TIMEOUT, tokio::net::TcpStream::connect(addr)).await
    else {
        return Reply::NotSent;
    };
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut msg = head.into_bytes();
    msg.extend_from_slice(body.as_bytes());
    if s.write_all(&msg).await.is_err() {
        return Reply::Unanswered;
    }
    let mut raw = Vec::new();
    match tokio::time::timeout(REQUEST_TIMEOUT, s.read_to_end(&mut raw)).await {
        Ok(Ok(_)) => {}
        _ => return Reply::Unanswered,
    }
    parse_response(&raw).map_or(Reply::Unanswered, |(status, body)| {
        Reply::Status(status, body)
    })
}

/// Status and body of a complete HTTP/1.1 response (Content-Length or chunked); `None` if cut.
fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut out = Vec::new();
        let mut at = rest;
        loop {
            let eol = at.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&at[..eol]).ok()?.trim(), 16).ok()?;
            at = &at[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(at.get(..size)?);
            at = at.get(size + 2..)?;
        }
        out
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse().ok()?;
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

async fn get_json(addr: &str, path: &str, token: &str) -> Result<serde_json::Value> {
    match request(addr, "GET", path, token, None).await {
        Reply::Status(200, body) => Ok(serde_json::from_str(&body)?),
        Reply::Status(s, _) => bail!("GET {path}: {s}"),
        _ => bail!("GET {path}: no reply"),
    }
}

// ------------------------------------------------------------------------------------------------
// The writes and the ledger

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Concern,
    Identifier,
    Address,
    Correction,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Concern => "concern",
            Kind::Identifier => "identifier",
            Kind::Address => "address",
            Kind::Correction => "correction",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Sent, no reply yet (or ever: the server died).
    InFlight,
    /// 2xx received, with the new row's id.
    Acked(Uuid),
    /// A non-2xx answer.
    Refused(u16),
}

#[derive(Debug, Clone)]
struct Write {
    kind: Kind,
    /// The text that must be stored exactly.
    text: String,
    state: State,
}

#[derive(Debug, Clone)]
struct DrillChild {
    id: Uuid,
    /// A chronology entry to correct.
    entry: Option<Uuid>,
}

struct Plan {
    addr: String,
    token: String,
    children: Vec<DrillChild>,
}

/// A write's unique token; the stored text starts with a fixed prefix and the token.
fn text_for(kind: Kind, token: &str) -> String {
    match kind {
        Kind::Concern => format!(
            "Crash drill {token}: seen getting into a car with older associates after school; durable write check."
        ),
        Kind::Identifier => format!("drill{token}"),
        Kind::Address => format!("Flat {token}"),
        Kind::Correction => format!("Drill correction {token}: the time recorded was wrong."),
    }
}

fn token_of(kind: Kind, text: &str) -> Option<String> {
    let rest = match kind {
        Kind::Concern => text.strip_prefix("Crash drill ")?,
        Kind::Identifier => text.strip_prefix("drill")?,
        Kind::Address => text.strip_prefix("Flat ")?,
        Kind::Correction => text.strip_prefix("Drill correction ")?,
    };
    Some(rest.split([':', ' ']).next().unwrap_or("").to_string())
}

type Ledger = Arc<Mutex<BTreeMap<String, Write>>>;

fn record(ledger: &Ledger, token: &str, w: Write) {
    if let Ok(mut l) = ledger.lock() {
        l.insert(token.to_string(), w);
    }
}

async fn worker(
    plan: Arc<Plan>,
    ledger: Ledger,
    stop: Arc<AtomicBool>,
    round: u32,
    w: usize,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(round) << 20) ^ (w as u64) << 8);
    for n in 0..MAX_WRITES_PER_WORKER_ROUND {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let child = &plan.children[rng.random_range(0..plan.children.len())];
        let roll: u32 = rng.random_range(0..100);
        let kind = match roll {
            0..55 => Kind::Concern,
            55..70 => Kind::Identifier,
            70..85 => Kind::Address,
            _ => Kind::Correction,
        };
        let (kind, entry) = match (kind, child.entry) {
            (Kind::Correction, Some(e)) => (Kind::Correction, Some(e)),
            (Kind::Correction, None) => (Kind::Concern, None),
            (k, _) => (k, None),
        };
        let token = format!("r{round}w{w}n{n}x{:04x}", rng.random::<u16>());
        let text = text_for(kind, &token);
        let (path, body) = match kind {
            Kind::Concern => (
                "/api/v1/concerns".to_string(),
                serde_json::json!({
                    "person_id": child.id,
                    "narrative": text,
                    "exploitation_types": ["criminal"],
                    "indicators": ["older_associates"],
                    "location": "Near the school gates",
                }),
            ),
            Kind::Identifier => (
                format!("/api/v1/children/{}/identifiers", child.id),
                serde_json::json!({ "kind": "local_id", "value": text }),
            ),
            Kind::Address => (
                format!("/api/v1/people/{}/addresses", child.id),
                serde_json::json!({ "line1": text, "town": "Drilltown", "current": false }),
            ),
            Kind::Correction => (
                format!(
                    "/api/v1/children/{}/chronology/{}/addenda",
                    child.id,
                    entry.unwrap_or_default()
                ),
                serde_json::json!({ "text": text }),
            ),
        };
        let body = body.to_string();
        let pending = Write {
            kind,
            text: text.clone(),
            state: State::InFlight,
        };
        // Recorded as in flight before the request leaves, so no stored row is ever unknown.
        record(&ledger, &token, pending.clone());
        match request(&plan.addr, "POST", &path, &plan.token, Some(&body)).await {
            Reply::NotSent => {
                if let Ok(mut l) = ledger.lock() {
                    l.remove(&token);
                }
                // The server is gone (or not yet there): wait for the round to end.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Reply::Unanswered => {}
            Reply::Status(s, reply) if (200..300).contains(&s) => {
                let id = serde_json::from_str::<serde_json::Value>(&reply)
                    .ok()
                    .and_then(|v| v["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()));
                let state = match id {
                    Some(id) => State::Acked(id),
                    None => State::Refused(s),
                };
                record(&ledger, &token, Write { state, ..pending });
            }
            Reply::Status(s, _) => record(
                &ledger,
                &token,
                Write {
                    state: State::Refused(s),
                    ..pending
                },
            ),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Reading back

enum Db {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

/// One stored drill row: its id and text.
struct Stored {
    id: Uuid,
    text: String,
    /// For concerns: chronology entries and audit events pointing at it.
    chronology: i64,
    audit: i64,
}

macro_rules! on_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            Db::Sqlite($c) => $body,
            Db::Pg($c) => $body,
        }
    };
}

impl Db {
    async fn open(data_dir: &Path, url: Option<&str>) -> Result<Db> {
        Ok(match url {
            None => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(data_dir.join("mace.db"))
                    .busy_timeout(Duration::from_secs(10));
                Db::Sqlite(sqlx::SqliteConnection::connect_with(&opts).await?)
            }
            Some(u) => Db::Pg(sqlx::PgConnection::connect(u).await?),
        })
    }

    async fn close(self) {
        let _ = on_db!(self, |c| c.close().await);
    }

    async fn stored(&mut self, kind: Kind) -> Result<Vec<Stored>> {
        let sql = match kind {
            Kind::Concern => {
                "SELECT id, narrative FROM concerns WHERE narrative LIKE 'Crash drill %'"
            }
            Kind::Identifier => {
                "SELECT id, value FROM person_identifiers WHERE kind = 'local_id' AND value LIKE 'drill%'"
            }
            Kind::Address => "SELECT id, line1 FROM person_addresses WHERE line1 LIKE 'Flat r%'",
            Kind::Correction => {
                "SELECT id, summary FROM chronology WHERE kind = 'addendum' AND summary LIKE 'Drill correction %'"
            }
        };
        let rows: Vec<(Uuid, String)> =
            on_db!(self, |c| sqlx::query_as(sql).fetch_all(&mut *c).await)?;
        // For concerns: their chronology entries and audit events, counted per concern.
        let (mut chronology, mut audit) = (HashMap::new(), HashMap::new());
        if kind == Kind::Concern {
            const CHRONO: &str = "SELECT source_id FROM chronology WHERE kind = 'concern'";
            const AUDIT: &str = "SELECT target_id FROM audit_events WHERE action = 'concern.create' AND target_id IS NOT NULL";
            let ids: Vec<Uuid> = on_db!(self, |c| sqlx::query_scalar(CHRONO)
                .fetch_all(&mut *c)
                .await)?;
            for id in ids {
                *chronology.entry(id).or_insert(0i64) += 1;
            }
            let ids: Vec<Uuid> =
                on_db!(self, |c| sqlx::query_scalar(AUDIT).fetch_all(&mut *c).await)?;
            for id in ids {
                *audit.entry(id).or_insert(0i64) += 1;
            }
        }
        Ok(rows
            .into_iter()
            .map(|(id, text)| Stored {
                id,
                text,
                chronology: chronology.get(&id).copied().unwrap_or(0),
                audit: audit.get(&id).copied().unwrap_or(0),
            })
            .collect())
    }

    /// Audit events per action and rows per table, to check "one audit event per write" for
    /// the writes whose events name the person rather than the row.
    async fn tallies(&mut self) -> Result<BTreeMap<&'static str, i64>> {
        const Q: [(&str, &str); 6] = [
            (
                "ev.identifier",
                "SELECT COUNT(*) FROM audit_events WHERE action = 'person.identifier.add'",
            ),
            ("rows.identifier", "SELECT COUNT(*) FROM person_identifiers"),
            (
                "ev.address",
                "SELECT COUNT(*) FROM audit_events WHERE action = 'person.address.add'",
            ),
            ("rows.address", "SELECT COUNT(*) FROM person_addresses"),
            (
                "ev.correction",
                "SELECT COUNT(*) FROM audit_events WHERE action = 'chronology.addendum'",
            ),
            (
                "rows.correction",
                "SELECT COUNT(*) FROM chronology WHERE kind = 'addendum'",
            ),
        ];
        let mut out = BTreeMap::new();
        for (name, sql) in Q {
            let n: i64 = on_db!(self, |c| sqlx::query_scalar(sql).fetch_one(&mut *c).await)?;
            out.insert(name, n);
        }
        Ok(out)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    acked: u64,
    in_flight_committed: u64,
    in_flight_absent: u64,
    refused: u64,
    lost: u64,
}

/// Check every write in the ledger against the database; in-flight writes are settled (present
/// or absent) and kept as such. Returns the problems found.
async fn check_ledger(
    db: &mut Db,
    ledger: &Ledger,
    tally: &mut BTreeMap<Kind, Tally>,
    baseline: &BTreeMap<&'static str, i64>,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut entries = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("ledger poisoned"))?
        .clone();
    for kind in [
        Kind::Concern,
        Kind::Identifier,
        Kind::Address,
        Kind::Correction,
    ] {
        let mut stored: HashMap<String, Stored> = HashMap::new();
        for s in db.stored(kind).await? {
            let Some(t) = token_of(kind, &s.text) else {
                problems.push(format!("{}: a stored row has no drill token", kind.name()));
                continue;
            };
            if stored.insert(t.clone(), s).is_some() {
                problems.push(format!("{}: write {t} is stored twice", kind.name()));
            }
        }
        let t = tally.entry(kind).or_default();
        *t = Tally::default();
        for (token, w) in entries.iter_mut().filter(|(_, w)| w.kind == kind) {
            let found = stored.remove(token.as_str());
            if let Some(s) = &found {
                if s.text != w.text {
                    problems.push(format!("{} {token}: stored text differs", kind.name()));
                }
                if kind == Kind::Concern && (s.chronology != 1 || s.audit != 1) {
                    problems.push(format!(
                        "concern {token}: {} chronology entries and {} audit events (want 1 and 1)",
                        s.chronology, s.audit
                    ));
                }
            }
            match (&w.state, &found) {
                (State::Acked(id), Some(s)) => {
                    t.acked += 1;
                    if *id != s.id {
                        problems.push(format!("{} {token}: stored under another id", kind.name()));
                    }
                }
                (State::Acked(_), None) => {
                    t.acked += 1;
                    t.lost += 1;
                    problems.push(format!(
                        "LOST: {} {token} was acknowledged and is missing",
                        kind.name()
                    ));
                }
                (State::InFlight, Some(_)) => t.in_flight_committed += 1,
                (State::InFlight, None) => t.in_flight_absent += 1,
                (State::Refused(s), Some(_)) => {
                    t.refused += 1;
                    problems.push(format!("{} {token}: answered {s} but stored", kind.name()));
                }
                (State::Refused(_), None) => t.refused += 1,
            }
        }
        for token in stored.keys() {
            problems.push(format!(
                "{} {token}: stored but never sent by this drill",
                kind.name()
            ));
        }
    }
    // One audit event per identifier, address and correction (their events name the person).
    let now = db.tallies().await?;
    for kind in ["identifier", "address", "correction"] {
        let d = |k: &str| {
            now.get(format!("{k}.{kind}").as_str())
                .copied()
                .unwrap_or(0)
                - baseline
                    .get(format!("{k}.{kind}").as_str())
                    .copied()
                    .unwrap_or(0)
        };
        if d("ev") != d("rows") {
            problems.push(format!(
                "{kind}: {} rows added but {} audit events",
                d("rows"),
                d("ev")
            ));
        }
    }
    Ok(problems)
}

// ------------------------------------------------------------------------------------------------
// The drill

fn mace_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p);
    }
    let me = std::env::current_exe().context("cannot find this program's path")?;
    let dir = me.parent().context("no directory")?.to_path_buf();
    // Run by cargo: build the server in the same profile first, so it is never stale.
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut c = std::process::Command::new(cargo);
        c.args(["build", "--quiet", "-p", "mace", "--bin", "mace"]);
        if !cfg!(debug_assertions) {
            c.arg("--release");
        }
        let status = c.status().context("cannot run cargo build")?;
        if !status.success() {
            bail!("cargo build -p mace failed");
        }
    }
    let p = dir.join("mace");
    if !p.is_file() {
        bail!(
            "no mace binary at {}: build it (cargo build -p mace) or give --mace",
            p.display()
        );
    }
    Ok(p)
}

async fn setup(mace: &Mace) -> Result<(String, Vec<DrillChild>)> {
    // First start with the synthetic demo data: organisations, accounts and children.
    let server = mace.start(true).await?;
    server.kill().await?;
    let out = mace
        .run(&[
            "token",
            "create",
            "--email",
            "dsl@school.demo.invalid",
            "--name",
            "crash drill",
            "--scope",
            "write",
            "--days",
            "1",
        ])
        .await?;
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("token, shown once: "))
        .context("mace token create printed no token")?
        .to_string();
    let server = mace.start(false).await?;
    let list = get_json(&server.addr, "/api/v1/children", &token).await?;
    let mut children = Vec::new();
    for c in list["children"].as_array().into_iter().flatten().take(8) {
        let Some(id) = c["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
            continue;
        };
        let rec = get_json(&server.addr, &format!("/api/v1/children/{id}"), &token).await?;
        let entry = rec["chronology"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|e| e["id"].as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        children.push(DrillChild { id, entry });
    }
    server.kill().await?;
    if children.is_empty() {
        bail!("the demo account sees no children");
    }
    Ok((token, children))
}

async fn drill(args: &Args, mace: &Mace, deadline: Instant) -> Result<bool> {
    let (token, children) = setup(mace).await?;
    println!(
        "setup: {} children, {} with a chronology entry to correct; {} workers; seed {}",
        children.len(),
        children.iter().filter(|c| c.entry.is_some()).count(),
        args.workers,
        args.seed
    );
    let mut db = Db::open(&mace.data_dir, mace.database_url.as_deref()).await?;
    let baseline = db.tallies().await?;
    db.close().await;

    let ledger: Ledger = Arc::new(Mutex::new(BTreeMap::new()));
    let mut tally: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut ok = true;
    let drill_start = Instant::now();
    for round in 1..=args.rounds {
        if Instant::now() > deadline {
            bail!("the drill ran past --max-minutes");
        }
        let round_start = Instant::now();
        let server = mace.start(false).await?;
        let plan = Arc::new(Plan {
            addr: server.addr.clone(),
            token: token.clone(),
            children: children.clone(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..args.workers)
            .map(|w| {
                tokio::spawn(worker(
                    plan.clone(),
                    ledger.clone(),
                    stop.clone(),
                    round,
                    w,
                    args.seed,
                ))
            })
            .collect();
        let kill_after =
            Duration::from_millis(rng.random_range(args.min_kill_ms..=args.max_kill_ms));
        tokio::time::sleep(kill_after).await;
        server.kill().await?;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT * 2, t).await;
        }

        // After the crash: the rows, the integrity check, the audit chain.
        let mut db = Db::open(&mace.data_dir, mace.database_url.as_deref()).await?;
        let mut problems = check_ledger(&mut db, &ledger, &mut tally, &baseline).await?;
        db.close().await;
        let store = mace_store::Store::open(&mace_store::DbConfig::from_url_or_dir(
            mace.database_url.as_deref(),
            &mace.data_dir,
        )?)
        .await?;
        let integrity = store.integrity_check().await;
        store.close().await;
        match integrity {
            Ok(r) if r.is_clean() => {}
            Ok(r) => problems.extend(r.problems),
            Err(e) => problems.push(format!("integrity check could not run: {e}")),
        }
        let audit = match mace.run(&["audit", "verify"]).await {
            Ok(out) => out.trim().to_string(),
            Err(e) => {
                problems.push(format!("{e:#}"));
                "audit verify FAILED".into()
            }
        };
        let sum = tally.values().fold(Tally::default(), |a, t| Tally {
            acked: a.acked + t.acked,
            in_flight_committed: a.in_flight_committed + t.in_flight_committed,
            in_flight_absent: a.in_flight_absent + t.in_flight_absent,
            refused: a.refused + t.refused,
            lost: a.lost + t.lost,
        });
        println!(
            "round {round}/{}: killed {:.2}s after start; so far acknowledged {}, in flight {} ({} committed, {} not), refused {}, lost {}; integrity {}; {audit}; {:.1}s",
            args.rounds,
            kill_after.as_secs_f64(),
            sum.acked,
            sum.in_flight_committed + sum.in_flight_absent,
            sum.in_flight_committed,
            sum.in_flight_absent,
            sum.refused,
            sum.lost,
            if problems.is_empty() {
                "ok"
            } else {
                "see below"
            },
            round_start.elapsed().as_secs_f64()
        );
        for p in problems.iter().take(20) {
            println!("  problem: {p}");
        }
        if !problems.is_empty() {
            ok = false;
            break;
        }
    }

    // A last restart: mace comes back and answers, and acknowledged writes read back through
    // the API.
    let server = mace.start(false).await?;
    let sample: Vec<(String, Write)> = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("ledger poisoned"))?
        .iter()
        .filter(|(_, w)| w.kind == Kind::Concern && matches!(w.state, State::Acked(_)))
        .take(25)
        .map(|(t, w)| (t.clone(), w.clone()))
        .collect();
    for (write_token, w) in &sample {
        let State::Acked(id) = w.state else { continue };
        let v = get_json(&server.addr, &format!("/api/v1/concerns/{id}"), &token).await?;
        if v["narrative"].as_str() != Some(w.text.as_str()) {
            println!("  problem: concern {write_token} reads back differently through the API");
            ok = false;
        }
    }
    server.kill().await?;

    println!();
    println!(
        "{:<11} {:>12} {:>22} {:>22} {:>8} {:>6}",
        "write", "acknowledged", "in flight, committed", "in flight, not stored", "refused", "lost"
    );
    let mut total = Tally::default();
    for (kind, t) in &tally {
        println!(
            "{:<11} {:>12} {:>22} {:>22} {:>8} {:>6}",
            kind.name(),
            t.acked,
            t.in_flight_committed,
            t.in_flight_absent,
            t.refused,
            t.lost
        );
        total.acked += t.acked;
        total.in_flight_committed += t.in_flight_committed;
        total.in_flight_absent += t.in_flight_absent;
        total.refused += t.refused;
        total.lost += t.lost;
    }
    println!(
        "{:<11} {:>12} {:>22} {:>22} {:>8} {:>6}",
        "total",
        total.acked,
        total.in_flight_committed,
        total.in_flight_absent,
        total.refused,
        total.lost
    );
    println!(
        "crash drill on {}: {} rounds in {:.1}s; {} acknowledged, {} in flight, {} lost; API read-back of {} concerns {}",
        if mace.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        args.rounds,
        drill_start.elapsed().as_secs_f64(),
        total.acked,
        total.in_flight_committed + total.in_flight_absent,
        total.lost,
        sample.len(),
        if ok { "ok" } else { "FAILED" }
    );
    Ok(ok && total.lost == 0)
}

fn random_suffix() -> String {
    // Not a secret: a unique database name for this run, from the OS's randomness.
    let mut rng = ChaCha8Rng::from_os_rng();
    format!("{:016x}", rng.random::<u64>())
}

async fn main_async(args: Args) -> Result<bool> {
    if args.rounds == 0 || args.workers == 0 || args.min_kill_ms > args.max_kill_ms {
        bail!("need --rounds ≥ 1, --workers ≥ 1 and --min-kill-ms ≤ --max-kill-ms");
    }
    let bin = mace_binary(args.mace.clone())?;
    let deadline = Instant::now() + Duration::from_secs(args.max_minutes * 60);
    let work = tempfile::Builder::new()
        .prefix("mace-crash-drill-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let data_dir = work.path().join("data");
    let (database_url, pg_db) = match &args.database_url {
        None => (None, None),
        Some(server) => {
            let name = format!("mace_drill_{}", random_suffix());
            let url = mace_store::backup::pg_create_database(server, &name)
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the drill database: {e}"))?;
            (Some(url), Some((server.clone(), name)))
        }
    };
    let mace = Mace {
        bin,
        data_dir,
        database_url,
    };
    println!(
        "crash drill: {} rounds on {}, kills {}–{} ms after start, binary {}",
        args.rounds,
        if pg_db.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        args.min_kill_ms,
        args.max_kill_ms,
        mace.bin.display()
    );
    let result = drill(&args, &mace, deadline).await;
    if let Some((server, name)) = pg_db
        && let Err(e) = mace_store::backup::pg_drop_database(&server, &name).await
    {
        eprintln!("crash drill: cannot drop database {name}: {e}");
    }
    drop(work);
    result
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crash drill: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(main_async(args)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("crash drill: FAILED");
            std::process::ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("crash drill: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
