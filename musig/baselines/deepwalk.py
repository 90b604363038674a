"""DeepWalk (Perozzi et al. 2014): node2vec with unbiased (p = q = 1) walks.

Walks step in proportion to co-occurrence counts by default (``weighted=True``); set
``weighted=False`` for the original uniform walks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from musig.baselines import node2vec
from musig.fitting import Callback, FitContext, MethodResult
from musig.graph import GraphConfig


@dataclass(frozen=True)
class DeepWalkConfig:
    """Hyperparameters of DeepWalk; see ``Node2VecConfig`` for what each one does."""

    weighted: bool = True  # step in proportion to co-occurrence counts
    walks_per_node: int = 10
    walk_length: int = 40  # steps per walk (a walk holds walk_length + 1 nodes)
    vector_size: int = 64
    window: int = 5  # tuned on validation (benchmarks/tune.py)
    epochs: int = 20  # tuned on validation
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    alpha: float = 0.05  # tuned on validation
    min_alpha: float = 1e-4
    shrink_windows: bool = True
    workers: int = 1  # gensim is reproducible only with one worker
    graph: GraphConfig = field(default_factory=GraphConfig)  # how the co-occurrence is counted


def fit(
    ctx: FitContext, cfg: DeepWalkConfig = DeepWalkConfig(), callback: Callback = None
) -> MethodResult:
    """Train DeepWalk on the ``"cooc"`` relation of ``ctx.graph``.

    Returns:
        MethodResult with ``embeddings`` float32 (N, vector_size) (zero rows where masked) and
        ``mask`` bool (N,) True for nodes with degree > 0 in the co-occurrence graph.
    """
    same = {f.name: getattr(cfg, f.name) for f in fields(cfg)}
    return node2vec.fit(ctx, node2vec.Node2VecConfig(p=1.0, q=1.0, **same), callback)
