"""Benchmark musig.sampling and musig.graph on a synthetic power-law world.

Measures (1) sample_subgraph throughput against a per-node Python reference (np.random choice
in a loop, dict relabelling) on the same seeds, (2) peak traced memory of sampling mini-batches
for several batch sizes and fan-outs on a small and a large graph of equal average degree,
(3) random-walk throughput and (4) cooccurrence_matrix time on synthetic playlists.

Usage (repo root): python -m benchmarks.bench_sampler [--nodes N] [--edges E] [--playlists P]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from musig.cooccurrence import cooccurrence_matrix
from musig.csr import CSR
from musig.sampling import sample_subgraph
from musig.walks import random_walks


def power_law_graph(num_nodes: int, num_edges: int, rng: np.random.Generator) -> CSR:
    """Chung-Lu graph: endpoints drawn proportionally to (i+1)^-0.6, i.e. degree exponent ~2.7.

    ``num_edges`` counts stored (directed) entries; duplicates merge, summing integer weights.
    """
    theta = (np.arange(num_nodes) + 1.0) ** -0.6
    cdf = np.cumsum(theta / theta.sum())
    m = num_edges // 2
    src = np.minimum(np.searchsorted(cdf, rng.random(m)), num_nodes - 1)
    dst = np.minimum(np.searchsorted(cdf, rng.random(m)), num_nodes - 1)
    keep = src != dst
    w = rng.integers(1, 6, keep.sum()).astype(np.float64)
    return CSR.from_edges(src[keep], dst[keep], w, num_nodes=num_nodes)


def knn_like_graph(num_nodes: int, k: int, rng: np.random.Generator) -> CSR:
    src = np.repeat(np.arange(num_nodes), k)
    dst = rng.integers(0, num_nodes, src.size)
    keep = src != dst
    return CSR.from_edges(src[keep], dst[keep], rng.random(keep.sum()) + 1e-3, reduce="max")


def reference_subgraph(relations, seeds, fanouts, rng):
    """Straightforward per-node loop: what a direct port of NeighborLoader looks like."""
    local = {int(s): i for i, s in enumerate(seeds)}
    n_id = [int(s) for s in seeds]
    frontier = list(n_id)
    edges = {r: ([], []) for r in relations}
    for hop in range(len(next(iter(fanouts.values())))):
        reached = []
        for r, g in relations.items():
            for v in frontier:
                lo, hi = g.indptr[v], g.indptr[v + 1]
                if hi == lo:
                    continue
                w = g.weights[lo:hi].astype(np.float64)
                nbrs = rng.choice(g.indices[lo:hi], size=fanouts[r][hop], p=w / w.sum())
                for u in nbrs.tolist():
                    if u not in local:
                        local[u] = len(n_id)
                        n_id.append(u)
                        reached.append(u)
                    edges[r][0].append(local[u])
                    edges[r][1].append(local[v])
        frontier = reached
    return np.array(n_id), {r: np.array(e) for r, e in edges.items()}


def timed(fn, repeats: int) -> float:
    t0 = time.perf_counter()
    for i in range(repeats):
        fn(i)
    return (time.perf_counter() - t0) / repeats


def peak_mib(fn):
    """Peak traced memory of ``fn()`` in MiB (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20, out


def synthetic_playlists(num_playlists: int, num_tracks: int, rng: np.random.Generator):
    lengths = np.clip(rng.lognormal(3.2, 0.6, num_playlists).astype(np.int64), 5, 250)
    theta = (np.arange(num_tracks) + 1.0) ** -0.8
    cdf = np.cumsum(theta / theta.sum())
    tracks = np.minimum(np.searchsorted(cdf, rng.random(lengths.sum())), num_tracks - 1)
    return np.r_[0, np.cumsum(lengths)].astype(np.int64), tracks.astype(np.int64), lengths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200_000)
    ap.add_argument("--edges", type=int, default=3_000_000, help="stored entries of 'cooc'")
    ap.add_argument("--playlists", type=int, default=100_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    t0 = time.perf_counter()
    big = {
        "cooc": power_law_graph(args.nodes, args.edges, rng),
        "content": knn_like_graph(args.nodes, 10, rng),
    }
    deg = big["cooc"].degree()
    print(
        f"graph: {args.nodes:,} nodes; cooc {big['cooc'].num_edges:,} entries (mean degree "
        f"{deg.mean():.1f}, max {deg.max():,}); content {big['content'].num_edges:,} entries; "
        f"built in {time.perf_counter() - t0:.1f}s"
    )

    print("\n[1] sample_subgraph throughput, 1024 seeds, fanouts [10, 5] on both relations")
    fanouts = {"cooc": [10, 5], "content": [10, 5]}
    batches = [rng.integers(0, args.nodes, 1024) for _ in range(20)]
    t_vec = timed(lambda i: sample_subgraph(big, batches[i], fanouts, random_state=i), 20)
    sub = sample_subgraph(big, batches[0], fanouts, random_state=0)
    ref_rng = np.random.default_rng(1)
    t_ref = timed(lambda i: reference_subgraph(big, batches[i], fanouts, ref_rng), 3)
    ref_n, _ = reference_subgraph(big, batches[0], fanouts, ref_rng)
    n_edges = sum(e.shape[1] for e in sub.edge_index.values())
    print(f"{'sampler':<28}{'ms/batch':>10}{'batches/s':>11}{'nodes':>8}{'edges':>8}")
    print(f"{'vectorised (musig)':<28}{1e3 * t_vec:>10.1f}{1 / t_vec:>11.1f}")
    print(f"{'  first batch':<28}{'':>10}{'':>11}{sub.n_id.size:>8}{n_edges:>8}")
    print(f"{'per-node loop (reference)':<28}{1e3 * t_ref:>10.1f}{1 / t_ref:>11.2f}{ref_n.size:>8}")
    print(f"speed-up: {t_ref / t_vec:.0f}x")

    print("\n[2] peak traced memory of one sample_subgraph call; graphs of equal mean degree")
    sizes = [args.nodes // 10, args.nodes]
    worlds = {
        n: {"cooc": power_law_graph(n, 15 * n, rng), "content": knn_like_graph(n, 10, rng)}
        for n in sizes
    }
    head = "".join(f"{f'{n // 1000}k: MiB':>12}{'edges':>11}{'B/edge':>8}" for n in sizes)
    print(f"{'batch':>6}{'fanout':>10}{head}")
    for batch in (256, 1024, 4096):
        for fan in ([10, 5], [25, 10]):
            row = f"{batch:>6}{str(fan):>10}"
            for n in sizes:
                seeds = np.random.default_rng(batch).integers(0, n, batch)
                fo = {"cooc": fan, "content": fan}
                mib, sub = peak_mib(lambda w=worlds[n], s=seeds, f=fo: sample_subgraph(w, s, f))
                edges = sum(e.shape[1] for e in sub.edge_index.values())
                row += f"{mib:>12.1f}{edges:>11,}{mib * 2**20 / edges:>8.0f}"
            print(row)
    graph_mib = "".join(
        f"{sum(a.nbytes for g in worlds[n].values() for a in g) / 2**20:>12.1f}{'':>19}"
        for n in sizes
    )
    print(f"{'graph arrays':>16}{graph_mib}")

    print("\n[3] random_walks on 'cooc', 100k walkers x 20 steps")
    starts = rng.integers(0, args.nodes, 100_000)
    for p, q in [(1.0, 1.0), (0.5, 2.0)]:
        t = timed(lambda i, p=p, q=q: random_walks(big["cooc"], starts, 20, p=p, q=q), 1)
        print(f"p={p}, q={q}: {t:.2f}s ({100_000 * 20 / t / 1e6:.1f}M steps/s)")

    print(f"\n[4] cooccurrence_matrix, {args.playlists:,} playlists, window 25")
    indptr, tracks, lengths = synthetic_playlists(args.playlists, args.nodes, rng)
    t0 = time.perf_counter()
    cooc = cooccurrence_matrix(indptr, tracks, args.nodes, window=25, min_weight=1)
    t = time.perf_counter() - t0
    print(
        f"{lengths.sum():,} playlist entries (mean length {lengths.mean():.1f}): {t:.1f}s, "
        f"{cooc.num_edges:,} stored entries"
    )
    t0 = time.perf_counter()
    cooc2 = cooccurrence_matrix(indptr, tracks, args.nodes, window=25, min_weight=2)
    print(f"min_weight=2: {time.perf_counter() - t0:.1f}s, {cooc2.num_edges:,} stored entries")


if __name__ == "__main__":
    main()
