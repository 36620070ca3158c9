//! mace under a mixed load (issue 8, "Load"): signed-in users of four organisations browsing
//! their work lists (`/work`, `/work/actions`), opening children's records (`/children/{id}`)
//! and raising concerns through the HTML form (`GET /concerns/new/{id}` for the form and its
//! CSRF token, then the form `POST`, exactly as a browser does), 90 % reads and 10 % writes, on
//! SQLite and on PostgreSQL; beside it a minimal axum reference endpoint doing the record page's
//! database read (the child's row and its chronology entries, through sqlx, no auth, audit,
//! templates or middleware) against the same database, so mace's cost is a ratio.
//!
//! Per engine: the closed-loop maximum throughput (median over rounds), then open-loop runs at
//! 25, 50 and 75 % of mace's maximum, mace and the reference alternating at the same offered
//! rate (A B A B …), with p50/p99/p99.9 latency (medians over rounds); then, with
//! `--backup-during`, one more run at 50 % while `mace backup --out FILE` runs, and
//! `mace backup verify FILE` afterwards. The audit chain is verified at the end. The table at
//! the end gives the figures and the ratios; the exit status is non-zero on any request error
//! (a 5xx, an unexpected status, a form without its CSRF token, a refused form post, a
//! connection error or a timeout) or a failed backup.
//!
//! `cargo run --release -p mace-bench --bin load` (the full run: 27 runs of 15 s per engine,
//! about 15 minutes on an idle 2-core machine and up to 30 on a busy one), or `-- --quick` (3 s
//! per rate, one round, about 2 minutes, to check it works). PostgreSQL must be running
//! (`--engines sqlite` runs without it).
//!
//! | option | default (`--quick`) | |
//! |---|---|---|
//! | `--engines LIST` | `sqlite,postgres` | which databases |
//! | `--pg-url URL` | `MACE_BENCH_PG_URL`, else `postgres://mace:mace@127.0.0.1:5432/postgres` | a loopback server; a fresh database is made on it for the run and dropped afterwards |
//! | `--duration S`, `--rounds N`, `--warmup S` | 15, 3, 5 (3, 1, 1) | seconds per run, rounds per rate, warm-up |
//! | `--connections N`, `--sat-connections N` | 64, 16 | connections for the fixed-rate and the closed-loop runs |
//! | `--people N`, `--children N`, `--background N` | 2000, 20, 1000 (500, 10, 200) | demo people; the children each user works with (the first in their list); concerns about them raised over the API before the runs |
//! | `--max-requests N` | 100000 | a bound on each run's requests |
//! | `--backup-during`, `--no-backup-during` | on (off) | a backup and its verification under load at 50 % |
//! | `--quiet-wait S` | 15 (5) | before each run, wait up to S s for other processes' CPU pressure to drop under 20 % |
//! | `--mace PATH`, `--data-dir DIR` | builds `target/release/mace`; `target/bench-data/load` (emptied first) | |
//!
//! The generator is our own (on hyper's HTTP/1.1 client connections), not `goose` or `oha`:
//! the scenario needs a cookie session per user and a form whose token is read from the page
//! before posting (oha replays one fixed request), and goose's throttle is closed-loop (a slow
//! response delays the next request, and its coordinated-omission mitigation back-fills
//! estimated samples) while it would bring in reqwest and a large tree of crates. Here a
//! scheduler offers arrivals at fixed intervals whatever the server does (open loop) into a
//! queue served by `--connections` keep-alive connections, and each request's latency is
//! measured from its scheduled time, so queueing in the server or in the generator shows
//! (latency-corrected, as wrk2 and `oha --latency-correction`). A concern's form post follows its
//! form page at once, and is timed from when it is sent (it depends on the page's reply); its
//! 303 to the confirmation page is checked, not followed. Closed-loop (maximum) runs time each
//! request from when it is sent.
//! Scenario per 9 arrivals, rotating through the users: 4 record pages, 2 `/work`, 2
//! `/work/actions` and one concern raised (form page + post): of every 10 requests, 9 are reads
//! (including the form page) and 1 a write. Rates are in requests per second. The reference
//! receives only its record read, for the same children, at the same offered request rate.
//!
//! Everything goes to 127.0.0.1: `mace serve --demo` with its demo accounts (users sign in with
//! the password and enrol an authenticator as a browser does), the reference server (this
//! binary, re-run with `--serve-reference`), and PostgreSQL only when its URL names a loopback
//! host. Every run is bounded in time and in requests. The machine is shared, so each run
//! prints the CPU used by the server, by this generator and by everything else, and the share
//! of time some task waited for a CPU (Linux pressure stall information).

use anyhow::{Context, Result, bail, ensure};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header;
use hyper_util::rt::TokioIo;
use mace_bench::serve::{
    Browser, Db, INDICATORS, LOCATIONS, NARRATIVES, SESSION_COOKIE, Server, TYPES, audit_events,
    children_of, chronology_len, concern_body, csrf, enc, mace_cli, mace_version, raise,
    release_mace, repo_root, sign_in,
};
use mace_bench::sys::{
    cpu_pressure_avg10, loadavg, machine_busy_secs, proc_cpu_secs, stall_secs, wait_for_quiet,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::Row;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio::sync::mpsc;

/// The demo accounts that browse and raise concerns: four organisations.
const USERS: &[&str] = &[
    "dsl@school.demo.invalid",
    "social.worker@csc.demo.invalid",
    "manager@csc.demo.invalid",
    "intel@police.demo.invalid",
    "worker@exploitation.demo.invalid",
];
/// The demo's shared password (`mace serve --demo`; synthetic data only).
const DEMO_PASSWORD: &str = "demo-password-for-mace";
const DEFAULT_PG: &str = "postgres://mace:mace@127.0.0.1:5432/postgres";

/// The steps of one cycle of arrivals; every arrival is one request but `Raise` (two).
const CYCLE: [Step; 9] = [
    Step::Record,
    Step::Work,
    Step::Record,
    Step::Actions,
    Step::Raise,
    Step::Record,
    Step::Work,
    Step::Record,
    Step::Actions,
];
/// Requests per arrival in the mace scenario (10 requests per 9 arrivals).
const MACE_REQUESTS_PER_ARRIVAL: f64 = 10.0 / 9.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Work,
    Actions,
    Record,
    Raise,
}

