"""item2vec (Barkan & Koenigstein 2016): skip-gram over playlists as sentences of track tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from musig.baselines._skipgram import SkipGramParams, train_skipgram
from musig.fitting import Callback, FitContext, FitLog, MethodResult
from musig.utils import as_rng


@dataclass(frozen=True)
class Item2VecConfig:
    """Hyperparameters of item2vec; defaults fit 5k tracks / 10k playlists in about a minute, one
    core."""

    vector_size: int = 64  # embedding dimension D, same as the other baselines
    window: int = 50  # cap on the context window; item2vec treats the whole playlist as context
    epochs: int = 15  # passes over the playlists, each in a new seeded order (tuned)
    negative: int = 5  # negative samples per positive pair
    ns_exponent: float = 0.75  # unigram^0.75 negative distribution (word2vec default)
    sample: float = 1e-3  # down-sample very popular tracks, as item2vec does for frequent items
    alpha: float = 0.1  # initial learning rate, decayed linearly to min_alpha (tuned)
    min_alpha: float = 1e-4
    # Playlists are sets, not sentences: use the full window for every position.
    shrink_windows: bool = False
    workers: int = 1  # gensim is reproducible only with one worker


def fit(
    ctx: FitContext, cfg: Item2VecConfig = Item2VecConfig(), callback: Callback = None
) -> MethodResult:
    """Train item2vec on the training playlists.

    Returns:
        MethodResult with ``embeddings`` float32 (N, vector_size) (zero rows where masked) and
        ``mask`` bool (N,) True for tracks in at least one training playlist with >= 2 tracks.
    """
    t0 = time.perf_counter()
    ds = ctx.dataset
    indptr = np.asarray(ds.playlist_indptr, dtype=np.int64)
    indices = np.asarray(ds.playlist_tracks, dtype=np.int64)
    lengths = np.diff(indptr)
    max_len = int(lengths.max()) if len(lengths) else 1
    # No point in a window longer than the longest playlist; it only costs time.
    params = SkipGramParams.from_config(cfg, window=max(1, min(cfg.window, max_len - 1)))
    seed = int(as_rng(ctx.random_state).integers(2**31 - 1))
    log = FitLog(callback)
    embeddings, mask = train_skipgram(
        indptr, indices, ds.num_tracks, params, seed=seed, log=log, progress=ctx.progress
    )
    log.add(
        {
            "step": "done",
            "seconds": time.perf_counter() - t0,
            "window": params.window,
            "num_embedded": int(mask.sum()),
        }
    )
    return MethodResult(embeddings=embeddings, mask=mask, log=log)
