//! The report graph: reports and the entities they name (persons, vehicles, phones, places),
//! one node each, an undirected edge wherever a report names an entity.
//!
//! The graph is bulk-built once as compressed sparse rows (CSR) and then kept up to date one
//! edge at a time through small per-node append buffers, with a union-find over the nodes so
//! that "which network is this person in" stays answerable after every report. Removals are
//! rare (a report withdrawn or corrected): they leave a tombstone in the CSR row and mark the
//! union-find stale only if the two ends may have come apart.
//!
//! Algorithms: connected components ([`Graph::components`]), bounded neighbourhoods
//! ([`Graph::neighbourhood`]), shortest links by bidirectional BFS ([`Graph::shortest_path`]),
//! sampled Brandes betweenness ([`betweenness_sampled`]), Leiden communities ([`communities`])
//! and the measures used to check them ([`modularity`], [`nmi`]).

mod betweenness;
mod leiden;

pub use betweenness::{betweenness_sampled, betweenness_sampled_in};
pub use leiden::{Partition, communities, communities_with, modularity, nmi};

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// A node: a report or an entity. Dense, from 0.
pub type NodeId = u32;

/// A removed CSR entry.
const TOMB: NodeId = NodeId::MAX;
/// "No append buffer" in [`Graph::extra_of`].
const NONE: u32 = u32::MAX;
/// Visits a removal's connectivity check may spend before it gives up and marks the
/// union-find stale (to be rebuilt on the next [`Graph::component_of`]).
const REMOVE_CHECK_BUDGET: usize = 1 << 16;

/// A fast hasher for node ids (multiplicative, Fibonacci hashing): the ids are dense integers,
/// so SipHash's protection against chosen keys buys nothing here.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// [`HashSet`] / [`HashMap`] hasher state for node ids.
pub type IdBuild = BuildHasherDefault<IdHasher>;
type IdSet = HashSet<NodeId, IdBuild>;
type IdMap<V> = HashMap<NodeId, V, IdBuild>;

