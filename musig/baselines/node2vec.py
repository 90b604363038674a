"""node2vec (Grover & Leskovec 2016): skip-gram over biased random walks on the co-occurrence graph.

``p`` is the return parameter, ``q`` the in-out parameter; ``p = q = 1`` gives DeepWalk (see
``deepwalk.py``). Walks start from every node with at least one co-occurrence edge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from musig.baselines._skipgram import SkipGramParams, train_skipgram
from musig.fitting import Callback, FitContext, FitLog, MethodResult
from musig.graph import GraphConfig
from musig.utils import as_rng


@dataclass(frozen=True)
class Node2VecConfig:
    """Hyperparameters of node2vec; the defaults fit a 5k-track world in well under a minute."""

    p: float = 1.0  # return parameter: higher = less likely to step straight back
    # In-out parameter: < 1 lets walks move outward (DFS-like); 0.5 beat 2 on the sample world's
    # validation split (benchmarks/tune.py).
    q: float = 0.5
    weighted: bool = True  # step in proportion to co-occurrence counts
    walks_per_node: int = 10  # walks started from each node with degree > 0
    walk_length: int = 40  # steps per walk (a walk holds walk_length + 1 nodes)
    vector_size: int = 64  # embedding dimension D, same as the other baselines
    # Context window along a walk; on validation 5 beat 3 once epochs and learning rate were
    # raised (benchmarks/tune.py).
    window: int = 5
    epochs: int = 10  # passes over the walks, each in a new seeded order (tuned)
    negative: int = 5  # negative samples per positive pair
    ns_exponent: float = 0.75  # unigram^0.75 negative distribution (word2vec default)
    sample: float = 1e-3  # down-sample hub nodes, which random walks visit very often
    alpha: float = 0.05  # initial learning rate, decayed linearly to min_alpha (tuned)
    min_alpha: float = 1e-4
    shrink_windows: bool = True  # word2vec's random window shrinking: nearer nodes weigh more
    workers: int = 1  # gensim is reproducible only with one worker
    graph: GraphConfig = field(default_factory=GraphConfig)  # how the co-occurrence is counted


def fit(
    ctx: FitContext, cfg: Node2VecConfig = Node2VecConfig(), callback: Callback = None
) -> MethodResult:
    """Walk the ``"cooc"`` relation of ``ctx.graph`` and train skip-gram on the walks.

    Returns:
        MethodResult with ``embeddings`` float32 (N, vector_size) (zero rows where masked) and
        ``mask`` bool (N,) True for nodes with degree > 0 in the co-occurrence graph.
    """
    from musig.walks import random_walks

    t0 = time.perf_counter()
    if "cooc" not in ctx.graph.relations:
        raise ValueError("node2vec/deepwalk need the 'cooc' relation; the graph has none")
    g = ctx.graph.relations["cooc"]
    n = ctx.graph.num_nodes
    rng = as_rng(ctx.random_state)

    # DeepWalk's schedule: one pass over the nodes in a fresh random order per round.
    active = np.flatnonzero(np.diff(g.indptr) > 0)
    starts = np.concatenate([rng.permutation(active) for _ in range(cfg.walks_per_node)])
    walks = random_walks(
        g, starts, cfg.walk_length, p=cfg.p, q=cfg.q, weighted=cfg.weighted, random_state=rng
    )  # (S, walk_length + 1)
    indptr, indices = _walks_to_csr(walks)
    log = FitLog(callback)
    log.add({"step": "walks", "num_walks": len(walks), "seconds": time.perf_counter() - t0})

    params = SkipGramParams.from_config(cfg)
    embeddings, mask = train_skipgram(
        indptr,
        indices,
        n,
        params,
        seed=int(rng.integers(2**31 - 1)),
        log=log,
        progress=ctx.progress,
    )
    log.add({"step": "done", "seconds": time.perf_counter() - t0, "num_embedded": int(mask.sum())})
    return MethodResult(embeddings=embeddings, mask=mask, log=log)


def _walks_to_csr(walks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, L) walks -> CSR (indptr int64 (S+1,), indices int64 (nnz,)), dropping -1 padding."""
    walks = np.asarray(walks, dtype=np.int64)
    keep = walks >= 0
    indptr = np.zeros(len(walks) + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    return indptr, walks[keep]
