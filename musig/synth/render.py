"""Audio of a synthetic world's tracks, re-derived from ``world.json`` on demand.

Each genre has a style (drum pattern, comping, chord progressions, instrument) that artists
sometimes borrow from other genres; the audible coordinates of a track's latent
(:data:`musig.synth.world.AUDIBLE_DIMS`) shape tempo, timbre, mode, noise, envelope, drums,
register and stereo width on top of it. A track renders identically every time.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np

from musig.synth.mpd import MpdConfig, is_mpd_world
from musig.synth.mpd_oracle import load_truth
from musig.synth.world import (
    AUDIBLE_DIMS,
    STREAM_AUDIO,
    STREAM_STYLE,
    URI_PREFIX,
    WorldConfig,
    world_config,
    world_truth,
)

# 16-step kick / snare / hat patterns ("x" hit, "o" soft hit).
_DRUMS = {
    "four_floor": ("x...x...x...x...", "....x.......x...", "..x...x...x...x."),
    "backbeat": ("x.......x.x.....", "....x.......x...", "x.x.x.x.x.x.x.x."),
    "halftime": ("x.........x.....", "........x.......", "x.o.x.o.x.o.x.o."),
    "breakbeat": ("x.....x...x.....", "....x..o.o..x..o", "x.x.x.x.x.x.x.x."),
    "trap": ("x......x..x.....", "........x.......", "xoxoxoxoxxxoxoxx"),
    "dembow": ("x...x...x...x...", "...x..x....x..x.", "x.x.x.x.x.x.x.x."),
    "shuffle": ("x.....x.x.....x.", "....x.......x...", "x..x..x..x..x..x"),
    "motorik": ("x.x.x.x.x.x.x.x.", "....x.......x...", "xxxxxxxxxxxxxxxx"),
    "sparse": ("x...............", "................", "....o.......o..."),
    "none": ("................", "................", "................"),
}
_COMP = ("x...............", "x.......x.......", "x...x...x...x...", "..x...x...x...x.",
         "x..x..x...x..x..", "x.x.x.x.x.x.x.x.")  # fmt: skip
_PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (1, 4, 0, 0), (0, 3, 0, 4),
                 (0, 0, 3, 3), (0, 6, 5, 6), (0, 2, 5, 4), (3, 4, 2, 5), (0, 3, 4, 3))  # fmt: skip
_SCALES = (np.array([0, 2, 4, 5, 7, 9, 11]), np.array([0, 2, 3, 5, 7, 8, 10]))  # major, minor
_INSTRUMENTS = ("saw", "square", "organ", "soft", "hollow")


@functools.lru_cache(maxsize=8)
def _styles(cfg: WorldConfig) -> list[dict]:
    """Discrete per-genre style: drum pattern, comping, progressions, instrument, swing."""
    order = np.random.default_rng([cfg.seed, STREAM_STYLE]).permutation(len(_DRUMS))
    names = list(_DRUMS)
    out = []
    for g in range(cfg.num_genres):
        rng = np.random.default_rng([cfg.seed, STREAM_STYLE, g])
        pat = np.array([[{"x": 1.0, "o": 0.45}.get(c, 0.0) for c in row]
                        for row in _DRUMS[names[order[g % len(order)]]]])  # fmt: skip
        if pat.any() and rng.random() < 0.5:  # mutate one kick step so genres sharing one differ
            pat[0, rng.integers(16)] = 1.0
        out.append({
            "drums": pat,
            "comp": np.array([c == "x" for c in _COMP[rng.integers(len(_COMP))]]),
            "progressions": [_PROGRESSIONS[i] for i in rng.choice(len(_PROGRESSIONS), 2, False)],
            "instrument": _INSTRUMENTS[rng.integers(len(_INSTRUMENTS))],
            "arp": bool(rng.random() < 0.35),
            "swing": 0.0 if rng.random() < 0.6 else float(rng.uniform(0.1, 0.3)),
            "seventh_prob": float(rng.uniform(0.0, 0.8)),
            "bass": bool(rng.random() < 0.8),
            "kick_hz": float(rng.uniform(40, 70)),
        })  # fmt: skip
    return out


def _wavetable(instrument: str, tilt: float, max_hz: float, sr: int, size: int = 2048):
    k = np.arange(1, max(1, min(24, int(sr / 2 / max_hz))) + 1)
    w = k**-tilt
    if instrument == "square":
        w = w * (k % 2 == 1)
    elif instrument == "organ":
        w = w * np.isin(k, [1, 2, 3, 4, 6, 8, 12, 16])
    elif instrument == "soft":
        w = w * k**-1.5
    elif instrument == "hollow":
        w = w * np.where(k % 2 == 1, 1.0, 0.3)
    table = w @ np.sin(2 * np.pi * np.outer(k, np.arange(size)) / size)
    return (table / np.abs(table).max()).astype(np.float32)


def _oscillator(table: np.ndarray, hz: np.ndarray, starts: np.ndarray, n: int, sr: int, phase0):
    """Wavetable voices, one frequency per segment, phase continuous across segments.

    Args:
        table: float32 (T,) one period, T a power of two.
        hz: float (S, V) frequency of voice v in segment s.
        starts: int64 (S,) first sample of each segment; starts[0] == 0.
        phase0: float (V,) start phase in cycles.

    Returns:
        float32 (n, V).
    """
    # 32-bit fixed-point phase: uint32 arithmetic wraps exactly at one cycle, with no float drift.
    inc = np.round(hz / sr * 2.0**32).astype(np.uint64).astype(np.uint32)  # (S, V)
    ends = np.append(starts[1:], n)
    at = (np.asarray(phase0) * 2.0**32).astype(np.uint64).astype(np.uint32)
    out = np.empty((n, hz.shape[1]), dtype=np.float32)
    shift = np.uint32(32 - int(np.log2(len(table))))
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        local = np.arange(b - a, dtype=np.uint32)[:, None]
        out[a:b] = np.take(table, (at + inc[k] * local) >> shift)
        at = at + inc[k] * np.uint32(b - a)
    return out


def _envelope(onsets: np.ndarray, n: int, sr: int, attack: float, decay: float):
    """Attack/decay envelope restarting at each onset; returns (env (n,), note number (n,))."""
    mark = np.zeros(n, dtype=np.int64)
    mark[onsets] = onsets
    t = ((np.arange(n) - np.maximum.accumulate(mark)) / sr).astype(np.float32)
    count = np.cumsum(mark > 0)
    return (1 - np.exp(t * np.float32(-1 / attack))) * np.exp(t * np.float32(-1 / decay)), count


def _place(n: int, onsets: np.ndarray, vel: np.ndarray, sample: np.ndarray) -> np.ndarray:
    idx = onsets[:, None] + np.arange(len(sample))
    ok = idx < n
    return np.bincount(idx[ok], (vel[:, None] * sample)[ok], minlength=n)[:n]


def _track_index(cfg: WorldConfig, track_uri: str) -> int:
    tail = track_uri[len(URI_PREFIX) :] if track_uri.startswith(URI_PREFIX) else ""
    if not tail.isdigit() or int(tail) >= cfg.num_tracks:
        raise ValueError(f"render_track: {track_uri!r} is not a track of this world")
    return int(tail)


def render_track(world: dict | str | Path | WorldConfig, track_uri: str) -> tuple[np.ndarray, int]:
    """Render a track's preview clip; a pure function of the world config and the track.

    Args:
        world: a world.json dict, its path, or a WorldConfig.
        track_uri: "synth:track:<index>" of a track in this world.

    Returns:
        (y, sr): y float32 (round(clip_seconds * sr),) mono in [-1, 1]; sr int.
    """
    if is_mpd_world(world) or (
        isinstance(world, str | Path) and is_mpd_world(_read_json(Path(world)))
    ):
        return render_mpd_track(world, track_uri)
    cfg = world_config(world)
    i = _track_index(cfg, track_uri)
    cat, styles = world_truth(cfg), _styles(cfg)
    rng = np.random.default_rng([cfg.seed, STREAM_AUDIO, i])
    a = np.zeros(len(AUDIBLE_DIMS))
    a[: cfg.audible_dims] = cat.z[i, : cfg.audible_dims]
    rs, hs = styles[cat.rhythm_genre[cat.artist[i]]], styles[cat.harmony_genre[cat.artist[i]]]
    return render_clip(cfg, a, rs, hs, rng)


def _read_json(path: Path) -> object:
    try:
        return json.loads((path / "world.json" if path.is_dir() else path).read_text("utf-8"))
    except (OSError, ValueError):
        return None  # world_config reports unreadable files


def render_clip(
    cfg: WorldConfig, a: np.ndarray, rs: dict, hs: dict, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """A clip from its audible coordinates a (8,), rhythm and harmony styles (``_styles``
    entries) and the track's own random stream: (y float32 (n,), sr)."""
    sr, n = cfg.sr, int(round(cfg.clip_seconds * cfg.sr))
    tempo, bright, valence, grit, sustain, drums, register, width = a

    # Time grid: sixteenth steps, swing delays odd steps; the clip starts mid-bar like a preview.
    bpm = float(np.clip(115 * 2 ** (0.25 * tempo) * (1 + 0.02 * rng.standard_normal()), 72, 172))
    step = 60 * sr / bpm / 4
    first = int(rng.integers(16))
    steps = np.arange(int(n / step) + 1) + first
    onset = (((steps - first) + rs["swing"] * (steps % 2)) * step).astype(np.int64)
    keep = onset < n
    steps, onset = steps[keep], onset[keep]
    step_of_sample = (np.arange(n) / step).astype(np.int64) + first

    # Harmony: key, mode (valence), progression, voicing folded into one octave above `low`.
    root = int(rng.integers(12))
    scale = _SCALES[0] if rng.random() < 1 / (1 + np.exp(-2.5 * valence)) else _SCALES[1]
    prog = np.array(hs["progressions"][rng.integers(2)])
    tones = np.arange(4 if rng.random() < hs["seventh_prob"] else 3) * 2
    deg = prog[:, None] + tones[None, :]  # (C, V) scale degrees
    low = int(np.clip(round(55 + 4 * register), 43, 67))
    pitch = np.sort((root + scale[deg % 7] - low) % 12 + low, axis=1)  # (C, V) midi
    bar = step_of_sample // 16  # (n,) one chord per bar
    starts = np.concatenate([[0], np.flatnonzero(np.diff(bar)) + 1])  # (B,) first sample of bars
    chord = bar[starts] % len(prog)  # (B,)
    hz = 440.0 * 2 ** ((pitch[chord] - 69) / 12)  # (B, V)
    table = _wavetable(hs["instrument"], float(np.clip(1.5 - 0.5 * bright, 0.4, 3.0)),
                       hz.max(), sr)  # fmt: skip
    detune = 2 ** (float(np.clip(4 * np.exp(0.6 * width), 1, 40)) / 1200)
    v = len(tones)
    # Two detuned copies of every voice: (n, 2V) -> (n, V)
    sig = _oscillator(
        table, np.hstack([hz * detune, hz / detune]), starts, n, sr, rng.random(2 * v)
    )
    sig = (sig[:, :v] + sig[:, v:]) / 2
    comp_on = onset[hs["comp"][steps % 16]]
    attack = float(np.clip(0.004 * np.exp(1.5 * sustain), 0.002, 0.3))
    decay = float(np.clip(0.3 * np.exp(0.9 * sustain), 0.05, 4.0))
    env, count = _envelope(np.union1d(comp_on, [0]), n, sr, attack, decay)
    if hs["arp"]:  # one chord tone per onset, cycling upwards
        sig = np.take_along_axis(sig, (count % v)[:, None], axis=1)[:, 0]
    else:
        sig = sig.mean(axis=1)
    mix = np.float32(0.5) * env * sig  # float32 (n,)

    if hs["bass"]:
        bass_pitch = (root + scale[prog % 7] - 28) % 12 + 28  # (C,) around E1..D#2
        bass_hz = 440.0 * 2 ** ((bass_pitch[chord, None] - 69) / 12)  # (B, 1)
        bass_table = _wavetable("saw", 2.5, 200.0, sr)
        kick_steps = rs["drums"][0, steps % 16] > 0
        bass_on = onset[kick_steps | (steps % 16 == 0)]
        benv, _ = _envelope(np.union1d(bass_on, [0]), n, sr, 0.005, 0.25 * np.exp(0.5 * sustain))
        gain = np.float32(np.clip(0.45 * np.exp(-0.4 * register), 0.1, 1.2))
        mix += gain * benv * _oscillator(bass_table, bass_hz, starts, n, sr, rng.random(1))[:, 0]

    # Drums: one-shot samples placed at pattern onsets with humanised velocities.
    t = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * np.cumsum(rs["kick_hz"] + 110 * np.exp(-t / 0.025)) / sr)
    kick *= np.exp(-t / 0.15)
    ts = t[: int(0.2 * sr)]
    snare = 0.7 * rng.standard_normal(len(ts)) * np.exp(-ts / 0.06)
    snare += 0.5 * np.sin(2 * np.pi * 190 * ts) * np.exp(-ts / 0.04)
    th = t[: int(0.06 * sr)]
    hat = (
        0.6
        * np.diff(rng.standard_normal(len(th) + 1))
        * np.exp(-th / (0.012 + 0.01 * max(grit, 0.0)))
    )
    ghost = rng.random(len(steps)) < 0.25 / (1 + np.exp(-2 * drums))
    kit = np.zeros(n)
    for row, sample in enumerate((kick, snare, hat)):
        vel = rs["drums"][row, steps % 16]
        if row == 2:  # busier hats for high "drums"
            vel = np.where((vel == 0) & ghost, 0.35, vel)
        hit = vel > 0
        vel = vel[hit] * (1 + 0.12 * rng.standard_normal(hit.sum()))
        kit += _place(n, onset[hit], vel, sample)
    mix += np.float32(np.clip(0.5 * np.exp(0.6 * drums), 0.05, 2.0)) * kit.astype(np.float32)

    # Brightness also sets a low-pass over the whole mix, where MFCCs and centroids see it.
    from scipy.signal import butter, sosfilt

    cutoff = float(np.clip(2500 * 2**bright, 300, 0.45 * sr))
    mix = sosfilt(butter(2, cutoff, fs=sr, output="sos"), mix).astype(np.float32)
    # Grit: noise floor and soft-clip drive.
    noise = rng.standard_normal(n, dtype=np.float32)
    mix += np.float32(np.clip(0.02 * np.exp(0.9 * grit), 0.002, 0.2)) * noise
    drive = np.float32(1.0 + 2.0 * max(grit, 0.0))
    mix = np.tanh(mix * (drive / max(np.abs(mix).max(), 1e-9)))
    return mix * np.float32(0.89 / max(np.abs(mix).max(), 1e-9)), sr


