//! Betweenness centrality by Brandes' algorithm (U. Brandes, "A faster algorithm for
//! betweenness centrality", J. Math. Sociol. 25(2), 2001) from a seeded sample of sources
//! (Brandes & Pich, "Centrality estimation in large networks", 2007), scaled as networkx 3.6's
//! `betweenness_centrality(G, k=..., normalized=True)` does (`_rescale` in
//! networkx/algorithms/centrality/betweenness.py): a sampled source's value is divided by
//! `(k - 1)(n - 2)`, any other node's by `k (n - 2)`; with every node a source this is the
//! exact normalised betweenness `1 / ((n - 1)(n - 2))` times the ordered-pair sum.
//!
//! Sources are split over the machine's cores (scoped threads, one accumulator each, summed in
//! a fixed order, so a given seed and core count give the same answer).

use super::{Graph, IdBuild, NodeId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// A compact CSR over local indices 0..n.
struct Csr {
    off: Vec<usize>,
    adj: Vec<u32>,
}

impl Csr {
    fn n(&self) -> usize {
        self.off.len().saturating_sub(1)
    }
    fn row(&self, v: u32) -> &[u32] {
        let v = v as usize;
        match (self.off.get(v), self.off.get(v + 1)) {
            (Some(&s), Some(&e)) => self.adj.get(s..e).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Estimated normalised betweenness of every node from `samples` seeded random sources; exact
/// when `samples >= node_count`. Runs on all cores (see the module doc).
pub fn betweenness_sampled(g: &Graph, samples: usize, seed: u64) -> Vec<f64> {
    let n = g.node_count();
    let mut off = Vec::with_capacity(n + 1);
    off.push(0usize);
    let mut adj = Vec::with_capacity(g.edge_count() * 2);
    for v in 0..n as NodeId {
        adj.extend(g.neighbours(v));
        off.push(adj.len());
    }
    brandes(&Csr { off, adj }, samples, seed)
}

/// [`betweenness_sampled`] on the subgraph induced by `nodes` (e.g. one component): paths
/// may only run through those nodes and `n` is `nodes.len()`. Duplicates and unknown ids in
/// `nodes` are ignored. Returns `(node, value)` in the order of first appearance.
pub fn betweenness_sampled_in(
    g: &Graph,
    nodes: &[NodeId],
    samples: usize,
    seed: u64,
) -> Vec<(NodeId, f64)> {
    let mut local: HashMap<NodeId, u32, IdBuild> = HashMap::default();
    let mut ids: Vec<NodeId> = Vec::with_capacity(nodes.len());
    for &v in nodes {
        if (v as usize) < g.node_count() && !local.contains_key(&v) {
            local.insert(v, ids.len() as u32);
            ids.push(v);
        }
    }
    let mut off = Vec::with_capacity(ids.len() + 1);
    off.push(0usize);
    let mut adj = Vec::new();
    for &v in &ids {
        adj.extend(g.neighbours(v).filter_map(|u| local.get(&u).copied()));
        off.push(adj.len());
    }
    let bc = brandes(&Csr { off, adj }, samples, seed);
    ids.into_iter().zip(bc).collect()
}

fn brandes(g: &Csr, samples: usize, seed: u64) -> Vec<f64> {
    let n = g.n();
    if n < 3 || samples == 0 {
        return vec![0.0; n];
    }
    // Sources: all nodes, or a seeded partial Fisher–Yates sample of k.
    let exact = samples >= n;
    let k = samples.min(n);
    let mut order: Vec<u32> = (0..n as u32).collect();
    if !exact {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in 0..k {
            let j = rng.random_range(i..n);
            order.swap(i, j);
        }
        order.truncate(k);
    }
    let sources = order;
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, sources.len().max(1));
    let chunk = sources.len().div_ceil(threads);
    let parts: Vec<Vec<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .chunks(chunk.max(1))
            .map(|srcs| scope.spawn(move || accumulate(g, srcs)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| vec![0.0; n]))
            .collect()
    });
    let mut bc = vec![0.0f64; n];
    for p in parts {
        for (b, x) in bc.iter_mut().zip(p) {
            *b += x;
        }
    }
    let nm2 = (n - 2) as f64;
    if exact {
        let s = 1.0 / ((n - 1) as f64 * nm2);
        bc.iter_mut().for_each(|b| *b *= s);
    } else {
        let kf = k as f64;
        let s_src = if k > 1 { 1.0 / ((kf - 1.0) * nm2) } else { 0.0 };
        let s_other = 1.0 / (kf * nm2);
        let mut is_src = vec![false; n];
        for &s in &sources {
            is_src[s as usize] = true;
        }
        for (v, b) in bc.iter_mut().enumerate() {
            *b *= if is_src[v] { s_src } else { s_other };
        }
    }
    bc
}

/// Brandes' dependency accumulation from each source in `sources` (ordered pairs, unscaled).
fn accumulate(g: &Csr, sources: &[u32]) -> Vec<f64> {
    let n = g.n();
    let mut bc = vec![0.0f64; n];
    let mut dist = vec![u32::MAX; n];
    let mut sigma = vec![0.0f64; n];
    let mut delta = vec![0.0f64; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for &s in sources {
        order.clear();
        dist[s as usize] = 0;
        sigma[s as usize] = 1.0;
        order.push(s);
        let mut head = 0;
        while let Some(&v) = order.get(head) {
            head += 1;
            let dv = dist[v as usize];
            let sv = sigma[v as usize];
            for &w in g.row(v) {
                let dw = &mut dist[w as usize];
                if *dw == u32::MAX {
                    *dw = dv + 1;
                    order.push(w);
                }
                if *dw == dv + 1 {
                    sigma[w as usize] += sv;
                }
            }
        }
        // Back-propagate in reverse BFS order; predecessors are the neighbours one level up.
        for &w in order.iter().rev() {
            let dw = dist[w as usize];
            let coeff = (1.0 + delta[w as usize]) / sigma[w as usize];
            if dw > 0 {
                for &v in g.row(w) {
                    if dist[v as usize] == dw - 1 {
                        delta[v as usize] += sigma[v as usize] * coeff;
                    }
                }
            }
            if w != s {
                bc[w as usize] += delta[w as usize];
            }
        }
        for &w in &order {
            dist[w as usize] = u32::MAX;
            sigma[w as usize] = 0.0;
            delta[w as usize] = 0.0;
        }
    }
    bc
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol, "node {i}: {x} vs {y}");
        }
    }

    #[test]
    fn exact_on_path_and_star() {
        // Path 0-1-2-3-4: networkx normalised values 0, 0.5, 2/3, 0.5, 0.
        let p = Graph::from_edges(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        close(
            &betweenness_sampled(&p, 5, 1),
            &[0.0, 0.5, 2.0 / 3.0, 0.5, 0.0],
            1e-12,
        );
        // Star: the centre lies on every path between leaves.
        let s = Graph::from_edges(6, &[(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
        close(
            &betweenness_sampled(&s, 100, 1),
            &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            1e-12,
        );
    }

    /// Zachary's karate club (networkx `karate_club_graph`), 0-based.
    pub(crate) fn karate() -> Graph {
        let e: &[(u32, u32)] = &[
            (0, 1),
            (0, 2),
            (0, 3),
            (0, 4),
            (0, 5),
            (0, 6),
            (0, 7),
            (0, 8),
            (0, 10),
            (0, 11),
            (0, 12),
            (0, 13),
            (0, 17),
            (0, 19),
            (0, 21),
            (0, 31),
            (1, 2),
            (1, 3),
            (1, 7),
            (1, 13),
            (1, 17),
            (1, 19),
            (1, 21),
            (1, 30),
            (2, 3),
            (2, 7),
            (2, 8),
            (2, 9),
            (2, 13),
            (2, 27),
            (2, 28),
            (2, 32),
            (3, 7),
            (3, 12),
            (3, 13),
            (4, 6),
            (4, 10),
            (5, 6),
            (5, 10),
            (5, 16),
            (6, 16),
            (8, 30),
            (8, 32),
            (8, 33),
            (9, 33),
            (13, 33),
            (14, 32),
            (14, 33),
            (15, 32),
            (15, 33),
            (18, 32),
            (18, 33),
            (19, 33),
            (20, 32),
            (20, 33),
            (22, 32),
            (22, 33),
            (23, 25),
            (23, 27),
            (23, 29),
            (23, 32),
            (23, 33),
            (24, 25),
            (24, 27),
            (24, 31),
            (25, 31),
            (26, 29),
            (26, 33),
            (27, 33),
            (28, 31),
            (28, 33),
            (29, 32),
            (29, 33),
            (30, 32),
            (30, 33),
            (31, 32),
            (31, 33),
            (32, 33),
        ];
        Graph::from_edges(34, e)
    }

    #[test]
    fn exact_on_karate_club_matches_networkx() {
        // networkx 3.6.1: nx.betweenness_centrality(nx.karate_club_graph()), rounded to 6 places.
        let want = [
            0.437635, 0.053937, 0.143657, 0.011909, 0.000631, 0.029987, 0.029987, 0.0, 0.055927,
            0.000848, 0.000631, 0.0, 0.0, 0.045863, 0.0, 0.0, 0.0, 0.0, 0.0, 0.032475, 0.0, 0.0,
            0.0, 0.017614, 0.002210, 0.003840, 0.0, 0.022333, 0.001795, 0.002922, 0.014412,
            0.138276, 0.145247, 0.304075,
        ];
        close(&betweenness_sampled(&karate(), 34, 9), &want, 1e-6);
        // The same through the subgraph entry point, with the nodes shuffled.
        let nodes: Vec<NodeId> = (0..34).rev().collect();
        let sub = betweenness_sampled_in(&karate(), &nodes, 1000, 9);
        for (v, b) in sub {
            assert!((b - want[v as usize]).abs() < 1e-6);
        }
    }

    #[test]
    fn subgraph_is_induced() {
        // Two triangles joined by 2-3; restricted to the first triangle nobody is between.
        let g = Graph::from_edges(6, &[(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (4, 5), (3, 5)]);
        let sub = betweenness_sampled_in(&g, &[0, 1, 2, 2, 77], 10, 1);
        assert_eq!(sub.len(), 3);
        assert!(sub.iter().all(|&(_, b)| b == 0.0));
        // Path restricted to 3 of its nodes: the middle one is between the ends.
        let p = Graph::from_edges(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        let sub = betweenness_sampled_in(&p, &[1, 2, 3], 3, 1);
        assert_eq!(sub, vec![(1, 0.0), (2, 1.0), (3, 0.0)]);
    }

    #[test]
    fn sampled_is_close_to_exact() {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // A connected mid-size graph: a random tree plus random chords.
        let n = 2000u32;
        let mut e: Vec<(u32, u32)> = (1..n).map(|v| (v, rng.random_range(0..v))).collect();
        e.extend((0..2000).map(|_| (rng.random_range(0..n), rng.random_range(0..n))));
        let g = Graph::from_edges(n as usize, &e);
        let exact = betweenness_sampled(&g, n as usize, 0);
        let est = betweenness_sampled(&g, 500, 42);
        // The top nodes carry the signal: compare them, and the overall error.
        let mut idx: Vec<usize> = (0..n as usize).collect();
        idx.sort_by(|&a, &b| exact[b].total_cmp(&exact[a]));
        for &v in &idx[..10] {
            let rel = (est[v] - exact[v]).abs() / exact[v];
            assert!(rel < 0.25, "node {v}: {} vs {}", est[v], exact[v]);
        }
        let sum_exact: f64 = exact.iter().sum();
        let sum_est: f64 = est.iter().sum();
        assert!((sum_est - sum_exact).abs() / sum_exact < 0.05);
        // Seeded: the same again.
        assert_eq!(est, betweenness_sampled(&g, 500, 42));
    }
}