/// What one request was, for the per-kind figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Work,
    Actions,
    Record,
    Form,
    Post,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Record,
        Kind::Work,
        Kind::Actions,
        Kind::Form,
        Kind::Post,
    ];
    fn label(self) -> &'static str {
        match self {
            Kind::Work => "/work",
            Kind::Actions => "/work/actions",
            Kind::Record => "record",
            Kind::Form => "form",
            Kind::Post => "post",
        }
    }
}

struct Args {
    engines: Vec<String>,
    pg_url: String,
    duration: u64,
    rounds: usize,
    warmup: u64,
    connections: usize,
    sat_connections: usize,
    people: usize,
    children: usize,
    background: usize,
    max_requests: u64,
    backup_during: bool,
    quiet_wait: u64,
    quick: bool,
    mace: Option<PathBuf>,
    data: PathBuf,
}

fn parse_args() -> Result<Args> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let quick = argv.iter().any(|a| a == "--quick");
    let mut a = Args {
        engines: vec!["sqlite".into(), "postgres".into()],
        pg_url: std::env::var("MACE_BENCH_PG_URL").unwrap_or_else(|_| DEFAULT_PG.into()),
        duration: if quick { 3 } else { 15 },
        rounds: if quick { 1 } else { 3 },
        warmup: if quick { 1 } else { 5 },
        connections: 64,
        sat_connections: 16,
        people: if quick { 500 } else { 2000 },
        children: if quick { 10 } else { 20 },
        background: if quick { 200 } else { 1000 },
        max_requests: 100_000,
        backup_during: !quick,
        quiet_wait: if quick { 5 } else { 15 },
        quick,
        mace: None,
        data: repo_root().join("target/bench-data/load"),
    };
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let mut val = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" | "--bench" => {}
            "--engines" => {
                a.engines = val()?.split(',').map(|s| s.trim().to_string()).collect();
            }
            "--pg-url" => a.pg_url = val()?,
            "--duration" => a.duration = val()?.parse()?,
            "--rounds" => a.rounds = val()?.parse()?,
            "--warmup" => a.warmup = val()?.parse()?,
            "--connections" => a.connections = val()?.parse()?,
            "--sat-connections" => a.sat_connections = val()?.parse()?,
            "--people" => a.people = val()?.parse()?,
            "--children" => a.children = val()?.parse()?,
            "--background" => a.background = val()?.parse()?,
            "--max-requests" => a.max_requests = val()?.parse()?,
            "--backup-during" => a.backup_during = true,
            "--no-backup-during" => a.backup_during = false,
            "--quiet-wait" => a.quiet_wait = val()?.parse()?,
            "--mace" => a.mace = Some(val()?.into()),
            "--data-dir" => a.data = val()?.into(),
            other => bail!(
                "unknown argument {other}; see the options at the top of crates/bench/src/bin/load.rs"
            ),
        }
    }
    ensure!(
        (1..=120).contains(&a.duration),
        "--duration 1 to 120 seconds"
    );
    ensure!(a.children > 0, "--children must be positive");
    ensure!(a.warmup <= 60, "--warmup at most 60 s");
    ensure!((1..=10).contains(&a.rounds), "--rounds 1 to 10");
    ensure!(
        (1..=512).contains(&a.connections) && (1..=512).contains(&a.sat_connections),
        "--connections and --sat-connections 1 to 512"
    );
    ensure!(
        (1..=1_000_000).contains(&a.max_requests),
        "--max-requests 1 to 1,000,000"
    );
    ensure!(a.quiet_wait <= 600, "--quiet-wait at most 600 s");
    for e in &a.engines {
        ensure!(
            e == "sqlite" || e == "postgres",
            "--engines takes sqlite and/or postgres, not {e}"
        );
    }
    ensure!(!a.engines.is_empty(), "--engines is empty");
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// The reference endpoint: the record page's database read and nothing else.

