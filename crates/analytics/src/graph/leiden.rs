//! Communities by the Leiden algorithm (V. A. Traag, L. Waltman & N. J. van Eck, "From Louvain
//! to Leiden: guaranteeing well-connected communities", Sci. Rep. 9, 5233, 2019), modularity
//! objective at resolution 1, as python-igraph's `community_leiden(objective_function=
//! "modularity")` and leidenalg's `ModularityVertexPartition` optimise it.
//!
//! Each iteration: fast local moving (a queue of nodes whose neighbourhood changed, paper
//! Alg. A.2 `MoveNodesFast`), refinement inside each community (`RefinePartition`: only
//! well-connected singletons merge, into well-connected sub-communities; we take the best
//! non-negative move rather than a random one weighted by `exp(ΔQ/θ)` — with leidenalg's
//! θ = 0.01 and gains in edge-weight units that distribution is all but greedy), then
//! aggregation of the refined partition with the unrefined one as the starting partition of
//! the aggregate graph. Iterations repeat from the previous result until modularity stops
//! improving (at most `max_iterations`).

use super::{Graph, IdBuild, NodeId};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, VecDeque};

/// A partition of the nodes: community per node (dense ids from 0, numbered in order of each
/// community's first node), the number of communities, and its modularity.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub membership: Vec<u32>,
    pub communities: usize,
    pub modularity: f64,
}

/// A weighted graph with integer edge weights (aggregation only ever sums edge counts).
struct WGraph {
    off: Vec<usize>,
    adj: Vec<u32>,
    w: Vec<u32>,
    /// Weight of the node's internal edges, counted from both ends (the adjacency sum).
    self_w: Vec<f64>,
    /// Strength: row sum plus `self_w`.
    k: Vec<f64>,
    /// Twice the total edge weight (`Σ k`).
    m2: f64,
}

impl WGraph {
    fn n(&self) -> usize {
        self.k.len()
    }

    fn row(&self, v: usize) -> (&[u32], &[u32]) {
        match (self.off.get(v), self.off.get(v + 1)) {
            (Some(&s), Some(&e)) => (
                self.adj.get(s..e).unwrap_or(&[]),
                self.w.get(s..e).unwrap_or(&[]),
            ),
            _ => (&[], &[]),
        }
    }

    /// The level-0 graph with nodes renumbered in breadth-first order, so that a node's
    /// neighbours mostly sit near it in memory (report graphs arrive in no useful order; this
    /// roughly halves the time of the passes over the big levels). Returns the graph and
    /// `order[new] = old`.
    fn from_graph(g: &Graph) -> (Self, Vec<NodeId>) {
        let n = g.node_count();
        let order = g.bfs_order();
        let mut pos = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            pos[old as usize] = new as u32;
        }
        let mut off = Vec::with_capacity(n + 1);
        off.push(0usize);
        let mut adj = Vec::with_capacity(g.edge_count() * 2);
        let mut k = Vec::with_capacity(n);
        for &old in &order {
            adj.extend(g.neighbours(old).map(|u| pos[u as usize]));
            off.push(adj.len());
            k.push(g.degree(old) as f64);
        }
        let w = vec![1u32; adj.len()];
        let m2 = adj.len() as f64;
        (
            WGraph {
                off,
                adj,
                w,
                self_w: vec![0.0; n],
                k,
                m2,
            },
            order,
        )
    }
}

/// Leiden communities maximising modularity (resolution 1), seeded: two iterations, as
/// python-igraph's `community_leiden` (`n_iterations=2`) and leidenalg's `find_partition` run by
/// default. On report graphs the first iteration can merge planted groups too eagerly (igraph's
/// does the same); the second, starting from it, undoes most of that.
pub fn communities(g: &Graph, seed: u64) -> Partition {
    communities_with(g, seed, 2)
}

/// [`communities`] with a cap on the number of Leiden iterations (at least 1); iterations stop
/// early once one fails to improve modularity.
pub fn communities_with(g: &Graph, seed: u64, max_iterations: usize) -> Partition {
    let n = g.node_count();
    let (wg, order) = WGraph::from_graph(g);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut membership: Vec<u32> = (0..n as u32).collect();
    let mut q = quality(&wg, &membership);
    for _ in 0..max_iterations.max(1) {
        let mut next = membership.clone();
        leiden_iteration(&wg, &mut next, &mut rng);
        let nq = quality(&wg, &next);
        if nq > q + 1e-12 {
            membership = next;
            q = nq;
        } else {
            break;
        }
    }
    // Back to the caller's ids.
    let mut out = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        out[old as usize] = membership[new];
    }
    let mut membership = out;
    let communities = renumber(&mut membership);
    Partition {
        membership,
        communities,
        modularity: q,
    }
}

