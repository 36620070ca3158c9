//! The report graph (mace-analytics `graph`) against python-igraph, leidenalg, networkx and
//! networkit on synthetic report graphs with planted groups, alternately in one run.
//!
//! `crates/bench/setup-peers.sh && cargo run --release -p mace-bench --bin networks`
//! Options: `--quick` (100k edges only, fewer queries: under a minute) `--sizes 100000,1000000`
//! `--rounds N` (5) `--budget S` (seconds a peer may spend per size before it stops starting
//! rounds; at least one round always runs; 180) `--seed N` (7) `--peers igraph,leidenalg,...`
//! `--no-peer` `--networkx-max E` (largest size networkx runs at; 1000000) `--leidenalg-max E`
//! (the same for leidenalg, about 17 times slower than igraph's own Leiden here; 1000000)
//! `--betweenness-k N` (256; 32 above 2M edges).
//!
//! Data: nodes are entities (persons, vehicles, phones, places) and reports; planted groups of
//! 20–200 entities each generate reports naming 2–6 entities, each from the report's own group
//! with probability 0.92 and otherwise anywhere; an edge joins a report to each entity it names.
//! Entities average about 8 reports each. Node ids are shuffled so that neither side gets
//! locality for free. The edge list (u32 pairs), the planted labels and the 2-hop query nodes
//! are written to `target/bench-data/networks-e{E}-s{seed}/` for the Python peers.
//!
//! Timed on each side: build (from the edge list in memory), connected components (a fresh
//! full computation), a 2-hop neighbourhood of each of 10,000 random persons (p50/p99),
//! communities (time, modularity, NMI against the planted groups: mace computes both for every
//! side's membership with the same code). mace only: applying one new report (a node plus its
//! 2–6 edges, with the component union-find update and a component lookup) over 10,000
//! reports, and sampled betweenness (k = 256, informational, once per size, all cores).

use anyhow::{Context, Result, bail};
use mace_analytics::graph::{self, Graph, NodeId};
use mace_bench::{peak_rss_mib, peer_python, quantile, summary};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Probability that a report names an entity of its own group.
const IN_GROUP: f64 = 0.92;
/// Edges per entity (on average) and so entities per edge.
const EDGES_PER_ENTITY: usize = 8;
/// Sampled sources for the informational betweenness run (fewer above 2M edges, where each
/// source costs about a second; `--betweenness-k` overrides).
const BETWEENNESS_K: usize = 256;
const BETWEENNESS_K_LARGE: usize = 32;

struct Args {
    sizes: Vec<usize>,
    rounds: usize,
    budget: f64,
    seed: u64,
    peers: Vec<String>,
    networkx_max: usize,
    leidenalg_max: usize,
    queries: usize,
    reports: usize,
    quick: bool,
    betweenness_k: Option<usize>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        sizes: vec![100_000, 1_000_000, 10_000_000],
        rounds: 5,
        budget: 180.0,
        seed: 7,
        peers: ["igraph", "leidenalg", "networkx", "networkit"]
            .map(String::from)
            .to_vec(),
        networkx_max: 1_000_000,
        leidenalg_max: 1_000_000,
        queries: 10_000,
        reports: 10_000,
        quick: false,
        betweenness_k: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => {
                a.quick = true;
                a.sizes = vec![100_000];
                a.rounds = 3;
                a.budget = 20.0;
            }
            "--sizes" => {
                a.sizes = it
                    .next()
                    .context("--sizes E,E,…")?
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse::<usize>())
                    .collect::<Result<_, _>>()?;
            }
            "--rounds" => a.rounds = it.next().context("--rounds N")?.parse()?,
            "--budget" => a.budget = it.next().context("--budget S")?.parse()?,
            "--seed" => a.seed = it.next().context("--seed N")?.parse()?,
            "--networkx-max" => a.networkx_max = it.next().context("--networkx-max E")?.parse()?,
            "--leidenalg-max" => {
                a.leidenalg_max = it.next().context("--leidenalg-max E")?.parse()?;
            }
            "--peers" => {
                a.peers = it
                    .next()
                    .context("--peers a,b")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
            "--no-peer" => a.peers.clear(),
            "--betweenness-k" => {
                a.betweenness_k = Some(it.next().context("--betweenness-k N")?.parse()?);
            }
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    if a.sizes.iter().any(|&e| e < 1_000) {
        bail!("use at least 1,000 edges");
    }
    a.rounds = a.rounds.max(1);
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Data

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Person,
    Vehicle,
    Phone,
    Place,
}

