"""Weighted graphs as compressed sparse row arrays, the structure every sampler here works on."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp


class CSR(NamedTuple):
    """A weighted graph in compressed sparse row form; row ``v`` lists the neighbours of ``v``.

    The constructors below guarantee that each row's ``indices`` are sorted and unique, which
    :func:`random_walks` and :func:`has_edge` rely on to test "is x a neighbour of y" by binary
    search.

    Attributes:
        indptr: int64 (N+1,) row offsets.
        indices: int64 (E,) neighbour ids, sorted within each row.
        weights: float32 (E,) non-negative edge weights.
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray

    @property
    def num_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_edges(self) -> int:
        return len(self.indices)

    def degree(self) -> np.ndarray:
        """int64 (N,) number of stored neighbours of each node."""
        return np.diff(self.indptr)

    def to_scipy(self) -> sp.csr_array:
        """The graph as a ``scipy.sparse.csr_array`` (N, N) of float32 weights."""
        n = self.num_nodes
        return sp.csr_array((self.weights, self.indices, self.indptr), shape=(n, n))

    @staticmethod
    def from_scipy(m: sp.sparray | sp.spmatrix) -> CSR:
        """Build from a square scipy sparse matrix; duplicate entries are summed, rows sorted."""
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"adjacency matrix must be square, got shape {m.shape}")
        m = sp.csr_array(m)
        if not m.has_canonical_format:
            m = m.copy()  # sum_duplicates works in place; leave the caller's matrix alone
            m.sum_duplicates()
        weights = m.data.astype(np.float32)  # copies: the CSR never shares the caller's arrays
        if weights.size and (not np.isfinite(weights).all() or weights.min() < 0):
            raise ValueError("edge weights must be finite and >= 0")
        return CSR(m.indptr.astype(np.int64), m.indices.astype(np.int64), weights)

    @staticmethod
    def from_edges(
        src: np.ndarray,
        dst: np.ndarray,
        weight: np.ndarray | None = None,
        num_nodes: int | None = None,
        symmetric: bool = True,
        reduce: str = "sum",
    ) -> CSR:
        """Build from an edge list.

        Args:
            src: int (E,) source ids (the row an edge is stored in).
            dst: int (E,) target ids.
            weight: float (E,) non-negative weights; None means 1.
            num_nodes: N; None means ``max(src, dst) + 1``.
            symmetric: also add every reversed edge (an undirected graph).
            reduce: how repeated edges (including an edge given in both directions with
                ``symmetric=True``) combine: "sum" or "max".

        Returns:
            CSR with sorted, unique row indices. Self loops are kept as given.
        """
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        if src.shape != dst.shape:
            raise ValueError(f"src and dst differ in length: {src.size} vs {dst.size}")
        w = (
            np.ones(src.size, np.float64)
            if weight is None
            else np.asarray(weight, np.float64).ravel()
        )
        if w.shape != src.shape:
            raise ValueError(f"weight has {w.size} entries for {src.size} edges")
        if w.size and (not np.isfinite(w).all() or w.min() < 0):
            raise ValueError("edge weights must be finite and >= 0")
        if reduce not in ("sum", "max"):
            raise ValueError(f"reduce must be 'sum' or 'max', got {reduce!r}")
        if num_nodes is None:
            num_nodes = int(max(src.max(initial=-1), dst.max(initial=-1)) + 1)
        if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
            raise ValueError(f"edge endpoints must lie in [0, {num_nodes})")
        if symmetric:
            src, dst, w = np.concatenate([src, dst]), np.concatenate([dst, src]), np.tile(w, 2)
        # Row-major keys sort edges by (row, column) in one pass; N**2 fits int64 for N < 3e9.
        key = src * num_nodes + dst
        order = np.argsort(key, kind="stable")
        key, w = key[order], w[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, int)
        ufunc = np.add if reduce == "sum" else np.maximum
        w = ufunc.reduceat(w, first) if key.size else w
        key = key[first]
        rows = key // num_nodes
        indptr = np.zeros(num_nodes + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=num_nodes), out=indptr[1:])
        return CSR(indptr, key % num_nodes, w.astype(np.float32))