/// Undirected simple graph (no parallel edges, no self loops), incremental: a bulk-built CSR
/// plus per-node append buffers, and a union-find kept up to date by [`Graph::add_edge`].
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// CSR row starts for the first `off.len() - 1` nodes; later nodes have no CSR row.
    off: Vec<usize>,
    /// CSR neighbours, each row sorted, removed edges as [`TOMB`]s at the row's end.
    adj: Vec<NodeId>,
    /// Per node: index into `extra`, or [`NONE`].
    extra_of: Vec<u32>,
    /// Append buffers: edges added after the bulk build.
    extra: Vec<Vec<NodeId>>,
    /// Live degree per node.
    deg: Vec<u32>,
    edges: usize,
    /// Union-find parent; a root is always the smallest node of its set (link by min id), so a
    /// root is the same label [`Graph::components`] gives.
    parent: Vec<NodeId>,
    /// A removal may have split a set: rebuild the union-find before answering.
    uf_stale: bool,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bulk build from an edge list: drops self loops, edges naming a node `>= node_count`,
    /// and duplicates (either direction). O(n + m log d).
    pub fn from_edges(node_count: usize, edges: &[(NodeId, NodeId)]) -> Self {
        let n = node_count;
        let ok = |a: NodeId, b: NodeId| a != b && (a as usize) < n && (b as usize) < n;
        let mut count = vec![0usize; n + 1];
        for &(a, b) in edges {
            if ok(a, b) {
                count[a as usize] += 1;
                count[b as usize] += 1;
            }
        }
        let mut off = vec![0usize; n + 1];
        for v in 0..n {
            off[v + 1] = off[v] + count[v];
        }
        let mut pos: Vec<usize> = off[..n].to_vec();
        let mut adj = vec![0 as NodeId; off[n]];
        for &(a, b) in edges {
            if ok(a, b) {
                adj[pos[a as usize]] = b;
                pos[a as usize] += 1;
                adj[pos[b as usize]] = a;
                pos[b as usize] += 1;
            }
        }
        drop(pos);
        // Sort and dedup each row, compacting in place.
        let mut write = 0usize;
        let mut deg = vec![0u32; n];
        let mut new_off = vec![0usize; n + 1];
        for v in 0..n {
            let (s, e) = (off[v], off[v + 1]);
            adj[s..e].sort_unstable();
            let start = write;
            let mut last = TOMB;
            for i in s..e {
                let u = adj[i];
                if u != last {
                    adj[write] = u;
                    write += 1;
                    last = u;
                }
            }
            deg[v] = (write - start) as u32;
            new_off[v + 1] = write;
        }
        adj.truncate(write);
        adj.shrink_to_fit();
        let mut g = Graph {
            off: new_off,
            adj,
            extra_of: vec![NONE; n],
            extra: Vec::new(),
            deg,
            edges: write / 2,
            parent: Vec::new(),
            uf_stale: true,
        };
        g.rebuild_union_find();
        g
    }

    /// Adds an isolated node and returns its id.
    pub fn add_node(&mut self) -> NodeId {
        let v = self.deg.len() as NodeId;
        self.deg.push(0);
        self.extra_of.push(NONE);
        self.parent.push(v);
        v
    }

    /// Adds `count` isolated nodes; returns the first id.
    pub fn add_nodes(&mut self, count: usize) -> NodeId {
        let first = self.deg.len() as NodeId;
        for _ in 0..count {
            self.add_node();
        }
        first
    }

    /// Adds the edge a–b and joins their components. False (and nothing changes) if the edge
    /// is already there, `a == b`, or either node does not exist. O(min degree) for the
    /// duplicate check plus near-constant union-find work.
    pub fn add_edge(&mut self, a: NodeId, b: NodeId) -> bool {
        let n = self.node_count();
        if a == b || a as usize >= n || b as usize >= n || self.has_edge(a, b) {
            return false;
        }
        self.push_extra(a, b);
        self.push_extra(b, a);
        self.deg[a as usize] += 1;
        self.deg[b as usize] += 1;
        self.edges += 1;
        if !self.uf_stale {
            self.union(a, b);
        }
        true
    }

    /// Removes the edge a–b; false if it is not there. Components stay right: a bounded
    /// bidirectional search checks that a and b are still linked; if it cannot show that, the
    /// union-find is rebuilt (O(m)) on the next component query.
    pub fn remove_edge(&mut self, a: NodeId, b: NodeId) -> bool {
        let n = self.node_count();
        if a == b || a as usize >= n || b as usize >= n {
            return false;
        }
        if !self.take_one(a, b) {
            return false;
        }
        self.take_one(b, a);
        self.deg[a as usize] -= 1;
        self.deg[b as usize] -= 1;
        self.edges -= 1;
        if !self.uf_stale && !self.linked_within(a, b, REMOVE_CHECK_BUDGET) {
            self.uf_stale = true;
        }
        true
    }

    /// Folds the append buffers and tombstones back into the CSR (worth doing after many
    /// incremental adds, e.g. nightly). Ids and components are unchanged.
    pub fn compact(&mut self) {
        let n = self.node_count();
        let mut off = Vec::with_capacity(n + 1);
        off.push(0usize);
        let mut adj = Vec::with_capacity(self.edges * 2);
        for v in 0..n as NodeId {
            let start = adj.len();
            adj.extend(self.neighbours(v));
            adj[start..].sort_unstable();
            off.push(adj.len());
        }
        self.off = off;
        self.adj = adj;
        self.extra_of = vec![NONE; n];
        self.extra = Vec::new();
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.deg.len()
    }

    /// Number of (undirected) edges.
    pub fn edge_count(&self) -> usize {
        self.edges
    }

    /// Degree of `v` (0 for an unknown node).
    pub fn degree(&self, v: NodeId) -> usize {
        self.deg.get(v as usize).map_or(0, |&d| d as usize)
    }

    /// The neighbours of `v`: its CSR row (sorted) then edges added since, in order added.
    pub fn neighbours(&self, v: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.csr_row(v)
            .iter()
            .copied()
            .filter(|&u| u != TOMB)
            .chain(self.extra_row(v).iter().copied())
    }

    /// Whether the edge a–b exists. O(log d) in the CSR row plus a scan of the append buffer,
    /// from the end with the smaller degree.
    pub fn has_edge(&self, a: NodeId, b: NodeId) -> bool {
        let (x, y) = if self.degree(a) <= self.degree(b) {
            (a, b)
        } else {
            (b, a)
        };
        self.csr_row(x).binary_search(&y).is_ok() || self.extra_row(x).contains(&y)
    }

    /// The component label of `v` (the smallest node id in its component, as in
    /// [`Graph::components`]), from the incrementally kept union-find, compressing paths.
    pub fn component_of(&mut self, v: NodeId) -> NodeId {
        if v as usize >= self.node_count() {
            return v;
        }
        if self.uf_stale {
            self.rebuild_union_find();
        }
        self.find(v)
    }

    /// [`Graph::component_of`] without path compression, for shared references; None if the
    /// union-find is stale after a removal that may have split a component.
    pub fn component_root(&self, v: NodeId) -> Option<NodeId> {
        if self.uf_stale || v as usize >= self.node_count() {
            return None;
        }
        let mut x = v;
        while let Some(&p) = self.parent.get(x as usize) {
            if p == x {
                return Some(x);
            }
            x = p;
        }
        None
    }

    /// Component label per node, computed afresh (not from the incremental union-find): a
    /// union-find over the edges in row order, linking by smallest id with path halving, so
    /// the label is the smallest node id in the component. About m/2 random look-ups, half
    /// those of a breadth-first search. O(m α(n)).
    pub fn components(&self) -> Vec<NodeId> {
        let n = self.node_count();
        let mut parent: Vec<NodeId> = (0..n as NodeId).collect();
        let find = |parent: &mut Vec<NodeId>, v: NodeId| -> NodeId {
            let mut x = v;
            loop {
                let p = parent[x as usize];
                if p == x {
                    return x;
                }
                let gp = parent[p as usize];
                parent[x as usize] = gp;
                x = gp;
            }
        };
        for v in 0..n as NodeId {
            for &u in self.csr_row(v).iter().chain(self.extra_row(v)) {
                // Each edge once (from its smaller end); tombstones are u32::MAX, skipped too.
                if u <= v || u == TOMB {
                    continue;
                }
                let rv = find(&mut parent, v);
                let ru = find(&mut parent, u);
                if rv != ru {
                    let (lo, hi) = if rv < ru { (rv, ru) } else { (ru, rv) };
                    parent[hi as usize] = lo;
                }
            }
        }
        for v in 0..n {
            let p = parent[v];
            // Roots precede their members, so one hop reaches a final label.
            parent[v] = parent[p as usize];
        }
        parent
    }

    /// [`Graph::components`] by breadth-first search (the same labels).
    pub fn components_bfs(&self) -> Vec<NodeId> {
        let n = self.node_count();
        let mut label = vec![TOMB; n];
        let mut queue: Vec<NodeId> = Vec::with_capacity(n);
        for s in 0..n {
            if label[s] != TOMB {
                continue;
            }
            let s = s as NodeId;
            label[s as usize] = s;
            queue.clear();
            queue.push(s);
            let mut head = 0;
            while let Some(&v) = queue.get(head) {
                head += 1;
                // The CSR row directly (tombstones sit at its end), then the append buffer.
                for &u in self.csr_row(v).iter().chain(self.extra_row(v)) {
                    if u == TOMB {
                        continue;
                    }
                    if let Some(l) = label.get_mut(u as usize)
                        && *l == TOMB
                    {
                        *l = s;
                        queue.push(u);
                    }
                }
            }
        }
        label
    }

    /// Every node once, in breadth-first order from each component's smallest node: an order
    /// that keeps neighbours near each other, for renumbering before heavy passes.
    pub fn bfs_order(&self) -> Vec<NodeId> {
        let n = self.node_count();
        let mut seen = vec![false; n];
        let mut order: Vec<NodeId> = Vec::with_capacity(n);
        for s in 0..n {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            let mut head = order.len();
            order.push(s as NodeId);
            while let Some(&v) = order.get(head) {
                head += 1;
                for u in self.neighbours(v) {
                    if let Some(x) = seen.get_mut(u as usize)
                        && !*x
                    {
                        *x = true;
                        order.push(u);
                    }
                }
            }
        }
        order
    }

    /// Nodes within `hops` of `v` (v excluded) with their distance, in BFS order; stops once
    /// `limit` nodes are found (so a hub cannot make the answer unbounded).
    pub fn neighbourhood(&self, v: NodeId, hops: u8, limit: usize) -> Vec<(NodeId, u8)> {
        let mut out: Vec<(NodeId, u8)> = Vec::new();
        if v as usize >= self.node_count() || hops == 0 || limit == 0 {
            return out;
        }
        let mut seen: IdSet = IdSet::default();
        seen.insert(v);
        let mut head = 0usize;
        // Frontier of depth d is out[level_start..]; the first level comes from v itself.
        let mut cur = v;
        let mut cur_d = 0u8;
        loop {
            if cur_d < hops {
                for u in self.neighbours(cur) {
                    if seen.insert(u) {
                        out.push((u, cur_d + 1));
                        if out.len() >= limit {
                            return out;
                        }
                    }
                }
            }
            match out.get(head) {
                Some(&(u, d)) if d < hops => {
                    cur = u;
                    cur_d = d;
                    head += 1;
                }
                _ => return out,
            }
        }
    }

    /// One shortest path from `a` to `b` (both included) of at most `max_hops` edges, by
    /// bidirectional breadth-first search (expanding the smaller frontier a level at a time).
    pub fn shortest_path(&self, a: NodeId, b: NodeId, max_hops: u8) -> Option<Vec<NodeId>> {
        let n = self.node_count();
        if a as usize >= n || b as usize >= n {
            return None;
        }
        if a == b {
            return Some(vec![a]);
        }
        // parent maps: node -> (parent, depth)
        let mut pa: IdMap<(NodeId, u8)> = IdMap::default();
        let mut pb: IdMap<(NodeId, u8)> = IdMap::default();
        pa.insert(a, (a, 0));
        pb.insert(b, (b, 0));
        let mut fa = vec![a];
        let mut fb = vec![b];
        let (mut da, mut db) = (0u8, 0u8);
        while !fa.is_empty()
            && !fb.is_empty()
            && u16::from(da) + u16::from(db) < u16::from(max_hops)
        {
            let from_a = fa.len() <= fb.len();
            let (front, mine, other, depth) = if from_a {
                (&mut fa, &mut pa, &pb, &mut da)
            } else {
                (&mut fb, &mut pb, &pa, &mut db)
            };
            let mut next = Vec::new();
            // The best meeting in this level: (total length, node on my side, node on theirs).
            let mut best: Option<(u16, NodeId, NodeId)> = None;
            for &v in front.iter() {
                for u in self.neighbours(v) {
                    if let Some(&(_, du)) = other.get(&u) {
                        let total = u16::from(*depth) + 1 + u16::from(du);
                        if best.is_none_or(|(t, _, _)| total < t) {
                            best = Some((total, v, u));
                        }
                    }
                    if let std::collections::hash_map::Entry::Vacant(e) = mine.entry(u) {
                        e.insert((v, *depth + 1));
                        next.push(u);
                    }
                }
            }
            *depth += 1;
            *front = next;
            if let Some((total, v, u)) = best {
                if total > u16::from(max_hops) {
                    return None;
                }
                // Path: side-a chain to its endpoint, then side-b chain.
                let (a_end, b_end) = if from_a { (v, u) } else { (u, v) };
                let mut path = Vec::new();
                let mut x = a_end;
                path.push(x);
                while x != a {
                    x = pa.get(&x)?.0;
                    path.push(x);
                }
                path.reverse();
                let mut y = b_end;
                path.push(y);
                while y != b {
                    y = pb.get(&y)?.0;
                    path.push(y);
                }
                return Some(path);
            }
        }
        None
    }

    // -----------------------------------------------------------------------------------------

    fn csr_row(&self, v: NodeId) -> &[NodeId] {
        let v = v as usize;
        match (self.off.get(v), self.off.get(v + 1)) {
            (Some(&s), Some(&e)) => self.adj.get(s..e).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn extra_row(&self, v: NodeId) -> &[NodeId] {
        match self.extra_of.get(v as usize) {
            Some(&i) if i != NONE => self.extra.get(i as usize).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }

    fn push_extra(&mut self, v: NodeId, u: NodeId) {
        let slot = &mut self.extra_of[v as usize];
        if *slot == NONE {
            *slot = self.extra.len() as u32;
            self.extra.push(Vec::with_capacity(4));
        }
        let i = *slot as usize;
        if let Some(row) = self.extra.get_mut(i) {
            row.push(u);
        }
    }

    /// Removes u from v's adjacency (append buffer first, else tombstone in the CSR row).
    fn take_one(&mut self, v: NodeId, u: NodeId) -> bool {
        if let Some(&i) = self.extra_of.get(v as usize)
            && i != NONE
            && let Some(row) = self.extra.get_mut(i as usize)
            && let Some(p) = row.iter().position(|&x| x == u)
        {
            row.remove(p);
            return true;
        }
        let (s, e) = match (self.off.get(v as usize), self.off.get(v as usize + 1)) {
            (Some(&s), Some(&e)) => (s, e),
            _ => return false,
        };
        // Shift the rest of the row left and put the tombstone (u32::MAX) last, so the row
        // stays sorted for `has_edge`'s binary search.
        if let Some(row) = self.adj.get_mut(s..e)
            && let Ok(p) = row.binary_search(&u)
        {
            row.copy_within(p + 1.., p);
            if let Some(last) = row.last_mut() {
                *last = TOMB;
            }
            return true;
        }
        false
    }

    fn find(&mut self, v: NodeId) -> NodeId {
        // Path halving.
        let mut x = v;
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return x;
            }
            let gp = self.parent[p as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
    }

    fn union(&mut self, a: NodeId, b: NodeId) {
        let ra = self.find(a);
        let rb = self.find(b);
        if ra != rb {
            // Link the larger id under the smaller: a root is its set's smallest node.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }

    fn rebuild_union_find(&mut self) {
        let n = self.node_count();
        self.parent = (0..n as NodeId).collect();
        self.uf_stale = false;
        for v in 0..n as NodeId {
            let row: Vec<NodeId> = self.neighbours(v).filter(|&u| u > v).collect();
            for u in row {
                self.union(v, u);
            }
        }
    }

    /// Whether a and b are connected, by a bidirectional BFS of at most `budget` visits; false
    /// when the budget runs out (unknown).
    fn linked_within(&self, a: NodeId, b: NodeId, budget: usize) -> bool {
        let mut sa: IdSet = IdSet::default();
        let mut sb: IdSet = IdSet::default();
        sa.insert(a);
        sb.insert(b);
        let mut qa: VecDeque<NodeId> = VecDeque::from([a]);
        let mut qb: VecDeque<NodeId> = VecDeque::from([b]);
        let mut spent = 0usize;
        while spent < budget {
            let (q, mine, other) = if (qa.len() <= qb.len() && !qa.is_empty()) || qb.is_empty() {
                (&mut qa, &mut sa, &sb)
            } else {
                (&mut qb, &mut sb, &sa)
            };
            let Some(v) = q.pop_front() else {
                return false; // one side exhausted: not connected
            };
            for u in self.neighbours(v) {
                spent += 1;
                if other.contains(&u) {
                    return true;
                }
                if mine.insert(u) {
                    q.push_back(u);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Brute force: repeated label propagation to the minimum until nothing changes.
    fn brute_components(n: usize, edges: &HashSet<(NodeId, NodeId)>) -> Vec<NodeId> {
        let mut l: Vec<NodeId> = (0..n as NodeId).collect();
        loop {
            let mut changed = false;
            for &(a, b) in edges {
                let m = l[a as usize].min(l[b as usize]);
                for x in [a, b] {
                    if l[x as usize] != m {
                        l[x as usize] = m;
                        changed = true;
                    }
                }
            }
            if !changed {
                return l;
            }
        }
    }

    fn norm(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
        (a.min(b), a.max(b))
    }

    #[test]
    fn components_match_brute_force_through_adds_and_removals() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for trial in 0..20 {
            let n = rng.random_range(5..80usize);
            let m = rng.random_range(0..n * 2);
            let raw: Vec<(NodeId, NodeId)> = (0..m)
                .map(|_| {
                    (
                        rng.random_range(0..n as NodeId + 2), // some out of range
                        rng.random_range(0..n as NodeId),
                    )
                })
                .collect();
            let mut g = Graph::from_edges(n, &raw);
            let mut set: HashSet<(NodeId, NodeId)> = raw
                .iter()
                .filter(|&&(a, b)| a != b && (a as usize) < n)
                .map(|&(a, b)| norm(a, b))
                .collect();
            assert_eq!(g.edge_count(), set.len(), "trial {trial}");
            assert_eq!(g.components(), brute_components(n, &set));
            let mut n = n;
            for step in 0..200 {
                let r = rng.random_range(0..10);
                if r == 0 {
                    g.add_node();
                    n += 1;
                } else if r < 7 {
                    let (a, b) = (
                        rng.random_range(0..n as NodeId),
                        rng.random_range(0..n as NodeId),
                    );
                    let fresh = a != b && !set.contains(&norm(a, b));
                    assert_eq!(g.add_edge(a, b), fresh);
                    if fresh {
                        set.insert(norm(a, b));
                    }
                } else if let Some(&(a, b)) = set.iter().next() {
                    assert!(g.remove_edge(b, a));
                    assert!(!g.remove_edge(a, b));
                    set.remove(&(a, b));
                }
                let want = brute_components(n, &set);
                assert_eq!(g.components(), want, "trial {trial} step {step}");
                assert_eq!(g.components_bfs(), want, "trial {trial} step {step}");
                for v in 0..n as NodeId {
                    assert_eq!(g.component_of(v), want[v as usize]);
                    assert_eq!(g.component_root(v), Some(want[v as usize]));
                    let mut nb: Vec<NodeId> = g.neighbours(v).collect();
                    nb.sort_unstable();
                    let mut w: Vec<NodeId> = set
                        .iter()
                        .filter_map(|&(a, b)| {
                            (a == v).then_some(b).or_else(|| (b == v).then_some(a))
                        })
                        .collect();
                    w.sort_unstable();
                    assert_eq!(nb, w);
                    assert_eq!(g.degree(v), w.len());
                }
                assert_eq!(g.edge_count(), set.len());
            }
            let before = g.components();
            g.compact();
            assert_eq!(g.components(), before);
            assert_eq!(g.edge_count(), set.len());
        }
    }

    #[test]
    fn from_edges_dedups_and_drops_loops() {
        let g = Graph::from_edges(4, &[(0, 1), (1, 0), (2, 2), (0, 1), (2, 3), (3, 9)]);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.degree(0), 1);
        assert_eq!(g.degree(2), 1);
        assert_eq!(g.neighbours(1).collect::<Vec<_>>(), vec![0]);
        let mut g = g;
        assert!(!g.add_edge(1, 0));
        assert!(!g.add_edge(3, 3));
        assert!(!g.add_edge(3, 4));
        let v = g.add_node();
        assert!(g.add_edge(3, v));
        assert_eq!(g.component_of(v), 2);
    }

    /// 0-1-2-3-4 path, plus 1-5, 5-6, and an isolated 7.
    fn small() -> Graph {
        Graph::from_edges(8, &[(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6)])
    }

    #[test]
    fn neighbourhood_on_a_small_graph() {
        let g = small();
        let mut h = g.neighbourhood(1, 2, usize::MAX);
        h.sort_unstable();
        assert_eq!(h, vec![(0, 1), (2, 1), (3, 2), (5, 1), (6, 2)]);
        assert_eq!(g.neighbourhood(1, 1, usize::MAX).len(), 3);
        assert_eq!(g.neighbourhood(1, 2, 2).len(), 2);
        assert!(g.neighbourhood(7, 3, 10).is_empty());
        assert!(g.neighbourhood(99, 3, 10).is_empty());
        // BFS order: distances never decrease.
        let h = g.neighbourhood(0, 9, usize::MAX);
        assert!(h.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(h.len(), 6);
    }

    #[test]
    fn shortest_paths_on_a_small_graph() {
        let g = small();
        assert_eq!(g.shortest_path(0, 4, 10), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(g.shortest_path(4, 6, 10), Some(vec![4, 3, 2, 1, 5, 6]));
        assert_eq!(g.shortest_path(4, 6, 5), Some(vec![4, 3, 2, 1, 5, 6]));
        assert_eq!(g.shortest_path(4, 6, 4), None);
        assert_eq!(g.shortest_path(0, 7, 10), None);
        assert_eq!(g.shortest_path(3, 3, 0), Some(vec![3]));
        assert_eq!(g.shortest_path(2, 3, 1), Some(vec![2, 3]));
        // A cycle with a chord: the shortest route is taken.
        let c = Graph::from_edges(6, &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (1, 4)]);
        assert_eq!(c.shortest_path(0, 3, 9).map(|p| p.len()), Some(4));
        assert_eq!(c.shortest_path(2, 5, 9).map(|p| p.len()), Some(4));
    }

    #[test]
    fn shortest_paths_are_shortest_on_random_graphs() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..30 {
            let n = 60;
            let edges: Vec<(NodeId, NodeId)> = (0..90)
                .map(|_| (rng.random_range(0..n), rng.random_range(0..n)))
                .collect();
            let g = Graph::from_edges(n as usize, &edges);
            for _ in 0..20 {
                let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
                let want = g
                    .neighbourhood(a, 255, usize::MAX)
                    .into_iter()
                    .find(|&(u, _)| u == b)
                    .map(|(_, d)| d as usize + 1);
                let got = g.shortest_path(a, b, 255);
                if a == b {
                    assert_eq!(got, Some(vec![a]));
                    continue;
                }
                assert_eq!(got.as_ref().map(Vec::len), want);
                if let Some(p) = got {
                    assert_eq!((p[0], p[p.len() - 1]), (a, b));
                    assert!(p.windows(2).all(|w| g.has_edge(w[0], w[1])));
                }
            }
        }
    }
}