#[derive(Clone)]
enum RefPool {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

/// mace's record page reads the child (`PERSON_COLUMNS`) and its chronology (`CHRONOLOGY_LIST`
/// in crates/store/src/cases.rs); the same statements here.
const REF_PERSON: &str = "SELECT id, kind, given_name, family_name, date_of_birth, dob_approximate, gender, postcode, created_at, updated_at FROM people WHERE id = $1";
const REF_CHRONOLOGY: &str = "SELECT id, person_id, kind, source_id, org_id, event_at, recorded_at, summary, marking \
     FROM chronology WHERE person_id = $1 ORDER BY event_at, recorded_at, id LIMIT 5000";

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn micros_to_time(us: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn day_time(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// One chronology entry as the reference shows it.
struct RefEntry {
    id: uuid::Uuid,
    kind: String,
    source_id: uuid::Uuid,
    org_id: uuid::Uuid,
    event_at: time::OffsetDateTime,
    summary: String,
    marking: Option<String>,
}

async fn ref_read(
    pool: &RefPool,
    id: uuid::Uuid,
) -> Result<Option<(String, Vec<RefEntry>)>, sqlx::Error> {
    match pool {
        RefPool::Sqlite(p) => {
            let mut c = p.acquire().await?;
            let Some(row) = sqlx::query(REF_PERSON)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
            else {
                return Ok(None);
            };
            let name = format!(
                "{} {} ({}, born {})",
                row.try_get::<String, _>("given_name")?,
                row.try_get::<String, _>("family_name")?,
                row.try_get::<String, _>("gender")?,
                row.try_get::<Option<String>, _>("date_of_birth")?
                    .unwrap_or_default()
            );
            let rows = sqlx::query(REF_CHRONOLOGY)
                .bind(id)
                .fetch_all(&mut *c)
                .await?;
            let mut entries = Vec::with_capacity(rows.len());
            for r in rows {
                entries.push(RefEntry {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    source_id: r.try_get("source_id")?,
                    org_id: r.try_get("org_id")?,
                    event_at: micros_to_time(r.try_get("event_at")?),
                    summary: r.try_get("summary")?,
                    marking: r.try_get("marking")?,
                });
            }
            Ok(Some((name, entries)))
        }
        RefPool::Pg(p) => {
            let mut c = p.acquire().await?;
            let Some(row) = sqlx::query(REF_PERSON)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
            else {
                return Ok(None);
            };
            let name = format!(
                "{} {} ({}, born {})",
                row.try_get::<String, _>("given_name")?,
                row.try_get::<String, _>("family_name")?,
                row.try_get::<String, _>("gender")?,
                row.try_get::<Option<time::Date>, _>("date_of_birth")?
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            );
            let rows = sqlx::query(REF_CHRONOLOGY)
                .bind(id)
                .fetch_all(&mut *c)
                .await?;
            let mut entries = Vec::with_capacity(rows.len());
            for r in rows {
                entries.push(RefEntry {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    source_id: r.try_get("source_id")?,
                    org_id: r.try_get("org_id")?,
                    event_at: r.try_get("event_at")?,
                    summary: r.try_get("summary")?,
                    marking: r.try_get("marking")?,
                });
            }
            Ok(Some((name, entries)))
        }
    }
}

async fn ref_record(State(pool): State<RefPool>, UrlPath(id): UrlPath<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match ref_read(&pool, id).await {
        Ok(Some((name, entries))) => {
            let mut html = format!(
                "<!doctype html><html lang=\"en\"><title>{0}</title><h1>{0}</h1><p>Showing {1} entries</p><ol>",
                escape(&name),
                entries.len()
            );
            for e in &entries {
                html.push_str(&format!(
                    "<li id=\"entry-{}\" data-source=\"{}\" data-org=\"{}\"><b>{}</b> {} {}{}</li>",
                    e.id,
                    e.source_id,
                    e.org_id,
                    day_time(e.event_at),
                    escape(&e.kind),
                    escape(&e.summary),
                    e.marking
                        .as_deref()
                        .map(|m| format!(" [{}]", escape(m)))
                        .unwrap_or_default()
                ));
            }
            html.push_str("</ol></html>");
            Html(html).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `load --serve-reference`: the reference server, on 127.0.0.1 with an ephemeral port, against
/// the database in `MACE_BENCH_REF_DB` (a `sqlite://` file or a `postgres://` URL).
fn serve_reference() -> Result<()> {
    let url = std::env::var("MACE_BENCH_REF_DB").context("MACE_BENCH_REF_DB is not set")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let pool = if let Some(path) = url.strip_prefix("sqlite://") {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(false)
                .busy_timeout(Duration::from_secs(5));
            RefPool::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(opts)
                    .await
                    .context("cannot open the SQLite database")?,
            )
        } else {
            RefPool::Pg(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(8)
                    .connect(&url)
                    .await
                    .context("cannot connect to PostgreSQL")?,
            )
        };
        let app = axum::Router::new()
            .route("/children/{id}", axum::routing::get(ref_record))
            .with_state(pool);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("reference listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// The reference server as a child process; killed when dropped.
struct RefServer {
    child: Child,
    addr: SocketAddr,
}

impl RefServer {
    fn start(db_url: &str, log: &Path) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find this program")?;
        let mut child = Command::new(exe)
            .arg("--serve-reference")
            .env("MACE_BENCH_REF_DB", db_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log)?))
            .spawn()
            .context("cannot start the reference server")?;
        let stdout = child
            .stdout
            .take()
            .context("no stdout from the reference")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        let mut server = RefServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = first
            .strip_prefix("reference listening on http://")
            .with_context(|| format!("the reference did not start; see {}", log.display()))?;
        server.addr = addr.trim().parse()?;
        ensure!(
            server.addr.ip().is_loopback(),
            "the reference is not on loopback"
        );
        Ok(server)
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RefServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The generator

/// A signed-in user: the session cookie and the children whose records they may open.
struct User {
    cookie: String,
    children: Vec<String>,
}

/// Where the load goes and what it asks for.
struct Target {
    addr: SocketAddr,
    users: Vec<User>,
    /// The reference: every arrival is its record read.
    reference: bool,
}

impl Target {
    fn requests_per_arrival(&self) -> f64 {
        if self.reference {
            1.0
        } else {
            MACE_REQUESTS_PER_ARRIVAL
        }
    }
}

type Conn = SendRequest<Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection, made again after an error.
struct Connection {
    addr: SocketAddr,
    sender: Option<Conn>,
}

struct Reply {
    status: u16,
    location: String,
    body: Bytes,
}

impl Connection {
    async fn connect(&mut self) -> Result<&mut Conn> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = tokio::net::TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().context("no connection")
    }

    async fn send(&mut self, req: hyper::Request<Full<Bytes>>) -> Result<Reply> {
        let out = async {
            let s = self.connect().await?;
            s.ready().await?;
            let resp = s.send_request(req).await?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok(Reply {
                status,
                location,
                body,
            })
        }
        .await;
        if out.is_err() {
            self.sender = None;
        }
        out
    }
}

fn request(
    t: &Target,
    user: &User,
    method: hyper::Method,
    path: &str,
    form: Option<String>,
) -> Result<hyper::Request<Full<Bytes>>> {
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, t.addr.to_string())
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "same-origin");
    if !t.reference {
        b = b.header(header::COOKIE, format!("{SESSION_COOKIE}={}", user.cookie));
    }
    let body = match form {
        Some(f) => {
            b = b
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, format!("http://{}", t.addr));
            Bytes::from(f)
        }
        None => Bytes::new(),
    };
    Ok(b.body(Full::new(body))?)
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    samples: Vec<(Kind, Duration)>,
    errors: BTreeMap<String, u64>,
    /// Arrivals not served before the drain deadline (counted as errors too).
    unfinished: u64,
}

impl Tally {
    fn error(&mut self, what: String) {
        *self.errors.entry(what).or_default() += 1;
    }
}

/// The concern form's fields, as a person fills them in (the web tests' fields).
fn concern_form(rng: &mut ChaCha8Rng, token: &str) -> String {
    let day = mace_domain::Clock::now(&mace_domain::SystemClock)
        - time::Duration::days(rng.random_range(1..60));
    let mut f: Vec<(String, String)> = vec![
        ("csrf_token".into(), token.into()),
        (
            "narrative".into(),
            NARRATIVES.choose(rng).copied().unwrap_or_default().into(),
        ),
        (
            "location".into(),
            LOCATIONS.choose(rng).copied().unwrap_or_default().into(),
        ),
        ("observed-day".into(), day.day().to_string()),
        ("observed-month".into(), u8::from(day.month()).to_string()),
        ("observed-year".into(), day.year().to_string()),
        (
            "actions_taken".into(),
            "Passed to the designated safeguarding lead.".into(),
        ),
    ];
    for t in TYPES.choose_multiple(rng, 2) {
        f.push((format!("type_{t}"), "yes".into()));
    }
    for i in INDICATORS.choose_multiple(rng, 2) {
        f.push((format!("ind_{i}"), "yes".into()));
    }
    f.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `fut`, cut off at `deadline`.
fn until<F: std::future::Future>(deadline: Instant, fut: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), fut)
}

/// One arrival: its step's request(s), timed from `due` (the first) and from sending (the
/// form post, which waits for the form page).
async fn arrival(
    t: &Target,
    conn: &mut Connection,
    seq: u64,
    due: Instant,
    deadline: Instant,
    rng: &mut ChaCha8Rng,
    tally: &mut Tally,
) {
    let n = t.users.len() as u64;
    let Some(user) = t.users.get((seq % n.max(1)) as usize) else {
        return;
    };
    let step = if t.reference {
        Step::Record
    } else {
        CYCLE[(seq % CYCLE.len() as u64) as usize]
    };
    let child = user.children.choose(rng).cloned().unwrap_or_default();
    let (kind, path) = match step {
        Step::Work => (Kind::Work, "/work".to_string()),
        Step::Actions => (Kind::Actions, "/work/actions".to_string()),
        Step::Record => (Kind::Record, format!("/children/{child}")),
        Step::Raise => (Kind::Form, format!("/concerns/new/{child}")),
    };
    let req = match request(t, user, hyper::Method::GET, &path, None) {
        Ok(r) => r,
        Err(e) => return tally.error(format!("building GET {}: {e}", kind.label())),
    };
    let reply = match until(deadline, conn.send(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return tally.error(format!("GET {}: {e}", kind.label())),
        Err(_) => {
            tally.error(format!("GET {}: timed out", kind.label()));
            conn.sender = None;
            return;
        }
    };
    tally.samples.push((kind, due.elapsed()));
    if reply.status != 200 {
        return tally.error(format!("GET {}: HTTP {}", kind.label(), reply.status));
    }
    if step != Step::Raise {
        return;
    }
    let page = String::from_utf8_lossy(&reply.body);
    let Ok(token) = csrf(&page) else {
        return tally.error("the concern form has no CSRF token".into());
    };
    let body = concern_form(rng, &token);
    let req = match request(t, user, hyper::Method::POST, &path, Some(body)) {
        Ok(r) => r,
        Err(e) => return tally.error(format!("building the form post: {e}")),
    };
    let sent = Instant::now();
    let reply = match until(deadline, conn.send(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return tally.error(format!("POST concern: {e}")),
        Err(_) => {
            tally.error("POST concern: timed out".into());
            conn.sender = None;
            return;
        }
    };
    tally.samples.push((Kind::Post, sent.elapsed()));
    if reply.status == 403 {
        return tally.error("POST concern: HTTP 403 (CSRF or origin refused)".into());
    }
    if reply.status != 303 || !reply.location.starts_with("/concerns/") {
        tally.error(format!(
            "POST concern: HTTP {} to {:?}",
            reply.status, reply.location
        ));
    }
}

/// A run's figures.
#[derive(Debug, Clone, Default)]
struct Run {
    requests: u64,
    errors: u64,
    error_list: String,
    rps: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
    /// Per kind: (label, count, p50, p99) in ms.
    kinds: Vec<(&'static str, usize, f64, f64)>,
    server_ms: f64,
    gen_cores: f64,
    others_cores: f64,
    cpu_stall: f64,
    quiet: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Drive `t` for `secs` seconds: at `rate` requests per second (open loop, latency from each
/// arrival's scheduled time) or closed loop (`None`: each connection sends its next request as
/// soon as the last is answered), with `connections` connections and at most `max` requests.
async fn drive(
    t: Arc<Target>,
    secs: f64,
    rate: Option<f64>,
    connections: usize,
    max: u64,
) -> (Tally, Duration) {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    // Arrivals still queued or in flight this long after the end are cut off.
    let deadline = end + Duration::from_secs_f64((secs / 2.0).clamp(5.0, 30.0));
    let max_arrivals = (max as f64 / t.requests_per_arrival()).ceil() as u64;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let rx = Arc::new(Mutex::new(rx));
    let mut workers = Vec::new();
    for w in 0..connections {
        let (t, rx, counter) = (t.clone(), rx.clone(), counter.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = Connection {
                addr: t.addr,
                sender: None,
            };
            let mut rng = ChaCha8Rng::seed_from_u64(w as u64 + 1);
            let mut tally = Tally::default();
            loop {
                let job = if rate.is_some() {
                    let next = rx.lock().await.recv().await;
                    match next {
                        Some(j) => j,
                        None => break,
                    }
                } else {
                    let now = Instant::now();
                    let seq = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if now >= end || seq >= max_arrivals {
                        break;
                    }
                    (seq, now)
                };
                if Instant::now() >= deadline {
                    tally.unfinished += 1;
                    continue;
                }
                arrival(&t, &mut conn, job.0, job.1, deadline, &mut rng, &mut tally).await;
            }
            tally
        }));
    }
    if let Some(r) = rate {
        let interval = Duration::from_secs_f64(t.requests_per_arrival() / r.max(0.001));
        let mut seq = 0u64;
        loop {
            let due = start + interval.mul_f64(seq as f64);
            if due >= end || seq >= max_arrivals {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            if tx.send((seq, due)).is_err() {
                break;
            }
            seq += 1;
        }
    }
    drop(tx);
    let mut total = Tally::default();
    for w in workers {
        if let Ok(mut tally) = w.await {
            total.samples.append(&mut tally.samples);
            for (k, n) in tally.errors {
                *total.errors.entry(k).or_default() += n;
            }
            total.unfinished += tally.unfinished;
        } else {
            total.error("a generator task failed".into());
        }
    }
    (total, start.elapsed())
}

/// What every run on one server shares.
struct Bench<'a> {
    rt: &'a tokio::runtime::Runtime,
    quiet_wait: u64,
    max_requests: u64,
}

impl Bench<'_> {
    fn run(
        &self,
        t: &Arc<Target>,
        server: u32,
        secs: u64,
        rate: Option<f64>,
        connections: usize,
        during: Option<&(dyn Fn() -> Result<String> + Sync)>,
    ) -> Result<(Run, Option<Result<String>>)> {
        let quiet = wait_for_quiet(self.quiet_wait);
        let me = std::process::id();
        let (server0, me0, busy0, stall0) = (
            proc_cpu_secs(server),
            proc_cpu_secs(me),
            machine_busy_secs(),
            stall_secs("cpu"),
        );
        let t0 = Instant::now();
        let (tally, during_out) = std::thread::scope(|s| {
            let side = during.map(|f| {
                s.spawn(move || {
                    std::thread::sleep(Duration::from_secs_f64(secs as f64 / 4.0));
                    f()
                })
            });
            let (tally, elapsed) = self.rt.block_on(drive(
                t.clone(),
                secs as f64,
                rate,
                connections,
                self.max_requests,
            ));
            let out = side.map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the side task failed")))
            });
            ((tally, elapsed), out)
        });
        let (mut tally, elapsed) = tally;
        let wall = t0.elapsed().as_secs_f64();
        let delta = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        let server_cpu = delta(server0, proc_cpu_secs(server));
        let me_cpu = delta(me0, proc_cpu_secs(me));
        let busy = delta(busy0, machine_busy_secs());
        let stall = delta(stall0, stall_secs("cpu")) * 100.0 / wall;

        if tally.unfinished > 0 {
            let n = tally.unfinished;
            tally.error(format!("{n} arrivals not served before the deadline"));
        }
        let requests = tally.samples.len() as u64;
        let mut all: Vec<Duration> = tally.samples.iter().map(|s| s.1).collect();
        all.sort_unstable();
        let q = |v: &[Duration], p| ms(mace_bench::quantile(v, p));
        let mut kinds = Vec::new();
        for k in Kind::ALL {
            let mut v: Vec<Duration> = tally
                .samples
                .iter()
                .filter(|s| s.0 == k)
                .map(|s| s.1)
                .collect();
            if v.is_empty() {
                continue;
            }
            v.sort_unstable();
            kinds.push((k.label(), v.len(), q(&v, 0.5), q(&v, 0.99)));
        }
        let errors: u64 = tally.errors.values().sum();
        let run = Run {
            requests,
            errors,
            error_list: tally
                .errors
                .iter()
                .map(|(k, n)| format!("{n} × {k}"))
                .collect::<Vec<_>>()
                .join("; "),
            rps: requests as f64 / elapsed.as_secs_f64().max(0.001),
            p50: q(&all, 0.5),
            p99: q(&all, 0.99),
            p999: q(&all, 0.999),
            max: all.last().copied().map_or(f64::NAN, ms),
            kinds,
            server_ms: server_cpu * 1e3 / requests.max(1) as f64,
            gen_cores: me_cpu / wall,
            others_cores: ((busy - server_cpu - me_cpu) / wall).max(0.0),
            cpu_stall: stall,
            quiet,
        };
        Ok((run, during_out))
    }
}

fn print_run(label: &str, r: &Run) {
    println!(
        "    {label}: {} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms, errors {}{}",
        r.requests,
        r.rps,
        r.p50,
        r.p99,
        r.p999,
        r.max,
        r.errors,
        if r.errors > 0 {
            format!(" ({})", r.error_list)
        } else {
            String::new()
        }
    );
    if r.kinds.len() > 1 {
        let per: Vec<String> = r
            .kinds
            .iter()
            .map(|(l, n, p50, p99)| format!("{l} {n}: {p50:.1}/{p99:.1}"))
            .collect();
        println!("      per kind (count: p50/p99 ms): {}", per.join(", "));
    }
    println!(
        "      CPU: server {:.2} ms per request; generator {:.2} cores; other processes {:.2} cores; some task waiting for a CPU {:.0} % of the time (before: {})",
        r.server_ms, r.gen_cores, r.others_cores, r.cpu_stall, r.quiet
    );
}

/// The medians over rounds of one setting.
#[derive(Debug, Clone, Copy, Default)]
struct Med {
    rps: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: u64,
}

fn medians(runs: &[Run]) -> Med {
    let m =
        |f: fn(&Run) -> f64| mace_bench::summary(&runs.iter().map(f).collect::<Vec<_>>()).median;
    Med {
        rps: m(|r| r.rps),
        p50: m(|r| r.p50),
        p99: m(|r| r.p99),
        p999: m(|r| r.p999),
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}

/// One engine's results for the table.
struct EngineResult {
    engine: &'static str,
    mace_max: Med,
    ref_max: Med,
    /// (percent, offered rate, mace, reference)
    levels: Vec<(u32, f64, Med, Med)>,
    backup: Option<String>,
    errors: u64,
    notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a fresh database for the run

/// The host of a `postgres://` URL.
fn pg_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    Some(match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host_port.split(':').next()?,
    })
}

/// `base` with its database name replaced by `name`.
fn pg_url_for(base: &str, name: &str) -> Result<String> {
    let (no_query, query) = match base.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (base, String::new()),
    };
    let scheme_end = no_query.find("://").context("not a URL")? + 3;
    let authority_end = no_query[scheme_end..]
        .find('/')
        .map_or(no_query.len(), |i| scheme_end + i);
    Ok(format!("{}/{name}{query}", &no_query[..authority_end]))
}