def check_nodes(g: CSR, nodes: np.ndarray, what: str) -> np.ndarray:
    """``nodes`` as int64 after checking it is 1-D, integer and within ``[0, g.num_nodes)``."""
    nodes = np.asarray(nodes)
    if nodes.ndim != 1 or (nodes.size and not np.issubdtype(nodes.dtype, np.integer)):
        raise ValueError(f"{what} must be a 1-D integer array, got {nodes.dtype} {nodes.shape}")
    nodes = nodes.astype(np.int64, copy=False)
    if nodes.size and (nodes.min() < 0 or nodes.max() >= g.num_nodes):
        raise ValueError(f"{what} must lie in [0, {g.num_nodes}), got {nodes.min()}..{nodes.max()}")
    return nodes


def edge_position(g: CSR, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where edge (u[k], v[k]) is stored (vectorised binary search on the sorted rows).

    Returns:
        pos int64 (K,) index into ``g.indices``/``g.weights`` (meaningless where not found),
        found bool (K,).
    """
    u = np.asarray(u, np.int64)
    v = np.asarray(v, np.int64)
    lo, end = g.indptr[u], g.indptr[u + 1]
    hi = end.copy()
    if g.num_edges == 0:
        return np.zeros(u.shape, np.int64), np.zeros(u.shape, bool)
    max_deg = int((hi - lo).max(initial=0))
    for _ in range(max(max_deg, 1).bit_length()):
        mid = (lo + hi) >> 1
        live = lo < hi
        right = live & (g.indices[np.minimum(mid, g.num_edges - 1)] < v)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(live & ~right, mid, hi)
    pos = np.minimum(lo, g.num_edges - 1)
    return pos, (lo < end) & (g.indices[pos] == v)


def has_edge(g: CSR, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """bool (K,): whether ``v[k]`` is in row ``u[k]``."""
    return edge_position(g, u, v)[1]


def subtract(g: CSR, part: CSR, min_weight: float = 1.0) -> CSR:
    """``g`` minus ``part`` edge by edge, keeping edges whose weight stays >= ``min_weight``.

    Made for ``g`` = the counts of a set of playlists thresholded at ``min_weight`` and ``part``
    = the counts of some of them: an edge of ``part`` missing from ``g`` was below the threshold
    there, so it is below it after the subtraction too, and is skipped. One binary search per edge
    of ``part``, no sort of ``g``.
    """
    rows = np.repeat(np.arange(part.num_nodes, dtype=np.int64), part.degree())
    pos, found = edge_position(g, rows, part.indices)
    w = g.weights.copy()
    w[pos[found]] -= part.weights[found]
    keep = w >= max(min_weight, np.finfo(np.float32).tiny)
    kept_before = np.zeros(g.num_edges + 1, np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return CSR(kept_before[g.indptr], g.indices[keep], w[keep])


def edge_keys(g: CSR) -> np.ndarray:
    """int64 (E,) keys ``row * N + col``; strictly increasing iff every row is sorted and unique."""
    return np.repeat(np.arange(g.num_nodes, dtype=np.int64), g.degree()) * g.num_nodes + g.indices


def has_edge_keys(keys: np.ndarray, n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`has_edge` through :func:`edge_keys` of a graph with ``n`` nodes: one binary search
    per query, for callers that test many pairs against the same graph."""
    if keys.size == 0:
        return np.zeros(u.shape, bool)
    needle = u * n + v
    order = np.argsort(needle)  # sorted needles: far fewer cache misses, see sampling.inverse_cdf
    pos = np.empty(needle.shape, np.int64)
    pos[order] = np.searchsorted(keys, needle[order])
    return keys[np.minimum(pos, keys.size - 1)] == needle
