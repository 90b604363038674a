"""Random walks on CSR graphs, vectorised over walkers (DeepWalk and node2vec corpora).

Replaces torch-geometric's ``Node2Vec`` walk sampler, whose compiled extra (torch-cluster) is not
available here.
"""

from __future__ import annotations

import numpy as np

from musig.csr import CSR, check_nodes, edge_keys, has_edge_keys
from musig.sampling import cumulative_weights, inverse_cdf
from musig.utils import RandomState, as_rng


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
    starts = check_nodes(g, starts, "starts")
    second_order = p != 1.0 or q != 1.0
    keys = edge_keys(g) if second_order else None
    if keys is not None and (np.diff(keys) <= 0).any():
        raise ValueError("node2vec walks need sorted, unique CSR rows (use CSR.from_*)")
    rng = as_rng(random_state)
    walks = np.empty((starts.size, length + 1), np.int64)
    walks[:, 0] = starts
    if length == 0 or starts.size == 0:
        return walks
    cum = cumulative_weights(g) if weighted else np.arange(g.num_edges + 1, dtype=np.float64)
    deg = g.degree()
    max_a = max(1.0 / p, 1.0, 1.0 / q)

    def step_from(v: np.ndarray) -> np.ndarray:
        lo, hi = g.indptr[v], g.indptr[v + 1]
        return g.indices[inverse_cdf(cum, lo, hi, rng.random(v.size))]

    cur, prev = starts, starts
    for t in range(length):
        nxt = cur.copy()
        pending = np.flatnonzero(deg[cur] > 0)
        if not second_order or t == 0:
            nxt[pending] = step_from(cur[pending])
        while pending.size and second_order and t > 0:
            prop, back = step_from(cur[pending]), prev[pending]
            near = has_edge_keys(keys, g.num_nodes, back, prop)
            a = np.where(prop == back, 1.0 / p, np.where(near, 1.0, 1.0 / q))
            ok = rng.random(pending.size) * max_a < a
            nxt[pending[ok]] = prop[ok]
            pending = pending[~ok]
        walks[:, t + 1] = nxt
        prev, cur = cur, nxt
    return walks