struct Data {
    nodes: usize,
    entities: usize,
    edges: Vec<(NodeId, NodeId)>,
    /// Planted group per node (reports take their group's label).
    planted: Vec<u32>,
    groups: usize,
    queries: Vec<NodeId>,
    /// Reports to apply incrementally (entity ids), not in `edges`.
    new_reports: Vec<Vec<NodeId>>,
}

fn generate(target_edges: usize, seed: u64, queries: usize, new_reports: usize) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (target_edges as u64).rotate_left(17));
    let entities = (target_edges / EDGES_PER_ENTITY).max(40);
    // Groups of 20..=200 entities (the last one whatever is left).
    let mut group_of: Vec<u32> = Vec::with_capacity(entities);
    let mut members: Vec<Vec<u32>> = Vec::new();
    while group_of.len() < entities {
        let size = rng.random_range(20..=200).min(entities - group_of.len());
        let gid = members.len() as u32;
        let start = group_of.len() as u32;
        members.push((start..start + size as u32).collect());
        group_of.extend(std::iter::repeat_n(gid, size));
    }
    let kinds: Vec<Kind> = (0..entities)
        .map(|_| match rng.random_range(0..100) {
            0..55 => Kind::Person,
            55..70 => Kind::Vehicle,
            70..90 => Kind::Phone,
            _ => Kind::Place,
        })
        .collect();
    let report = |rng: &mut ChaCha8Rng| -> (u32, Vec<u32>) {
        // A group in proportion to its size: the group of a random entity.
        let g = group_of[rng.random_range(0..entities)];
        let k = rng.random_range(2..=6);
        let mut names: Vec<u32> = Vec::with_capacity(k);
        while names.len() < k {
            let e = if rng.random_bool(IN_GROUP) {
                let m = &members[g as usize];
                m[rng.random_range(0..m.len())]
            } else {
                rng.random_range(0..entities as u32)
            };
            if !names.contains(&e) {
                names.push(e);
            }
        }
        (g, names)
    };
    let mut reports: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut count = 0usize;
    while count < target_edges {
        let (g, mut names) = report(&mut rng);
        names.truncate(target_edges - count);
        count += names.len();
        reports.push((g, names));
    }
    let extra: Vec<Vec<u32>> = (0..new_reports).map(|_| report(&mut rng).1).collect();
    // Shuffle all ids: entities 0..E and reports E..E+R map to a random permutation.
    let nodes = entities + reports.len();
    let mut perm: Vec<NodeId> = (0..nodes as NodeId).collect();
    perm.shuffle(&mut rng);
    let mut planted = vec![0u32; nodes];
    for (e, &g) in group_of.iter().enumerate() {
        planted[perm[e] as usize] = g;
    }
    let mut edges = Vec::with_capacity(target_edges);
    for (i, (g, names)) in reports.iter().enumerate() {
        let r = perm[entities + i];
        planted[r as usize] = *g;
        edges.extend(names.iter().map(|&e| (r, perm[e as usize])));
    }
    let persons: Vec<NodeId> = (0..entities)
        .filter(|&e| kinds[e] == Kind::Person)
        .map(|e| perm[e])
        .collect();
    let queries = (0..queries)
        .map(|_| persons[rng.random_range(0..persons.len())])
        .collect();
    let new_reports = extra
        .into_iter()
        .map(|names| names.into_iter().map(|e| perm[e as usize]).collect())
        .collect();
    Data {
        nodes,
        entities,
        edges,
        planted,
        groups: members.len(),
        queries,
        new_reports,
    }
}

fn write_u32s(path: &Path, xs: impl Iterator<Item = u32>) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for x in xs {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}

