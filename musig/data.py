"""Dataset folders: MPD-format playlist slices, a track catalog and challenge sets.

A dataset folder holds ``playlists/mpd.slice.<a>-<b>.json[.gz]`` (Million Playlist Dataset
format; ``data/`` as in the MPD's download works too), an optional ``tracks.csv`` catalog,
optional ``challenge_set.json`` and ``challenge_truth.json`` and an optional ``features.csv`` /
``features.parquet`` table (read by :func:`musig.features.load_feature_table`).
:func:`load_dataset` turns it into one shared track index (catalog rows first, then URIs seen only
in playlists, in first-seen order) and a CSR matrix of playlists over that index. Slice files are
parsed one at a time per worker, so the JSON text of the 1,000 MPD slices never sits in memory at
once.
:mod:`musig.mpd` reads the MPD files and :mod:`musig.writer` writes such folders.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

from musig.mpd import (
    ChallengePlaylist,
    SliceContents,
    parse_slice,
    read_dataset_challenge,
    read_dataset_truth,
    slice_files,
)
from musig.utils import fingerprint, spawn_without_main

TRACK_COLUMNS = ["track_uri", "track_name", "artist_name", "duration_ms", "genre", "audio"]


def track_popularity(indptr: np.ndarray, tracks: np.ndarray, num_tracks: int) -> np.ndarray:
    """int64 (num_tracks,): playlists holding each track, a repeat within a playlist once.

    A CSR matrix sorts each playlist's few entries and drops its repeats: 2.8 s for 66M entries,
    where ``np.unique`` of (playlist, track) keys took 113 s
    (``python -m benchmarks.bench_popularity``).
    """
    import scipy.sparse as sp

    ones = np.ones(len(tracks), np.int8)
    shape = (len(indptr) - 1, num_tracks)
    m = sp.csr_matrix((ones, tracks, indptr), shape=shape, copy=True)  # sorted in place below
    m.sum_duplicates()
    return np.bincount(m.indices, minlength=num_tracks).astype(np.int64)


def artist_ids(artist_names) -> np.ndarray:
    """int64 (N,) artist id of each track by its artist name in first-seen order, -1 blank.

    The same names give the same ids in training and when a saved run is loaded again.
    """
    names = pd.Series(artist_names, dtype="string").fillna("")
    codes, _ = pd.factorize(names.where(names != "", None), use_na_sentinel=True)
    return codes.astype(np.int64)


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Tracks and playlists over one shared track index (see the module docstring).

    Attributes:
        root: the dataset folder.
        tracks: RangeIndex ``0..N-1`` (the track index); columns track_uri, track_name, artist_name,
            duration_ms (Int64), genre (str, "" if unknown), audio (str path relative to root, ""
            if none), in_catalog (bool: the row came from tracks.csv), then any extra tracks.csv
            columns as str.
        playlist_indptr: int64 (P+1,), CSR row pointers over playlists.
        playlist_tracks: int64 (nnz,), track indices in playlist order (duplicates kept).
        pids: int64 (P,), playlist ids.
        playlist_names: (P,) playlist names ("" if missing).
        challenge: challenge playlists from challenge_set.json, or None.
        truth: held-out URIs per challenge pid from challenge_truth.json, or None.
    """

    root: Path
    tracks: pd.DataFrame
    playlist_indptr: np.ndarray
    playlist_tracks: np.ndarray
    pids: np.ndarray
    playlist_names: list[str]
    challenge: list[ChallengePlaylist] | None = None
    truth: dict[int, list[str]] | None = None
    # Derived values are cached here; the dataclass itself stays frozen.
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        indptr = np.asarray(self.playlist_indptr, dtype=np.int64)
        items = np.asarray(self.playlist_tracks, dtype=np.int64)
        pids = np.asarray(self.pids, dtype=np.int64)
        n, p = len(self.tracks), len(pids)
        if indptr.shape != (p + 1,) or indptr[0] != 0 or indptr[-1] != len(items):
            raise ValueError(f"playlist_indptr must have shape ({p + 1},), start at 0, end at nnz")
        if np.any(np.diff(indptr) < 0):
            raise ValueError("playlist_indptr must be non-decreasing")
        if len(items) and (items.min() < 0 or items.max() >= n):
            raise ValueError(f"playlist_tracks must lie in [0, {n})")
        if len(self.playlist_names) != p:
            raise ValueError(f"playlist_names has {len(self.playlist_names)} entries, expected {p}")
        for name, arr in (("playlist_indptr", indptr), ("playlist_tracks", items), ("pids", pids)):
            if arr is getattr(self, name):
                arr = arr.view()  # never freeze the caller's own array
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    def __repr__(self) -> str:
        n_ch = None if self.challenge is None else len(self.challenge)
        return (
            f"Dataset(root={str(self.root)!r}, num_tracks={self.num_tracks}, "
            f"num_playlists={self.num_playlists}, challenge={n_ch})"
        )

    @property
    def num_tracks(self) -> int:
        return len(self.tracks)

    @property
    def num_playlists(self) -> int:
        return len(self.pids)

    @property
    def uri_to_index(self) -> dict[str, int]:
        """Track URI -> row of ``tracks`` (do not mutate the returned dict)."""
        if "uri_to_index" not in self._cache:
            uris = self.tracks["track_uri"].tolist()
            self._cache["uri_to_index"] = dict(zip(uris, range(len(uris)), strict=True))
        return self._cache["uri_to_index"]

    def playlist(self, i: int) -> np.ndarray:
        """Track indices of playlist ``i`` (position, not pid): read-only int64 (len,)."""
        return self.playlist_tracks[self.playlist_indptr[i] : self.playlist_indptr[i + 1]]

    @property
    def genres(self) -> list[str]:
        """Sorted distinct non-empty genre names."""
        if "genres" not in self._cache:
            self._cache["genres"] = sorted(set(self.tracks["genre"].tolist()) - {""})
        return list(self._cache["genres"])

    @property
    def genre_codes(self) -> np.ndarray:
        """int64 (N,): position of each track's genre in :attr:`genres`, -1 when unknown."""
        if "genre_codes" not in self._cache:
            code = {g: i for i, g in enumerate(self.genres)}
            codes = np.array([code.get(g, -1) for g in self.tracks["genre"].tolist()], np.int64)
            codes.flags.writeable = False
            self._cache["genre_codes"] = codes
        return self._cache["genre_codes"]

    @property
    def popularity(self) -> np.ndarray:
        """int64 (N,): number of playlists containing each track (a repeat counts once)."""
        if "track_popularity" not in self._cache:
            pop = track_popularity(self.playlist_indptr, self.playlist_tracks, self.num_tracks)
            pop.flags.writeable = False
            self._cache["track_popularity"] = pop
        return self._cache["track_popularity"]

    @property
    def fingerprint(self) -> str:
        """16-hex content hash of the track URIs, the playlist CSR and the pids."""
        if "fingerprint" not in self._cache:
            self._cache["fingerprint"] = fingerprint(
                "\n".join(self.tracks["track_uri"].tolist()),
                self.playlist_indptr,
                self.playlist_tracks,
                self.pids,
            )
        return self._cache["fingerprint"]

    def subset_playlists(self, mask_or_idx: np.ndarray | Sequence[int]) -> Dataset:
        """A Dataset with only some playlists, over the same track index.

        Args:
            mask_or_idx: bool (P,) mask, or int positions (not pids) in the order wanted.

        Returns:
            A new Dataset sharing ``tracks``, ``challenge`` and ``truth`` with this one.
        """
        sel = np.asarray(mask_or_idx)
        if sel.dtype == bool:
            if sel.shape != (self.num_playlists,):
                raise ValueError(f"mask has shape {sel.shape}, expected ({self.num_playlists},)")
            sel = np.flatnonzero(sel)
        elif sel.size == 0:
            sel = sel.astype(np.int64)
        elif not np.issubdtype(sel.dtype, np.integer):
            raise ValueError(f"expected a bool mask or integer positions, got dtype {sel.dtype}")
        sel = sel.astype(np.int64).reshape(-1)
        if sel.size and (sel.min() < 0 or sel.max() >= self.num_playlists):
            raise ValueError(f"playlist positions must lie in [0, {self.num_playlists})")
        lengths = np.diff(self.playlist_indptr)[sel]
        indptr = np.zeros(len(sel) + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        gather = np.repeat(self.playlist_indptr[sel] - indptr[:-1], lengths) + np.arange(indptr[-1])
        return Dataset(
            root=self.root,
            tracks=self.tracks,
            playlist_indptr=indptr,
            playlist_tracks=self.playlist_tracks[gather],
            pids=self.pids[sel],
            playlist_names=[self.playlist_names[i] for i in sel.tolist()],
            challenge=self.challenge,
            truth=self.truth,
        )


# ---------------------------------------------------------------------------------------------
# Loading


def load_dataset(root: str | Path, *, jobs: int | None = None) -> Dataset:
    """Load a dataset folder (see the module docstring for the layout).

    The Million Playlist Dataset as downloaded works as it is: its slices under ``data/``
    (or ``playlists/``), plain or gzipped, no ``tracks.csv``. ``tracks.csv`` is optional when
    playlist slices exist: every track then comes from the playlists (``in_catalog`` False, name
    and artist from its first playlist entry). Playlist tracks are kept in list order, duplicates
    included; unknown MPD fields are ignored. Slices are parsed in ``jobs`` worker processes
    (default: one per core, up to 2) when there are many; the result does not depend on it.

    Raises:
        ValueError: naming the file (and row, playlist index, pid or pos) of any malformed input.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a dataset folder")
    slices = find_slices(root)
    catalog_path = root / "tracks.csv"
    if not slices and not catalog_path.exists():
        raise ValueError(
            f"{root}: no tracks.csv and no playlists/ or data/ with mpd.slice.*.json[.gz]; "
            "not a dataset folder"
        )
    catalog = _read_catalog(catalog_path) if catalog_path.exists() else _empty_catalog()
    uri_to_index = dict(zip(catalog["track_uri"].tolist(), range(len(catalog)), strict=True))
    n_catalog = len(catalog)
    new = {"track_uri": [], "track_name": [], "artist_name": [], "duration_ms": []}

    lengths, pids, names, chunks = [], [], [], []
    pid_file: dict[int, Path] = {}
    for path, part in zip(slices, _parse_slices(slices, jobs), strict=True):
        for pid in part.pids.tolist():
            if pid in pid_file:
                raise ValueError(f"duplicate pid {pid}: in {pid_file[pid]} and in {path}")
            pid_file[pid] = path
        # The slice's own track ids -> the dataset's, adding tracks seen for the first time
        # (a slice's URIs are distinct). map() looks them up without a Python call per URI:
        # for the MPD that is 43M lookups in a dict of 2.26M.
        n_uris = len(part.uris)
        ids = np.fromiter(map(uri_to_index.get, part.uris, repeat(-1, n_uris)), np.int64, n_uris)
        fresh = np.flatnonzero(ids < 0)
        ids[fresh] = np.arange(len(uri_to_index), len(uri_to_index) + len(fresh))
        uri_to_index.update(zip([part.uris[i] for i in fresh], ids[fresh].tolist(), strict=True))
        new["track_uri"] += [part.uris[i] for i in fresh]
        new["track_name"] += [part.track_names[i] for i in fresh]
        new["artist_name"] += [part.artist_names[i] for i in fresh]
        new["duration_ms"] += [part.durations[i] for i in fresh]
        chunks.append(ids[part.entries])
        lengths.append(part.lengths)
        pids.append(part.pids)
        names += part.names

    tracks = _append_playlist_only(catalog, new, n_catalog)
    indptr = np.zeros(sum(len(x) for x in lengths) + 1, np.int64)
    np.cumsum(np.concatenate(lengths) if lengths else np.zeros(0, np.int64), out=indptr[1:])
    challenge = read_dataset_challenge(root / "challenge_set.json", pid_file)
    _warn_unknown_seeds(root / "challenge_set.json", challenge, uri_to_index)
    ds = Dataset(
        root=root,
        tracks=tracks,
        playlist_indptr=indptr,
        playlist_tracks=np.concatenate(chunks) if chunks else np.zeros(0, np.int64),
        pids=np.concatenate(pids) if pids else np.zeros(0, np.int64),
        playlist_names=names,
        challenge=challenge,
        truth=read_dataset_truth(root / "challenge_truth.json", challenge),
    )
    ds._cache["uri_to_index"] = uri_to_index  # already built, in track order
    return ds


def _warn_unknown_seeds(path: Path, challenge, uri_to_index: dict[str, int]) -> None:
    """Seeds outside the track index are kept (methods ignore them), but not silently."""
    unknown = [(c.pid, u) for c in challenge or () for u in c.seed_uris if u not in uri_to_index]
    if unknown:
        pid, uri = unknown[0]
        warnings.warn(
            f"{path}: {len(unknown)} seed URI(s) not in the track index (first: pid {pid}, "
            f"{uri}); methods ignore them",
            stacklevel=3,
        )


def find_slices(root: Path) -> list[Path]:
    """The slice files of ``root/playlists`` (musig's layout) or ``root/data`` (the MPD's)."""
    found = {name: slice_files(root / name) for name in ("playlists", "data")}
    if found["playlists"] and found["data"]:
        raise ValueError(f"{root}: slices in both playlists/ and data/; keep one of them")
    return found["playlists"] or found["data"]


# Fewer slices than this are parsed in this process: starting workers would cost more.
_PARALLEL_SLICES = 8


def _parse_slices(slices: list[Path], jobs: int | None) -> Iterator[SliceContents]:
    """:func:`musig.mpd.parse_slice` of each file, in order, in worker processes when many."""
    jobs = min(2, os.cpu_count() or 1) if jobs is None else jobs
    if jobs <= 1 or len(slices) < _PARALLEL_SLICES:
        yield from map(parse_slice, slices)
        return
    # spawn: a fork of a process with threads (the app's server, torch) is unsafe.
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        with spawn_without_main():
            parsed = pool.map(parse_slice, slices)  # starts the workers, submits every slice
        yield from parsed
    finally:  # also on an error: drop the slices not parsed yet instead of finishing them
        pool.shutdown(wait=True, cancel_futures=True)


def _empty_catalog() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype="str") for c in TRACK_COLUMNS}
    cols["duration_ms"] = pd.Series([], dtype="Int64")
    return pd.DataFrame(cols)


def _read_catalog(path: Path) -> pd.DataFrame:
    """Read and validate tracks.csv. Rows in messages count data rows from 1 (header excluded)."""
    try:
        # No NA parsing: "NA" or "null" are real song names.
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
        )
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: cannot parse CSV ({e})") from e
    for col in TRACK_COLUMNS:
        if col not in df.columns:
            raise ValueError(f"{path}: missing required column {col!r}")
    if "in_catalog" in df.columns:
        raise ValueError(f"{path}: column 'in_catalog' is reserved")
    uris = df["track_uri"]
    empty = np.flatnonzero((uris == "").to_numpy())
    if len(empty):
        raise ValueError(f"{path}: data row {empty[0] + 1}: empty track_uri")
    dup = np.flatnonzero(uris.duplicated().to_numpy())
    if len(dup):
        first = int(np.flatnonzero((uris == uris.iloc[dup[0]]).to_numpy())[0])
        raise ValueError(
            f"{path}: data row {dup[0] + 1}: duplicate track_uri {uris.iloc[dup[0]]!r} "
            f"(first in data row {first + 1})"
        )
    raw = df["duration_ms"].str.strip()
    num = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = np.flatnonzero(((raw != "") & (num.isna() | (num % 1 != 0))).to_numpy())
    if len(bad):
        raise ValueError(
            f"{path}: data row {bad[0] + 1}: duration_ms {raw.iloc[bad[0]]!r} is not an integer"
        )
    df["duration_ms"] = num.astype("Int64")
    extra = [c for c in df.columns if c not in TRACK_COLUMNS]
    return df[TRACK_COLUMNS + extra].astype({c: "str" for c in df.columns if c != "duration_ms"})


def _append_playlist_only(catalog: pd.DataFrame, new: dict[str, list], n_catalog: int):
    """Catalog rows, then tracks seen only in playlists (genre/audio/extra columns "")."""
    n_new = len(new["track_uri"])
    cols: dict[str, object] = {}
    for col in catalog.columns:
        if col == "duration_ms":
            values = catalog[col].tolist() + new[col]
            cols[col] = pd.array(values, dtype="Int64")
        else:
            tail = new.get(col, [""] * n_new)
            cols[col] = pd.Series(catalog[col].tolist() + tail, dtype="str")
    cols["in_catalog"] = np.arange(n_catalog + n_new) < n_catalog
    order = TRACK_COLUMNS + ["in_catalog"] + [c for c in catalog.columns if c not in TRACK_COLUMNS]
    return pd.DataFrame(cols)[order]