async fn pg_admin(base: &str, sql: &str) -> Result<()> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(base)
        .await
        .context("cannot connect to PostgreSQL (--pg-url)")?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut c)
        .await?;
    c.close().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One engine

fn run_engine(
    a: &Args,
    rt: &tokio::runtime::Runtime,
    mace: &Path,
    engine: &str,
) -> Result<EngineResult> {
    let data = a.data.join(engine);
    std::fs::create_dir_all(&data)?;
    let data = data.canonicalize()?;
    if engine == "postgres" {
        let host = pg_host(&a.pg_url).context("--pg-url is not a postgres:// URL")?;
        ensure!(
            matches!(host, "127.0.0.1" | "localhost" | "::1"),
            "--pg-url must name a loopback host, not {host}"
        );
        let name = format!("mace_load_{}", std::process::id());
        rt.block_on(pg_admin(
            &a.pg_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ))?;
        rt.block_on(pg_admin(&a.pg_url, &format!("CREATE DATABASE {name}")))?;
        println!("  PostgreSQL: made database {name} for the run");
        let db = Db {
            data,
            url: Some(pg_url_for(&a.pg_url, &name)?),
        };
        let out = engine_runs(a, rt, mace, &db);
        let dropped = rt.block_on(pg_admin(
            &a.pg_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ));
        match &dropped {
            Ok(()) => println!("  PostgreSQL: dropped database {name}"),
            Err(e) => println!("  PostgreSQL: could not drop database {name}: {e:#}"),
        }
        let out = out?;
        dropped?;
        Ok(out)
    } else {
        let db = Db { data, url: None };
        engine_runs(a, rt, mace, &db)
    }
}

