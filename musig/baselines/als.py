"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) on the playlist x track matrix, via implicit.

Each playlist is a "user". A track's embedding is its item factor vector. Confidence follows
implicit's convention: an observed (playlist, track) pair has confidence ``alpha * weight``
(weight = 1 for ``weighting="binary"``, the BM25 weight for ``"bm25"``), unobserved pairs have
confidence 1 and preference 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from musig.data import artist_ids
from musig.fitting import Callback, FitContext, FitLog, MethodResult
from musig.utils import as_rng


@dataclass(frozen=True)
class ALSConfig:
    """Hyperparameters of ALS; the defaults fit a 5k-track / 10k-playlist world in seconds."""

    factors: int = 64  # embedding dimension D, same as the other baselines
    regularization: float = 0.01  # L2 penalty on both factor matrices (tuned)
    iterations: int = 15  # alternating sweeps (users then items)
    alpha: float = 5.0  # confidence scale of observed pairs (tuned)
    weighting: str = "bm25"  # "bm25" (down-weights long playlists and hub tracks) or "binary"
    bm25_k1: float = 100.0  # BM25 saturation (implicit's recommended value for play counts)
    bm25_b: float = 0.8  # BM25 length normalisation
    num_threads: int = 0  # 0 = all cores; the CG solver is per-row, so results do not depend on it
    # Artist side information, as the RecSys'18 systems used it: one extra column per artist
    # holding the playlists that have any of its tracks, scaled by this weight (0: off). A track
    # with no training playlist takes its artist's factors, so cold tracks of known artists rank.
    artist_weight: float = 0.0


def playlist_track_matrix(ctx: FitContext):
    """Binary playlist x track matrix (a track repeated in a playlist counts once).

    Returns:
        scipy.sparse.csr_matrix float32 (P, N).
    """
    import scipy.sparse as sp

    ds = ctx.dataset
    indptr = np.asarray(ds.playlist_indptr, dtype=np.int64)
    indices = np.asarray(ds.playlist_tracks, dtype=np.int64)
    m = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr),
        shape=(ds.num_playlists, ds.num_tracks),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def playlist_artist_matrix(user_items, artist: np.ndarray):
    """Binary playlist x artist matrix: a playlist holds an artist if it holds any of its tracks.

    Args:
        user_items: binary CSR (P, N) from :func:`playlist_track_matrix`.
        artist: int64 (N,) artist id per track, -1 unknown.

    Returns:
        scipy.sparse.csr_matrix float32 (P, A), A = ``artist.max() + 1``.
    """
    import scipy.sparse as sp

    known = artist[user_items.indices] >= 0
    rows = np.repeat(np.arange(user_items.shape[0]), np.diff(user_items.indptr))[known]
    cols = artist[user_items.indices][known]
    m = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (rows, cols)),
        shape=(user_items.shape[0], int(artist.max(initial=-1)) + 1),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def weighted(user_items, cfg: ALSConfig):
    """The playlist x track matrix with the configured confidence weights (float32 CSR)."""
    if cfg.weighting != "bm25":
        return user_items
    from implicit.nearest_neighbours import bm25_weight

    # implicit's bm25_weight weighs rows as documents: pass tracks x playlists.
    user_items = bm25_weight(user_items.T, K1=cfg.bm25_k1, B=cfg.bm25_b).T.tocsr()
    user_items = user_items.astype(np.float32)
    # A playlist holding about half the catalogue gets idf <= 0, and implicit reads a
    # non-positive weight as "disliked": keep every observed pair a (weak) positive.
    np.maximum(user_items.data, np.float32(1e-3), out=user_items.data)
    return user_items


def implicit_model(cfg: ALSConfig, random_state: int, training_loss: bool = True):
    """implicit's CPU ALS with the config's settings (the loss is the progress runs log)."""
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(
        factors=cfg.factors,
        regularization=cfg.regularization,
        alpha=cfg.alpha,
        iterations=cfg.iterations,
        calculate_training_loss=training_loss,
        num_threads=cfg.num_threads,
        random_state=random_state,
    )


def fit(ctx: FitContext, cfg: ALSConfig = ALSConfig(), callback: Callback = None) -> MethodResult:
    """Factorise the training playlist x track matrix.

    Returns:
        MethodResult with ``embeddings`` float32 (N, factors) = item factors (zero rows where
        masked) and ``mask`` bool (N,) True for tracks in at least one training playlist, and,
        with ``artist_weight > 0``, for tracks that take their artist's factors.
    """
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    if cfg.weighting not in ("bm25", "binary"):
        raise ValueError(f"als: weighting must be 'bm25' or 'binary', got {cfg.weighting!r}")
    if cfg.artist_weight < 0:
        raise ValueError(f"als: artist_weight must be >= 0, got {cfg.artist_weight}")
    t0 = time.perf_counter()
    log = FitLog(callback)
    user_items = playlist_track_matrix(ctx)  # (P, N)
    if user_items.nnz == 0:
        embeddings = np.zeros((ctx.dataset.num_tracks, cfg.factors), dtype=np.float32)
        mask = np.zeros(ctx.dataset.num_tracks, dtype=bool)
        log.add({"step": "done", "seconds": 0.0})
        return MethodResult(embeddings, mask, log=log)
    num_tracks = ctx.dataset.num_tracks
    mask = np.asarray(user_items.getnnz(axis=0) > 0)
    artist = artist_seen = None
    if cfg.artist_weight > 0:
        artist = artist_ids(ctx.dataset.tracks["artist_name"])
        user_artists = playlist_artist_matrix(user_items, artist)
        artist_seen = np.asarray(user_artists.getnnz(axis=0) > 0)
        user_artists = weighted(user_artists, cfg)
        user_artists.data *= np.float32(cfg.artist_weight)
        user_items = sp.hstack([weighted(user_items, cfg), user_artists], format="csr")
    else:
        user_items = weighted(user_items, cfg)

    def on_iteration(iteration: int, seconds: float, loss: float | None) -> None:
        record = {
            "epoch": iteration + 1,
            "loss": None if loss is None else float(loss),
            "seconds": float(seconds),
        }
        log.add(record)

    # implicit's solver runs its own threads; a multi-threaded BLAS underneath only oversubscribes
    # the cores (and implicit warns about it), so pin BLAS to one thread for the fit.
    with threadpool_limits(1, "blas"):
        model = implicit_model(cfg, int(as_rng(ctx.random_state).integers(2**31 - 1)))
        model.fit(user_items, show_progress=ctx.progress, callback=on_iteration)

    factors = np.asarray(model.item_factors, dtype=np.float32)
    embeddings = factors[:num_tracks].copy()
    embeddings[~mask] = 0.0
    if artist is not None:
        borrow = ~mask & (artist >= 0)
        borrow[borrow] = artist_seen[artist[borrow]]
        embeddings[borrow] = factors[num_tracks + artist[borrow]]
        mask = mask | borrow
    log.add({"step": "done", "seconds": time.perf_counter() - t0, "num_embedded": int(mask.sum())})
    return MethodResult(embeddings=embeddings, mask=mask, log=log)