/// Renumbers labels densely in order of first appearance; returns how many there are.
fn renumber(labels: &mut [u32]) -> usize {
    let mut map: HashMap<u32, u32, IdBuild> = HashMap::default();
    for l in labels.iter_mut() {
        let next = map.len() as u32;
        *l = *map.entry(*l).or_insert(next);
    }
    map.len()
}

/// Modularity of a level-0 membership on the weighted graph.
fn quality(g: &WGraph, membership: &[u32]) -> f64 {
    if g.m2 <= 0.0 {
        return 0.0;
    }
    let n = g.n();
    let mut tot = vec![0.0f64; n];
    let mut inside = 0.0f64;
    for v in 0..n {
        let c = membership[v];
        tot[c as usize] += g.k[v];
        inside += g.self_w[v];
        let (adj, w) = g.row(v);
        for (&u, &x) in adj.iter().zip(w) {
            if membership[u as usize] == c {
                inside += f64::from(x);
            }
        }
    }
    let sq: f64 = tot.iter().map(|t| t * t).sum();
    inside / g.m2 - sq / (g.m2 * g.m2)
}

/// Modularity (Newman & Girvan 2004; resolution 1) of `membership` on `g`:
/// `Q = Σ_c [ L_c / m − (d_c / 2m)² ]`, as `igraph.Graph.modularity` and networkx's
/// `community.modularity` compute it. NaN if `membership` does not have one label per node.
pub fn modularity(g: &Graph, membership: &[u32]) -> f64 {
    let n = g.node_count();
    if membership.len() != n {
        return f64::NAN;
    }
    let m2 = 2.0 * g.edge_count() as f64;
    if m2 == 0.0 {
        return 0.0;
    }
    let mut tot: HashMap<u32, f64, IdBuild> = HashMap::default();
    let mut inside = 0u64;
    for v in 0..n as NodeId {
        let c = membership[v as usize];
        *tot.entry(c).or_insert(0.0) += g.degree(v) as f64;
        inside += g
            .neighbours(v)
            .filter(|&u| membership[u as usize] == c)
            .count() as u64;
    }
    let sq: f64 = tot.values().map(|t| t * t).sum();
    inside as f64 / m2 - sq / (m2 * m2)
}

/// Normalised mutual information of two labellings, arithmetic-mean normalisation
/// (`I(A;B) / ((H(A) + H(B)) / 2)`, scikit-learn's `normalized_mutual_info_score` default):
/// 1 for identical partitions (up to renaming), near 0 for independent ones; 1 when both put
/// everything in one cluster, NaN if the lengths differ or are zero.
pub fn nmi(a: &[u32], b: &[u32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::NAN;
    }
    let n = a.len() as f64;
    let mut ca: HashMap<u32, f64, IdBuild> = HashMap::default();
    let mut cb: HashMap<u32, f64, IdBuild> = HashMap::default();
    let mut joint: HashMap<u64, f64, IdBuild> = HashMap::default();
    for (&x, &y) in a.iter().zip(b) {
        *ca.entry(x).or_insert(0.0) += 1.0;
        *cb.entry(y).or_insert(0.0) += 1.0;
        *joint
            .entry((u64::from(x) << 32) | u64::from(y))
            .or_insert(0.0) += 1.0;
    }
    if ca.len() == 1 && cb.len() == 1 {
        return 1.0;
    }
    let h = |c: &HashMap<u32, f64, IdBuild>| -> f64 {
        c.values().map(|&k| -(k / n) * (k / n).ln()).sum::<f64>()
    };
    let (ha, hb) = (h(&ca), h(&cb));
    let mut mi = 0.0;
    for (&key, &nij) in &joint {
        let x = (key >> 32) as u32;
        let y = (key & 0xFFFF_FFFF) as u32;
        let (ai, bj) = (
            ca.get(&x).copied().unwrap_or(1.0),
            cb.get(&y).copied().unwrap_or(1.0),
        );
        mi += nij / n * (n * nij / (ai * bj)).ln();
    }
    let denom = (ha + hb) / 2.0;
    if denom <= 0.0 {
        return 1.0;
    }
    (mi / denom).clamp(0.0, 1.0)
}

