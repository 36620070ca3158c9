//! Hotspots: grid counts, Gaussian kernel density and Getis-Ord Gi* on synthetic incidents,
//! mace (`mace_analytics::hotspot`) against KDEpy's `FFTKDE` and esda's `G_Local(star=True)`
//! (PyPI, `crates/bench/peers/hotspots.py`), alternately in one run.
//!
//! `crates/bench/setup-peers.sh && cargo run --release -p mace-bench --bin hotspots`
//! Options: `--quick` (10k and 100k incidents on 100 m cells, 3 rounds: under a minute)
//! `--sizes 10000,100000,1000000` `--cell M` (50) `--bandwidth M` (300) `--rounds N` (5)
//! `--seed N` (7) `--no-peer`.
//!
//! Incidents: 70 % uniform over a 20 km × 20 km square, 30 % in ten planted Gaussian blobs
//! (σ 120–800 m, 3 % of the incidents each), seeded. The grid is `Grid::covering` with one
//! empty cell each side. Per size the points and mace's results (counts, Gi* z, the density
//! with KDEpy's kernel cut-off) go to `target/bench-data/hotspots-N-SEED/` for the peer, which
//! checks the counts against `numpy.histogram2d`, computes KDEpy's density on the same cell
//! centres and esda's z on the same counts and weights, and reports the differences.
//! A cell is truly hot when its centre is within 2σ of a blob's centre; found = `Cluster::Hot`
//! at α = 0.05, with and without the Benjamini–Hochberg FDR.

use anyhow::{Context, Result, bail};
use mace_analytics::hotspot::{self, Cluster, Grid, Truncation};
use mace_bench::{Summary, peak_rss_mib, peer_python, summary};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

/// The study area's side, metres.
const SIDE: f64 = 20_000.0;
/// Share of incidents in the planted blobs.
const BLOB_SHARE: f64 = 0.3;
/// The planted blobs' standard deviations, metres.
const SIGMAS: [f64; 10] = [
    120.0, 160.0, 200.0, 250.0, 300.0, 350.0, 400.0, 500.0, 600.0, 800.0,
];
/// Significance level of the clusters.
const ALPHA: f64 = 0.05;
/// Cells allowed in a grid.
const MAX_CELLS: usize = 4_000_000;

