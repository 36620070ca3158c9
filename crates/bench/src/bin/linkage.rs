//! De-duplicating the labelled 50k historical-figures set: mace's linkage engine against
//! Splink 5 (DuckDB), alternately in one run, with B-cubed and pairwise scores for both.
//!
//! `crates/bench/setup-peers.sh && cargo run --release -p mace-bench --bin linkage`
//! Options: `--data FILE` `--rounds N` (default 5) `--thresholds 0.5,0.9` `--no-peer`.

use anyhow::{Context, Result, bail};
use mace_bench::{peak_rss_mib, peer_python, summary};
use mace_domain::linkage::{Dataset, LinkRecord, Options, Scores, cluster, evaluate};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const DEFAULT_DATA: &str = "../shared/datasets/linkage/historical_figures_with_errors_50k.csv";

struct Args {
    data: PathBuf,
    rounds: usize,
    thresholds: Vec<f64>,
    peer: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        data: DEFAULT_DATA.into(),
        rounds: 5,
        thresholds: vec![0.5, 0.9],
        peer: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--data" => a.data = it.next().context("--data FILE")?.into(),
            "--rounds" => a.rounds = it.next().context("--rounds N")?.parse()?,
            "--thresholds" => {
                a.thresholds = it
                    .next()
                    .context("--thresholds 0.5,0.9")?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--no-peer" => a.peer = false,
            "--model" => {
                let (records, _) = read(&a.data)?;
                let data = Dataset::new(&records);
                let model = data.train(&Options::default());
                println!("{}", serde_json::to_string(&model)?);
                std::process::exit(0);
            }
            "--bench" => {} // passed by `cargo bench`
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// The labelled set: records for mace, and the unique ids and true clusters.
struct Labelled {
    ids: Vec<String>,
    truth: Vec<String>,
}

fn read(path: &Path) -> Result<(Vec<LinkRecord>, Labelled)> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| format!("{}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("column {name}"))
    };
    let (id, cl, first, sur, dob, pc, place, occ, gender) = (
        col("unique_id")?,
        col("cluster")?,
        col("first_name")?,
        col("surname")?,
        col("dob")?,
        col("postcode_fake")?,
        col("birth_place")?,
        col("occupation")?,
        col("gender")?,
    );
    let mut records = Vec::new();
    let mut labelled = Labelled {
        ids: Vec::new(),
        truth: Vec::new(),
    };
    for row in rdr.records() {
        let row = row?;
        let f = |i: usize| row.get(i).unwrap_or("").to_string();
        records.push(LinkRecord {
            given: f(first),
            family: f(sur),
            dob: f(dob),
            postcode: f(pc),
            place: f(place),
            occupation: f(occ),
            gender: f(gender),
        });
        labelled.ids.push(f(id));
        labelled.truth.push(f(cl));
    }
    Ok((records, labelled))
}

struct Run {
    total: f64,
    phases: String,
    pairs: usize,
    clusters: Vec<Vec<String>>,
}

fn run_mace(path: &Path, thresholds: &[f64]) -> Result<Run> {
    let t0 = Instant::now();
    let (records, _) = read(path)?;
    let opts = Options::default();
    let data = Dataset::new(&records);
    let model = data.train(&opts);
    let t_train = t0.elapsed().as_secs_f64();
    let min = thresholds.iter().copied().fold(1.0, f64::min) / 2.0;
    let pairs = data.predict(&model, &opts, min);
    let t_predict = t0.elapsed().as_secs_f64();
    let clusters = thresholds
        .iter()
        .map(|t| {
            cluster(data.len(), &pairs, *t)
                .into_iter()
                .map(|c| c.to_string())
                .collect()
        })
        .collect();
    let total = t0.elapsed().as_secs_f64();
    Ok(Run {
        total,
        phases: format!(
            "train {t_train:.2} s, predict {:.2} s, cluster {:.2} s",
            t_predict - t_train,
            total - t_predict
        ),
        pairs: pairs.len(),
        clusters,
    })
}

fn run_splink(path: &Path, thresholds: &[f64], ids: &[String]) -> Result<Run> {
    let out = tempfile_dir()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/splink_dedupe.py");
    let mut cmd = Command::new(peer_python());
    cmd.arg(&script).arg(path).arg(&out);
    for t in thresholds {
        cmd.arg(t.to_string());
    }
    let output = cmd
        .output()
        .context("running the Splink peer (run crates/bench/setup-peers.sh first)")?;
    if !output.status.success() {
        bail!(
            "Splink peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(line.lines().last().unwrap_or("{}"))?;
    let num = |k: &str| {
        json.get(k)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let mut clusters = Vec::new();
    for t in thresholds {
        let mut rdr = csv::Reader::from_path(out.join(format!("splink_{t}.csv")))?;
        let mut by_id: HashMap<String, String> = HashMap::new();
        for row in rdr.records() {
            let row = row?;
            by_id.insert(
                row.get(0).unwrap_or("").to_string(),
                row.get(1).unwrap_or("").to_string(),
            );
        }
        clusters.push(
            ids.iter()
                .map(|id| {
                    by_id
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| format!("alone:{id}"))
                })
                .collect(),
        );
    }
    std::fs::remove_dir_all(&out).ok();
    Ok(Run {
        total: num("total"),
        phases: format!(
            "train {:.2} s, predict {:.2} s, cluster {:.2} s, peak RSS {:.0} MiB",
            num("train"),
            num("predict"),
            num("cluster"),
            num("peak_rss_mib")
        ),
        pairs: num("pairs") as usize,
        clusters,
    })
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mace-linkage-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn show(s: &Scores) -> String {
    format!("P {:.4} R {:.4} F1 {:.4}", s.precision, s.recall, s.f1)
}

fn main() -> Result<()> {
    let a = args()?;
    let (records, labelled) = read(&a.data)?;
    println!(
        "linkage: {} records, {} true clusters, thresholds {:?}; mace single-threaded, Splink on DuckDB (its default threads)",
        records.len(),
        labelled
            .truth
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        a.thresholds
    );
    // Warm-up, then A B A B ...
    let mut mace_runs = vec![run_mace(&a.data, &a.thresholds)?];
    let mut peer_runs = Vec::new();
    if a.peer {
        peer_runs.push(run_splink(&a.data, &a.thresholds, &labelled.ids)?);
    }
    let (mut mace_t, mut peer_t) = (Vec::new(), Vec::new());
    for round in 1..=a.rounds {
        let m = run_mace(&a.data, &a.thresholds)?;
        mace_t.push(m.total);
        println!("round {round}: mace {:.3} s ({})", m.total, m.phases);
        mace_runs.push(m);
        if a.peer {
            let p = run_splink(&a.data, &a.thresholds, &labelled.ids)?;
            peer_t.push(p.total);
            println!("round {round}: splink {:.3} s ({})", p.total, p.phases);
            peer_runs.push(p);
        }
    }
    let last_m = mace_runs.last().context("no mace run")?;
    println!("\nquality (truth: cluster column)");
    println!(
        "  mace   candidate pairs scored above the lowest threshold / 2: {}",
        last_m.pairs
    );
    if let Some(p) = peer_runs.last() {
        println!(
            "  splink pairs predicted above the lowest threshold / 2: {}",
            p.pairs
        );
    }
    for (i, t) in a.thresholds.iter().enumerate() {
        let (b, pw) = evaluate(&last_m.clusters[i], &labelled.truth);
        println!(
            "  threshold {t}: mace   B-cubed {} | pairwise {}",
            show(&b),
            show(&pw)
        );
        if let Some(p) = peer_runs.last() {
            let (pb, ppw) = evaluate(&p.clusters[i], &labelled.truth);
            println!(
                "  threshold {t}: splink B-cubed {} | pairwise {} | B-cubed F1 mace - splink {:+.4}",
                show(&pb),
                show(&ppw),
                b.f1 - pb.f1
            );
        }
    }
    let ms = summary(&mace_t);
    println!(
        "\ntime end to end (read CSV to clusters), {} rounds after a warm-up",
        a.rounds
    );
    println!(
        "  mace   median {:.3} s (min {:.3}, max {:.3}); peak RSS {:.0} MiB",
        ms.median,
        ms.min,
        ms.max,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    if a.peer {
        let ps = summary(&peer_t);
        println!(
            "  splink median {:.3} s (min {:.3}, max {:.3})",
            ps.median, ps.min, ps.max
        );
        println!(
            "  ratio splink / mace (medians): {:.1}x",
            ps.median / ms.median
        );
    }
    Ok(())
}
