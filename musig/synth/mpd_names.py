"""Names and playlist metadata of an MPD-profile world, vectorised for millions of tracks.

Same vocabulary as the default profile (:mod:`musig.synth.world`); every name is ASCII letters,
digits and spaces, so track entries need no JSON escaping. Playlist titles add the case and emoji
variants that make the MPD's 92,944 titles only 17,381 once normalised.
"""

from __future__ import annotations

import numpy as np

from musig.synth.mpd import STREAM_META, STREAM_NAMES, MpdConfig
from musig.synth.world import (
    _ADJ,
    _CODAS,
    _GENERIC,
    _NOUN,
    _ONSETS,
    _SCENE_WORDS,
    _SUFFIX,
    _VOWELS,
)

_EPOCH_END = 1_509_494_400  # 2017-11-01 00:00 UTC: MPD playlists were edited up to October 2017
_EPOCH_DAYS = 2861  # back to 2010-01-01
_EMOJI = ("\U0001f525", "\u2728", "\U0001f3b6", "\U0001f4af", "\u2600\ufe0f")
_DESCRIPTIONS = ("songs for {s}", "my favorite {g} tracks", "{s} vibes only", "for {s}")


_SYLLABLES = [o + v for o in _ONSETS for v in _VOWELS]
_PAIRS = [a + b for a in _SYLLABLES for b in _SYLLABLES]


def _words(rng: np.random.Generator, n: int, lo: int, hi: int, cap: bool = False) -> list[str]:
    """n pronounceable words of lo..hi (<= 3) syllables."""
    k = rng.integers(lo, hi + 1, size=n)
    one = rng.integers(len(_SYLLABLES), size=n)
    two = rng.integers(len(_PAIRS), size=n)
    coda = rng.integers(len(_CODAS), size=n)
    s, p, c = _SYLLABLES, _PAIRS, _CODAS
    if cap:
        s, p = [x.capitalize() for x in s], [x.capitalize() for x in p]
    out = []
    for kk, a, b, cc in zip(k.tolist(), one.tolist(), two.tolist(), coda.tolist(), strict=True):
        w = s[a] if kk == 1 else (p[b] if kk == 2 else p[b] + _SYLLABLES[a])
        out.append(w + c[cc])
    return out


def _styles(rng: np.random.Generator, n: int, probs: list[float]) -> list[int]:
    return np.searchsorted(np.cumsum(probs), rng.random(n)).tolist()