/// The size of the records the users open: mean and largest chronology (over the API).
fn chronologies(addr: SocketAddr, listed: &[(&&str, String, Vec<String>)]) -> Result<String> {
    let mut lens = Vec::new();
    for (_, token, children) in listed {
        for c in children {
            lens.push(chronology_len(addr, token, c)? as f64);
        }
    }
    let s = mace_bench::summary(&lens);
    let mean = lens.iter().sum::<f64>() / lens.len().max(1) as f64;
    Ok(format!(
        "records' chronologies: mean {mean:.0}, median {:.0}, largest {:.0} entries",
        s.median, s.max
    ))
}

fn engine_runs(
    a: &Args,
    rt: &tokio::runtime::Runtime,
    mace: &Path,
    db: &Db,
) -> Result<EngineResult> {
    let engine = db.engine();
    println!("\n{engine}:");
    let t = Instant::now();
    let mut server = Server::start(mace, db, a.people, None)?;
    let addr = server.addr;
    println!(
        "  mace serve --demo on {addr} (pid {}), {} demo people: {:.1} s",
        server.pid(),
        a.people,
        t.elapsed().as_secs_f64()
    );

    // Each user's children (over the API, with a token made by the CLI), then background
    // concerns about them so that records have chronologies.
    let t = Instant::now();
    let mut listed = Vec::new();
    for email in USERS {
        let out = mace_cli(
            mace,
            db,
            &[
                "token",
                "create",
                "--email",
                email,
                "--name",
                "load bench",
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
            .context("mace token create printed no token")?
            .trim()
            .to_string();
        let mut children = children_of(addr, &token)?;
        ensure!(!children.is_empty(), "{email} sees no children");
        children.truncate(a.children);
        listed.push((email, token, children));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for i in 0..a.background {
        let (_, token, children) = &listed[i % listed.len()];
        let child = children.choose(&mut rng).context("no child")?;
        let days = rng.random_range(0..730);
        raise(
            addr,
            token,
            concern_body(&mut rng, child, days, i % 8 == 5)?,
        )?;
    }
    println!(
        "  {} users in 4 organisations working with {} children each; {} concerns about them raised over the API: {:.1} s; {}",
        listed.len(),
        a.children,
        a.background,
        t.elapsed().as_secs_f64(),
        chronologies(addr, &listed)?
    );

    // Sign in as a browser does, and check every page of the scenario once.
    let mut users = Vec::new();
    for (email, _, children) in &listed {
        let cookie = sign_in(addr, email, DEMO_PASSWORD, "/work")?;
        let mut b = Browser {
            addr,
            cookies: BTreeMap::from([(SESSION_COOKIE.to_string(), cookie.clone())]),
        };
        let child = children.first().context("no child")?;
        for path in [
            "/work".to_string(),
            "/work/actions".to_string(),
            format!("/children/{child}"),
        ] {
            let r = b.get(&path)?;
            ensure!(r.status == 200, "{email}: GET {path}: {}", r.status);
        }
        let form = b.get(&format!("/concerns/new/{child}"))?;
        ensure!(
            form.status == 200,
            "{email}: the concern form: {}",
            form.status
        );
        csrf(&form.body).with_context(|| format!("{email}: the concern form"))?;
        users.push(User {
            cookie,
            children: children.clone(),
        });
    }
    println!(
        "  signed in {} users (password, then authenticator enrolment); every page checked",
        users.len()
    );

    let ref_url = match &db.url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", db.data.join("mace.db").display()),
    };
    let reference = RefServer::start(&ref_url, &db.data.join("reference.log"))?;
    let ref_children: Vec<User> = users
        .iter()
        .map(|u| User {
            cookie: String::new(),
            children: u.children.clone(),
        })
        .collect();
    {
        let mut b = Browser {
            addr: reference.addr,
            cookies: BTreeMap::new(),
        };
        let child = users
            .first()
            .and_then(|u| u.children.first())
            .context("no child")?;
        let r = b.get(&format!("/children/{child}"))?;
        ensure!(
            r.status == 200 && r.body.contains("</ol>"),
            "the reference's record read: {}",
            r.status
        );
    }
    println!(
        "  reference endpoint on {} (pid {})",
        reference.addr,
        reference.pid()
    );
    let mace_t = Arc::new(Target {
        addr,
        users,
        reference: false,
    });
    let ref_t = Arc::new(Target {
        addr: reference.addr,
        users: ref_children,
        reference: true,
    });
    let (mace_pid, ref_pid) = (server.pid(), reference.pid());
    let bench = Bench {
        rt,
        quiet_wait: a.quiet_wait,
        max_requests: a.max_requests,
    };
    let events_before = audit_events(mace, db)?;
    let mut errors = 0;
    let mut notes = Vec::new();

    if a.warmup > 0 {
        for (label, t, pid) in [("mace", &mace_t, mace_pid), ("reference", &ref_t, ref_pid)] {
            let (r, _) = bench.run(t, pid, a.warmup, None, a.sat_connections, None)?;
            print_run(&format!("warm-up, {label}"), &r);
            errors += r.errors;
        }
    }

    // The maximum: closed loop, alternating.
    println!(
        "  maximum throughput: closed loop, {} connections, {} s, {} rounds",
        a.sat_connections, a.duration, a.rounds
    );
    let (mut mace_sat, mut ref_sat) = (Vec::new(), Vec::new());
    for round in 1..=a.rounds {
        for (label, t, pid, out) in [
            ("mace", &mace_t, mace_pid, &mut mace_sat),
            ("reference", &ref_t, ref_pid, &mut ref_sat),
        ] {
            let (r, _) = bench.run(t, pid, a.duration, None, a.sat_connections, None)?;
            print_run(&format!("round {round}, {label}"), &r);
            errors += r.errors;
            out.push(r);
        }
    }
    let (mace_max, ref_max) = (medians(&mace_sat), medians(&ref_sat));
    println!(
        "  maximum (median of {} rounds): mace {:.0} req/s, reference {:.0} req/s",
        a.rounds, mace_max.rps, ref_max.rps
    );

    let mut levels = Vec::new();
    for pct in [25u32, 50, 75] {
        let rate = mace_max.rps * f64::from(pct) / 100.0;
        println!(
            "  {pct} % of mace's maximum: {rate:.0} req/s offered (open loop, {} connections, {} s)",
            a.connections, a.duration
        );
        let (mut m, mut r) = (Vec::new(), Vec::new());
        for round in 1..=a.rounds {
            for (label, t, pid, out) in [
                ("mace", &mace_t, mace_pid, &mut m),
                ("reference", &ref_t, ref_pid, &mut r),
            ] {
                let (run, _) = bench.run(t, pid, a.duration, Some(rate), a.connections, None)?;
                print_run(&format!("round {round}, {label}"), &run);
                errors += run.errors;
                out.push(run);
            }
        }
        levels.push((pct, rate, medians(&m), medians(&r)));
    }

    // A backup under load, then its verification.
    let mut backup = None;
    if a.backup_during {
        let rate = mace_max.rps * 0.5;
        let file = db.data.join("under-load.mace-backup");
        let _ = std::fs::remove_file(&file);
        println!(
            "  backup under load: {rate:.0} req/s (50 %), `mace backup --out FILE` a quarter into a {} s run",
            a.duration
        );
        let take = || -> Result<String> {
            let t = Instant::now();
            let out = mace_cli(
                mace,
                db,
                &["backup", "--out", &file.to_string_lossy()],
                None,
            )?;
            Ok(format!(
                "{:.1} s ({})",
                t.elapsed().as_secs_f64(),
                out.lines().last().unwrap_or_default().trim()
            ))
        };
        let (run, taken) = bench.run(
            &mace_t,
            mace_pid,
            a.duration,
            Some(rate),
            a.connections,
            Some(&take),
        )?;
        print_run("mace with a backup running", &run);
        errors += run.errors;
        let taken = taken.context("the backup did not run")?;
        let verdict = match taken {
            Ok(took) => {
                println!("    mace backup: succeeded in {took}");
                let t = Instant::now();
                match mace_cli(
                    mace,
                    db,
                    &["backup", "verify", &file.to_string_lossy()],
                    None,
                ) {
                    Ok(out) => {
                        println!(
                            "    mace backup verify: succeeded in {:.1} s ({})",
                            t.elapsed().as_secs_f64(),
                            out.lines().last().unwrap_or_default().trim()
                        );
                        let size = std::fs::metadata(&file).map_or(0, |m| m.len());
                        format!(
                            "taken under load and verified ({:.1} MiB, p99 during it {:.1} ms)",
                            size as f64 / 1048576.0,
                            run.p99
                        )
                    }
                    Err(e) => {
                        errors += 1;
                        format!("FAILED to verify: {e:#}")
                    }
                }
            }
            Err(e) => {
                errors += 1;
                format!("FAILED: {e:#}")
            }
        };
        if verdict.starts_with("FAILED") {
            println!("    backup {verdict}");
        }
        backup = Some(verdict);
    }

    println!(
        "  after the runs (the concerns raised add to the records): {}",
        chronologies(addr, &listed)?
    );
    drop(reference);
    let rss = server.peak_rss_mib();
    server.stop();
    let events_after = audit_events(mace, db)?;
    println!(
        "  server peak RSS {:.0} MiB; audit chain verified: {events_after} events, {} appended during the runs",
        rss.unwrap_or(f64::NAN),
        events_after.saturating_sub(events_before)
    );
    if let Some(p) = cpu_pressure_avg10() {
        notes.push(format!("CPU pressure at the end {p:.0} %"));
    }
    Ok(EngineResult {
        engine,
        mace_max,
        ref_max,
        levels,
        backup,
        errors,
        notes,
    })
}

// ---------------------------------------------------------------------------------------------

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.1}×", a / b)
    } else {
        "–".into()
    }
}

