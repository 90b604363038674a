"""Playlist-completion metrics (RecSys Challenge 2018) and bootstrap confidence intervals.

Conventions shared by every metric:

- ``ranked`` is one playlist's recommendation list, best first: a sequence or 1-D array of track
  ids (indices into the shared track index) or track URIs. It must not repeat an item; a repeat
  raises ``ValueError``. Ties do not exist at this level: the ranking function
  (``musig.retrieval``) has already broken score ties by track index.
- ``truth`` is the playlist's held-out tracks G, in the same id space. It has set semantics:
  an item listed twice counts once.
- Empty truth gives ``nan`` (the metric is undefined, not zero); aggregations here skip ``nan``.
- ``k`` larger than the list is fine: missing positions count as misses.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from musig.utils import RandomState, as_rng

NO_HIT_CLICKS = 51  # the challenge's value for "no relevant track in the 500 recommendations"

Ranked = Sequence[Hashable] | np.ndarray
# The per-playlist metrics every table reports, in their column order.
METRICS = ("ndcg", "r_precision", "clicks", "recall@100", "recall@500")


def _check_ranked(ranked: Ranked) -> np.ndarray | Sequence[Hashable]:
    if isinstance(ranked, np.ndarray):
        if ranked.ndim != 1:
            raise ValueError(f"ranked must be 1-D, got shape {ranked.shape}")
        n_unique = len(np.unique(ranked))
    else:
        ranked = list(ranked)
        n_unique = len(set(ranked))
    if n_unique != len(ranked):
        raise ValueError(f"ranked list repeats items ({len(ranked) - n_unique} duplicates)")
    return ranked


def _check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _hits(ranked: Ranked, truth_set: set, k: int | None = None) -> np.ndarray:
    """bool (min(k, len(ranked)),): whether each of the first k recommendations is relevant."""
    ranked = _check_ranked(ranked)
    head = ranked[:k] if k is not None else ranked
    return np.fromiter((x in truth_set for x in head), dtype=bool, count=len(head))


def r_precision(ranked: Ranked, truth: Collection[Hashable]) -> float:
    """Track-level R-precision.

    .. math:: \\text{R-prec} = \\frac{|G \\cap R_{1:|G|}|}{|G|}

    The challenge also gave partial credit for matching artists; this is the track-level part only.

    Args:
        ranked: recommendations, best first (no repeats).
        truth: held-out tracks G (set semantics).

    Returns:
        Value in [0, 1]; ``nan`` if ``truth`` is empty. A list shorter than |G| counts its missing
        positions as misses.
    """
    g = set(truth)
    if not g:
        _check_ranked(ranked)
        return math.nan
    return float(_hits(ranked, g, len(g)).sum() / len(g))


def ndcg(ranked: Ranked, truth: Collection[Hashable], k: int = 500) -> float:
    """Normalised discounted cumulative gain at k with binary relevance.

    .. math::
        \\text{DCG@k} = \\sum_{i=1}^{k} \\frac{rel_i}{\\log_2(i+1)}, \\qquad
        \\text{IDCG@k} = \\sum_{i=1}^{\\min(|G|, k)} \\frac{1}{\\log_2(i+1)}

    with ``rel_i = 1`` if the i-th recommendation is in G. This is the Järvelin-Kekäläinen form
    used by ``ranx`` (the challenge's write-up used ``rel_1 + sum_{i>=2} rel_i / log2(i)``, which
    weights ranks 2+ slightly more); we keep the standard form so values compare with other work.

    Args:
        ranked: recommendations, best first (no repeats).
        truth: held-out tracks G (set semantics).
        k: cut-off; a list shorter than k is fine.

    Returns:
        Value in [0, 1]; ``nan`` if ``truth`` is empty.
    """
    k = _check_k(k)
    g = set(truth)
    if not g:
        _check_ranked(ranked)
        return math.nan
    hits = _hits(ranked, g, k)
    discounts = 1.0 / np.log2(np.arange(2, max(len(hits), min(len(g), k)) + 2))
    dcg = float(discounts[: len(hits)][hits].sum())
    idcg = float(discounts[: min(len(g), k)].sum())
    return dcg / idcg


def clicks(ranked: Ranked, truth: Collection[Hashable]) -> float:
    """Recommended Songs clicks: pages of 10 a user refreshes before the first relevant track.

    .. math:: \\text{clicks} = \\left\\lfloor \\frac{\\min\\{i : R_i \\in G\\} - 1}{10}
        \\right\\rfloor

    with i 1-based, so a first hit at ranks 1-10 gives 0 and at rank 11 gives 1. If no
    recommendation is relevant the value is 51 (the challenge's 500 recommendations allow at most
    49 otherwise). Pass the list truncated to the submitted length (500 in the challenge).

    Args:
        ranked: recommendations, best first (no repeats).
        truth: held-out tracks G (set semantics).

    Returns:
        Clicks as a float (lower is better); ``nan`` if ``truth`` is empty.
    """
    g = set(truth)
    if not g:
        _check_ranked(ranked)
        return math.nan
    hits = _hits(ranked, g)
    if not hits.any():
        return float(NO_HIT_CLICKS)
    first_rank = int(np.argmax(hits)) + 1
    return float((first_rank - 1) // 10)


def recall_at_k(ranked: Ranked, truth: Collection[Hashable], k: int) -> float:
    """Recall at k.

    .. math:: \\text{recall@k} = \\frac{|G \\cap R_{1:k}|}{|G|}

    When |G| > k the maximum is k/|G| < 1 (not normalised by min(|G|, k)), matching ranx.

    Args:
        ranked: recommendations, best first (no repeats).
        truth: held-out tracks G (set semantics).
        k: cut-off; a list shorter than k is fine.

    Returns:
        Value in [0, 1]; ``nan`` if ``truth`` is empty.
    """
    k = _check_k(k)
    g = set(truth)
    if not g:
        _check_ranked(ranked)
        return math.nan
    return float(_hits(ranked, g, k).sum() / len(g))


def evaluate_rankings(
    rankings: Mapping[int, Ranked], truth: Mapping[int, Collection[Hashable]], k: int = 500
) -> pd.DataFrame:
    """All per-playlist metrics for a set of challenge playlists.

    Each ranking is cut to its first ``k`` items (the challenge's submission length) before any
    metric is computed, so ``clicks`` is 51 when nothing relevant is in the top k.

    Args:
        rankings: pid -> recommendations, best first. Extra pids not in ``truth`` are ignored.
        truth: pid -> held-out tracks. Every pid here must have a ranking.
        k: submission length; also the ndcg cut-off.

    Returns:
        One row per pid of ``truth`` (in its order) with columns ``pid``, ``num_truth`` (distinct
        held-out tracks), ``r_precision``, ``ndcg``, ``clicks``, ``recall@100`` and ``recall@{k}``.
        Playlists with empty truth have ``nan`` metrics; ``DataFrame.mean`` skips them.

    Raises:
        ValueError: a pid in ``truth`` has no ranking, or a ranking repeats an item.
    """
    k = _check_k(k)
    rows = []
    for pid, g in truth.items():
        if pid not in rankings:
            raise ValueError(f"pid {pid}: no ranking given for this challenge playlist")
        ranked = _check_ranked(rankings[pid])[:k]
        row = {
            "pid": pid,
            "num_truth": len(set(g)),
            "r_precision": r_precision(ranked, g),
            "ndcg": ndcg(ranked, g, k),
            "clicks": clicks(ranked, g),
            "recall@100": recall_at_k(ranked, g, 100),
        }
        row[f"recall@{k}"] = recall_at_k(ranked, g, k)
        rows.append(row)
    columns = ["pid", "num_truth", "r_precision", "ndcg", "clicks", "recall@100", f"recall@{k}"]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))


# Held-out tracks by their number of training playlists: (name, lowest, highest).
POPULARITY_BUCKETS = (("cold", 0, 0), ("tail", 1, 5), ("torso", 6, 50), ("head", 51, math.inf))
BUCKET_METRICS = ("ndcg", "recall@100", "recall@500")
# What evaluation compares MUSIG with each baseline on, playlist by playlist.
PAIRED_METRICS = ("ndcg", "r_precision", "tail:recall@500", "cold:recall@500")


def popularity_bucket(popularity: np.ndarray) -> np.ndarray:
    """Bucket name of each count in :data:`POPULARITY_BUCKETS` (object array, same shape)."""
    pop = np.asarray(popularity)
    out = np.empty(pop.shape, dtype=object)
    for name, lo, hi in POPULARITY_BUCKETS:
        out[(pop >= lo) & (pop <= hi)] = name
    return out


def evaluate_by_bucket(
    rankings: Mapping[int, Ranked],
    truth: Mapping[int, Collection[Hashable]],
    bucket: Mapping[Hashable, str],
    k: int = 500,
) -> pd.DataFrame:
    """NDCG, recall@100 and recall@k per playlist restricted to each popularity bucket.

    For bucket B the truth is the playlist's held-out tracks in B, and the playlist's other
    held-out tracks are removed from the ranking before it is cut at ``k`` (so a hit in another
    bucket neither counts nor takes a place). A playlist with no held-out track in B gets NaN for
    B: skipped, and counted by the caller.

    Args:
        rankings: pid -> recommendations, best first, at least ``k`` plus the playlist's number
            of held-out tracks long (so that removals do not shorten the list below ``k``).
        truth: pid -> held-out tracks.
        bucket: track -> bucket name (see :func:`popularity_bucket`).

    Returns:
        One row per pid of ``truth`` with columns ``pid`` and ``<bucket>:<metric>`` for each
        bucket of :data:`POPULARITY_BUCKETS` and metric in ``ndcg, recall@100, recall@{k}``.
    """
    k = _check_k(k)
    rows = []
    for pid, g in truth.items():
        held = set(g)
        row: dict = {"pid": pid}
        for name, _, _ in POPULARITY_BUCKETS:
            g_b = {t for t in held if bucket[t] == name}
            if not g_b:
                row.update({f"{name}:{m}": math.nan for m in ("ndcg", "recall@100", f"recall@{k}")})
                continue
            others = held - g_b
            ranked = [t for t in _check_ranked(rankings[pid]) if t not in others][:k]
            row[f"{name}:ndcg"] = ndcg(ranked, g_b, k)
            row[f"{name}:recall@100"] = recall_at_k(ranked, g_b, 100)
            row[f"{name}:recall@{k}"] = recall_at_k(ranked, g_b, k)
        rows.append(row)
    return pd.DataFrame(rows)


def pooled_recall(
    rankings: Mapping[int, Ranked],
    truth: Mapping[int, Collection[Hashable]],
    subset_uris: Collection[Hashable],
    k: int = 100,
) -> float:
    """Recall at k pooled over the held-out tracks that belong to a subset (e.g. cold-start tracks).

    .. math:: \\frac{\\sum_p |G_p \\cap S \\cap R_{p,1:k}|}{\\sum_p |G_p \\cap S|}

    Pooling (rather than averaging per playlist) weights every held-out subset track equally, so
    playlists with a single cold track do not dominate.

    Args:
        rankings: pid -> recommendations, best first (same id space as ``truth``).
        truth: pid -> held-out tracks.
        subset_uris: the subset S (e.g. the split's ``cold_tracks.txt``).
        k: cut-off.

    Returns:
        Pooled recall in [0, 1]; ``nan`` if no held-out track is in the subset.

    Raises:
        ValueError: a pid with subset tracks in its truth has no ranking.
    """
    k = _check_k(k)
    subset = set(subset_uris)
    n_hits = n_total = 0
    for pid, g in truth.items():
        g_sub = set(g) & subset
        if not g_sub:
            continue
        if pid not in rankings:
            raise ValueError(f"pid {pid}: no ranking given for this challenge playlist")
        n_hits += int(_hits(rankings[pid], g_sub, k).sum())
        n_total += len(g_sub)
    return n_hits / n_total if n_total else math.nan


def _bootstrap_means(
    x: np.ndarray, n_boot: int, rng: np.random.Generator, max_cells: int = 4_000_000
) -> np.ndarray:
    """float64 (n_boot,): means of ``x`` over index resamples, in chunks to bound memory."""
    n = len(x)
    out = np.empty(n_boot)
    step = max(1, max_cells // n)
    for start in range(0, n_boot, step):
        stop = min(start + step, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))  # (b, n)
        out[start:stop] = x[idx].mean(axis=1)
    return out


def _check_bootstrap_args(n_boot: int, alpha: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: RandomState = None,
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap confidence interval of per-playlist values.

    ``nan`` entries (playlists with empty truth) are dropped first. The interval is the
    ``alpha/2`` and ``1 - alpha/2`` quantiles of the means of ``n_boot`` resamples with
    replacement.

    Args:
        values: float (n,) per-playlist metric values.
        n_boot: number of resamples.
        alpha: 1 - confidence level.
        random_state: seed or generator.

    Returns:
        ``(mean, lo, hi)``; all ``nan`` if no finite value is left.
    """
    _check_bootstrap_args(n_boot, alpha)
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    means = _bootstrap_means(x, n_boot, as_rng(random_state))
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(x.mean()), float(lo), float(hi)


def paired_bootstrap(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: RandomState = None,
) -> tuple[float, float, float, float]:
    """Paired bootstrap of the mean difference ``a - b`` over the same playlists.

    Pairs where either value is ``nan`` are dropped. Resampling playlists (not the two methods
    separately) keeps the pairing, so per-playlist difficulty cancels out.

    Args:
        a: float (n,) per-playlist metric of method A.
        b: float (n,) the same metric of method B, same playlist order.
        n_boot: number of resamples.
        alpha: 1 - confidence level.
        random_state: seed or generator.

    Returns:
        ``(mean_diff, lo, hi, frac_le_zero)`` where ``frac_le_zero`` is the fraction of resampled
        mean differences <= 0 (a one-sided p-value-like number for "A beats B"). All ``nan`` if no
        pair is left.

    Raises:
        ValueError: ``a`` and ``b`` differ in shape.
    """
    _check_bootstrap_args(n_boot, alpha)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D of equal length, got {a.shape} and {b.shape}")
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
    if d.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    means = _bootstrap_means(d, n_boot, as_rng(random_state))
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(d.mean()), float(lo), float(hi), float(np.mean(means <= 0))
