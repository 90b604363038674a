"""Library logic behind the pages: track tables, overlap, reasons, queries by vector."""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from musig.data import Dataset
from musig.utils import atomic_write_json
from musig.workspace.core import AUDIO_TYPES, MAX_UPLOAD_MB


def track_table(dataset: Dataset) -> pd.DataFrame:
    """Track metadata for display: uri, name, artist, genre, popularity (training playlists),
    cold (in none), one row per track of the index."""
    t = dataset.tracks[["track_uri", "track_name", "artist_name", "genre"]].copy()
    t["popularity"] = dataset.popularity
    t["cold"] = dataset.popularity == 0
    return t


def library_table(lib) -> pd.DataFrame:
    """Library tracks as rows of the track table, to go after the catalog's (joint ids N..):
    title (the file name when untagged) as track_name, artist, genre, popularity 0, not cold,
    source "library", and the file's path relative to the library root."""
    t = lib.tracks
    title = t["title"].where(t["title"] != "", t["path"].map(lambda p: Path(p).stem))
    return pd.DataFrame(
        {
            "track_uri": "",
            "track_name": title.to_numpy(),
            "artist_name": t["artist"].to_numpy(),
            "genre": t["genre"].to_numpy(),
            "popularity": 0,
            "cold": False,
            "source": "library",
            "path": t["path"].to_numpy(),
        }
    )


def joint_table(catalog: pd.DataFrame, library: pd.DataFrame | None) -> pd.DataFrame:
    """The catalog's track table (source "catalog") followed by library rows, if any: row i is
    joint id i (see :func:`musig.library.complete_ids`)."""
    catalog = catalog.assign(source="catalog")
    if library is None or library.empty:
        return catalog
    return pd.concat([catalog, library], ignore_index=True)


def joint_map(map2d: np.ndarray, library_xy: np.ndarray | None, num_library: int) -> np.ndarray:
    """float32 (N + M, 2): the run's map, then library tracks where the run placed them (NaN
    where it cannot: a run that cannot embed them)."""
    xy = np.full((num_library, 2), np.nan, np.float32) if library_xy is None else library_xy
    return np.vstack([map2d, np.asarray(xy, np.float32).reshape(num_library, 2)])


def remembered_library(ws) -> Path | None:
    """The music folder last opened on the Library page of this workspace, if any."""
    file = Path(ws.root) / "library.json"
    try:
        return Path(json.loads(file.read_text())["root"])
    except (OSError, ValueError, KeyError):
        return None


def remember_library(ws, root: str | Path) -> None:
    atomic_write_json(Path(ws.root) / "library.json", {"root": str(root)})