fn print_table(results: &[EngineResult], rounds: usize) {
    println!(
        "\nResults (medians of {rounds} round(s); latency in ms, measured from each request's scheduled time; ratio = mace / reference)"
    );
    println!(
        "| engine | load | offered req/s | mace req/s | mace p50 | p99 | p99.9 | ref req/s | ref p50 | p99 | p99.9 | ratio p50 | p99 | p99.9 | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        println!(
            "| {} | maximum (closed loop) | – | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | throughput {:.3} | | | {} |",
            r.engine,
            r.mace_max.rps,
            r.mace_max.p50,
            r.mace_max.p99,
            r.mace_max.p999,
            r.ref_max.rps,
            r.ref_max.p50,
            r.ref_max.p99,
            r.ref_max.p999,
            r.mace_max.rps / r.ref_max.rps,
            r.mace_max.errors + r.ref_max.errors
        );
        for (pct, rate, m, f) in &r.levels {
            println!(
                "| {} | {pct} % | {rate:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
                r.engine,
                m.rps,
                m.p50,
                m.p99,
                m.p999,
                f.rps,
                f.p50,
                f.p99,
                f.p999,
                ratio(m.p50, f.p50),
                ratio(m.p99, f.p99),
                ratio(m.p999, f.p999),
                m.errors + f.errors
            );
        }
    }
    for r in results {
        if let Some(b) = &r.backup {
            println!("{} backup: {b}", r.engine);
        }
        if !r.notes.is_empty() {
            println!("{}: {}", r.engine, r.notes.join("; "));
        }
    }
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--serve-reference") {
        return serve_reference();
    }
    let a = parse_args()?;
    let mace = release_mace(a.mace.as_deref())?;
    let mace_v = mace_version(&mace)?;
    if a.data.exists() {
        std::fs::remove_dir_all(&a.data)
            .with_context(|| format!("cannot clear {}", a.data.display()))?;
    }
    std::fs::create_dir_all(&a.data)?;
    println!(
        "load{}: {mace_v} (release), {} cores, load average {}, CPU pressure {}; {} users, 90 % reads / 10 % writes; generator: this process (open loop, latency from scheduled times)",
        if a.quick { " --quick" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
        cpu_pressure_avg10().map_or("unknown".into(), |p| format!("{p:.0} %")),
        USERS.len()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for engine in &a.engines {
        results.push(run_engine(&a, &rt, &mace, engine)?);
    }
    print_table(&results, a.rounds);
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    ensure!(
        errors == 0,
        "{errors} request errors or failed backups (see above)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls() {
        assert_eq!(pg_host(DEFAULT_PG), Some("127.0.0.1"));
        assert_eq!(pg_host("postgres://u@[::1]:5432/x"), Some("::1"));
        assert_eq!(
            pg_url_for(DEFAULT_PG, "mace_load_1").ok().as_deref(),
            Some("postgres://mace:mace@127.0.0.1:5432/mace_load_1")
        );
        assert_eq!(
            pg_url_for("postgres://h/db?sslmode=disable", "n")
                .ok()
                .as_deref(),
            Some("postgres://h/n?sslmode=disable")
        );
    }

    #[test]
    fn the_scenario_is_nine_reads_to_one_write() {
        let raises = CYCLE.iter().filter(|s| **s == Step::Raise).count();
        let requests = CYCLE.len() + raises;
        assert_eq!((raises, requests), (1, 10));
        assert!((MACE_REQUESTS_PER_ARRIVAL * CYCLE.len() as f64 - 10.0).abs() < 1e-9);
    }
}