def genre_and_scene_names(cfg: MpdConfig, scene_centre: np.ndarray) -> tuple[list, list]:
    """Genre names (G,) and scene names (S,), calm to energetic as in the default profile."""
    rng = np.random.default_rng([cfg.seed, STREAM_NAMES])
    suffixes = rng.permutation(len(_SUFFIX))
    genres: list[str] = []
    while len(genres) < cfg.num_genres:
        stem = _ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
        name = stem + _SUFFIX[suffixes[len(genres) % len(_SUFFIX)]]
        if name not in genres:
            genres.append(name)
    energy = scene_centre[:, 0] + (scene_centre[:, 5] if cfg.audible_dims > 5 else 0)
    k = min(cfg.num_scenes, len(_SCENE_WORDS))
    chosen = np.sort(rng.choice(len(_SCENE_WORDS), k, replace=False))
    scenes = [""] * cfg.num_scenes
    for r, sc in enumerate(np.argsort(energy, kind="stable")):
        scenes[sc] = _SCENE_WORDS[chosen[r * k // cfg.num_scenes]]
    return genres, scenes


def catalog_names(cfg: MpdConfig, n_tracks: int, n_artists: int, n_albums: int) -> dict:
    """Track (n_tracks,), artist (n_artists,) and album (n_albums,) names as lists of str."""
    rng = np.random.default_rng([cfg.seed, STREAM_NAMES, 1])
    first, last = _words(rng, n_artists, 1, 2, True), _words(rng, n_artists, 1, 2, True)
    prefix = rng.integers(4, size=n_artists).tolist()
    style = _styles(rng, n_artists, [0.45, 0.3, 0.15])
    artist = [
        (f, f"{f} {la}", f"The {f}s", f"{('DJ', 'MC', 'Lil', 'Young')[p]} {f}")[st]
        for f, la, p, st in zip(first, last, prefix, style, strict=True)
    ]
    adj = rng.integers(len(_ADJ), size=n_tracks).tolist()
    noun = rng.integers(len(_NOUN), size=n_tracks).tolist()
    word, word2 = _words(rng, n_tracks, 2, 3, True), _words(rng, n_tracks, 2, 2, True)
    title = [w.title() for w in _NOUN]
    style = _styles(rng, n_tracks, [0.35, 0.35])
    track = [
        (f"{_ADJ[a].title()} {title[b]}", w, f"{w2} {title[b]}")[st]
        for a, b, w, w2, st in zip(adj, noun, word, word2, style, strict=True)
    ]
    album_noun = rng.integers(len(_NOUN), size=n_albums).tolist()
    album_word = _words(rng, n_albums, 2, 2, True)
    style = _styles(rng, n_albums, [0.5])
    album = [
        title[b] if st == 0 else w for b, w, st in zip(album_noun, album_word, style, strict=True)
    ]
    return {"track": track, "artist": artist, "album": album}


def playlist_meta(
    cfg: MpdConfig,
    sl: int,
    scene: np.ndarray,
    genre_of_scene: list[str],
    scene_names: list[str],
    length: np.ndarray,
) -> dict:
    """MPD playlist fields of slice ``sl`` other than the tracks (own stream per slice).

    Args:
        scene: int64 (B, 2) the playlists' scenes; length: int64 (B,) their lengths.

    Returns:
        dict of lists/arrays (B,): name, description (None for most), collaborative ("true" or
        "false"), modified_at (midnight UTC seconds), num_followers, num_edits.
    """
    rng = np.random.default_rng([cfg.seed, STREAM_META, sl])
    b = len(length)
    pick = np.where(rng.random(b) < 0.5, scene[:, 0], scene[:, 1])
    r, r2 = rng.random(b), rng.random(b)
    number, suffix = rng.integers(1, 20, size=b), rng.integers(5, size=b)
    generic = rng.integers(len(_GENERIC), size=b)
    case, emoji = rng.random(b), rng.integers(len(_EMOJI), size=b)
    desc = rng.random(b) < 0.01876  # 18,760 of the MPD's 1M playlists have one
    desc_kind = rng.integers(len(_DESCRIPTIONS), size=b)
    names, descriptions = [], []
    for i in range(b):
        sc, g = scene_names[pick[i]], genre_of_scene[pick[i]]
        if r[i] < 0.35:
            name = sc
        elif r[i] < 0.5:
            name = f"{sc} {('vibes', 'mix', 'playlist', 'songs', 'jams')[suffix[i]]}"
        elif r[i] < 0.6:
            name = f"{sc} {number[i] % 10}"
        elif r[i] < 0.75:
            name = g if r2[i] < 0.5 else f"{g} {('mix', 'faves', sc, 'mix', 'faves')[suffix[i]]}"
        else:
            name = _GENERIC[generic[i]] + (f" {number[i]}" if r2[i] < 0.3 else "")
        if case[i] < 0.3:
            name = name.title()
        elif case[i] < 0.38:
            name = name.upper()
        elif case[i] < 0.45:
            name = f"{name} {_EMOJI[emoji[i]]}"
        names.append(name)
        descriptions.append(_DESCRIPTIONS[desc_kind[i]].format(s=sc, g=g) if desc[i] else None)
    days = np.minimum(rng.exponential(420.0, size=b), _EPOCH_DAYS).astype(np.int64)
    edits = np.maximum(1, np.rint(length / rng.uniform(2.0, 12.0, size=b))).astype(np.int64)
    return {
        "name": names,
        "description": descriptions,
        "collaborative": np.where(rng.random(b) < 0.02, "true", "false").tolist(),
        "modified_at": _EPOCH_END - 86_400 * (days + 1),
        "num_followers": np.minimum(rng.zipf(2.0, size=b), 100_000),
        "num_edits": edits,
    }
