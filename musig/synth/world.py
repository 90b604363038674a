"""A synthetic world's hidden side: its config, latent catalog, names and playlist sampling.

The model is described in :mod:`musig.synth`. Everything here is a pure function of
:class:`WorldConfig`, cached per config, so the folder writer and the renderer see the same truth.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

SYNTH_VERSION = 1
# What each audible coordinate of z drives in render.render_track (higher value -> ...):
# tempo: faster bpm; brightness: flatter harmonic tilt and a higher low-pass cutoff; valence: more
# likely major; grit: louder noise floor, harder soft-clip, longer hats; sustain: slower attack and
# longer decay (pluck -> pad); drums: louder kit, more ghost hats; register: higher chord voicing,
# lighter bass; width: wider detune between the two copies of each voice.
AUDIBLE_DIMS = ("tempo", "brightness", "valence", "grit", "sustain", "drums", "register", "width")
# Independent random streams: changing one part of the generator leaves the others unchanged.
STREAM_CATALOG, STREAM_STYLE, STREAM_NAMES, STREAM_PLAYLISTS, STREAM_AUDIO = range(5)
URI_PREFIX = "synth:track:"


@dataclass(frozen=True)
class WorldConfig:
    """Everything that defines a synthetic world: the same config gives a byte-identical folder."""

    num_tracks: int = 5000  # small enough to ship as sample data, big enough for a long tail
    num_playlists: int = 10000  # ~2 playlists per track, sparse like MPD for tail tracks
    num_genres: int = 10
    seed: int = 0
    clip_seconds: float = 6.0  # preview length: enough bars for tempo, chroma and MFCC statistics
    sr: int = 22050  # librosa's default rate, so no resampling on load
    latent_dim: int = 16  # taste space; the first `audible_dims` are rendered, the rest are not
    audible_dims: int = 8  # <= len(AUDIBLE_DIMS); 0 leaves only the genre's style audible
    tracks_per_artist: float = 6.0  # mean; artist sizes are long-tailed
    num_scenes: int = 30  # playlist "scenes" (taste clusters), ~3 per genre
    genre_scale: float = 1.0  # std of genre centres in the audible dims
    hidden_genre_scale: float = 0.5  # ... in the hidden dims: scenes/eras cut across genres
    artist_scale: float = 0.8  # std of an artist's offset from its genre centre
    track_scale: float = 0.45  # std of a track around its artist
    scene_scale: float = 0.8  # std of a scene centre around its home genre centre
    taste_scale: float = 0.5  # std of one playlist's taste around its scene centre
    taste_concentration: float = 25.0  # b in exp(b cos(taste, z)); larger = more coherent
    mix_prob: float = 0.25  # share of playlists that mix two scenes
    popularity_sigma: float = 1.0  # lognormal popularity (half artist, half track variance)
    popularity_power: float = 1.0  # a in p ∝ popularity**a * kernel
    cold_fraction: float = 0.07  # new releases: popularity 0, so in no playlist
    missing_genre_fraction: float = 0.10  # tracks whose genre label is blank in tracks.csv
    style_borrow: float = 0.3  # chance an artist takes another genre's rhythm / harmony style
    length_median: float = 20.0  # playlist lengths: lognormal, MPD's shape scaled down (median 49)
    length_sigma: float = 0.75
    min_length: int = 5  # MPD's minimum
    max_length: int = 120

    def __post_init__(self) -> None:
        for name in ("num_tracks", "num_playlists", "num_genres", "num_scenes", "min_length", "sr"):
            if getattr(self, name) < 1:
                raise ValueError(f"WorldConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.audible_dims <= min(self.latent_dim, len(AUDIBLE_DIMS)):
            raise ValueError(
                f"WorldConfig.audible_dims must be in [0, min(latent_dim, {len(AUDIBLE_DIMS)})], "
                f"got {self.audible_dims}"
            )
        if self.max_length < self.min_length:
            raise ValueError(f"WorldConfig: max_length {self.max_length} < min_length")
        if not 0 <= self.cold_fraction < 1 or not 0 <= self.missing_genre_fraction <= 1:
            raise ValueError(
                "WorldConfig: cold_fraction and missing_genre_fraction must be in [0, 1)"
            )
        if self.clip_seconds <= 0 or self.taste_concentration < 0:
            raise ValueError("WorldConfig: clip_seconds must be > 0, taste_concentration >= 0")


class WorldTruth(NamedTuple):
    """Ground truth of a world (what the dataset folder does not show)."""

    z: np.ndarray  # float64 (N, latent_dim) track latents
    genre: np.ndarray  # int64 (N,) true genre, also for tracks whose label is blank
    genre_known: np.ndarray  # bool (N,) label written to tracks.csv
    artist: np.ndarray  # int64 (N,)
    log_popularity: np.ndarray  # float64 (N,), -inf for cold tracks
    duration_ms: np.ndarray  # int64 (N,) full-track duration (the clip is a preview)
    rhythm_genre: np.ndarray  # int64 (A,) genre whose drums/comping an artist plays
    harmony_genre: np.ndarray  # int64 (A,) genre whose instrument/progressions an artist plays
    scene_centre: np.ndarray  # float64 (S, latent_dim)
    scene_genre: np.ndarray  # int64 (S,) home genre
    scene_weight: np.ndarray  # float64 (S,) sums to 1


def world_config(world: dict | str | Path | WorldConfig) -> WorldConfig:
    if isinstance(world, WorldConfig):
        return world
    if isinstance(world, str | Path):
        path = Path(world)
        try:
            world = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: cannot read world.json ({e})") from e
    cfg = world.get("config") if isinstance(world, dict) else None
    if not isinstance(cfg, dict):
        raise ValueError("world.json: missing 'config' object")
    if world.get("version") != SYNTH_VERSION:
        raise ValueError(
            f"world.json: generator version {world.get('version')!r}, this musig renders "
            f"version {SYNTH_VERSION}"
        )
    known = {f.name for f in fields(WorldConfig)}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"world.json: unknown config keys {unknown}")
    return WorldConfig(**cfg)


@functools.lru_cache(maxsize=8)
def _catalog(cfg: WorldConfig) -> WorldTruth:
    rng = np.random.default_rng([cfg.seed, STREAM_CATALOG])
    n, g, d, s = cfg.num_tracks, cfg.num_genres, cfg.latent_dim, cfg.num_scenes
    scale = np.where(np.arange(d) < cfg.audible_dims, cfg.genre_scale, cfg.hidden_genre_scale)
    centres = scale * rng.standard_normal((g, d))
    genre_p = rng.dirichlet(np.full(g, 3.0))  # unequal genre sizes
    a = int(np.clip(round(n / cfg.tracks_per_artist), 1, n))
    artist_genre = rng.choice(g, size=a, p=genre_p)
    offsets = cfg.artist_scale * rng.standard_normal((a, d))
    # Every artist gets one track, the rest follow long-tailed artist sizes; then shuffle tracks.
    size_w = rng.lognormal(0.0, 1.0, size=a)
    artist = np.concatenate([np.arange(a), rng.choice(a, size=n - a, p=size_w / size_w.sum())])
    artist = artist[rng.permutation(n)]
    genre = artist_genre[artist]
    z = centres[genre] + offsets[artist] + cfg.track_scale * rng.standard_normal((n, d))
    half = cfg.popularity_sigma / np.sqrt(2.0)
    log_pop = half * rng.standard_normal(a)[artist] + half * rng.standard_normal(n)
    cold = rng.permutation(n)[: int(round(cfg.cold_fraction * n))]
    log_pop[cold] = -np.inf
    genre_known = rng.random(n) >= cfg.missing_genre_fraction
    duration = np.clip(rng.lognormal(np.log(210_000), 0.25, size=n), 60_000, 600_000)

    def borrow() -> np.ndarray:
        other = (artist_genre + rng.integers(1, max(g, 2), size=a)) % g
        return np.where(rng.random(a) < cfg.style_borrow, other, artist_genre)

    rhythm, harmony = borrow(), borrow()
    scene_genre = np.concatenate([rng.permutation(g), rng.choice(g, size=max(s - g, 0), p=genre_p)])
    scene_genre = scene_genre[:s]
    scene_centre = centres[scene_genre] + cfg.scene_scale * rng.standard_normal((s, d))
    scene_w = rng.dirichlet(np.full(s, 2.0))
    return WorldTruth(
        z, genre.astype(np.int64), genre_known, artist.astype(np.int64), log_pop,
        duration.astype(np.int64), rhythm, harmony, scene_centre, scene_genre.astype(np.int64),
        scene_w,
    )  # fmt: skip


def world_truth(world: dict | str | Path | WorldConfig) -> WorldTruth:
    """The hidden ground truth of a world (latents, true genres, artists, popularity, scenes).

    Args:
        world: a world.json dict, its path, or a WorldConfig.
    """
    return _catalog(world_config(world))


def world_summary(world: dict | str | Path | WorldConfig) -> dict:
    """Counts of a world's hidden truth: tracks, artists, cold tracks, blank genres, genre sizes."""
    cfg = world_config(world)
    cat = _catalog(cfg)
    return {
        "num_tracks": cfg.num_tracks,
        "num_playlists": cfg.num_playlists,
        "num_genres": cfg.num_genres,
        "num_artists": len(cat.rhythm_genre),
        "num_scenes": cfg.num_scenes,
        "num_cold": int(np.isinf(cat.log_popularity).sum()),
        "num_blank_genre": int((~cat.genre_known).sum()),
        "genre_sizes": np.bincount(cat.genre, minlength=cfg.num_genres).tolist(),
        "audible_dims": list(AUDIBLE_DIMS[: cfg.audible_dims]),
        "latent_dim": cfg.latent_dim,
    }