fn read_u32s(path: &Path) -> Result<Vec<u32>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn write_data(dir: &Path, d: &Data) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    write_u32s(
        &dir.join("edges.u32"),
        d.edges.iter().flat_map(|&(a, b)| [a, b]),
    )?;
    write_u32s(&dir.join("planted.u32"), d.planted.iter().copied())?;
    write_u32s(&dir.join("queries.u32"), d.queries.iter().copied())?;
    std::fs::write(
        dir.join("meta.json"),
        serde_json::json!({"nodes": d.nodes, "edges": d.edges.len(), "entities": d.entities,
            "groups": d.groups})
        .to_string(),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rounds

/// One side's measurements in one round (seconds unless named otherwise).
#[derive(Default, Clone)]
struct Round {
    build: Option<f64>,
    components: Option<f64>,
    n_components: Option<u64>,
    hop2_p50_ms: Option<f64>,
    hop2_p99_ms: Option<f64>,
    hop2_size: Option<f64>,
    add_p50_us: Option<f64>,
    add_p99_us: Option<f64>,
    communities: Option<f64>,
    n_communities: Option<u64>,
    modularity: Option<f64>,
    nmi: Option<f64>,
    rss_mib: Option<f64>,
    version: String,
    wall: f64,
}

fn mace_round(d: &Data, seed: u64) -> Round {
    let t0 = Instant::now();
    let mut r = Round {
        version: format!("mace-analytics {}", env!("CARGO_PKG_VERSION")),
        ..Round::default()
    };
    let t = Instant::now();
    let g = Graph::from_edges(d.nodes, &d.edges);
    r.build = Some(t.elapsed().as_secs_f64());

    let t = Instant::now();
    let labels = g.components();
    r.components = Some(t.elapsed().as_secs_f64());

    r.n_components = Some(
        labels
            .iter()
            .enumerate()
            .filter(|&(v, &l)| v as u32 == l)
            .count() as u64,
    );

    let mut times = Vec::with_capacity(d.queries.len());
    let mut total = 0usize;
    for &q in &d.queries {
        let t = Instant::now();
        let h = g.neighbourhood(q, 2, usize::MAX);
        times.push(t.elapsed());
        total += h.len();
    }
    times.sort();
    r.hop2_p50_ms = Some(quantile(&times, 0.5).as_secs_f64() * 1e3);
    r.hop2_p99_ms = Some(quantile(&times, 0.99).as_secs_f64() * 1e3);
    r.hop2_size = Some(total as f64 / d.queries.len().max(1) as f64);

    // Apply new reports to a copy (the copy is not timed).
    let mut h = g.clone();
    let mut times = Vec::with_capacity(d.new_reports.len());
    let mut joined = 0u64;
    for names in &d.new_reports {
        let t = Instant::now();
        let rep = h.add_node();
        for &e in names {
            h.add_edge(rep, e);
        }
        let c = h.component_of(rep);
        times.push(t.elapsed());
        joined += u64::from(c != rep);
    }
    drop(h);
    debug_assert!(joined > 0);
    times.sort();
    r.add_p50_us = Some(quantile(&times, 0.5).as_secs_f64() * 1e6);
    r.add_p99_us = Some(quantile(&times, 0.99).as_secs_f64() * 1e6);

    let t = Instant::now();
    let p = graph::communities(&g, seed);
    r.communities = Some(t.elapsed().as_secs_f64());
    r.n_communities = Some(p.communities as u64);
    r.modularity = Some(p.modularity);
    r.nmi = Some(graph::nmi(&p.membership, &d.planted));
    r.rss_mib = peak_rss_mib();
    r.wall = t0.elapsed().as_secs_f64();
    r
}

fn peer_round(dir: &Path, peer: &str, seed: u64, g: &Graph, planted: &[u32]) -> Result<Round> {
    let t0 = Instant::now();
    let out = Command::new(peer_python())
        .arg("crates/bench/peers/networks.py")
        .arg(dir)
        .arg(peer)
        .arg(seed.to_string())
        .output()
        .context("running the Python peer (crates/bench/setup-peers.sh makes its venv)")?;
    let wall = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "peer {peer} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("peer printed no JSON")?;
    let v: Value = serde_json::from_str(line)?;
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    let membership = read_u32s(&dir.join(format!("membership-{peer}.u32")))?;
    let own_q = f("modularity_self");
    let q = graph::modularity(g, &membership);
    if let Some(own) = own_q
        && (own - q).abs() > 1e-6
    {
        eprintln!("note: {peer} reports modularity {own:.6}, mace computes {q:.6} for it");
    }
    let mut seen = vec![false; g.node_count()];
    let mut communities = 0u64;
    for &c in &membership {
        if let Some(s) = seen.get_mut(c as usize)
            && !*s
        {
            *s = true;
            communities += 1;
        }
    }
    Ok(Round {
        build: f("build_s"),
        components: f("components_s"),
        n_components: v.get("components").and_then(Value::as_u64),
        hop2_p50_ms: f("hop2_p50_ms"),
        hop2_p99_ms: f("hop2_p99_ms"),
        hop2_size: f("hop2_mean_size"),
        add_p50_us: None,
        add_p99_us: None,
        communities: f("communities_s"),
        n_communities: Some(communities),
        modularity: Some(q),
        nmi: Some(graph::nmi(&membership, planted)),
        rss_mib: f("rss_mib"),
        version: v
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        wall,
    })
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn med(rounds: &[Round], f: impl Fn(&Round) -> Option<f64>) -> Option<(f64, f64, f64)> {
    let xs: Vec<f64> = rounds.iter().filter_map(f).collect();
    if xs.is_empty() {
        return None;
    }
    let s = summary(&xs);
    Some((s.median, s.min, s.max))
}

fn fmt_time(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1} s")
    } else if x >= 1.0 {
        format!("{x:.2} s")
    } else if x >= 1e-3 {
        format!("{:.1} ms", x * 1e3)
    } else {
        format!("{:.1} µs", x * 1e6)
    }
}