struct Args {
    sizes: Vec<usize>,
    cell: f64,
    bandwidth: f64,
    rounds: usize,
    seed: u64,
    peer: bool,
    quick: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        sizes: vec![10_000, 100_000, 1_000_000],
        cell: 50.0,
        bandwidth: 300.0,
        rounds: 5,
        seed: 7,
        peer: true,
        quick: false,
    };
    let (mut sizes, mut cell, mut rounds) = (None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--sizes" => {
                let s = it.next().context("--sizes N,N,...")?;
                sizes = Some(
                    s.split(',')
                        .map(|v| v.trim().replace('_', "").parse::<usize>())
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            "--cell" => cell = Some(it.next().context("--cell M")?.parse()?),
            "--bandwidth" => a.bandwidth = it.next().context("--bandwidth M")?.parse()?,
            "--rounds" => rounds = Some(it.next().context("--rounds N")?.parse()?),
            "--seed" => a.seed = it.next().context("--seed N")?.parse()?,
            "--no-peer" => a.peer = false,
            "--bench" => {} // passed by `cargo bench`
            other => bail!("unknown argument {other}"),
        }
    }
    if a.quick {
        a.sizes = vec![10_000, 100_000];
        a.cell = 100.0;
        a.rounds = 3;
    }
    a.sizes = sizes.unwrap_or(a.sizes);
    a.cell = cell.unwrap_or(a.cell);
    a.rounds = rounds.unwrap_or(a.rounds).max(1);
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if a.sizes.iter().any(|&n| n < 100) || !positive(a.cell) || !positive(a.bandwidth) {
        bail!("sizes of at least 100 incidents, a positive cell size and bandwidth");
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Data

struct Blob {
    x: f64,
    y: f64,
    sigma: f64,
}

fn normal(rng: &mut ChaCha8Rng) -> (f64, f64) {
    // Box–Muller.
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random::<f64>();
    let r = (-2.0 * u.ln()).sqrt();
    let t = 2.0 * std::f64::consts::PI * v;
    (r * t.cos(), r * t.sin())
}

/// The blobs (fixed by the seed, the same for every size) and `n` incidents.
fn incidents(n: usize, seed: u64) -> (Vec<Blob>, Vec<(f64, f64)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let blobs: Vec<Blob> = SIGMAS
        .iter()
        .map(|&sigma| Blob {
            x: rng.random_range(2_000.0..SIDE - 2_000.0),
            y: rng.random_range(2_000.0..SIDE - 2_000.0),
            sigma,
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (n as u64).rotate_left(32));
    let in_blobs = (n as f64 * BLOB_SHARE).round() as usize;
    let mut pts = Vec::with_capacity(n);
    for k in 0..in_blobs {
        let b = &blobs[k % blobs.len()];
        loop {
            let (dx, dy) = normal(&mut rng);
            let (x, y) = (b.x + b.sigma * dx, b.y + b.sigma * dy);
            if (0.0..SIDE).contains(&x) && (0.0..SIDE).contains(&y) {
                pts.push((x, y));
                break;
            }
        }
    }
    while pts.len() < n {
        pts.push((rng.random_range(0.0..SIDE), rng.random_range(0.0..SIDE)));
    }
    (blobs, pts)
}

fn write_f64s(path: &Path, values: impl IntoIterator<Item = f64>) -> Result<()> {
    let mut f =
        BufWriter::new(std::fs::File::create(path).with_context(|| format!("{}", path.display()))?);
    for v in values {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// mace's side

#[derive(Default)]
struct Times {
    grid: Vec<f64>,
    counts: Vec<f64>,
    density: Vec<f64>,
    density_kdepy: Vec<f64>,
    gi: Vec<f64>,
    clusters: Vec<f64>,
    total: Vec<f64>,
}

struct Output {
    grid: Grid,
    counts: Vec<f64>,
    density: Vec<f64>,
    density_kdepy: Vec<f64>,
    z: Vec<f64>,
    hot_fdr: Vec<Cluster>,
}

/// One round of what a hotspot map request does (grid, counts, density, Gi*, FDR clusters),
/// each step timed, plus the KDEpy-cut-off density for the comparison (timed apart, not in
/// the total).
fn mace_round(pts: &[(f64, f64)], cell: f64, bw: f64, t: &mut Times) -> Result<Output> {
    let start = Instant::now();
    let grid = Grid::covering(pts, cell, 1, MAX_CELLS).context("no grid")?;
    let a = Instant::now();
    let counts = hotspot::counts(&grid, pts);
    let b = Instant::now();
    let density = hotspot::density(&grid, pts, bw);
    let c = Instant::now();
    let z = hotspot::gi_star(grid.nx, grid.ny, &counts);
    let d = Instant::now();
    let hot_fdr = hotspot::clusters(&z, ALPHA, true);
    let e = Instant::now();
    let density_kdepy =
        hotspot::density_with(&grid, pts, bw, Truncation::KdePy).context("KDEpy support")?;
    let f = Instant::now();
    t.grid.push((a - start).as_secs_f64());
    t.counts.push((b - a).as_secs_f64());
    t.density.push((c - b).as_secs_f64());
    t.gi.push((d - c).as_secs_f64());
    t.clusters.push((e - d).as_secs_f64());
    t.total.push((e - start).as_secs_f64());
    t.density_kdepy.push((f - e).as_secs_f64());
    Ok(Output {
        grid,
        counts,
        density,
        density_kdepy,
        z,
        hot_fdr,
    })
}

// ---------------------------------------------------------------------------------------------
// The peer

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(dir: &Path) -> Result<(Peer, Value)> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/hotspots.py");
        let mut child = Command::new(peer_python())
            .arg(&script)
            .arg(dir)
            .env("OMP_NUM_THREADS", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the KDEpy/esda peer (run crates/bench/setup-peers.sh first)")?;
        let stdin = child.stdin.take().context("peer stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("peer stdout")?);
        let mut p = Peer {
            child,
            stdin,
            stdout,
        };
        let hello = p.line()?;
        Ok((p, hello))
    }

    fn line(&mut self) -> Result<Value> {
        let mut s = String::new();
        if self.stdout.read_line(&mut s)? == 0 {
            bail!("the hotspot peer stopped (see its messages above)");
        }
        let v: Value = serde_json::from_str(&s)?;
        if let Some(e) = v.get("error") {
            bail!("peer: {e}");
        }
        Ok(v)
    }

    fn round(&mut self) -> Result<Value> {
        writeln!(self.stdin, "round")?;
        self.stdin.flush()?;
        self.line()
    }

    fn stop(mut self) -> Result<()> {
        writeln!(self.stdin, "quit")?;
        self.stdin.flush()?;
        self.child.wait()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn ms(s: f64) -> f64 {
    s * 1000.0
}

fn fmt_ms(s: &Summary) -> String {
    format!("{:.1} ms ({:.1}–{:.1})", ms(s.median), ms(s.min), ms(s.max))
}

fn fmt_s(s: &Summary) -> String {
    if s.median >= 1.0 {
        format!("{:.2} s ({:.2}–{:.2})", s.median, s.min, s.max)
    } else {
        fmt_ms(s)
    }
}

fn num(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn col(rounds: &[Value], k: &str) -> Vec<f64> {
    rounds.iter().map(|r| num(r, k)).collect()
}

/// Whether the centre of cell `k` is within `r` standard deviations of the blob's centre.
fn within(grid: &Grid, k: usize, b: &Blob, r: f64) -> bool {
    let (x, y) = grid.centre(k);
    (x - b.x).powi(2) + (y - b.y).powi(2) <= (r * b.sigma).powi(2)
}

/// (precision, recall, found, truly hot) of `Hot` cells against the blobs' `r`σ discs.
fn precision_recall(
    grid: &Grid,
    blobs: &[Blob],
    found: &[Cluster],
    r: f64,
) -> (f64, f64, usize, usize) {
    let (mut tp, mut fp, mut truth) = (0usize, 0usize, 0usize);
    for (k, c) in found.iter().enumerate() {
        let hot = blobs.iter().any(|b| within(grid, k, b, r));
        truth += usize::from(hot);
        if *c == Cluster::Hot {
            if hot {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let found = tp + fp;
    (
        tp as f64 / found.max(1) as f64,
        tp as f64 / truth.max(1) as f64,
        found,
        truth,
    )
}

/// Gi* over a wider square: its radius, time, FDR (precision, recall, found, truth), and
/// recall per blob.
struct Wide {
    radius: usize,
    secs: f64,
    pr: (f64, f64, usize, usize),
    per_blob: Vec<(f64, f64, f64)>,
}

struct Row {
    n: usize,
    grid: Grid,
    rounds: usize,
    mace: Times,
    peer: Vec<Value>,
    hello: Option<Value>,
    pr: (f64, f64, usize, usize),
    pr_fdr: (f64, f64, usize, usize),
    /// Precision with FDR counting cells within 3σ as truly hot.
    precision_3s: f64,
    /// Per blob: σ, recall of its 1σ and 2σ discs with FDR.
    per_blob: Vec<(f64, f64, f64)>,
    /// Gi* with a neighbourhood about the bandwidth.
    wide: Wide,
    mass: (f64, f64),
    rss: f64,
}

fn main() -> Result<()> {
    let a = args()?;
    println!(
        "hotspots: {:?} incidents, {} km square, {:.0} % in {} planted blobs (σ {}–{} m); cell {} m, bandwidth {} m, {} rounds after a warm-up, seed {}",
        a.sizes,
        SIDE / 1000.0,
        BLOB_SHARE * 100.0,
        SIGMAS.len(),
        SIGMAS[0],
        SIGMAS[SIGMAS.len() - 1],
        a.cell,
        a.bandwidth,
        a.rounds,
        a.seed
    );
    let mut rows = Vec::new();
    for &n in &a.sizes {
        let t0 = Instant::now();
        let (blobs, pts) = incidents(n, a.seed);
        let gen_s = t0.elapsed().as_secs_f64();

        // Warm-up, and the results the peer compares against.
        let mut warm = Times::default();
        let out = mace_round(&pts, a.cell, a.bandwidth, &mut warm)?;
        let dir = PathBuf::from(format!("target/bench-data/hotspots-{n}-{}", a.seed));
        std::fs::create_dir_all(&dir)?;
        write_f64s(
            &dir.join("points.f64"),
            pts.iter().flat_map(|&(x, y)| [x, y]),
        )?;
        write_f64s(&dir.join("counts.f64"), out.counts.iter().copied())?;
        write_f64s(&dir.join("z.f64"), out.z.iter().copied())?;
        write_f64s(
            &dir.join("density_kdepy.f64"),
            out.density_kdepy.iter().copied(),
        )?;
        let g = out.grid;
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_string_pretty(&json!({
                "points": n,
                "bandwidth": a.bandwidth,
                "grid": {"x0": g.x0, "y0": g.y0, "cell": g.cell, "nx": g.nx, "ny": g.ny},
                "seed": a.seed,
            }))?,
        )?;
        println!(
            "\n{n} incidents (generated in {gen_s:.2} s): grid {}×{} = {} cells of {} m from ({}, {}); data in {}",
            g.nx,
            g.ny,
            g.len(),
            g.cell,
            g.x0,
            g.y0,
            dir.display()
        );

        let mut peer = if a.peer {
            let t = Instant::now();
            let (mut p, hello) = Peer::start(&dir)?;
            println!(
                "  peer ready in {:.1} s (libpysal lat2W {:.1} s); counts vs numpy.histogram2d: {} cells differ (of {}, total {})",
                t.elapsed().as_secs_f64(),
                num(&hello, "lat2w_s"),
                hello
                    .get("counts_diff_cells")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX),
                g.len(),
                num(&hello, "counts_total")
            );
            let w = p.round()?; // warm-up
            println!(
                "  warm-up: KDEpy {:.0} ms, esda {:.0} ms",
                ms(num(&w, "kdepy_s")),
                ms(num(&w, "esda_s"))
            );
            Some((p, hello))
        } else {
            None
        };

        // A B A B ...
        let mut t = Times::default();
        let mut peer_rounds = Vec::new();
        let mut last = out;
        for _ in 0..a.rounds {
            last = mace_round(&pts, a.cell, a.bandwidth, &mut t)?;
            if let Some((p, _)) = peer.as_mut() {
                peer_rounds.push(p.round()?);
            }
        }
        // The same inputs every round: the results must not change.
        if last.grid != g || last.z.len() != g.len() {
            bail!("results changed between rounds");
        }
        let mace_z = last.z;
        let pr = precision_recall(&g, &blobs, &hotspot::clusters(&mace_z, ALPHA, false), 2.0);
        let pr_fdr = precision_recall(&g, &blobs, &last.hot_fdr, 2.0);
        let precision_3s = precision_recall(&g, &blobs, &last.hot_fdr, 3.0).0;
        let per_blob = |found: &[Cluster]| -> Vec<(f64, f64, f64)> {
            blobs
                .iter()
                .map(|b| {
                    let recall = |r: f64| {
                        let (mut hit, mut all) = (0usize, 0usize);
                        for (k, c) in found.iter().enumerate() {
                            if within(&g, k, b, r) {
                                all += 1;
                                hit += usize::from(*c == Cluster::Hot);
                            }
                        }
                        hit as f64 / all.max(1) as f64
                    };
                    (b.sigma, recall(1.0), recall(2.0))
                })
                .collect()
        };
        let radius = ((a.bandwidth / a.cell).round() as usize).max(1);
        let t_wide = Instant::now();
        let z_wide = hotspot::gi_star_radius(g.nx, g.ny, &last.counts, radius);
        let wide_s = t_wide.elapsed().as_secs_f64();
        let hot_wide = hotspot::clusters(&z_wide, ALPHA, true);
        let wide = Wide {
            radius,
            secs: wide_s,
            pr: precision_recall(&g, &blobs, &hot_wide, 2.0),
            per_blob: per_blob(&hot_wide),
        };
        let per_blob = per_blob(&last.hot_fdr);
        let area = g.cell * g.cell;
        let mass = (
            last.density.iter().sum::<f64>() * area,
            last.density_kdepy.iter().sum::<f64>() * area,
        );
        let hello = match peer {
            Some((p, hello)) => {
                p.stop()?;
                Some(hello)
            }
            None => None,
        };
        let row = Row {
            n,
            grid: g,
            rounds: a.rounds,
            mace: t,
            peer: peer_rounds,
            hello,
            pr,
            pr_fdr,
            precision_3s,
            per_blob,
            wide,
            mass,
            rss: peak_rss_mib().unwrap_or(f64::NAN),
        };
        print_row(&row);
        rows.push(row);
    }
    print_summary(&a, &rows);
    Ok(())
}

fn print_row(r: &Row) {
    let m = &r.mace;
    println!(
        "  mace ({} rounds): total {} = grid {} + counts {} + density {} + Gi* {} + FDR clusters {}; density with KDEpy's cut-off {}",
        r.rounds,
        fmt_ms(&summary(&m.total)),
        fmt_ms(&summary(&m.grid)),
        fmt_ms(&summary(&m.counts)),
        fmt_ms(&summary(&m.density)),
        fmt_ms(&summary(&m.gi)),
        fmt_ms(&summary(&m.clusters)),
        fmt_ms(&summary(&m.density_kdepy)),
    );
    if let (Some(last), Some(hello)) = (r.peer.last(), &r.hello) {
        let kd = summary(&col(&r.peer, "kdepy_s"));
        let es = summary(&col(&r.peer, "esda_s"));
        let fo = summary(&col(&r.peer, "formula_s"));
        println!(
            "  peer ({} rounds): KDEpy FFTKDE {}, esda G_Local {}, sparse formula {}",
            r.peer.len(),
            fmt_s(&kd),
            fmt_s(&es),
            fmt_s(&fo)
        );
        println!(
            "  ratios (peer / mace, medians): KDEpy / mace density (same cut-off) {:.1}×; esda / mace Gi* {:.0}×; sparse formula / mace Gi* {:.1}×",
            kd.median / summary(&r.mace.density_kdepy).median,
            es.median / summary(&r.mace.gi).median,
            fo.median / summary(&r.mace.gi).median
        );
        println!(
            "  agreement: Gi* max |z_mace − z_esda| = {:.2e} (sparse formula vs esda {:.2e}; max z {:.1}; esda NaNs {}); density max |d_mace − d_KDEpy| / max d_KDEpy = {:.2e}, pointwise relative where d ≥ 1e-6·max: {:.2e} (KDEpy support {:.1} m = {} cells)",
            num(last, "z_max_abs_diff"),
            num(last, "z_formula_max_abs_diff"),
            num(last, "z_max"),
            last.get("z_nan").and_then(Value::as_u64).unwrap_or(0),
            num(last, "density_max_rel_diff"),
            num(last, "density_pointwise_rel_diff"),
            num(hello, "kdepy_support_m"),
            hello
                .get("kdepy_half_width")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        );
    }
    println!(
        "  density mass on the grid: mace {:.5} (4σ cut-off), with KDEpy's cut-off {:.5}",
        r.mass.0, r.mass.1
    );
    println!(
        "  planted hotspots ({} truly hot cells): Hot at α={ALPHA}: precision {:.3}, recall {:.3} ({} found); with BH FDR: precision {:.3}, recall {:.3} ({} found)",
        r.pr.3, r.pr.0, r.pr.1, r.pr.2, r.pr_fdr.0, r.pr_fdr.1, r.pr_fdr.2
    );
    let blobs: Vec<String> = r
        .per_blob
        .iter()
        .map(|(s, r1, r2)| format!("σ {s:.0}: {r1:.2}/{r2:.2}"))
        .collect();
    println!(
        "  with FDR, precision counting cells within 3σ as hot: {:.3}; recall per blob (within 1σ / 2σ; 3 % of the incidents each): {}",
        r.precision_3s,
        blobs.join(", ")
    );
    let Wide {
        radius,
        secs,
        pr,
        per_blob: per,
    } = &r.wide;
    let blobs: Vec<String> = per
        .iter()
        .map(|(s, r1, r2)| format!("σ {s:.0}: {r1:.2}/{r2:.2}"))
        .collect();
    println!(
        "  Gi* over {w}×{w} cells (gi_star_radius {radius}, about the bandwidth; {:.1} ms; not compared with esda) with FDR: precision {:.3}, recall {:.3} ({} found); per blob: {}",
        ms(*secs),
        pr.0,
        pr.1,
        pr.2,
        blobs.join(", "),
        w = 2 * radius + 1
    );
    println!(
        "  peak RSS: mace process {:.0} MiB (includes generating the data), peer {:.0} MiB",
        r.rss,
        r.peer.last().map_or(f64::NAN, |v| num(v, "peak_rss_mib"))
    );
}

fn print_summary(a: &Args, rows: &[Row]) {
    let versions = rows
        .iter()
        .find_map(|r| r.hello.as_ref())
        .and_then(|h| h.get("versions"))
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "no peer".into());
    let python = rows
        .iter()
        .find_map(|r| r.hello.as_ref())
        .and_then(|h| h.get("python"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Summary\n\nmace {} (mace-analytics, one thread) vs {versions} (Python {python}, OMP/OpenBLAS threads 1); cell {} m, bandwidth {} m; medians of {} rounds (min–max), alternating mace / peer after a warm-up.\n",
        env!("CARGO_PKG_VERSION"),
        a.cell,
        a.bandwidth,
        a.rounds
    );
    let _ = writeln!(
        s,
        "| incidents | grid | mace counts+density+Gi*+FDR | counts | density | Gi* | KDEpy FFTKDE | esda G_Local | sparse formula | max abs Δz | density max Δ/max | P / R (α=0.05) | P / R (BH FDR) | peak RSS mace / peer |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let m = &r.mace;
        let (kd, es, fo, dz, dd, prss) = match r.peer.last() {
            Some(last) => (
                fmt_s(&summary(&col(&r.peer, "kdepy_s"))),
                fmt_s(&summary(&col(&r.peer, "esda_s"))),
                fmt_s(&summary(&col(&r.peer, "formula_s"))),
                format!("{:.1e}", num(last, "z_max_abs_diff")),
                format!("{:.1e}", num(last, "density_max_rel_diff")),
                format!("{:.0}", num(last, "peak_rss_mib")),
            ),
            None => (
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {}×{} | {} | {:.1} | {:.1} | {:.2} | {kd} | {es} | {fo} | {dz} | {dd} | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} / {prss} MiB |",
            r.n,
            r.grid.nx,
            r.grid.ny,
            fmt_ms(&summary(&m.total)),
            ms(summary(&m.counts).median),
            ms(summary(&m.density).median),
            ms(summary(&m.gi).median),
            r.pr.0,
            r.pr.1,
            r.pr_fdr.0,
            r.pr_fdr.1,
            r.rss
        );
    }
    let _ = writeln!(
        s,
        "\nmace's density column is the 4σ-cut-off surface; compared with KDEpy (Δ/max) is mace's density with KDEpy's own cut-off (timed apart). Δz: mace vs esda on the same counts, weights lat2W(ny, nx, rook=False) with self weight 1, transform B. Truly hot: cell centre within 2σ of a planted blob's centre; found: Cluster::Hot."
    );
    print!("{s}");
}