/// One Leiden iteration from the level-0 partition `membership` (updated in place).
fn leiden_iteration(g0: &WGraph, membership: &mut [u32], rng: &mut ChaCha8Rng) {
    let n0 = g0.n();
    let mut node_map: Vec<u32> = (0..n0 as u32).collect();
    let mut comm: Vec<u32> = membership.to_vec();
    let mut owned: Option<WGraph> = None;
    loop {
        let g = owned.as_ref().unwrap_or(g0);
        move_nodes(g, &mut comm, rng);
        let used = {
            let mut seen = vec![false; g.n()];
            let mut c = 0usize;
            for &x in &comm {
                if !seen[x as usize] {
                    seen[x as usize] = true;
                    c += 1;
                }
            }
            c
        };
        if used == g.n() {
            break;
        }
        let refined = refine(g, &comm);
        let (agg, map) = aggregate(g, &refined);
        if agg.n() == g.n() {
            break; // the refinement merged nothing: no further progress
        }
        let mut next = vec![0u32; agg.n()];
        for (v, &r) in map.iter().enumerate() {
            next[r as usize] = comm[v];
        }
        for x in node_map.iter_mut() {
            *x = map[*x as usize];
        }
        // Community ids must be < the node count of the aggregate graph.
        renumber(&mut next);
        comm = next;
        owned = Some(agg);
    }
    for (x, m) in node_map.iter().zip(membership.iter_mut()) {
        *m = comm[*x as usize];
    }
}

/// Fast local moving: a queue of nodes, each moved to the neighbouring community with the
/// largest modularity gain (or an empty one if every gain is negative); when a node moves, its
/// neighbours outside the new community go back on the queue. `comm` ids must be `< n`.
fn move_nodes(g: &WGraph, comm: &mut [u32], rng: &mut ChaCha8Rng) {
    let n = g.n();
    let m2 = g.m2;
    if n == 0 || m2 <= 0.0 {
        return;
    }
    let mut tot = vec![0.0f64; n];
    let mut size = vec![0u32; n];
    for v in 0..n {
        tot[comm[v] as usize] += g.k[v];
        size[comm[v] as usize] += 1;
    }
    let mut empty: Vec<u32> = (0..n as u32).filter(|&c| size[c as usize] == 0).collect();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(rng);
    let mut queue: VecDeque<u32> = order.into();
    let mut in_q = vec![true; n];
    let mut nbw = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    while let Some(v) = queue.pop_front() {
        let v = v as usize;
        in_q[v] = false;
        let cv = comm[v];
        let kv = g.k[v];
        let (adj, w) = g.row(v);
        for (&u, &x) in adj.iter().zip(w) {
            let c = comm[u as usize];
            let slot = &mut nbw[c as usize];
            if *slot == 0.0 {
                touched.push(c);
            }
            *slot += f64::from(x);
        }
        tot[cv as usize] -= kv;
        let mut best = cv;
        let mut best_gain = nbw[cv as usize] - kv * tot[cv as usize] / m2;
        for &c in &touched {
            let gain = nbw[c as usize] - kv * tot[c as usize] / m2;
            if gain > best_gain {
                best = c;
                best_gain = gain;
            }
        }
        if best_gain < 0.0
            && size[cv as usize] > 1
            && let Some(e) = empty.pop()
        {
            best = e;
        }
        for &c in &touched {
            nbw[c as usize] = 0.0;
        }
        touched.clear();
        tot[best as usize] += kv;
        if best != cv {
            comm[v] = best;
            size[cv as usize] -= 1;
            size[best as usize] += 1;
            if size[cv as usize] == 0 {
                empty.push(cv);
            }
            for &u in adj {
                let u = u as usize;
                if !in_q[u] && comm[u] != best {
                    in_q[u] = true;
                    queue.push_back(u as u32);
                }
            }
        }
    }
}