fn cell(v: Option<(f64, f64, f64)>, scale: f64, unit: &str, prec: usize) -> String {
    match v {
        None => "–".into(),
        Some((m, lo, hi)) if unit == "s" => format!(
            "{} ({}–{})",
            fmt_time(m * scale),
            fmt_time(lo * scale),
            fmt_time(hi * scale)
        ),
        Some((m, lo, hi)) => format!(
            "{:.p$}{unit} ({:.p$}–{:.p$})",
            m * scale,
            lo * scale,
            hi * scale,
            p = prec
        ),
    }
}

struct SizeResult {
    edges: usize,
    nodes: usize,
    groups: usize,
    sides: BTreeMap<String, Vec<Round>>,
    betweenness_s: f64,
    betweenness_k: usize,
    threads: usize,
}

fn print_size(s: &SizeResult) {
    println!(
        "\n### {} edges, {} nodes, {} planted groups",
        s.edges, s.nodes, s.groups
    );
    println!(
        "\n| side | rounds | build | components | 2-hop p50 | 2-hop p99 | apply report p50 / p99 | communities | modularity | NMI | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, rs) in &s.sides {
        let add = match (
            med(rs, |r| r.add_p50_us.map(|x| x / 1e6)),
            med(rs, |r| r.add_p99_us.map(|x| x / 1e6)),
        ) {
            (Some(a), Some(b)) => format!("{} / {}", fmt_time(a.0), fmt_time(b.0)),
            _ => "–".into(),
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {add} | {} | {} | {} | {} |",
            rs.len(),
            cell(med(rs, |r| r.build), 1.0, "s", 0),
            cell(med(rs, |r| r.components), 1.0, "s", 0),
            cell(med(rs, |r| r.hop2_p50_ms), 1e-3, "s", 0),
            cell(med(rs, |r| r.hop2_p99_ms), 1e-3, "s", 0),
            cell(med(rs, |r| r.communities), 1.0, "s", 0),
            cell(med(rs, |r| r.modularity), 1.0, "", 4),
            cell(med(rs, |r| r.nmi), 1.0, "", 4),
            med(rs, |r| r.rss_mib).map_or("–".into(), |m| format!("{:.0} MiB", m.0)),
        );
    }
    let details: Vec<String> = s
        .sides
        .iter()
        .filter_map(|(name, rs)| {
            let r = rs.first()?;
            Some(format!(
                "{name}: {} ({} components, {} communities, mean 2-hop size {:.1})",
                r.version,
                r.n_components.map_or("?".into(), |c| c.to_string()),
                r.n_communities.map_or("?".into(), |c| c.to_string()),
                r.hop2_size.unwrap_or(f64::NAN)
            ))
        })
        .collect();
    println!("\n{}", details.join("; "));
    println!(
        "mace sampled betweenness (k = {}, {} threads): {}",
        s.betweenness_k,
        s.threads,
        fmt_time(s.betweenness_s)
    );
    if let Some(mace) = s.sides.get("mace") {
        for (name, rs) in &s.sides {
            if name == "mace" {
                continue;
            }
            let ratio = |f: &dyn Fn(&Round) -> Option<f64>| -> String {
                match (med(rs, f), med(mace, f)) {
                    (Some(p), Some(m)) if m.0 > 0.0 => format!("{:.1}×", p.0 / m.0),
                    _ => "–".into(),
                }
            };
            println!(
                "{name} ÷ mace (time): build {}, components {}, 2-hop p99 {}, communities {}",
                ratio(&|r| r.build),
                ratio(&|r| r.components),
                ratio(&|r| r.hop2_p99_ms),
                ratio(&|r| r.communities),
            );
        }
    }
}

