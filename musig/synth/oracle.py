"""The generator's own track log-probabilities for any synthetic world, either profile.

The ceiling of playlist completion on a synthetic world: a playlist's tracks were drawn with
probability ∝ popularity**a * kernel(hidden taste, z), so ranking the catalog by that score for
the playlist's hidden taste is what no method can beat on average. The taste is re-derived from
the world's seeded streams: the default profile's from its playlist stream
(:func:`musig.synth.world.playlist_plan`), the MPD profile's from its slice streams
(:func:`musig.synth.mpd_oracle.log_probs`). Nothing is stored at generation time, so the frozen
sample world's bytes stay as they are.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from musig.synth import mpd_oracle
from musig.synth.mpd import is_mpd_world
from musig.synth.world import (
    WorldConfig,
    playlist_plan,
    track_logits,
    unit_latents,
    world_config,
    world_truth,
)

_PLAYLISTS_PER_CHUNK = 256  # (chunk, N) float32 scores at a time


def read_world(world: str | Path) -> dict:
    """world.json of a synthetic world folder (ValueError, in one line, for any other data)."""
    root = Path(world)
    file = root if root.name == "world.json" else root / "world.json"
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ValueError(
            f"{root}: not a synthetic world (no readable world.json from `musig generate`); "
            "the oracle needs the generator's hidden truth"
        ) from None


@functools.lru_cache(maxsize=4)
def _default_side(cfg: WorldConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(taste float32 (P, 2, D), mixed bool (P,), unit latents float32 (N, D)) of a world."""
    plan = playlist_plan(cfg)
    return plan.taste, plan.mixed, unit_latents(world_truth(cfg).z)


def log_probs(world: str | Path, pids: np.ndarray | list[int] | int) -> np.ndarray:
    """Unnormalised log-probability of every catalog track for playlists ``pids``.

    Args:
        world: a synthetic world folder of either profile (or a split of one: splits keep the
            source's pids, track order and world.json).
        pids: one pid or int (B,) pids, each in [0, num_playlists).

    Returns:
        float32 (N,) for one pid, (B, N) for several, in the world's catalog order (track
        ``synth:track:<i>`` is column i); -inf for the generator's cold tracks.
    """
    meta = read_world(world)
    if is_mpd_world(meta):
        root = Path(world)
        return mpd_oracle.log_probs(root.parent if root.name == "world.json" else root, pids)
    cfg = world_config(meta)
    one = np.ndim(pids) == 0
    pids = np.atleast_1d(np.asarray(pids, np.int64))
    if pids.size and (pids.min() < 0 or pids.max() >= cfg.num_playlists):
        raise ValueError(f"log_probs: pids must lie in [0, {cfg.num_playlists})")
    taste, mixed, unit = _default_side(cfg)
    cat = world_truth(cfg)
    out = np.empty((len(pids), len(unit)), np.float32)
    for a in range(0, len(pids), _PLAYLISTS_PER_CHUNK):
        p = pids[a : a + _PLAYLISTS_PER_CHUNK]
        out[a : a + len(p)] = track_logits(cfg, cat, taste[p], mixed[p], unit)
    return out[0] if one else out
