"""What an MPD-profile world's generator knows: per-playlist track log-probabilities, clips.

:func:`log_probs` ranks the catalog by the generator's own model for a playlist,
``log p_t(j) = a log w_j + log(exp(b u_1·ẑ_j) + exp(b u_2·ẑ_j))`` up to a constant (cold tracks
-inf), from ``truth/`` and the playlist's taste, re-derived from its slice's random stream
(:func:`musig.synth.mpd_sample.slice_plan`). It is the sampler's target: exact for the head of
every playlist, approximate only for its importance-sampled tail.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musig.synth.mpd import MpdConfig, mpd_config, unit_latents
from musig.synth.mpd_sample import slice_plan

_TRUTH_KEYS = ("z", "log_popularity", "rhythm_genre", "harmony_genre", "scene_centre",
               "scene_weight")  # fmt: skip
_TRACKS_PER_CHUNK = 1 << 18


@dataclass(frozen=True, eq=False)
class Truth:
    """A world's hidden catalog side, memory-mapped from ``truth/``."""

    cfg: MpdConfig
    z: np.ndarray  # float32 (N, D)
    log_popularity: np.ndarray  # float32 (N,), -inf for cold tracks
    rhythm_genre: np.ndarray  # int16 (N,)
    harmony_genre: np.ndarray  # int16 (N,)
    scene_centre: np.ndarray  # float64 (S, D)
    scene_weight: np.ndarray  # float64 (S,)


@functools.lru_cache(maxsize=4)
def _load(root: Path, stamp: float) -> Truth:
    cfg = mpd_config(root / "world.json")
    arrays = {}
    for key in _TRUTH_KEYS:
        path = root / "truth" / f"{key}.npy"
        if not path.is_file():
            raise ValueError(f"{root}: missing {path.relative_to(root)} (not a complete MPD world)")
        arrays[key] = np.load(path, mmap_mode="r", allow_pickle=False)
    return Truth(cfg, **arrays)


def load_truth(world: str | Path) -> Truth:
    """The truth of an MPD-profile world folder (cached while its world.json is unchanged)."""
    root = Path(world)
    root = root.parent if root.name == "world.json" else root
    try:
        stamp = (root / "world.json").stat().st_mtime
    except OSError as e:
        raise ValueError(f"{root}: no world.json ({e})") from e
    return _load(root.resolve(), stamp)


def log_probs(world: str | Path, pids: np.ndarray | list[int] | int) -> np.ndarray:
    """Unnormalised log-probability of every catalog track for playlists ``pids``.

    Args:
        world: an MPD-profile world folder (or its world.json).
        pids: one pid or int (B,) pids, each in [0, num_playlists).

    Returns:
        float32 (N,) for one pid, (B, N) for several, in catalog (tracks.csv) order; -inf for
        cold tracks. Temporaries beyond the output stay below B x 2^18 floats.
    """
    truth = load_truth(world)
    cfg = truth.cfg
    one = np.ndim(pids) == 0
    pids = np.atleast_1d(np.asarray(pids, np.int64))
    if pids.size and (pids.min() < 0 or pids.max() >= cfg.num_playlists):
        raise ValueError(f"log_probs: pids must lie in [0, {cfg.num_playlists})")
    b, d = len(pids), cfg.latent_dim
    taste = np.empty((b, 2, d), np.float32)
    mixed = np.zeros(b, bool)
    for sl in np.unique(pids // cfg.slice_size):
        rows = np.flatnonzero(pids // cfg.slice_size == sl)
        plan = slice_plan(cfg, truth, int(sl))
        taste[rows] = plan.taste[pids[rows] % cfg.slice_size]
        mixed[rows] = plan.mixed[pids[rows] % cfg.slice_size]
    n = len(truth.log_popularity)
    out = np.empty((b, n), np.float32)
    mix = np.flatnonzero(mixed)
    for a in range(0, n, _TRACKS_PER_CHUNK):
        unit = unit_latents(truth.z[a : a + _TRACKS_PER_CHUNK])  # (C, D)
        bias = np.float32(cfg.popularity_power) * truth.log_popularity[a : a + _TRACKS_PER_CHUNK]
        k = taste[:, 0] @ unit.T  # (B, C)
        if len(mix):
            k[mix] = np.logaddexp(k[mix], taste[mix, 1] @ unit.T)
        out[:, a : a + len(bias)] = k + bias
    return out[0] if one else out
