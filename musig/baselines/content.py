"""Content: the scaled audio/table features themselves as track embeddings (no training).

Kept plain (no PCA or whitening) so this baseline measures the features exactly as the graph
methods receive them; cosine retrieval already ignores the overall scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from musig.fitting import Callback, FitContext, FitLog, MethodResult


@dataclass(frozen=True)
class ContentConfig:
    """Content has no hyperparameters; the class exists so every method has a config."""


def fit(
    ctx: FitContext, cfg: ContentConfig = ContentConfig(), callback: Callback = None
) -> MethodResult:
    """Use ``ctx.features`` as embeddings.

    Returns:
        MethodResult with ``embeddings`` float32 (N, F) (zero rows where there are no features)
        and ``mask = ctx.feature_mask``.
    """
    t0 = time.perf_counter()
    mask = np.asarray(ctx.feature_mask, dtype=bool).copy()
    features = np.asarray(ctx.features, dtype=np.float32)
    if features.ndim != 2 or len(features) != len(mask):
        raise ValueError(
            f"content: features have shape {features.shape} but feature_mask has {len(mask)} rows"
        )
    embeddings = np.where(mask[:, None], features, np.float32(0.0)).astype(np.float32)
    log = FitLog(callback)
    log.add({"step": "done", "seconds": time.perf_counter() - t0})
    return MethodResult(embeddings=embeddings, mask=mask, log=log)
