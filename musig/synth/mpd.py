"""The MPD profile: a long-tailed world shaped like the Million Playlist Dataset, at any size.

The hidden model is the default generator's (:mod:`musig.synth.world`): a track's latent ``z`` is
genre centre + artist offset + track noise, only the first ``audible_dims`` coordinates reach its
content, playlists draw a taste from one or two of ``num_scenes`` scenes and pick tracks without
replacement with probability ∝ popularity**a * exp(b cos(taste, z)). What changes is the scale
and the tail:

- **A virtual universe of tracks.** ``universe_tracks`` tracks exist, by artist: long-tailed
  artist sizes, a lognormal artist popularity and a power-law tail of rare tracks within each
  artist (:func:`_popularity`). The catalog of a world is the tracks its playlists drew plus
  ``cold_fraction`` never-drawn ones ("new releases"), as the MPD's 2.26M tracks are simply
  those its playlists hold. Heaps' law follows: more playlists find more of the tail
  (``benchmarks/results/world_report_mpd_*.txt`` measures it against the MPD).
- **Thinning.** Only universe tracks whose popularity alone would put them in at least
  ``min_expected_count`` playlists of this world are materialised (drawn by truncated sampling,
  never generated and dropped), so a 2,000-playlist world does not build 8M latents.
- **MPD lengths.** Truncated lognormal on [5, 250]: median 49, mean 66.3.

The sampler (:mod:`musig.synth.mpd_sample`) and the content table
(:mod:`musig.synth.mpd_features`) build on :func:`universe`; :mod:`musig.synth.mpd_write` writes
the folder.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri

from musig.synth.world import AUDIBLE_DIMS, SYNTH_VERSION

PROFILE = "mpd"
# Random streams (the default profile uses 0-4); one per part, slices get their own sub-streams.
STREAM_STRUCTURE, STREAM_UNIVERSE, STREAM_LATENT, STREAM_TASTE, STREAM_SAMPLE = range(10, 15)
STREAM_COLD, STREAM_NAMES, STREAM_META, STREAM_FEATURES = range(15, 19)
_LATENT_CHUNK = 1 << 18  # tracks per latent-noise stream: z of any track is cheap to recompute


@dataclass(frozen=True)
class MpdConfig:
    """An MPD-shaped world; the same config gives a byte-identical folder."""

    num_playlists: int = 50_000
    seed: int = 0
    # Hidden model: the default profile's values, so results on both are comparable.
    num_genres: int = 10
    latent_dim: int = 16  # taste space; the first `audible_dims` reach the content features
    audible_dims: int = 8
    num_scenes: int = 30
    genre_scale: float = 1.0
    hidden_genre_scale: float = 0.5
    artist_scale: float = 0.8
    track_scale: float = 0.45
    scene_scale: float = 0.8
    taste_scale: float = 0.5
    taste_concentration: float = 25.0  # b in exp(b cos(taste, z))
    mix_prob: float = 0.25
    popularity_power: float = 1.0  # a in popularity**a
    cold_fraction: float = 0.07  # share of the catalog in no playlist, as in the sample world
    missing_genre_fraction: float = 0.10
    style_borrow: float = 0.3
    # The long tail: chosen with sampler runs at 30k and 300k playlists against the MPD's track,
    # artist and album counts (Heaps-interpolated), see benchmarks/results/world_report_mpd_*.
    universe_tracks: int = 8_000_000  # virtual tracks a world can draw from
    artist_size_mean: float = 8.0  # universe tracks per artist (lognormal)
    artist_size_sigma: float = 1.2
    artist_size_corr: float = 0.8  # popular artists release more tracks
    artist_popularity_sigma: float = 2.5  # std of an artist's log-popularity
    popularity_tail: float = 0.65  # power-law tail of rare tracks (about the Heaps exponent)
    album_size: int = 8  # universe tracks per album slot of an artist
    min_expected_count: float = 0.01  # thinning: rarer universe tracks are never drawn
    length_logmean: float = 3.97  # exp = 53; truncated to [5, 250]: median 49, mean 66.3 (MPD)
    length_sigma: float = 1.08
    min_length: int = 5  # the MPD's bounds
    max_length: int = 250
    # Sampler (musig.synth.mpd_sample): exact over each scene's head, importance-sampled tail.
    scene_sharpness: float = 15.0  # b of the scene-centre kernel that ranks heads and tails
    head_size: int = 2048  # tracks per scene scored exactly for every playlist
    tail_size: int = 131_072  # tracks per scene in the tail proposal
    tail_candidates: int = 384  # importance-sampled tail candidates per playlist
    defensive_share: float = 0.2  # tail proposal share drawn by popularity alone (any track)
    defensive_power: float = 0.5  # ... ∝ popularity**this: flatter than p, so rare tracks come up
    slice_size: int = 1000  # playlists per mpd.slice file, as the MPD
    clip_seconds: float = 6.0  # example clips: as the default profile
    sr: int = 22050

    def __post_init__(self) -> None:
        for name in ("num_playlists", "num_genres", "num_scenes", "min_length", "slice_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"MpdConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.audible_dims <= min(self.latent_dim, len(AUDIBLE_DIMS)):
            raise ValueError(f"MpdConfig.audible_dims must be in [0, {len(AUDIBLE_DIMS)}]")
        if self.max_length < self.min_length or self.head_size < self.max_length:
            raise ValueError("MpdConfig: need min_length <= max_length <= head_size")
        if not 0 <= self.cold_fraction < 1 or not 0 < self.defensive_share <= 1:
            raise ValueError("MpdConfig: cold_fraction in [0, 1), defensive_share in (0, 1]")
        if not -1 < self.artist_size_corr < 1 or self.min_expected_count <= 0:
            raise ValueError("MpdConfig: artist_size_corr in (-1, 1), min_expected_count > 0")


class Universe(NamedTuple):
    """The materialised part of a world's universe (U' tracks) and its shared structure."""

    unit: np.ndarray  # float16 (U', D) z / |z|: what every kernel reads (as float32)
    bias: np.ndarray  # float32 (U',) popularity_power * log popularity
    artist: np.ndarray  # int32 (U',) index into the artist arrays
    album: np.ndarray  # int64 (U',) album id (artist-major)
    duration_ms: np.ndarray  # int32 (U',)
    artist_genre: np.ndarray  # int64 (A,)
    artist_offset: np.ndarray  # float32 (A, D)
    rhythm_genre: np.ndarray  # int64 (A,) genre whose drums an artist plays (clips, features)
    harmony_genre: np.ndarray  # int64 (A,) genre whose harmony an artist plays
    centres: np.ndarray  # float64 (G, D) genre centres
    scene_centre: np.ndarray  # float64 (S, D)
    scene_genre: np.ndarray  # int64 (S,)
    scene_weight: np.ndarray  # float64 (S,) sums to 1


def mpd_config(world: dict | str | Path | MpdConfig) -> MpdConfig:
    """The config of an MPD-profile world from its world.json (dict or path) or as given."""
    if isinstance(world, MpdConfig):
        return world
    if isinstance(world, str | Path):
        path = Path(world)
        if path.is_dir():
            path = path / "world.json"
        try:
            world = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: cannot read world.json ({e})") from e
    if not is_mpd_world(world):
        raise ValueError("world.json: not an MPD-profile world (profile != 'mpd')")
    if world.get("version") != SYNTH_VERSION:
        raise ValueError(f"world.json: generator version {world.get('version')!r}")
    cfg = world.get("config")
    known = {f.name for f in fields(MpdConfig)}
    if not isinstance(cfg, dict) or set(cfg) - known:
        raise ValueError(f"world.json: unknown MPD config keys {sorted(set(cfg or {}) - known)}")
    return MpdConfig(**cfg)


def is_mpd_world(world: object) -> bool:
    """True for a world.json dict of the MPD profile."""
    return isinstance(world, dict) and world.get("profile") == PROFILE


def mean_length(cfg: MpdConfig) -> float:
    """Expected playlist length under the truncated lognormal (deterministic quadrature)."""
    q = (np.arange(4096) + 0.5) / 4096
    return float(_lengths(cfg, q).mean())


def _lengths(cfg: MpdConfig, u: np.ndarray) -> np.ndarray:
    """Playlist lengths int64 (B,) from uniforms u (B,): inverse CDF of the truncated lognormal."""
    lo = (np.log(cfg.min_length - 0.5) - cfg.length_logmean) / cfg.length_sigma
    hi = (np.log(cfg.max_length + 0.5) - cfg.length_logmean) / cfg.length_sigma
    a, b = ndtr(lo), ndtr(hi)
    x = np.rint(np.exp(cfg.length_logmean + cfg.length_sigma * ndtri(a + u * (b - a))))
    return np.clip(x, cfg.min_length, cfg.max_length).astype(np.int64)


def _structure(cfg: MpdConfig, rng: np.random.Generator):
    """Genre centres and sizes, scenes: built exactly as the default profile builds them."""
    g, d, s = cfg.num_genres, cfg.latent_dim, cfg.num_scenes
    scale = np.where(np.arange(d) < cfg.audible_dims, cfg.genre_scale, cfg.hidden_genre_scale)
    centres = scale * rng.standard_normal((g, d))
    genre_p = rng.dirichlet(np.full(g, 3.0))
    scene_genre = np.concatenate([rng.permutation(g), rng.choice(g, size=max(s - g, 0), p=genre_p)])
    scene_genre = scene_genre[:s].astype(np.int64)
    scene_centre = centres[scene_genre] + cfg.scene_scale * rng.standard_normal((s, d))
    return centres, genre_p, scene_centre, scene_genre, rng.dirichlet(np.full(s, 2.0))


def latents(cfg: MpdConfig, uni: Universe, ids: np.ndarray | None = None) -> np.ndarray:
    """Track latents z float32 (K, D) of universe tracks ``ids`` (all when None).

    Track noise comes from one random stream per ``_LATENT_CHUNK`` tracks, so a subset costs only
    the chunks it touches and equals the rows of the full matrix bit for bit.
    """
    n = len(uni.bias)
    ids = np.arange(n) if ids is None else np.asarray(ids, np.int64)
    out = np.empty((len(ids), cfg.latent_dim), np.float32)
    chunk_of = ids // _LATENT_CHUNK
    for c in np.unique(chunk_of):
        rows = np.flatnonzero(chunk_of == c)
        size = min(_LATENT_CHUNK, n - c * _LATENT_CHUNK)
        noise = np.random.default_rng([cfg.seed, STREAM_LATENT, int(c)]).standard_normal(
            (size, cfg.latent_dim), dtype=np.float32
        )
        j = ids[rows]
        a = uni.artist[j]
        base = uni.centres[uni.artist_genre[a]].astype(np.float32) + uni.artist_offset[a]
        out[rows] = base + np.float32(cfg.track_scale) * noise[j - c * _LATENT_CHUNK]
    return out


def unit_latents(z: np.ndarray) -> np.ndarray:
    """z / |z| rounded through float16, as float32 (K, D): the sampler's and oracle's kernel input
    (half the memory at 1M playlists; a kernel error below 0.03 nats at b = 25)."""
    z = np.asarray(z, np.float32)
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)


def _popularity(cfg: MpdConfig, rng: np.random.Generator) -> tuple:
    """Kept universe tracks: (artist int32 (U',) compact ids, bias float32 (U',), album int64).

    Artists get a lognormal size (correlated with their popularity) and a normal
    log-popularity; a track adds its own ``-E / popularity_tail`` (E ~ Exp(1)), a power-law tail
    of rare tracks: the share of tracks below popularity x falls as x**popularity_tail, which
    sets how fast new tracks keep appearing as playlists are added (Heaps' law). A track is kept
    when ``T * w / W >= min_expected_count`` (T = expected entries, W = expected total popularity
    given the artists): the number kept per artist is binomial and their own term is drawn from
    the truncated tail, so dropped tracks are never generated.
    """
    n_artists = max(1, int(round(cfg.universe_tracks / cfg.artist_size_mean)))
    xa = rng.standard_normal(n_artists)
    rho, ss = cfg.artist_size_corr, cfg.artist_size_sigma
    mix = rho * xa + np.sqrt(1 - rho**2) * rng.standard_normal(n_artists)
    size = np.maximum(1, np.rint(np.exp(np.log(cfg.artist_size_mean) - ss**2 / 2 + ss * mix)))
    sa, kappa = cfg.artist_popularity_sigma, cfg.popularity_tail
    log_w_total = np.log(np.sum(size * np.exp(sa * xa))) + np.log(kappa / (kappa + 1))
    cut = np.log(cfg.min_expected_count) + log_w_total - np.log(expected_entries(cfg))
    e_max = np.maximum(kappa * (sa * xa - cut), 0.0)  # (A,) own term -E/kappa >= cut - sa*xa
    p_keep = -np.expm1(-e_max)
    artist_all = np.repeat(np.arange(n_artists), rng.binomial(size.astype(np.int64), p_keep))
    e = -np.log1p(-rng.random(len(artist_all)) * p_keep[artist_all])  # Exp(1) below e_max
    slot = (rng.random(len(artist_all)) * size[artist_all]).astype(np.int64) // cfg.album_size
    _, artist = np.unique(artist_all, return_inverse=True)  # compact: artists with kept tracks
    log_w = (sa * xa[artist_all] - e / kappa).astype(np.float32)
    bias = np.float32(cfg.popularity_power) * log_w
    album = np.unique(artist.astype(np.int64) * (int(size.max()) + 1) + slot, return_inverse=True)
    return artist.astype(np.int32), bias, album[1].astype(np.int64)


def expected_entries(cfg: MpdConfig) -> float:
    """Expected number of playlist entries, num_playlists * mean length."""
    return cfg.num_playlists * mean_length(cfg)


@functools.lru_cache(maxsize=2)
def universe(cfg: MpdConfig) -> Universe:
    """The materialised universe of a world: its drawable tracks (:func:`_popularity`), their
    artists' genres, offsets and styles, durations and unit latents, and the scenes."""
    rng = np.random.default_rng([cfg.seed, STREAM_STRUCTURE])
    centres, genre_p, scene_centre, scene_genre, scene_weight = _structure(cfg, rng)
    rng = np.random.default_rng([cfg.seed, STREAM_UNIVERSE])
    artist, bias, album = _popularity(cfg, rng)
    n, a = len(artist), int(artist.max(initial=-1)) + 1
    artist_genre = rng.choice(cfg.num_genres, size=a, p=genre_p).astype(np.int64)
    offsets = (cfg.artist_scale * rng.standard_normal((a, cfg.latent_dim))).astype(np.float32)

    def borrow() -> np.ndarray:
        other = (artist_genre + rng.integers(1, max(cfg.num_genres, 2), size=a)) % cfg.num_genres
        return np.where(rng.random(a) < cfg.style_borrow, other, artist_genre)

    rhythm, harmony = borrow(), borrow()
    duration = np.clip(rng.lognormal(np.log(210_000), 0.25, size=n), 60_000, 600_000)
    uni = Universe(
        np.zeros((0, cfg.latent_dim), np.float16), bias, artist, album,
        duration.astype(np.int32), artist_genre, offsets, rhythm, harmony, centres, scene_centre,
        scene_genre, scene_weight,
    )  # fmt: skip
    unit = np.empty((n, cfg.latent_dim), np.float16)
    for start in range(0, n, _LATENT_CHUNK):
        ids = np.arange(start, min(start + _LATENT_CHUNK, n))
        unit[ids] = unit_latents(latents(cfg, uni, ids))
    return uni._replace(unit=unit)
