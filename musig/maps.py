"""2-D maps of embedding spaces (UMAP), and placing new tracks on an existing map."""

from __future__ import annotations

import warnings

import numpy as np


def umap_2d(
    embeddings: np.ndarray,
    mask: np.ndarray,
    *,
    random_state: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    fit_max: int = 50_000,
) -> np.ndarray:
    """UMAP of the embeddable rows, cosine metric.

    Up to ``fit_max`` rows UMAP maps them all; above, it is fitted on a seeded sample of
    ``fit_max`` rows and every other row is placed at the similarity-weighted mean of its 10
    nearest sampled rows (:func:`place_by_neighbors`, found with an approximate index): the map of
    2M tracks in minutes, drawn where their neighbours are.

    Args:
        embeddings: float32 (N, D); mask: bool (N,) rows to map.
    Returns:
        float32 (N, 2), NaN rows where mask is False.
    """
    out = np.full((len(mask), 2), np.nan, dtype=np.float32)
    rows = np.flatnonzero(mask)
    if len(rows) > fit_max:
        fit = np.sort(np.random.default_rng(random_state).choice(rows, fit_max, replace=False))
        sub = np.zeros(len(mask), bool)
        sub[fit] = True
        out[fit] = umap_2d(embeddings, sub, random_state=random_state, fit_max=fit_max)[fit]
        rest = np.setdiff1d(rows, fit)
        norm = np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        unit = (embeddings / norm).astype(np.float32)
        from musig.knn import nearest_in

        nbr, sim = nearest_in(unit[fit], unit[rest], 10)
        w = np.clip(sim, 1e-6, None)
        out[rest] = (out[fit][nbr] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
        return out
    import umap

    if len(rows) < 4:
        return out
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(n_neighbors, len(rows) - 1),
        min_dist=min_dist,
        metric="cosine",
        random_state=random_state,
    )
    with warnings.catch_warnings():
        # A fixed random_state makes UMAP single-threaded; that is the point (same map twice).
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        out[rows] = reducer.fit_transform(embeddings[rows]).astype(np.float32)
    return out


def place_by_neighbors(
    map2d: np.ndarray, neighbor_ids: np.ndarray, scores: np.ndarray
) -> np.ndarray:
    """Position of a new point as the similarity-weighted mean of its neighbours' positions.

    UMAP's ``transform`` would compile numba code for about a minute on its first call in a
    process; the neighbours' positions give a placement at once and agree with where the point's
    nearest tracks are drawn, which is what a reader of the map checks.

    Args:
        map2d: float32 (N, 2); neighbor_ids: int64 (k,); scores: float (k,) cosine similarities.
    Returns:
        float32 (2,)
    """
    pos = map2d[neighbor_ids]
    ok = np.isfinite(pos).all(axis=1)
    if not ok.any():
        return np.full(2, np.nan, dtype=np.float32)
    w = np.clip(np.asarray(scores, np.float64)[ok], 1e-6, None)
    return (pos[ok] * w[:, None]).sum(0).astype(np.float32) / np.float32(w.sum())
