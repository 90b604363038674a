"""``oracle``: the ceiling of a synthetic world — ranks by the generator's own probabilities.

A recommend-only registry entry (:mod:`musig.methods`), never a baseline and never tuned: it
knows each playlist's hidden taste, which no method sees, so a table's oracle row says how much of
the gap between the best method and what the data allows is left. It is scored through the same
path as every method (``complete_challenge`` -> top-k -> :mod:`musig.metrics`); only its ranker
differs, reading the playlists' pids instead of their seeds' embeddings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musig.fitting import Callback, FitContext, FitLog, MethodResult
from musig.retrieval import top_k

_PLAYLISTS_PER_BATCH = 64  # (batch, N) float32 generator scores at a time
# Below every finite log-probability and above the -inf of a seed: the generator's cold tracks
# (probability 0) rank last but are never confused with seeds, which top-k must never pick.
_IMPOSSIBLE = np.float32(-1e30)


@dataclass(frozen=True)
class OracleConfig:
    """The oracle has no hyperparameters (it is never tuned); the class exists so every
    method has a config."""


def world_columns(world: str | Path, track_uris: Sequence[str]) -> np.ndarray:
    """int64 (N,) the generator's catalog column of each track (``synth:track:<i>`` -> i).

    ValueError, in one line, when the data is not a synthetic world or a track is not one of it.
    """
    from musig.synth.oracle import read_world

    read_world(world)  # refuses non-synthetic data before anything else
    try:
        return np.array([int(u.rsplit(":", 1)[1]) for u in track_uris], np.int64)
    except (ValueError, IndexError):
        raise ValueError(
            f"{world}: track URIs are not the generator's synth:track:<i>; the oracle cannot "
            "map them to its catalog"
        ) from None


def fit(ctx: FitContext, cfg: OracleConfig = OracleConfig(), callback: Callback = None):
    """Check that the training data is a synthetic world; the oracle learns nothing from it.

    Returns:
        MethodResult with ``embeddings=None`` and an all-False mask (it embeds nothing).
    """
    t0 = time.perf_counter()
    world_columns(ctx.dataset.root, ctx.dataset.tracks["track_uri"])
    log = FitLog(callback)
    log.add({"step": "done", "seconds": time.perf_counter() - t0})
    n = ctx.dataset.num_tracks
    return MethodResult(embeddings=None, mask=np.zeros(n, dtype=bool), log=log)


class OracleRanker:
    """The oracle's stand-in for :class:`musig.retrieval.Retriever`: same ``recommend_batch``.

    Args:
        world: the synthetic world folder the run was scored on (a split of one keeps the
            source's pids, track order and world.json).
        track_uris: the run's track index, N URIs.
    """

    def __init__(self, world: str | Path, track_uris: Sequence[str]):
        self.world = Path(world)
        self.columns = world_columns(self.world, track_uris)
        self.num_tracks = len(self.columns)

    def recommend_batch(
        self,
        seed_lists: Sequence[np.ndarray],
        k: int = 500,
        *,
        pids: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k tracks by the generator's log-probability for each playlist, seeds excluded.

        Args:
            seed_lists: per playlist, int64 track ids of its seeds (excluded, never read).
            pids: the playlists' pids in the generator (required: they name the hidden taste).
        Returns:
            ids int64 (P, k) best first, scores float32 (P, k) log-probabilities.
        """
        from musig.synth import log_probs

        if pids is None:
            raise ValueError("the oracle ranks by a playlist's hidden taste: it needs its pid")
        if len(pids) != len(seed_lists):
            raise ValueError(f"{len(pids)} pids for {len(seed_lists)} playlists")
        most_seeds = max((len(np.unique(s)) for s in seed_lists), default=0)
        k = min(k, self.num_tracks - most_seeds)
        all_ids, all_scores = [np.zeros((0, k), np.int64)], [np.zeros((0, k), np.float32)]
        for start in range(0, len(pids), _PLAYLISTS_PER_BATCH):
            batch = np.asarray(pids[start : start + _PLAYLISTS_PER_BATCH], np.int64)
            scores = log_probs(self.world, batch)[:, self.columns]  # (b, N) in run order
            scores[~np.isfinite(scores)] = _IMPOSSIBLE
            for j, seeds in enumerate(seed_lists[start : start + len(batch)]):
                scores[j, np.asarray(seeds, np.int64)] = -np.inf  # seeds are never recommended
            ids, top = top_k(scores, k)
            all_ids.append(ids)
            all_scores.append(top)
        return np.concatenate(all_ids), np.concatenate(all_scores)


def ranker(run) -> OracleRanker:
    """The ranker of an oracle run (:class:`musig.runs.Run`), on the world it is scored on."""
    if not run.dataset_root:
        raise ValueError(f"{run.path}: the oracle needs its synthetic world's folder")
    return OracleRanker(run.dataset_root, run.track_uris)
