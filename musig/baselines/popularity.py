"""Popularity: rank every track by how many training playlists contain it (recommend-only)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from musig.fitting import Callback, FitContext, FitLog, MethodResult


@dataclass(frozen=True)
class PopularityConfig:
    """Popularity has no hyperparameters; the class exists so every method has a config."""


def fit(
    ctx: FitContext, cfg: PopularityConfig = PopularityConfig(), callback: Callback = None
) -> MethodResult:
    """Count training playlists per track.

    Returns:
        MethodResult with ``embeddings=None``, an all-False mask (it embeds nothing) and
        ``extras["scores"]``: float32 (N,) number of training playlists containing each track
        (a track repeated within one playlist counts once).
    """
    t0 = time.perf_counter()
    scores = np.asarray(ctx.dataset.popularity, dtype=np.float32)
    n = ctx.dataset.num_tracks
    log = FitLog(callback)
    log.add({"step": "done", "seconds": time.perf_counter() - t0})
    return MethodResult(
        embeddings=None, mask=np.zeros(n, dtype=bool), extras={"scores": scores}, log=log
    )