/// Refinement: start from singletons; visit nodes in order; a node still alone whose links
/// inside its community are well connected (`E(v, C−v) ≥ k_v (K_C − k_v) / 2m`) joins the
/// well-connected sub-community of the same community with the largest non-negative gain.
/// Returns the refined label per node (ids `< n`).
fn refine(g: &WGraph, comm: &[u32]) -> Vec<u32> {
    let n = g.n();
    let m2 = g.m2;
    let mut tot_c = vec![0.0f64; n];
    for v in 0..n {
        tot_c[comm[v] as usize] += g.k[v];
    }
    let mut refined: Vec<u32> = (0..n as u32).collect();
    let mut rk: Vec<f64> = g.k.clone();
    let mut size = vec![1u32; n];
    // External weight of each refined community towards the rest of its community.
    let mut ext = vec![0.0f64; n];
    for v in 0..n {
        let (adj, w) = g.row(v);
        for (&u, &x) in adj.iter().zip(w) {
            if comm[u as usize] == comm[v] {
                ext[v] += f64::from(x);
            }
        }
    }
    let mut nbw = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    for v in 0..n {
        let own = refined[v];
        if size[own as usize] != 1 {
            continue;
        }
        let c = comm[v] as usize;
        let kv = g.k[v];
        let ext_v = ext[own as usize];
        if ext_v < kv * (tot_c[c] - kv) / m2 {
            continue;
        }
        let (adj, w) = g.row(v);
        for (&u, &x) in adj.iter().zip(w) {
            if comm[u as usize] as usize != c {
                continue;
            }
            let r = refined[u as usize];
            let slot = &mut nbw[r as usize];
            if *slot == 0.0 {
                touched.push(r);
            }
            *slot += f64::from(x);
        }
        let mut best = own;
        let mut best_gain = 0.0f64;
        for &r in &touched {
            if r == own {
                continue;
            }
            let kr = rk[r as usize];
            if ext[r as usize] < kr * (tot_c[c] - kr) / m2 {
                continue;
            }
            let gain = nbw[r as usize] - kv * kr / m2;
            if gain > best_gain {
                best = r;
                best_gain = gain;
            }
        }
        if best != own {
            let wb = nbw[best as usize];
            refined[v] = best;
            rk[best as usize] += kv;
            rk[own as usize] = 0.0;
            size[best as usize] += 1;
            size[own as usize] = 0;
            ext[best as usize] += ext_v - 2.0 * wb;
        }
        for &r in &touched {
            nbw[r as usize] = 0.0;
        }
        touched.clear();
    }
    refined
}