def jaccard(a: Sequence, b: Sequence) -> float:
    """|A ∩ B| / |A ∪ B| of two recommendation lists as sets; 1.0 when both are empty."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def overlap_frame(lists: Mapping[str, Sequence]) -> pd.DataFrame:
    """Pairwise Jaccard of several recommendation lists (names as index and columns)."""
    names = list(lists)
    data = [[jaccard(lists[a], lists[b]) for b in names] for a in names]
    return pd.DataFrame(data, index=names, columns=names)


def track_playlists(ds: Dataset):
    """scipy.sparse CSR (N, P) bool: which training playlists each track is in."""
    from scipy import sparse

    a = sparse.csr_matrix(
        (np.ones(len(ds.playlist_tracks), bool), ds.playlist_tracks, ds.playlist_indptr),
        shape=(ds.num_playlists, ds.num_tracks),
    )
    return a.T.tocsr()


def explain(
    ds: Dataset,
    incidence,
    features: np.ndarray,
    feature_mask: np.ndarray,
    seeds: np.ndarray,
    candidates: np.ndarray,
) -> pd.DataFrame:
    """Why each candidate was recommended for these seeds.

    Args:
        incidence: :func:`track_playlists` of ``ds`` (training playlists only: no test leak).
        features: float32 (N, F) scaled content features; feature_mask: bool (N,).
        seeds / candidates: int64 track ids.
    Returns:
        One row per candidate: genre, seed_genre_share (share of seeds of that genre),
        acoustic_similarity (highest cosine to a seed in scaled feature space; NaN without
        features), shared_playlists (training playlists holding it and at least one seed),
        seeds_sharing (how many seeds share a playlist with it), shared_with (their names).
    """
    seeds, candidates = np.asarray(seeds, np.int64), np.asarray(candidates, np.int64)
    inc = incidence.astype(np.int32)
    shared = np.asarray((inc[candidates] @ inc[seeds].T).todense())  # (C, S) playlists in common
    seed_pl = np.asarray(inc[seeds].sum(0)).ravel() > 0  # (P,) playlists holding any seed
    with_any = np.asarray(inc[candidates][:, seed_pl].sum(1)).ravel()  # (C,)
    names = ds.tracks["track_name"].to_numpy(dtype=object)
    genre = ds.tracks["genre"].to_numpy(dtype=object)
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-8)
    ok = seeds[feature_mask[seeds]]
    acoustic = np.full(len(candidates), np.nan, np.float32)
    if len(ok):
        best = (unit[candidates] @ unit[ok].T).max(1)  # (C,)
        acoustic = np.where(feature_mask[candidates], best, np.nan).astype(np.float32)
    return pd.DataFrame(
        {
            "genre": genre[candidates],
            "seed_genre_share": [
                float(np.mean(genre[seeds] == g)) if g and len(seeds) else math.nan
                for g in genre[candidates]
            ],
            "acoustic_similarity": acoustic,
            "shared_playlists": with_any.astype(np.int64),
            "seeds_sharing": (shared > 0).sum(1).astype(np.int64),
            "shared_with": [_names(names[seeds[row > 0]]) for row in shared],
        }
    )


def _names(names: np.ndarray, most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


# --- uploads ----------------------------------------------------------------------------------


def upload_features(data: bytes, filename: str) -> np.ndarray:
    """Raw audio features float32 (F,) of uploaded bytes; ValueError for a bad file.

    The bytes go to a private temporary folder under a fixed name (``upload.<ext>``, never the
    user's name, which may hold ``../``), removed when done; warnings name the user's file.
    """
    from musig.audio import extract_file

    suffix = Path(filename).suffix.lower()
    if suffix.lstrip(".") not in AUDIO_TYPES:
        raise ValueError(f"{filename}: not a supported audio type (use {', '.join(AUDIO_TYPES)})")
    if len(data) > MAX_UPLOAD_MB * 2**20:  # the server's limit, for callers other than the app
        raise ValueError(
            f"{filename}: {len(data) / 2**20:.1f} MB is over the upload limit of {MAX_UPLOAD_MB} MB"
        )
    with tempfile.TemporaryDirectory(prefix="musig-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                feats = extract_file(path)
            except ValueError as e:  # name the user's file, not our temporary copy
                raise ValueError(str(e).replace(str(path), filename)) from None
    for w in caught:
        warnings.warn(str(w.message).replace(str(path), filename), w.category, stacklevel=2)
    return feats


def recommend_vector(
    run, vector: np.ndarray, k: int = 10, seeds: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Complete a playlist whose seeds are a new track's embedding (plus catalog tracks).

    Args:
        vector: float32 (D,) embedding of the new track in the run's space.
        seeds: int64 (S,) optional catalog seed ids.
    Returns:
        ids int64 (k,), scores float32 (k,).
    """
    seeds = np.asarray([] if seeds is None else seeds, np.int64)
    return run.retriever.recommend(seeds, k, extra=vector)


def track_audio(root: str | Path, track_uri: str, audio: str = "") -> tuple | Path | None:
    """A catalog track's audio: ``(y float32 (n,), sr)`` re-rendered from the synthetic world's
    world.json, else the path of its audio file (``audio`` relative to ``root``), else None."""
    world = Path(root) / "world.json"
    if world.is_file():
        from musig.synth import render_track

        return render_track(world, track_uri)
    path = Path(root) / audio
    return path if audio and path.is_file() else None