fn main() -> Result<()> {
    let a = args()?;
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    println!(
        "networks: sizes {:?} edges, {} rounds (after a warm-up), peer budget {:.0} s per size, seed {}, peers [{}]; mace single-threaded except betweenness ({threads} threads); load {}",
        a.sizes,
        a.rounds,
        a.budget,
        a.seed,
        a.peers.join(", "),
        mace_bench::sys::loadavg()
    );
    let mut results: Vec<SizeResult> = Vec::new();
    for &size in &a.sizes {
        let t = Instant::now();
        let (q, nr) = if a.quick {
            (2_000, 2_000)
        } else {
            (a.queries, a.reports)
        };
        let d = generate(size, a.seed, q, nr);
        let dir = PathBuf::from(format!("target/bench-data/networks-e{size}-s{}", a.seed));
        write_data(&dir, &d)?;
        println!(
            "\n{size} edges: {} nodes ({} entities, {} reports), {} planted groups; generated and written to {} in {:.1} s",
            d.nodes,
            d.entities,
            d.nodes - d.entities,
            d.groups,
            dir.display(),
            t.elapsed().as_secs_f64()
        );
        let g = Graph::from_edges(d.nodes, &d.edges);
        let peers: Vec<&String> = a
            .peers
            .iter()
            .filter(|p| match p.as_str() {
                "networkx" => size <= a.networkx_max,
                "leidenalg" => size <= a.leidenalg_max,
                _ => true,
            })
            .collect();
        let mut sides: BTreeMap<String, Vec<Round>> = BTreeMap::new();
        let mut spent: BTreeMap<String, f64> = BTreeMap::new();
        let warm = mace_round(&d, a.seed);
        println!("  warm-up mace round {:.1} s", warm.wall);
        for round in 0..a.rounds {
            let r = mace_round(&d, a.seed + round as u64);
            println!(
                "  round {round} mace: build {}, components {}, 2-hop p99 {}, add p99 {}, communities {} (Q {:.4}, NMI {:.4})",
                fmt_time(r.build.unwrap_or(0.0)),
                fmt_time(r.components.unwrap_or(0.0)),
                fmt_time(r.hop2_p99_ms.unwrap_or(0.0) / 1e3),
                fmt_time(r.add_p99_us.unwrap_or(0.0) / 1e6),
                fmt_time(r.communities.unwrap_or(0.0)),
                r.modularity.unwrap_or(f64::NAN),
                r.nmi.unwrap_or(f64::NAN)
            );
            sides.entry("mace".into()).or_default().push(r);
            for &peer in &peers {
                let used = spent.get(peer.as_str()).copied().unwrap_or(0.0);
                let done = sides.get(peer.as_str()).map_or(0, Vec::len);
                let last = if done > 0 { used / done as f64 } else { 0.0 };
                if done > 0 && used + last > a.budget {
                    continue;
                }
                match peer_round(&dir, peer, a.seed + round as u64, &g, &d.planted) {
                    Ok(r) => {
                        println!(
                            "  round {round} {peer}: build {}, components {}, 2-hop p99 {}, communities {} (Q {:.4}, NMI {:.4}); process {:.1} s",
                            r.build.map_or("–".into(), fmt_time),
                            r.components.map_or("–".into(), fmt_time),
                            r.hop2_p99_ms.map_or("–".into(), |x| fmt_time(x / 1e3)),
                            r.communities.map_or("–".into(), fmt_time),
                            r.modularity.unwrap_or(f64::NAN),
                            r.nmi.unwrap_or(f64::NAN),
                            r.wall
                        );
                        *spent.entry(peer.clone()).or_default() += r.wall;
                        sides.entry(peer.clone()).or_default().push(r);
                    }
                    Err(e) => {
                        println!("  round {round} {peer}: {e:#}");
                        *spent.entry(peer.clone()).or_default() += f64::INFINITY;
                    }
                }
            }
            std::io::stdout().flush()?;
        }
        let t = Instant::now();
        let k = a.betweenness_k.unwrap_or(if size > 2_000_000 {
            BETWEENNESS_K_LARGE
        } else {
            BETWEENNESS_K
        });
        let bc = graph::betweenness_sampled(&g, k, a.seed);
        let betweenness_s = t.elapsed().as_secs_f64();
        debug_assert_eq!(bc.len(), g.node_count());
        let res = SizeResult {
            edges: d.edges.len(),
            nodes: d.nodes,
            groups: d.groups,
            sides,
            betweenness_s,
            betweenness_k: k,
            threads,
        };
        print_size(&res);
        println!("load {}", mace_bench::sys::loadavg());
        results.push(res);
    }
    summary_table(&results);
    Ok(())
}

