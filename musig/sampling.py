"""Vectorised graph sampling on CSR arrays: neighbour sampling, subgraphs and random walks.

Replaces torch-geometric's ``NeighborLoader`` / ``Node2Vec`` samplers (whose compiled extras are not
available here) with numpy code that loops over hops, steps or bounded chunks of rows, never over
single nodes or edges. Memory of :func:`sample_neighbors` and :func:`sample_subgraph` grows with the
batch (its sampled edges and the rows it reads, read in chunks of at most ``_GATHER_BUDGET``
edges), not with the graph; repeated calls may trade one graph-sized array
(:func:`cumulative_weights`) for not reading whole rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from musig.utils import RandomState, as_rng

# Rows are read in chunks of about this many edges so that one hub or a large frontier never
# allocates graph-sized temporaries (a row longer than this is read on its own).
_GATHER_BUDGET = 1 << 18


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


def _check_nodes(g: CSR, nodes: np.ndarray, what: str) -> np.ndarray:
    nodes = np.asarray(nodes)
    if nodes.ndim != 1 or (nodes.size and not np.issubdtype(nodes.dtype, np.integer)):
        raise ValueError(f"{what} must be a 1-D integer array, got {nodes.dtype} {nodes.shape}")
    nodes = nodes.astype(np.int64, copy=False)
    if nodes.size and (nodes.min() < 0 or nodes.max() >= g.num_nodes):
        raise ValueError(f"{what} must lie in [0, {g.num_nodes}), got {nodes.min()}..{nodes.max()}")
    return nodes


def _row_chunks(deg: np.ndarray) -> Iterator[slice]:
    """Split consecutive rows into slices whose degrees sum to about ``_GATHER_BUDGET``."""
    budget = _GATHER_BUDGET
    if deg.size == 0:
        return
    csum = np.cumsum(deg)
    lo = 0
    while lo < deg.size:
        base = csum[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(csum, base + budget, side="right")), lo + 1)
        yield slice(lo, hi)
        lo = hi


def _gather(start: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the edge positions of several rows.

    Returns:
        seg_ptr: int64 (R+1,) offsets of each row's block; epos: int64 (sum(deg),) edge positions.
    """
    seg_ptr = np.zeros(deg.size + 1, np.int64)
    np.cumsum(deg, out=seg_ptr[1:])
    epos = np.repeat(start - seg_ptr[:-1], deg) + np.arange(seg_ptr[-1], dtype=np.int64)
    return seg_ptr, epos