# ---------------------------------------------------------------------------------------------
# Names

_ONSETS = ("b d f g h j k l m n p r s t v z br ch dr fl gr kr pl sh st tr th").split()
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ay", "ee", "oo", "ai")
_CODAS = ("", "", "", "", "n", "r", "l", "s", "m", "x", "nd", "sh")
_ADJ = (
    "golden midnight electric quiet broken velvet neon silver wild lonely paper "
    "crystal burning hollow sweet distant blue fading"
).split()
_NOUN = (
    "heart river lights summer dream city fire ocean echo road shadow garden signal "
    "machine rain horizon mirror flower"
).split()
_SUFFIX = (
    "wave core pop step folk hop tronica beat gaze funk soul rock dub house jazz "
    "grass trap punk disco drill"
).split()
# Calm to energetic, so scene names follow the scenes' tempo/drums coordinates.
_SCENE_WORDS = (
    "sleep,rainy day,study,deep focus,coffee shop,sunday morning,yoga,mellow,cozy,"
    "late night,heartbreak,sad,dinner,chill,sunset,lazy days,winter,fall,throwback,"
    "indie nights,night drive,road trip,commute,cleaning,feel good,happy,summer,"
    "beach,bbq,wedding,dance,pool party,pregame,party,running,gym,workout,hype,rage"
).split(",")
_GENERIC = (
    "my playlist,songs,new playlist,favorites,music,stuff,random,car,good songs,jams,mix,playlist"
).split(",")


