"""Peers for mace's networks benchmark (crates/bench/src/bin/networks.rs): python-igraph,
leidenalg, networkx and networkit on the same synthetic report graph.

Usage: networks.py DATA_DIR PEER SEED
  PEER is one of igraph, leidenalg, networkx, networkit.

Reads DATA_DIR/meta.json (node and edge counts), DATA_DIR/edges.u32 (little-endian u32 pairs)
and DATA_DIR/queries.u32 (entity nodes for the 2-hop neighbourhoods); runs one round and prints
one JSON line with the times (seconds; 2-hop quantiles in ms), the peer's own modularity, its
version, thread count and this process's peak RSS. The community membership goes to
DATA_DIR/membership-PEER.u32 so that mace scores every peer with the same modularity and NMI
code. The bench runs this once per round as a fresh process.

What is timed, per peer:
  igraph     build (Graph(n, edges) from the numpy array), connected_components(),
             neighborhood(v, order=2) per query, community_leiden(objective_function=
             "modularity") (defaults: n_iterations=2, beta=0.01, resolution 1).
  leidenalg  find_partition(g, ModularityVertexPartition, seed=SEED) on the igraph graph
             (n_iterations=2, its default); build and components as igraph.
  networkx   build (add_nodes_from + add_edges_from), connected_components (materialised),
             single_source_shortest_path_length(G, v, cutoff=2) per query,
             community.louvain_communities(G, seed=SEED) (resolution 1, threshold 1e-7).
  networkit  build (Graph(n) + addEdges from numpy), ConnectedComponents, PLM(refine=True)
             (Louvain with refinement; networkit has no 2-hop call, not timed). One thread.
"""

import importlib.metadata
import json
import os
import random
import resource
import sys
import time

import numpy as np


def quantile(sorted_xs, q):
    if not sorted_xs:
        return 0.0
    rank = min(max(int(np.ceil(q * len(sorted_xs))), 1), len(sorted_xs))
    return sorted_xs[rank - 1]


def hop2_times(fn, queries):
    times = []
    total = 0
    for v in queries:
        t = time.perf_counter()
        total += fn(int(v))
        times.append(time.perf_counter() - t)
    times.sort()
    return {
        "hop2_p50_ms": quantile(times, 0.5) * 1e3,
        "hop2_p99_ms": quantile(times, 0.99) * 1e3,
        "hop2_mean_size": total / max(len(queries), 1),
    }


def main():
    data, peer, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    meta = json.load(open(os.path.join(data, "meta.json")))
    n = int(meta["nodes"])
    edges = np.fromfile(os.path.join(data, "edges.u32"), dtype="<u4").reshape(-1, 2)
    queries = np.fromfile(os.path.join(data, "queries.u32"), dtype="<u4")
    out = {"peer": peer, "threads": 1}
    membership = None

    if peer in ("igraph", "leidenalg"):
        import igraph as ig

        out["version"] = "igraph " + importlib.metadata.version("igraph")
        t = time.perf_counter()
        g = ig.Graph(n=n, edges=edges)
        out["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cc = g.connected_components()
        out["components_s"] = time.perf_counter() - t
        out["components"] = len(cc)
        if peer == "igraph":
            out.update(hop2_times(lambda v: len(g.neighborhood(v, order=2)) - 1, queries))
            random.seed(seed)  # igraph draws from Python's random module
            t = time.perf_counter()
            part = g.community_leiden(objective_function="modularity")
            out["communities_s"] = time.perf_counter() - t
            membership = part.membership
            out["modularity_self"] = g.modularity(membership)
        else:
            import leidenalg as la

            out["version"] += ", leidenalg " + importlib.metadata.version("leidenalg")
            t = time.perf_counter()
            part = la.find_partition(g, la.ModularityVertexPartition, seed=seed)
            out["communities_s"] = time.perf_counter() - t
            membership = part.membership
            out["modularity_self"] = part.modularity
    elif peer == "networkx":
        import networkx as nx

        out["version"] = "networkx " + importlib.metadata.version("networkx")
        t = time.perf_counter()
        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_edges_from(edges.tolist())
        out["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cc = list(nx.connected_components(G))
        out["components_s"] = time.perf_counter() - t
        out["components"] = len(cc)
        del cc
        out.update(
            hop2_times(
                lambda v: len(nx.single_source_shortest_path_length(G, v, cutoff=2)) - 1,
                queries,
            )
        )
        t = time.perf_counter()
        comms = nx.community.louvain_communities(G, seed=seed)
        out["communities_s"] = time.perf_counter() - t
        membership = np.zeros(n, dtype="<u4")
        for i, c in enumerate(comms):
            membership[list(c)] = i
    elif peer == "networkit":
        import networkit as nk

        nk.setNumberOfThreads(1)
        nk.engineering.setSeed(seed, False)
        out["version"] = "networkit " + importlib.metadata.version("networkit")
        t = time.perf_counter()
        G = nk.Graph(n)
        G.addEdges((edges[:, 0].astype(np.uint64), edges[:, 1].astype(np.uint64)))
        out["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cc = nk.components.ConnectedComponents(G)
        cc.run()
        out["components_s"] = time.perf_counter() - t
        out["components"] = cc.numberOfComponents()
        t = time.perf_counter()
        plm = nk.community.PLM(G, refine=True)
        plm.run()
        out["communities_s"] = time.perf_counter() - t
        p = plm.getPartition()
        membership = p.getVector()
        out["modularity_self"] = nk.community.Modularity().getQuality(p, G)
    else:
        raise SystemExit(f"unknown peer {peer}")

    np.asarray(membership, dtype="<u4").tofile(os.path.join(data, f"membership-{peer}.u32"))
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