def _inverse_cdf(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Pick ``j`` in ``[lo, hi)`` with probability ``(cum[j+1] - cum[j]) / (cum[hi] - cum[lo])``.

    ``cum`` is a running sum with a leading 0; rows whose weights sum to 0 are sampled uniformly.
    """
    base, total = cum[lo], cum[hi] - cum[lo]
    target = base + u * total
    # Sorted needles let searchsorted reuse its previous bound: ~5x fewer cache misses on big
    # graphs. side="right" skips zero-weight edges, whose cumulative interval is empty.
    order = np.argsort(target)
    j = np.empty(target.shape, np.int64)
    j[order] = np.searchsorted(cum, target[order], side="right") - 1
    j = np.clip(j, lo, hi - 1)
    flat = total <= 0
    if flat.any():
        j[flat] = np.minimum(lo[flat] + (u[flat] * (hi - lo)[flat]).astype(np.int64), hi[flat] - 1)
    return j


def cumulative_weights(g: CSR) -> np.ndarray:
    """float64 (E+1,) running sum of ``g.weights`` with a leading 0.

    Computed once per graph and passed to :func:`sample_subgraph`, it makes weighted sampling
    with replacement cost O(draws log E) per batch instead of a pass over every edge of the
    rows drawn from: on a dense co-occurrence graph that pass dominates a training step.
    """
    cum = np.zeros(g.num_edges + 1)
    np.cumsum(g.weights, out=cum[1:])
    return cum


def sample_neighbors(
    g: CSR,
    nodes: np.ndarray,
    fanout: int,
    *,
    replace: bool = True,
    weighted: bool = True,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample up to ``fanout`` neighbours of each node.

    With replacement every node with neighbours gets exactly ``fanout`` draws (repeats possible),
    each neighbour picked with probability proportional to its edge weight (inverse CDF: a running
    sum of the rows' weights and one ``searchsorted``). Without replacement a node with degree
    ``<= fanout`` keeps all its neighbours; otherwise the ``fanout`` smallest exponential keys
    ``-log(u) / w`` per row are kept (Efraimidis-Spirakis weighted sampling without replacement),
    found by one argsort on (row, key rank). Nodes without neighbours produce no edges.

    Args:
        g: the graph.
        nodes: int (B,) node ids, duplicates allowed (each entry sampled independently).
        fanout: neighbours per node; -1 keeps all neighbours.
        replace: sample with replacement.
        weighted: sample proportionally to edge weights, else uniformly.
        random_state: seed or generator.

    Returns:
        src: int64 (M,) sampled neighbours; dst: int64 (M,) the node each was sampled for.
        Edges are grouped by the position of their node in ``nodes``.
    """
    nodes = _check_nodes(g, nodes, "nodes")
    if fanout < -1:
        raise ValueError(f"fanout must be -1 (all) or >= 0, got {fanout}")
    src, owner = _sample(g, nodes, fanout, replace, weighted, as_rng(random_state))
    return src, nodes[owner]


def _sample(
    g: CSR,
    nodes: np.ndarray,
    fanout: int,
    replace: bool,
    weighted: bool,
    rng: np.random.Generator,
    cum: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """sample_neighbors on validated input; returns (src, index into ``nodes`` of each dst).

    ``cum``: :func:`cumulative_weights` of ``g``, used by weighted sampling with replacement.
    """
    start = g.indptr[nodes]
    deg = g.indptr[nodes + 1] - start
    which = np.flatnonzero(deg > 0)
    if fanout == 0 or which.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if cum is not None and replace and weighted and fanout > 0:
        lo = np.repeat(start[which], fanout)
        pos = _inverse_cdf(cum, lo, lo + np.repeat(deg[which], fanout), rng.random(lo.size))
        return g.indices[pos], np.repeat(which, fanout)

    if fanout == -1:
        take_all, sampled = which, which[:0]
    elif replace:
        take_all, sampled = which[:0], which
    else:
        small = deg[which] <= fanout
        take_all, sampled = which[small], which[~small]

    owner = [np.repeat(take_all, deg[take_all])]
    picked = [_gather(start[take_all], deg[take_all])[1]]

    for part in _row_chunks(deg[sampled]):
        rows = sampled[part]
        s, d = start[rows], deg[rows]
        if replace and not weighted:
            u = rng.random((rows.size, fanout))
            off = np.minimum((u * d[:, None]).astype(np.int64), d[:, None] - 1)
            pos = (s[:, None] + off).ravel()
        elif replace:
            seg_ptr, epos = _gather(s, d)
            cum = np.zeros(epos.size + 1)
            np.cumsum(g.weights[epos], out=cum[1:])
            u = rng.random(rows.size * fanout)
            lo, hi = np.repeat(seg_ptr[:-1], fanout), np.repeat(seg_ptr[1:], fanout)
            pos = epos[_inverse_cdf(cum, lo, hi, u)]
        else:
            seg_ptr, epos = _gather(s, d)
            u = rng.random(epos.size)
            if weighted:
                with np.errstate(divide="ignore", invalid="ignore"):
                    key = -np.log1p(-u) / g.weights[epos]  # zero weight -> inf, picked last
            else:
                key = u
            # Sort by (row, key) with one int64 argsort on row * E + global key rank (3x faster
            # than np.lexsort, exact).
            key_rank = np.empty(epos.size, np.int64)
            key_rank[np.argsort(key)] = np.arange(epos.size)
            seg = np.repeat(np.arange(rows.size, dtype=np.int64), d)
            order = np.argsort(seg * epos.size + key_rank)
            rank = np.arange(epos.size) - seg_ptr[:-1][seg]  # seg is sorted, so seg[order] == seg
            pos = epos[order[rank < fanout]]  # exactly fanout per row, grouped by row
        owner.append(np.repeat(rows, fanout))
        picked.append(pos)

    owner_a, pos_a = np.concatenate(owner), np.concatenate(picked)
    if take_all.size and sampled.size:  # each part is grouped by node already
        order = np.argsort(owner_a, kind="stable")
        owner_a, pos_a = owner_a[order], pos_a[order]
    return g.indices[pos_a], owner_a


class Subgraph(NamedTuple):
    """A sampled multi-relation neighbourhood in local ids (PyG ``flow="source_to_target"``).

    Attributes:
        n_id: int64 (n,) global id of each local node; the unique seeds come first, in the order of
            their first occurrence in ``seeds``.
        batch_size: number of unique seeds (``n_id[:batch_size]``).
        edge_index: relation -> int64 (2, E) local ids; row 0 = source (sampled neighbour),
            row 1 = target (the node whose neighbourhood was sampled).
        seed_local: int64 (len(seeds),) local index of each input seed (so duplicated seeds map to
            the same row: ``n_id[seed_local] == seeds``).
        hop_ptr: local ids ``hop_ptr[h]:hop_ptr[h+1]`` are the nodes first reached in hop ``h``
            (hop 0: the seeds). An edge of hop ``h`` targets a node of hop ``h-1``, so the nodes
            within ``k`` hops and the edges into them are prefixes (PyG's ``trim_to_layer``).
    """

    n_id: np.ndarray
    batch_size: int
    edge_index: dict[str, np.ndarray]
    seed_local: np.ndarray
    hop_ptr: tuple[int, ...]


def _first_seen_unique(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique values of ``x`` in first-occurrence order, and the index of each ``x`` into them."""
    uniq, first, inv = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return uniq[order], rank[inv.ravel()]


def sample_subgraph(
    relations: dict[str, CSR],
    seeds: np.ndarray,
    fanouts: dict[str, list[int]],
    *,
    replace: bool = True,
    weighted: bool = True,
    random_state: RandomState = None,
    cum_weights: dict[str, np.ndarray] | None = None,
) -> Subgraph:
    """Sample an L-hop neighbourhood of ``seeds`` over several relations (PyG NeighborLoader).

    Hop 1 samples ``fanouts[r][0]`` neighbours of every seed in each relation ``r``; hop ``h``
    samples ``fanouts[r][h-1]`` neighbours, in each relation, of the nodes first reached in hop
    ``h-1`` (nodes reached earlier are not expanded again). Local ids are assigned hop by hop:
    seeds, then the nodes first reached in hop 1 (in global id order), then hop 2, ... Relabelling
    sorts and searches the batch's own ids only, so memory grows with the batch, not the graph.

    Args:
        relations: relation name -> graph; all relations in ``fanouts`` must share num_nodes.
        seeds: int (B,) global ids; duplicates allowed (see ``Subgraph.seed_local``).
        fanouts: relation name -> per-hop fanouts (-1 = all neighbours), all of equal length L.
            Relations not named here are not sampled and get no ``edge_index`` entry.
        replace, weighted: as in :func:`sample_neighbors`.
        random_state: seed or generator; the same seed gives the identical Subgraph.
        cum_weights: relation -> :func:`cumulative_weights`, precomputed for repeated calls on
            the same graphs (training); it changes the draws, not their distribution.

    Returns:
        Subgraph.
    """
    names = sorted(fanouts)  # fixed order so the draws do not depend on dict insertion order
    if not names:
        # Nothing to aggregate over (an encoder of per-track inputs only): the seeds alone.
        seeds = np.asarray(seeds, np.int64).reshape(-1)
        if seeds.size and seeds.min() < 0:
            raise ValueError(f"seeds must be >= 0, got {seeds.min()}")
        seed_nodes, seed_local = _first_seen_unique(seeds)
        size = int(seed_nodes.size)
        return Subgraph(seed_nodes, size, {}, seed_local, (0, size))
    for name in names:
        if name not in relations:
            raise ValueError(f"fanouts names relation {name!r}, not in {sorted(relations)}")
    num_layers = {len(fanouts[r]) for r in names}
    if len(num_layers) != 1:
        raise ValueError(f"every relation needs the same number of hops, got {dict(fanouts)}")
    sizes = {relations[r].num_nodes for r in names}
    if len(sizes) != 1:
        raise ValueError(f"relations differ in num_nodes: {sizes}")
    rng = as_rng(random_state)
    seeds = _check_nodes(relations[names[0]], seeds, "seeds")
    cum = cum_weights or {}
    for r, c in cum.items():
        if r in relations and c.shape != (relations[r].num_edges + 1,):
            raise ValueError(f"cum_weights[{r!r}] does not match its graph; use cumulative_weights")

    seed_nodes, seed_local = _first_seen_unique(seeds)
    n_id = [seed_nodes]
    # The batch's global ids sorted, with their local ids: relabelling by searchsorted keeps
    # memory proportional to the batch.
    known = np.sort(seed_nodes)
    known_local = np.argsort(seed_nodes).astype(np.int64)
    frontier_local = np.arange(seed_nodes.size, dtype=np.int64)
    frontier = seed_nodes
    edges: dict[str, list[np.ndarray]] = {r: [] for r in names}

    for hop in range(num_layers.pop()):
        sampled = [
            _sample(relations[r], frontier, fanouts[r][hop], replace, weighted, rng, cum.get(r))
            for r in names
        ]
        owners = [o for _, o in sampled]
        src = np.concatenate([s for s, _ in sampled])
        del sampled  # temporaries are dropped as soon as possible: peak memory ~ 50 B per edge
        # unique with inverse via one argsort (np.unique adds hashing/extra sorts)
        order = np.argsort(src)
        src = src[order]
        is_first = np.ones(src.size, bool)
        np.not_equal(src[1:], src[:-1], out=is_first[1:])
        uniq = src[is_first]
        del src
        inv = np.empty(order.size, np.int64)
        inv[order] = np.cumsum(is_first) - 1
        del order, is_first
        pos = np.searchsorted(known, uniq)
        is_known = known[np.minimum(pos, known.size - 1)] == uniq
        new = uniq[~is_known]  # nodes first reached in this hop, in global id order
        uniq_local = np.empty(uniq.size, np.int64)
        uniq_local[is_known] = known_local[pos[is_known]]
        new_local = sum(a.size for a in n_id) + np.arange(new.size, dtype=np.int64)
        uniq_local[~is_known] = new_local
        src_local = uniq_local[inv]
        del inv
        offset = 0
        for r, owner in zip(names, owners, strict=True):
            edges[r].append(
                np.stack([src_local[offset : offset + owner.size], frontier_local[owner]])
            )
            offset += owner.size
        del owners, src_local
        n_id.append(new)
        at = np.searchsorted(known, new)
        known, known_local = np.insert(known, at, new), np.insert(known_local, at, new_local)
        frontier, frontier_local = new, new_local
        if frontier.size == 0:
            break

    edge_index = {
        r: np.concatenate(e, axis=1) if e else np.zeros((2, 0), np.int64) for r, e in edges.items()
    }
    hop_ptr = tuple(int(x) for x in np.cumsum([0] + [a.size for a in n_id]))
    return Subgraph(np.concatenate(n_id), int(seed_nodes.size), edge_index, seed_local, hop_ptr)


def has_edge(g: CSR, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """bool (K,): whether ``v[k]`` is in row ``u[k]`` (vectorised binary search on sorted rows)."""
    u = np.asarray(u, np.int64)
    v = np.asarray(v, np.int64)
    lo, end = g.indptr[u], g.indptr[u + 1]
    hi = end.copy()
    if g.num_edges == 0:
        return np.zeros(u.shape, bool)
    max_deg = int((hi - lo).max(initial=0))
    for _ in range(max(max_deg, 1).bit_length()):
        mid = (lo + hi) >> 1
        live = lo < hi
        right = live & (g.indices[np.minimum(mid, g.num_edges - 1)] < v)
        lo = np.where(right, mid + 1, lo)
        hi = np.where(live & ~right, mid, hi)
    return (lo < end) & (g.indices[np.minimum(lo, g.num_edges - 1)] == v)


def _edge_keys(g: CSR) -> np.ndarray:
    """int64 (E,) keys ``row * N + col``; strictly increasing iff every row is sorted and unique."""
    return np.repeat(np.arange(g.num_nodes, dtype=np.int64), g.degree()) * g.num_nodes + g.indices


def _has_edge_keys(keys: np.ndarray, n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if keys.size == 0:
        return np.zeros(u.shape, bool)
    needle = u * n + v
    order = np.argsort(needle)  # sorted needles: far fewer cache misses, see _inverse_cdf
    pos = np.empty(needle.shape, np.int64)
    pos[order] = np.searchsorted(keys, needle[order])
    return keys[np.minimum(pos, keys.size - 1)] == needle


def random_walks(
    g: CSR,
    starts: np.ndarray,
    length: int,
    *,
    p: float = 1.0,
    q: float = 1.0,
    weighted: bool = True,
    random_state: RandomState = None,
) -> np.ndarray:
    """Random walks, vectorised over walkers (the Python loop runs over steps only).

    First-order walks move to a neighbour chosen proportionally to edge weight (or uniformly).
    With ``p != 1`` or ``q != 1`` steps after the first follow node2vec's second-order bias by
    rejection sampling, as torch-cluster does: propose from the first-order distribution, accept
    with probability ``a / max(1/p, 1, 1/q)`` where ``a`` is ``1/p`` for a return to the previous
    node, ``1`` for a neighbour of the previous node and ``1/q`` otherwise. A walker on a node
    with no neighbours stays there for the rest of its walk (the node repeats).

    Memory: one running sum of all edge weights (float64 (E,)) per call, for node2vec also one
    int64 (E,) array of edge keys, plus O(S) per step.

    Args:
        g: the graph (rows sorted, as every CSR constructor guarantees).
        starts: int (S,) start node of each walk.
        length: number of steps.
        p: return parameter (small p: walks backtrack more).
        q: in-out parameter (large q: walks stay near the start, BFS-like).
        weighted: use edge weights for the first-order proposal.
        random_state: seed or generator.

    Returns:
        int64 (S, length + 1) node ids; column 0 is ``starts``.
    """
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    if p <= 0 or q <= 0:
        raise ValueError(f"p and q must be > 0, got p={p}, q={q}")
    starts = _check_nodes(g, starts, "starts")
    second_order = p != 1.0 or q != 1.0
    keys = _edge_keys(g) if second_order else None
    if keys is not None and (np.diff(keys) <= 0).any():
        raise ValueError("node2vec walks need sorted, unique CSR rows (use CSR.from_*)")
    rng = as_rng(random_state)
    walks = np.empty((starts.size, length + 1), np.int64)
    walks[:, 0] = starts
    if length == 0 or starts.size == 0:
        return walks
    cum = np.zeros(g.num_edges + 1)
    if weighted:
        np.cumsum(g.weights, out=cum[1:])
    else:
        cum[1:] = np.arange(1, g.num_edges + 1)
    deg = g.degree()
    max_a = max(1.0 / p, 1.0, 1.0 / q)

    def step_from(v: np.ndarray) -> np.ndarray:
        lo, hi = g.indptr[v], g.indptr[v + 1]
        return g.indices[_inverse_cdf(cum, lo, hi, rng.random(v.size))]

    cur, prev = starts, starts
    for t in range(length):
        nxt = cur.copy()
        pending = np.flatnonzero(deg[cur] > 0)
        if not second_order or t == 0:
            nxt[pending] = step_from(cur[pending])
        while pending.size and second_order and t > 0:
            prop, back = step_from(cur[pending]), prev[pending]
            near = _has_edge_keys(keys, g.num_nodes, back, prop)
            a = np.where(prop == back, 1.0 / p, np.where(near, 1.0, 1.0 / q))
            ok = rng.random(pending.size) * max_a < a
            nxt[pending[ok]] = prop[ok]
            pending = pending[~ok]
        walks[:, t + 1] = nxt
        prev, cur = cur, nxt
    return walks