# The MPD profile's clips: the default profile's renderer and styles over its own latents.
def render_mpd_clip(
    cfg: MpdConfig, i: int, z: np.ndarray, rhythm: int, harmony: int
) -> tuple[np.ndarray, int]:
    """Clip of catalog track ``i`` from its latent z (D,) and its artist's styles."""
    # The default profile's renderer and genre styles, for this world's seed and genres.
    wcfg = WorldConfig(
        num_tracks=1, num_playlists=1, num_genres=cfg.num_genres, seed=cfg.seed,
        clip_seconds=cfg.clip_seconds, sr=cfg.sr, latent_dim=cfg.latent_dim,
        audible_dims=cfg.audible_dims,
    )  # fmt: skip
    styles = _styles(wcfg)
    a = np.zeros(8)
    a[: cfg.audible_dims] = np.asarray(z, np.float64)[: cfg.audible_dims]
    rng = np.random.default_rng([cfg.seed, STREAM_AUDIO, 1_000_003, i])
    return render_clip(wcfg, a, styles[rhythm], styles[harmony], rng)


def render_mpd_track(world: str | Path | dict, track_uri: str) -> tuple[np.ndarray, int]:
    """Render catalog track ``synth:track:<i>`` of the MPD-profile world folder ``world``."""
    if isinstance(world, dict):
        raise ValueError("render_track: an MPD-profile world needs its folder (truth/), not a dict")
    truth = load_truth(world)
    m = re.fullmatch(r"synth:track:(\d+)", track_uri)
    if m is None or int(m[1]) >= len(truth.log_popularity):
        raise ValueError(f"render_track: {track_uri!r} is not a track of this world")
    i = int(m[1])
    return render_mpd_clip(
        truth.cfg, i, truth.z[i], int(truth.rhythm_genre[i]), int(truth.harmony_genre[i])
    )