/// The aggregate graph of `labels` (one node per label, renumbered densely) and the map from
/// old node to aggregate node.
fn aggregate(g: &WGraph, labels: &[u32]) -> (WGraph, Vec<u32>) {
    let n = g.n();
    let mut map = labels.to_vec();
    let r = renumber(&mut map);
    // Bucket the members of each aggregate node.
    let mut start = vec![0usize; r + 1];
    for &x in &map {
        start[x as usize + 1] += 1;
    }
    for i in 0..r {
        start[i + 1] += start[i];
    }
    let mut pos = start.clone();
    let mut members = vec![0u32; n];
    for (v, &x) in map.iter().enumerate() {
        members[pos[x as usize]] = v as u32;
        pos[x as usize] += 1;
    }
    let mut off = Vec::with_capacity(r + 1);
    off.push(0usize);
    let mut adj: Vec<u32> = Vec::new();
    let mut w: Vec<u32> = Vec::new();
    let mut self_w = vec![0.0f64; r];
    let mut k = vec![0.0f64; r];
    let mut acc = vec![0u32; r];
    let mut touched: Vec<u32> = Vec::new();
    for a in 0..r {
        for &v in &members[start[a]..start[a + 1]] {
            let v = v as usize;
            k[a] += g.k[v];
            self_w[a] += g.self_w[v];
            let (row, ws) = g.row(v);
            for (&u, &x) in row.iter().zip(ws) {
                let t = map[u as usize];
                if t as usize == a {
                    self_w[a] += f64::from(x);
                } else {
                    if acc[t as usize] == 0 {
                        touched.push(t);
                    }
                    acc[t as usize] = acc[t as usize].saturating_add(x);
                }
            }
        }
        for &t in &touched {
            adj.push(t);
            w.push(acc[t as usize]);
            acc[t as usize] = 0;
        }
        touched.clear();
        off.push(adj.len());
    }
    (
        WGraph {
            off,
            adj,
            w,
            self_w,
            k,
            m2: g.m2,
        },
        map,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn modularity_of_hand_checked_partitions() {
        // Two triangles joined by one edge: m = 7, each side L_c = 3, d_c = 7.
        // Q = 2 * (3/7 - (7/14)^2) = 6/7 - 1/2 = 5/14.
        let g = Graph::from_edges(6, &[(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (4, 5), (3, 5)]);
        let q = modularity(&g, &[0, 0, 0, 1, 1, 1]);
        assert!((q - 5.0 / 14.0).abs() < 1e-12, "{q}");
        // Everything together: 0. Wrong length: NaN.
        assert!(modularity(&g, &[3; 6]).abs() < 1e-12);
        assert!(modularity(&g, &[0; 5]).is_nan());
        // The algorithm finds the two triangles.
        let p = communities(&g, 1);
        assert_eq!(p.communities, 2);
        assert_eq!(p.membership, vec![0, 0, 0, 1, 1, 1]);
        assert!((p.modularity - 5.0 / 14.0).abs() < 1e-12);
    }

    #[test]
    fn karate_club_reaches_the_known_optimum() {
        // The best modularity for Zachary's karate club is 0.4198 (Brandes et al. 2008);
        // Leiden usually reaches it, Louvain 0.4188 or so.
        let g = super::super::betweenness::tests::karate();
        let best = (0..10)
            .map(|s| communities(&g, s).modularity)
            .fold(f64::MIN, f64::max);
        assert!(best > 0.4197, "{best}");
        for s in 0..10 {
            let p = communities(&g, s);
            assert!(p.modularity > 0.41, "{}", p.modularity);
            assert!((modularity(&g, &p.membership) - p.modularity).abs() < 1e-9);
        }
    }

    /// A planted partition (stochastic block model): `groups` groups of `size` nodes, each
    /// node with about `din` neighbours inside and `dout` outside.
    fn sbm(groups: u32, size: u32, din: f64, dout: f64, seed: u64) -> (Graph, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = groups * size;
        let mut e = Vec::new();
        for v in 0..n {
            let gv = v / size;
            for _ in 0..(din / 2.0) as usize {
                e.push((v, gv * size + rng.random_range(0..size)));
            }
            for _ in 0..(dout / 2.0) as usize {
                e.push((v, rng.random_range(0..n)));
            }
        }
        let truth = (0..n).map(|v| v / size).collect();
        (Graph::from_edges(n as usize, &e), truth)
    }

    #[test]
    fn recovers_a_planted_partition() {
        let (g, truth) = sbm(40, 50, 12.0, 2.0, 7);
        let p = communities(&g, 3);
        let score = nmi(&p.membership, &truth);
        let planted = modularity(&g, &truth);
        assert!(score > 0.9, "nmi {score}");
        assert!(
            p.modularity >= planted - 1e-9,
            "{} < {planted}",
            p.modularity
        );
        assert!(p.modularity > 0.7, "{}", p.modularity);
        // Seeded: the same again.
        assert_eq!(communities(&g, 3), p);
    }

    #[test]
    fn nmi_limits() {
        let a: Vec<u32> = (0..1000).map(|i| i % 7).collect();
        let renamed: Vec<u32> = a.iter().map(|&x| 100 - x).collect();
        assert!((nmi(&a, &a) - 1.0).abs() < 1e-12);
        assert!((nmi(&a, &renamed) - 1.0).abs() < 1e-12);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x: Vec<u32> = (0..100_000).map(|_| rng.random_range(0..5)).collect();
        let y: Vec<u32> = (0..100_000).map(|_| rng.random_range(0..5)).collect();
        assert!(nmi(&x, &y) < 0.001, "{}", nmi(&x, &y));
        assert_eq!(nmi(&[1, 1, 1], &[2, 2, 2]), 1.0);
        assert!(nmi(&[1], &[1, 2]).is_nan());
        // sklearn: normalized_mutual_info_score([0,0,1,1],[0,0,1,2]) = 0.8
        assert!((nmi(&[0, 0, 1, 1], &[0, 0, 1, 2]) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn empty_and_edgeless_graphs() {
        let p = communities(&Graph::new(), 1);
        assert_eq!(p.communities, 0);
        let p = communities(&Graph::from_edges(3, &[]), 1);
        assert_eq!(p.communities, 3);
        assert_eq!(p.modularity, 0.0);
    }
}