def _word(rng: np.random.Generator, syllables: int) -> str:
    parts = [_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
             for _ in range(syllables)]  # fmt: skip
    return "".join(parts) + _CODAS[rng.integers(len(_CODAS))]


def _pick(rng: np.random.Generator, words: Sequence[str]) -> str:
    return words[rng.integers(len(words))]


def catalog_names(cfg: WorldConfig, cat: WorldTruth) -> dict[str, list[str]]:
    """Pronounceable fake genre, scene, artist, album and track names (own random stream)."""
    rng = np.random.default_rng([cfg.seed, STREAM_NAMES])
    suffixes = rng.permutation(len(_SUFFIX))
    genres: list[str] = []
    while len(genres) < cfg.num_genres:
        stem = _pick(rng, _ONSETS) + _pick(rng, _VOWELS)
        name = stem + _SUFFIX[suffixes[len(genres) % len(_SUFFIX)]]
        if name not in genres:
            genres.append(name)
    a = len(cat.rhythm_genre)
    # Scenes sorted by energy get words in calm-to-energetic order.
    energy = cat.scene_centre[:, 0] + (cat.scene_centre[:, 5] if cfg.audible_dims > 5 else 0)
    k = min(cfg.num_scenes, len(_SCENE_WORDS))
    chosen = np.sort(rng.choice(len(_SCENE_WORDS), k, replace=False))
    scenes = [""] * cfg.num_scenes
    for r, sc in enumerate(np.argsort(energy, kind="stable")):
        # Calm to energetic; words repeat when scenes outnumber them.
        scenes[sc] = _SCENE_WORDS[chosen[r * k // cfg.num_scenes]]
    artists = []
    for _ in range(a):
        first = _word(rng, int(rng.integers(1, 3))).capitalize()
        style = rng.random()
        if style < 0.45:
            artists.append(first)
        elif style < 0.75:
            artists.append(f"{first} {_word(rng, int(rng.integers(1, 3))).capitalize()}")
        elif style < 0.9:
            artists.append(f"The {first}s")
        else:
            artists.append(f"{_pick(rng, ('DJ', 'MC', 'Lil', 'Young'))} {first}")
    tracks, albums = [], []
    for _ in range(cfg.num_tracks):
        style = rng.random()
        if style < 0.35:
            tracks.append(f"{_pick(rng, _ADJ)} {_pick(rng, _NOUN)}".title())
        elif style < 0.7:
            tracks.append(_word(rng, int(rng.integers(2, 4))).capitalize())
        else:
            tracks.append(f"{_word(rng, 2).capitalize()} {_pick(rng, _NOUN).title()}")
        albums.append(_pick(rng, _NOUN).title() if rng.random() < 0.5 else _word(rng, 2).title())
    return {"genre": genres, "scene": scenes, "artist": artists, "track": tracks, "album": albums}


def playlist_name(rng: np.random.Generator, scene: str, genre: str) -> str:
    """A user-style playlist name: the scene's words, the genre name or a generic title."""
    r = rng.random()
    if r < 0.35:
        return scene
    if r < 0.5:
        return f"{scene} {_pick(rng, ('vibes', 'mix', 'playlist', 'songs', 'jams'))}"
    if r < 0.6:
        return f"{scene} {rng.integers(1, 10)}"
    if r < 0.75:
        return genre if rng.random() < 0.5 else f"{genre} {_pick(rng, ('mix', 'faves', scene))}"
    return _pick(rng, _GENERIC) + (f" {rng.integers(1, 20)}" if rng.random() < 0.3 else "")


# ---------------------------------------------------------------------------------------------
# Playlists


class PlaylistPlan(NamedTuple):
    """What a world's playlists are drawn from before any track is: lengths, scenes, tastes."""

    length: np.ndarray  # int64 (P,)
    scene: np.ndarray  # int64 (P, 2) the playlist's scenes (both equal for single-scene ones)
    mixed: np.ndarray  # bool (P,) mixes two scenes
    taste: np.ndarray  # float32 (P, 2, D) concentration * unit taste (row 1 used if mixed)


def _plan(cfg: WorldConfig, cat: WorldTruth) -> tuple[PlaylistPlan, np.random.Generator]:
    """The plan, and the playlist stream positioned where the track draws continue it."""
    rng = np.random.default_rng([cfg.seed, STREAM_PLAYLISTS])
    p, s, d = cfg.num_playlists, cfg.num_scenes, cfg.latent_dim
    n_warm = int(np.isfinite(cat.log_popularity).sum())
    if n_warm < cfg.min_length:
        raise ValueError(f"WorldConfig: only {n_warm} warm tracks, fewer than min_length")
    length = np.rint(cfg.length_median * np.exp(cfg.length_sigma * rng.standard_normal(p)))
    length = np.clip(length, cfg.min_length, min(cfg.max_length, n_warm)).astype(np.int64)
    scene = rng.choice(s, size=(p, 1), p=cat.scene_weight).repeat(2, axis=1)
    mixed = (rng.random(p) < cfg.mix_prob) & (s > 1)
    scene[mixed, 1] = (scene[mixed, 0] + rng.integers(1, max(s, 2), size=mixed.sum())) % s
    taste = cat.scene_centre[scene] + cfg.taste_scale * rng.standard_normal((p, 2, d))  # (P, 2, D)
    taste = cfg.taste_concentration * taste / np.linalg.norm(taste, axis=2, keepdims=True)
    return PlaylistPlan(length, scene, mixed, taste.astype(np.float32)), rng


def playlist_plan(world: dict | str | Path | WorldConfig) -> PlaylistPlan:
    """Every playlist's length, scenes and hidden taste, re-derived from the world's config (the
    first draws of its playlist stream), without sampling a track."""
    cfg = world_config(world)
    return _plan(cfg, _catalog(cfg))[0]


def unit_latents(z: np.ndarray) -> np.ndarray:
    """float32 (N, D) unit track latents: the kernel is a cosine, not a distance, since |z|² in a
    distance kernel would make near-origin tracks hubs that every playlist picks; popularity is
    meant to come from ``log_popularity`` alone."""
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).astype(np.float32)


def track_logits(
    cfg: WorldConfig, cat: WorldTruth, taste: np.ndarray, mixed: np.ndarray, unit: np.ndarray
) -> np.ndarray:
    """float32 (B, N) log p(track) of B playlists up to a constant: a log w + mixture kernel.

    Args:
        taste: float32 (B, 2, D) from the plan; mixed: bool (B,); unit: :func:`unit_latents`.
    Returns:
        -inf for cold tracks.
    """
    logit = taste[:, 0] @ unit.T  # (B, N)
    if mixed.any():
        logit[mixed] = np.logaddexp(logit[mixed], taste[mixed, 1] @ unit.T)
    # float32 from here: (chunk, N) score matrices dominate the time.
    logit += (cfg.popularity_power * cat.log_popularity).astype(np.float32)  # -inf if cold
    return logit


def sample_playlists(cfg: WorldConfig, cat: WorldTruth, progress: bool):
    """Gumbel top-k sampling without replacement, ∝ popularity**a * mixture-of-scenes kernel.

    Returns:
        (tracks, scene): list of int64 (L_p,) track indices in playlist order; int64 (P, 2) the
        playlist's scenes (both equal for single-scene playlists).
    """
    from tqdm.auto import tqdm

    plan, rng = _plan(cfg, cat)
    unit = unit_latents(cat.z)  # (N, D)
    out: list[np.ndarray] = []
    chunk = 1000  # fixed, so the random stream does not depend on memory or speed
    for a in tqdm(range(0, cfg.num_playlists, chunk), desc="playlists", disable=not progress):
        rows = slice(a, a + chunk)
        logit = track_logits(cfg, cat, plan.taste[rows], plan.mixed[rows], unit)  # (B, N)
        # Gumbel top-k == sampling without replacement; -log(Exp(1)) is a Gumbel draw.
        e = rng.standard_exponential(logit.shape, dtype=np.float32)
        logit -= np.log(np.maximum(e, np.float32(1e-30), out=e), out=e)
        k = plan.length[rows]
        top = np.argpartition(-logit, k.max() - 1, axis=1)[:, : k.max()]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(logit, top, 1), 1), 1)
        out.extend(top[j, : k[j]].astype(np.int64) for j in range(len(k)))
    return out, plan.scene
