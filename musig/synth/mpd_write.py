"""Writing an MPD-profile world: gzipped MPD slices under data/, catalog, features, truth.

Three passes: the playlists of every slice are drawn (in parallel, one random stream per slice),
the catalog is fixed (tracks drawn plus cold ones) and described, then the slices are written (in
parallel) from per-track JSON fragments built once. The folder is built aside and renamed into
place; it is byte-identical for the same config whatever the number of workers.

Layout: ``data/mpd.slice.<a>-<b>.json.gz`` (every MPD field), ``tracks.csv``, ``features.parquet``
(:mod:`musig.synth.mpd_features`), ``audio/`` (a few example clips), ``world.json`` (config,
names, counts) and ``truth/*.npy`` (catalog latents, popularity, genres, styles, scenes: what
:func:`musig.synth.mpd_oracle.log_probs` and the clip renderer read).
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from musig.synth.mpd import PROFILE, STREAM_COLD, MpdConfig, latents, universe
from musig.synth.mpd_features import COLUMNS, feature_table
from musig.synth.mpd_names import catalog_names, genre_and_scene_names, playlist_meta
from musig.synth.mpd_sample import sample_slice, scene_tables
from musig.synth.world import AUDIBLE_DIMS, SYNTH_VERSION

_STAMP = "1970-01-01 00:00:00.000000"
_POS = [(b", " if k else b"") + b'{"pos": %d, ' % k for k in range(1024)]
_STATE: dict = {}  # what forked workers read (set before each pool starts)


def track_uri(i: np.ndarray | int) -> str:
    """The URI of catalog track ``i``: ``synth:track:<7 digits>``."""
    return f"synth:track:{int(i):07d}"


def _pool_map(fn, items: list[int], workers: int, progress: str | None) -> list:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(items), desc=progress, disable=progress is None)
    if workers <= 1 or len(items) <= 1:
        out = []
        for i in items:
            out.append(fn(i))
            bar.update()
        bar.close()
        return out
    import multiprocessing as mp

    with mp.get_context("fork").Pool(workers, initializer=_limit_threads) as pool:
        out = []
        for r in pool.imap(fn, items, chunksize=4):
            out.append(r)
            bar.update()
    bar.close()
    return out


def _limit_threads() -> None:
    from threadpoolctl import threadpool_limits

    # One process per core: BLAS threads would only fight over the same cores.
    _STATE["limits"] = threadpool_limits(1)


def _sample_task(sl: int) -> tuple[np.ndarray, np.ndarray]:
    cfg = _STATE["cfg"]
    length, tracks = sample_slice(cfg, universe(cfg), scene_tables(cfg), sl)
    return length.astype(np.int16), tracks.astype(np.int32)


def generate_mpd_world(
    out: str | Path,
    cfg: MpdConfig = MpdConfig(),  # noqa: B008  (frozen: one shared default is safe)
    *,
    workers: int | None = None,
    num_example_files: int = 8,
    progress: bool = True,
) -> Path:
    """Write an MPD-profile world folder (see the module docstring).

    Args:
        out: folder to create or replace.
        cfg: the world.
        workers: processes for sampling and writing slices (default: the cores, at most 2 are
            useful on a 2-core machine); the output does not depend on it.
        num_example_files: rendered example clips in ``audio/``, spread over genres.
        progress: show progress bars.

    Returns:
        The folder path.
    """
    from threadpoolctl import threadpool_limits

    from musig.utils import atomic_dir

    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    tag = (lambda s: s) if progress else (lambda s: None)
    with threadpool_limits(1):
        uni = universe(cfg)
        scene_tables(cfg)
    _STATE.clear()
    _STATE["cfg"] = cfg
    n_slices = -(-cfg.num_playlists // cfg.slice_size)
    drawn = _pool_map(_sample_task, list(range(n_slices)), workers, tag("playlists"))
    length = np.concatenate([d[0] for d in drawn]).astype(np.int64)
    tracks = np.concatenate([d[1] for d in drawn])
    del drawn
    cat = _catalog(cfg, uni, tracks)
    indptr = np.zeros(len(length) + 1, np.int64)
    np.cumsum(length, out=indptr[1:])
    genres, scenes = genre_and_scene_names(cfg, uni.scene_centre)
    with atomic_dir(out) as tmp:
        (tmp / "data").mkdir()
        frags, offsets = _describe(cfg, uni, cat, genres, tmp, num_example_files, progress)
        _STATE.update(
            tmp=tmp, tracks=cat["index_of"][tracks], indptr=indptr, frags=frags, offsets=offsets,
            duration=uni.duration_ms[cat["ids"]].astype(np.int64),
            album=uni.album[cat["ids"]], artist=uni.artist[cat["ids"]].astype(np.int64),
            scene_genre=[genres[g] for g in uni.scene_genre], scene_names=scenes,
        )  # fmt: skip
        _pool_map(_write_slice, list(range(n_slices)), workers, tag("slices"))
        world = {
            "generator": "musig.synth",
            "version": SYNTH_VERSION,
            "profile": PROFILE,
            "config": asdict(cfg),
            "audible_dims": list(AUDIBLE_DIMS[: cfg.audible_dims]),
            "genres": genres,
            "scenes": scenes,
            "feature_columns": list(COLUMNS),
            "counts": {
                "playlists": int(len(length)),
                "entries": int(len(tracks)),
                "tracks": int(len(cat["ids"])),
                "cold_tracks": int(cat["n_cold"]),
                "universe_tracks": int(len(uni.bias)),
            },
        }
        text = json.dumps(world, indent=2, sort_keys=True) + "\n"
        (tmp / "world.json").write_text(text, encoding="utf-8")
    _STATE.clear()
    return Path(out)


def _catalog(cfg: MpdConfig, uni, tracks: np.ndarray) -> dict:
    """Catalog = drawn tracks + cold ones (never drawn), in a shuffled order."""
    counts = np.bincount(tracks, minlength=len(uni.bias))
    drawn = np.flatnonzero(counts)
    rng = np.random.default_rng([cfg.seed, STREAM_COLD])
    undrawn = np.flatnonzero(counts == 0)
    n_cold = min(int(round(cfg.cold_fraction / (1 - cfg.cold_fraction) * len(drawn))), len(undrawn))
    cold = np.sort(rng.choice(undrawn, size=n_cold, replace=False))
    ids = np.concatenate([drawn, cold])[rng.permutation(len(drawn) + n_cold)]
    index_of = np.full(len(uni.bias), -1, np.int32)
    index_of[ids] = np.arange(len(ids), dtype=np.int32)
    is_cold = np.zeros(len(ids), bool)
    is_cold[index_of[cold]] = True
    return {"ids": ids, "index_of": index_of, "cold": is_cold, "n_cold": n_cold}


def _describe(cfg, uni, cat, genres, tmp: Path, num_examples: int, progress: bool):
    """tracks.csv, features.parquet, truth/, audio/; returns the per-track JSON fragments."""
    ids = cat["ids"]
    n = len(ids)
    artist_u, artist = np.unique(uni.artist[ids], return_inverse=True)
    album_u, album = np.unique(uni.album[ids], return_inverse=True)
    names = catalog_names(cfg, n, len(artist_u), len(album_u))
    genre = uni.artist_genre[uni.artist[ids]]
    rng = np.random.default_rng([cfg.seed, STREAM_COLD, 1])
    known = rng.random(n) >= cfg.missing_genre_fraction
    z = latents(cfg, uni, ids)
    rhythm = uni.rhythm_genre[uni.artist[ids]]
    harmony = uni.harmony_genre[uni.artist[ids]]
    uris = [track_uri(i) for i in range(n)]
    artist_uri = [f"synth:artist:{a:07d}" for a in artist_u.tolist()]
    album_uri = [f"synth:album:{b:07d}" for b in album_u.tolist()]
    artist_name = [names["artist"][a] for a in artist.tolist()]
    album_name = [names["album"][b] for b in album.tolist()]
    duration = uni.duration_ms[ids].tolist()
    # Example clips: round-robin over genres, as the default profile picks them.
    rank = pd.Series(genre).groupby(genre).cumcount().to_numpy()
    examples = np.lexsort((genre, rank))[:num_examples]
    audio = [""] * n
    for i in examples.tolist():
        audio[i] = f"audio/{i:07d}.wav"
    genre_names = np.array(genres, dtype=object)
    tracks = pd.DataFrame({
        "track_uri": uris, "track_name": names["track"], "artist_name": artist_name,
        "duration_ms": duration, "genre": np.where(known, genre_names[genre], ""),
        "audio": audio, "artist_uri": [artist_uri[a] for a in artist.tolist()],
        "album_uri": [album_uri[b] for b in album.tolist()], "album_name": album_name,
    })  # fmt: skip
    tracks.to_csv(tmp / "tracks.csv", index=False, lineterminator="\n", encoding="utf-8")
    del tracks
    feats = feature_table(cfg, uris, z, rhythm, harmony)
    feats.to_parquet(tmp / "features.parquet", index=False, compression="zstd")
    log_pop = np.where(cat["cold"], -np.inf, uni.bias[ids] / np.float32(cfg.popularity_power))
    truth = {
        "z": z, "log_popularity": log_pop.astype(np.float32), "genre": genre.astype(np.int16),
        "rhythm_genre": rhythm.astype(np.int16), "harmony_genre": harmony.astype(np.int16),
        "artist": uni.artist[ids], "universe_id": ids.astype(np.int64),
        "scene_centre": uni.scene_centre,
        "scene_weight": uni.scene_weight, "scene_genre": uni.scene_genre,
    }  # fmt: skip
    (tmp / "truth").mkdir()
    for key, arr in truth.items():
        np.save(tmp / "truth" / f"{key}.npy", arr, allow_pickle=False)
    if len(examples):
        from musig.synth.generate import _wav_bytes
        from musig.synth.render import render_mpd_clip

        (tmp / "audio").mkdir()
        for i in examples.tolist():
            y, sr = render_mpd_clip(cfg, int(i), z[i], int(rhythm[i]), int(harmony[i]))
            (tmp / audio[i]).write_bytes(_wav_bytes(y, sr))
    # JSON fragment of every track entry after "pos" (MPD key order); names need no escaping.
    # Built in chunks, so the Python strings of one chunk at a time sit next to the bytes.
    parts, sizes = [], []
    artist, album = artist.tolist(), album.tolist()
    for a in range(0, n, 1 << 18):
        frag = [
            f'"artist_name": "{artist_name[i]}", "track_uri": "{uris[i]}", '
            f'"artist_uri": "{artist_uri[artist[i]]}", "track_name": "{names["track"][i]}", '
            f'"album_uri": "{album_uri[album[i]]}", "duration_ms": {duration[i]}, '
            f'"album_name": "{album_name[i]}"}}'
            for i in range(a, min(a + (1 << 18), n))
        ]
        parts.append("".join(frag).encode("ascii"))
        sizes.extend(len(f) for f in frag)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return b"".join(parts), offsets


def _write_slice(sl: int) -> None:
    st, cfg = _STATE, _STATE["cfg"]
    a = sl * cfg.slice_size
    b = min(a + cfg.slice_size, len(st["indptr"]) - 1)
    from musig.synth.mpd_sample import slice_plan

    uni = universe(cfg)
    plan = slice_plan(cfg, uni, sl)
    lengths = np.diff(st["indptr"][a : b + 1])
    meta = playlist_meta(cfg, sl, plan.scene, st["scene_genre"], st["scene_names"], lengths)
    blob, off = st["frags"], st["offsets"]
    parts = [b'{"info": {"generated_on": "%s", "slice": "%d-%d", "version": "v1"}, "playlists": ['
             % (_STAMP.encode(), a, b - 1)]  # fmt: skip
    for i in range(b - a):
        t = st["tracks"][st["indptr"][a + i] : st["indptr"][a + i + 1]]
        tl = t.tolist()
        name = json.dumps(meta["name"][i], ensure_ascii=False)
        desc = meta["description"][i]
        head = (
            f'{{"name": {name}'
            + (f', "description": {json.dumps(desc, ensure_ascii=False)}' if desc else "")
            + f', "collaborative": "{meta["collaborative"][i]}", "pid": {a + i}, '
            f'"modified_at": {meta["modified_at"][i]}, "num_tracks": {len(tl)}, '
            f'"num_albums": {len(np.unique(st["album"][t]))}, '
            f'"num_followers": {meta["num_followers"][i]}, "tracks": ['
        )
        parts.append((", " if i else "").encode() + head.encode("utf-8"))
        so, eo = off[t].tolist(), off[t + 1].tolist()
        parts.extend(x for k in range(len(tl)) for x in (_POS[k], blob[so[k] : eo[k]]))
        parts.append(
            f'], "num_edits": {meta["num_edits"][i]}, '
            f'"duration_ms": {int(st["duration"][t].sum())}, '
            f'"num_artists": {len(np.unique(st["artist"][t]))}}}'.encode()
        )
    parts.append(b"]}")
    data = gzip.compress(b"".join(parts), compresslevel=1, mtime=0)
    (st["tmp"] / "data" / f"mpd.slice.{a}-{b - 1}.json.gz").write_bytes(data)