/// The final markdown table: one row per size and side, medians.
fn summary_table(results: &[SizeResult]) {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Summary (medians over rounds; mace single-threaded; peers: one process per round, igraph/networkx/leidenalg single-threaded, networkit set to 1 thread)\n"
    );
    let _ = writeln!(
        s,
        "| edges | side | rounds | build | components | 2-hop p50 | 2-hop p99 | apply report p50 / p99 | communities | modularity | NMI vs planted | peak RSS |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        for (name, rs) in &r.sides {
            let t = |f: &dyn Fn(&Round) -> Option<f64>, scale: f64| {
                med(rs, f).map_or("–".into(), |m| fmt_time(m.0 * scale))
            };
            let add = match (med(rs, |x| x.add_p50_us), med(rs, |x| x.add_p99_us)) {
                (Some(a), Some(b)) => format!("{} / {}", fmt_time(a.0 / 1e6), fmt_time(b.0 / 1e6)),
                _ => "–".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {name} | {} | {} | {} | {} | {} | {add} | {} | {} | {} | {} |",
                r.edges,
                rs.len(),
                t(&|x| x.build, 1.0),
                t(&|x| x.components, 1.0),
                t(&|x| x.hop2_p50_ms, 1e-3),
                t(&|x| x.hop2_p99_ms, 1e-3),
                t(&|x| x.communities, 1.0),
                med(rs, |x| x.modularity).map_or("–".into(), |m| format!("{:.4}", m.0)),
                med(rs, |x| x.nmi).map_or("–".into(), |m| format!("{:.4}", m.0)),
                med(rs, |x| x.rss_mib).map_or("–".into(), |m| format!("{:.0} MiB", m.0)),
            );
        }
    }
    let _ = writeln!(
        s,
        "\nmace's peak RSS is the bench process's high-water mark so far (it holds the data and the peers' scoring too); a peer's is its own process's. Sampled betweenness per size: {}.",
        results
            .iter()
            .map(|r| format!(
                "{} edges {} (k = {}, {} threads)",
                r.edges,
                fmt_time(r.betweenness_s),
                r.betweenness_k,
                r.threads
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    print!("{s}");
}
