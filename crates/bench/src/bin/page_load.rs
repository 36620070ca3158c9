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
use mace_bench::serve::{
    Browser, Db, SESSION_COOKIE, Server, audit_events, children_of, chronology_len, concern_body,
    mace_cli, mace_version, raise, random_password, release_mace, repo_root, sign_in,
};
use mace_bench::sys::{
    command, context_switches, loadavg, machine_busy_secs, proc_cpu_secs, stall_secs,
    wait_for_quiet,
};
use rand::Rng;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
    let oha_v = oha_version(&a.oha)?;
    let mace = release_mace(a.mace.as_deref())?;
    let mace_v = mace_version(&mace)?;

    // A fresh data directory every run.
    if a.data.exists() {
        std::fs::remove_dir_all(&a.data)
            .with_context(|| format!("cannot clear {}", a.data.display()))?;
    }
    std::fs::create_dir_all(&a.data)?;
    let data = a.data.canonicalize()?;
    let db = Db {
        data: data.clone(),
        url: None,
    };
    println!(
        "page_load: {mace_v} (release, SQLite in {}), {oha_v}, {} cores, load average {}",
        data.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );

    let t = Instant::now();
    let mut server = Server::start(&mace, &db, a.people, a.nice)?;
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
    let password = random_password();
    mace_cli(
        &mace,
        &db,
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
            &db,
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
    let events_before = audit_events(&mace, &db)?;
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
    let events_after = audit_events(&mace, &db)?;
    println!(
        "  server peak RSS {:.0} MiB; audit chain verified: {events_after} events, {} appended during the load (one per page view)",
        rss.unwrap_or(f64::NAN),
        events_after - events_before
    );
    Ok(())
}
