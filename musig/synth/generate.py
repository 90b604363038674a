"""A synthetic world as a dataset folder: tracks.csv, MPD playlist slices, world.json, audio/."""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from musig.synth.render import render_track
from musig.synth.world import (
    AUDIBLE_DIMS,
    STREAM_NAMES,
    SYNTH_VERSION,
    URI_PREFIX,
    WorldConfig,
    catalog_names,
    playlist_name,
    sample_playlists,
    world_truth,
)


def _wav_bytes(y: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def generate_world(
    out: str | Path,
    cfg: WorldConfig = WorldConfig(),  # noqa: B008  (frozen: one shared default is safe)
    *,
    audio_files: str = "examples",
    num_example_files: int = 8,
    progress: bool = True,
) -> Path:
    """Write a synthetic dataset folder (tracks.csv, MPD playlist slices, world.json, audio/).

    The output is byte-identical for the same config. tracks.csv lists every track with
    ``audio = "audio/<id>.wav"``; files that are not written are re-rendered on demand from
    world.json by :func:`musig.synth.render.render_track`.

    Args:
        out: folder to create or replace.
        cfg: the world.
        audio_files: "examples" (``num_example_files`` tracks, spread over genres), "all" or
            "none".
        num_example_files: how many example clips for ``audio_files="examples"``.
        progress: show progress bars.

    Returns:
        The folder path.
    """
    from tqdm.auto import tqdm

    from musig.writer import write_dataset

    if audio_files not in ("examples", "all", "none"):
        raise ValueError(f"audio_files must be 'examples', 'all' or 'none', got {audio_files!r}")
    if num_example_files < 0:
        raise ValueError(f"num_example_files must be >= 0, got {num_example_files}")
    cat = world_truth(cfg)
    names = catalog_names(cfg, cat)
    ids = [f"{i:05d}" for i in range(cfg.num_tracks)]
    uris = [URI_PREFIX + t for t in ids]
    genre_names = np.array(names["genre"], dtype=object)
    # Albums: every 6 tracks of an artist (in index order) make one release.
    release = pd.Series(cat.artist).groupby(cat.artist).cumcount().to_numpy() // 6
    tracks = pd.DataFrame({
        "track_uri": uris,
        "track_name": names["track"],
        "artist_name": np.array(names["artist"], dtype=object)[cat.artist],
        "duration_ms": cat.duration_ms,
        "genre": np.where(cat.genre_known, genre_names[cat.genre], ""),
        "audio": [f"audio/{t}.wav" for t in ids],
        "artist_uri": [f"synth:artist:{a:05d}" for a in cat.artist],
        "album_uri": [f"synth:album:{a:05d}-{r}" for a, r in zip(cat.artist, release, strict=True)],
        "album_name": names["album"],
    })  # fmt: skip
    tracks["album_name"] = tracks.groupby("album_uri")["album_name"].transform("first")

    members, scene = sample_playlists(cfg, cat, progress)
    rng = np.random.default_rng([cfg.seed, STREAM_NAMES, 1])
    playlists = []
    for pid, (idx, sc) in enumerate(zip(members, scene, strict=True)):
        s = sc[0] if rng.random() < 0.5 else sc[1]
        name = playlist_name(rng, names["scene"][s], names["genre"][cat.scene_genre[s]])
        playlists.append({
            "pid": pid, "name": name, "tracks": [uris[j] for j in idx],
            "num_followers": int(min(rng.zipf(2.0), 10_000)),
        })  # fmt: skip

    world = {
        "generator": "musig.synth",
        "version": SYNTH_VERSION,
        "config": asdict(cfg),
        "audible_dims": list(AUDIBLE_DIMS[: cfg.audible_dims]),
        "genres": names["genre"],
        "scenes": names["scene"],
    }
    extra = {"world.json": (json.dumps(world, indent=2, sort_keys=True) + "\n").encode("utf-8")}
    if audio_files == "all":
        which = np.arange(cfg.num_tracks)
    elif audio_files == "examples":
        # Round-robin over genres: the first track of each genre, then the second, ...
        rank = pd.Series(cat.genre).groupby(cat.genre).cumcount().to_numpy()
        which = np.lexsort((cat.genre, rank))[:num_example_files]
    else:
        which = np.arange(0)
    for i in tqdm(which, desc="audio", disable=not progress):
        extra[f"audio/{ids[i]}.wav"] = _wav_bytes(*render_track(cfg, uris[i]))
    write_dataset(out, tracks, playlists, extra_files=extra)
    return Path(out)
