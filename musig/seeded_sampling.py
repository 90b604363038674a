"""Neighbourhoods drawn per node: a track's sample depends on (seed, track) and nothing else.

Embedding every track (:func:`musig.inductive.embed_nodes`) must give a track the same vector
whichever tracks share its batch, and however the catalog is split across ranks or Spark
partitions. :func:`musig.sampling.sample_subgraph` — what training uses — cannot promise that:
its draws come from one stream shared by the batch, and a node reached from two seeds is expanded
once, at the depth it was first reached. :func:`sample_layered` differs in two ways:

- the draws that expand node ``v`` at depth ``d`` in relation ``r`` are a counter-based hash of
  (seed, v, d, r, draw), not a stream (splitmix64, as in counter-based generators);
- nodes are merged within a depth only: a seed reached at depth 1 from another seed gets its
  depth-1 expansion there, as it would in a batch of its own.

The result is a :class:`~musig.sampling.Subgraph` whose ``hop_ptr`` levels are the depths, so
the encoder's layer trimming works on it unchanged. Same draws distribution as training:
weighted, with replacement.
"""

from __future__ import annotations

import numpy as np

from musig.csr import CSR, check_nodes
from musig.sampling import Subgraph, cumulative_weights, inverse_cdf

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def node_uniforms(seed: int, nodes: np.ndarray, stream: int, draws: int) -> np.ndarray:
    """float64 (len(nodes), draws) uniforms in [0, 1), a function of (seed, node, stream, draw).

    Args:
        seed: the run's seed (any int; taken modulo 2**64).
        nodes: int64 (B,) node ids.
        stream: which expansion (depth and relation) the draws are for.
    """
    with np.errstate(over="ignore"):
        base = _mix(np.full(1, seed % 2**64, np.uint64))
        h = _mix(base ^ nodes.astype(np.uint64))
        h = _mix(h ^ np.uint64(stream))
        x = _mix(h[:, None] ^ np.arange(draws, dtype=np.uint64)[None, :])
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def sample_layered(
    relations: dict[str, CSR],
    seeds: np.ndarray,
    fanouts: dict[str, list[int]],
    seed: int,
    cum_weights: dict[str, np.ndarray] | None = None,
) -> Subgraph:
    """Sample the L-hop neighbourhood of ``seeds``, each node's draws keyed by (seed, node).

    Args:
        relations: relation name -> graph (equal num_nodes).
        seeds: int (B,) global ids, duplicates allowed.
        fanouts: relation -> per-depth fan-outs (>= 1, or -1 = all neighbours), equal lengths.
        seed: the run's seed.
        cum_weights: relation -> :func:`~musig.sampling.cumulative_weights`, when precomputed.

    Returns:
        Subgraph: level ``d`` (``n_id[hop_ptr[d]:hop_ptr[d+1]]``) holds the distinct nodes at
        depth ``d``; an edge of relation r goes from a node of level d+1 to the node of level d
        it was drawn for. ``seed_local`` maps each seed to its row of level 0.
    """
    names = sorted(fanouts)
    depths = {len(fanouts[r]) for r in names}
    if len(depths) > 1:
        raise ValueError(f"every relation needs the same number of hops, got {dict(fanouts)}")
    for name in names:
        if name not in relations:
            raise ValueError(f"fanouts names relation {name!r}, not in {sorted(relations)}")
    seeds = np.asarray(seeds, np.int64).reshape(-1)
    if names:
        seeds = check_nodes(relations[names[0]], seeds, "seeds")
    level, seed_local = np.unique(seeds, return_inverse=True)
    levels, edges = [level], {r: [] for r in names}
    cum = {r: (cum_weights or {}).get(r) for r in names}
    offset = 0
    for depth in range(depths.pop() if names else 0):
        srcs, owners = [], []
        for i, r in enumerate(names):
            g, f = relations[r], fanouts[r][depth]
            start, deg = g.indptr[level], g.indptr[level + 1] - g.indptr[level]
            has = np.flatnonzero(deg > 0)
            if f == -1:
                d = deg[has]
                owner = np.repeat(has, d)
                pos = np.repeat(start[has] - (np.cumsum(d) - d), d) + np.arange(d.sum())
            else:
                if cum[r] is None:
                    cum[r] = cumulative_weights(g)
                u = node_uniforms(seed, level[has], depth * len(names) + i, f).ravel()
                lo = np.repeat(start[has], f)
                pos = inverse_cdf(cum[r], lo, lo + np.repeat(deg[has], f), u)
                owner = np.repeat(has, f)
            srcs.append(g.indices[pos])
            owners.append(owner)
        nxt, inv = np.unique(np.concatenate(srcs), return_inverse=True)
        nxt_offset = offset + level.size
        at = 0
        for r, owner in zip(names, owners, strict=True):
            edges[r].append(np.stack([nxt_offset + inv[at : at + owner.size], offset + owner]))
            at += owner.size
        offset, level = nxt_offset, nxt
        levels.append(level)
        if level.size == 0:
            break
    edge_index = {
        r: np.concatenate(e, axis=1) if e else np.zeros((2, 0), np.int64) for r, e in edges.items()
    }
    hop_ptr = tuple(int(x) for x in np.cumsum([0] + [a.size for a in levels]))
    n_id = np.concatenate(levels)
    return Subgraph(n_id, int(levels[0].size), edge_index, seed_local.astype(np.int64), hop_ptr)
