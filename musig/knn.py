"""The acoustic relation: each track's k nearest tracks by cosine on content features.

Exact (chunked matrix products) up to a size threshold; above it, approximate with HNSW indexes
from voyager. The approximate path is deterministic: the tracks are cut into shards, each shard's
index is built on one thread (an index built on several threads depends on their timing), the
shards are built side by side, every track queries every shard, and the best k are kept.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from musig.csr import CSR

# Similarity entries materialised at once by the exact path (float32).
_SIM_BUDGET = 1 << 24
# Added to clipped similarities so that a kNN edge between orthogonal tracks keeps weight > 0.
_KNN_EPS = 1e-6
# HNSW settings: recall@10 >= 0.9 against exact on 200k tracks (benchmarks/bench_scale.py).
_HNSW_M = 12
_HNSW_EF_CONSTRUCTION = 60
_SHARD_SIZE = 400_000  # tracks per index: builds in parallel, each shard queried by every track


def knn_graph(
    X: np.ndarray,
    mask: np.ndarray,
    k: int,
    *,
    metric: str = "cosine",
    exact_max: int = 50_000,
    threads: int = 2,
) -> CSR:
    """Cosine k-nearest-neighbour graph among the rows with ``mask`` True.

    Up to ``exact_max`` rows the neighbours are exact, from similarities computed in row chunks
    of about ``_SIM_BUDGET`` entries (time O(M^2 F) for M rows); above it they come from HNSW
    indexes (:func:`approximate_neighbors`). Edge weight = similarity clipped to >= 0 plus a
    small epsilon; the graph is symmetrised by taking the larger weight of the two directions, so
    a node can have more than k neighbours. Masked-out rows are isolated.

    Args:
        X: float (N, F) features.
        mask: bool (N,) rows that take part.
        k: neighbours per row (capped at M - 1).
        metric: only "cosine".
        exact_max: most rows for the exact path.
        threads: threads of the approximate path (the result does not depend on it).

    Returns:
        CSR (N nodes), symmetric, no self loops.
    """
    if metric != "cosine":
        raise ValueError(f"only metric='cosine' is supported, got {metric!r}")
    X = np.asarray(X)
    mask = np.asarray(mask, bool)
    if X.ndim != 2 or mask.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, F) and mask (N,), got {X.shape} and {mask.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = X.shape[0]
    idx, Z = unit_rows(X, mask)
    k = min(k, idx.size - 1)
    if k < 1:
        return CSR.from_edges(np.zeros(0, np.int64), np.zeros(0, np.int64), num_nodes=n)
    if idx.size <= exact_max:
        nbr, sim = exact_neighbors(Z, k)
    else:
        nbr, sim = approximate_neighbors(Z, k, threads=threads)
    src = np.repeat(idx, k)
    dst = idx[nbr.ravel()]
    return CSR.from_edges(src, dst, knn_weight(sim.ravel()), num_nodes=n, reduce="max")


def unit_rows(X: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows taking part and their features at unit length.

    Returns:
        idx int64 (M,) rows where ``mask`` is True; Z float32 (M, F) those rows of X divided by
        their norm (a zero row stays zero: similarity 0 to everything).
    """
    idx = np.flatnonzero(mask)
    Z = X[idx].astype(np.float32)
    if not np.isfinite(Z).all():
        raise ValueError("X has non-finite values in masked rows")
    norm = np.linalg.norm(Z, axis=1, keepdims=True)
    Z /= np.where(norm > 0, norm, 1.0)
    return idx, Z


def knn_weight(sim: np.ndarray) -> np.ndarray:
    """float32 edge weights of cosines float32 (E,): clipped to >= 0 plus a small epsilon."""
    return np.clip(sim, 0.0, None) + np.float32(_KNN_EPS)


def exact_neighbors(
    Z: np.ndarray, k: int, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar other rows of unit rows Z float32 (M, F), by chunked products.

    Args:
        rows: int64 (R,) the rows to find neighbours of (default all M); each excludes itself.
            A Spark task (:mod:`musig.spark_graph`) passes its own share of the rows.

    Returns:
        nbr int64 (R, k) row ids (in no particular order), sim float32 (R, k) cosines.
    """
    m = len(Z)
    r = m if rows is None else len(rows)
    step = max(1, _SIM_BUDGET // m)
    nbr = np.empty((r, k), np.int64)
    sim = np.empty((r, k), np.float32)
    for lo in range(0, r, step):
        hi = min(lo + step, r)
        own = np.arange(lo, hi) if rows is None else np.asarray(rows[lo:hi], np.int64)
        s = (Z[lo:hi] if rows is None else Z[own]) @ Z.T  # (chunk, M)
        s[np.arange(hi - lo), own] = -np.inf  # no self loops
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        nbr[lo:hi] = top
        sim[lo:hi] = np.take_along_axis(s, top, axis=1)
    return nbr, sim


def approximate_neighbors(
    Z: np.ndarray,
    k: int,
    *,
    queries: np.ndarray | None = None,
    shard_size: int = _SHARD_SIZE,
    threads: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """About the k rows of unit rows Z float32 (M, F) most similar to each query, from HNSW
    indexes.

    Args:
        queries: float32 (Q, F); None = the rows of Z themselves, each excluding itself.

    Returns:
        nbr int64 (Q, k) row ids of Z, sim float32 (Q, k) cosines, best first.
    """
    from voyager import Index, Space

    m, f = Z.shape
    shards = np.array_split(np.arange(m), max(1, -(-m // shard_size)))

    def build(ids: np.ndarray):
        index = Index(
            Space.Cosine,
            num_dimensions=f,
            M=_HNSW_M,
            ef_construction=_HNSW_EF_CONSTRUCTION,
            random_seed=0,
        )
        index.add_items(Z[ids], ids=ids.tolist(), num_threads=1)
        return index

    with ThreadPoolExecutor(threads) as pool:
        indexes = list(pool.map(build, shards))
    want = min(k + 1, m) if queries is None else min(k, m)
    cand, dist = [], []
    for index in indexes:
        ids, d = index.query(
            Z if queries is None else queries,
            k=min(want, len(index)),
            num_threads=threads,
            query_ef=max(4 * want, 40),
        )
        cand.append(np.asarray(ids, np.int64))
        dist.append(np.asarray(d, np.float32))
    cand, sim = np.concatenate(cand, axis=1), 1.0 - np.concatenate(dist, axis=1)
    sim = np.nan_to_num(sim, nan=0.0)  # a zero row has similarity 0 to everything, as if exact
    if queries is None:
        sim[cand == np.arange(m)[:, None]] = -np.inf  # no self loops
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cand, order, axis=1), np.take_along_axis(sim, order, axis=1)
