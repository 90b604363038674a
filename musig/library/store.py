"""What a library keeps on disk, and loading it back.

A library folder (``LIBDIR``) holds, apart from any run::

    library.json            scanned root folder, extractor version, time and counts of the scan
    files.parquet           every audio file found: path (relative to the root), size, mtime_ns,
                            status ("ok" / "skipped"), reason, warning, tags, length, bitrate
    features-<version>.npz  content features of the "ok" files: path, size, mtime_ns, X (M, F)
    playlists.json          playlists found under the root, matched to files
    embeddings/<run>-<fingerprint>.npz   per run: path, size, mtime_ns, embedding, map_xy, far

A file's cached rows are reused while its path, size and modification time are unchanged. Every
file is written to a temporary name and renamed into place, so an interrupted scan leaves the
last checkpoint, never a half-written file; nothing is pickled.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musig.audio import EXTRACTOR_VERSION, FEATURE_NAMES
from musig.library.playlists import PlaylistMatch
from musig.library.tags import TAG_FIELDS
from musig.utils import atomic_write_bytes, atomic_write_json, fingerprint

LIBRARY_FORMAT = 1
META, FILES, PLAYLISTS = "library.json", "files.parquet", "playlists.json"
FEATURES = f"features-{EXTRACTOR_VERSION}.npz"
DEFAULT_NAME = ".musig-library"
FILE_COLUMNS = ["path", "size", "mtime_ns", "status", "reason", *TAG_FIELDS]
FILE_COLUMNS += ["duration_s", "bitrate_kbps", "lossless", "warning"]


def default_libdir(root: str | Path) -> Path:
    """``ROOT/.musig-library``; for a read-only ROOT, ``~/.cache/musig/library/<hash of ROOT>``.

    ``$MUSIG_CACHE_DIR`` replaces ``~/.cache/musig``, as for dataset feature caches.
    """
    root = Path(root).resolve()
    if os.access(root, os.W_OK):
        return root / DEFAULT_NAME
    base = os.environ.get("MUSIG_CACHE_DIR") or Path.home() / ".cache" / "musig"
    return Path(base) / "library" / fingerprint(str(root))


def file_keys(df: pd.DataFrame) -> list[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` per row: a cached row is valid while its key is unchanged."""
    sizes, mtimes = df["size"].astype("int64").tolist(), df["mtime_ns"].astype("int64").tolist()
    return list(zip(df["path"].astype(str).tolist(), sizes, mtimes, strict=True))


def write_table(path: Path, df: pd.DataFrame) -> None:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def read_table(path: Path) -> pd.DataFrame | None:
    """A parquet table, or None when absent or unreadable (then everything is re-done)."""
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as e:
        import warnings

        warnings.warn(f"{path}: ignoring unreadable library table ({e})", stacklevel=2)
        return None


def write_keyed(path: Path, keys: list[tuple[str, int, int]], **arrays: np.ndarray) -> None:
    """Rows keyed by file, as an npz: ``path`` (str), ``size``, ``mtime_ns`` (int64) + arrays."""
    paths, sizes, mtimes = zip(*keys, strict=True) if keys else ((), (), ())
    buf = io.BytesIO()
    np.savez(
        buf,
        path=np.asarray(paths, dtype=str),
        size=np.asarray(sizes, dtype=np.int64),
        mtime_ns=np.asarray(mtimes, dtype=np.int64),
        **arrays,
    )
    atomic_write_bytes(path, buf.getvalue())


def read_keyed(path: Path, names: tuple[str, ...]) -> dict[tuple[str, int, int], tuple]:
    """``{(path, size, mtime_ns): (row of each array in names)}``; empty if absent/unreadable."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = zip(
                z["path"].astype(str), z["size"].tolist(), z["mtime_ns"].tolist(), strict=True
            )
            arrays = [z[n] for n in names]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        import warnings

        warnings.warn(f"{path}: ignoring unreadable library cache ({e})", stacklevel=2)
        return {}
    return {key: tuple(a[i] for a in arrays) for i, key in enumerate(keys)}


def write_features(libdir: Path, rows: dict[tuple[str, int, int], np.ndarray]) -> None:
    keys = list(rows)
    X = np.stack([rows[k] for k in keys]) if keys else np.zeros((0, len(FEATURE_NAMES)))
    write_keyed(libdir / FEATURES, keys, X=X.astype(np.float32))


def read_features(libdir: Path) -> dict[tuple[str, int, int], np.ndarray]:
    rows = read_keyed(libdir / FEATURES, ("X",))
    return {k: v[0] for k, v in rows.items() if v[0].shape == (len(FEATURE_NAMES),)}


def write_meta(libdir: Path, root: Path, **extra) -> None:
    meta = {"format": LIBRARY_FORMAT, "root": str(root), "extractor_version": EXTRACTOR_VERSION}
    atomic_write_json(libdir / META, {**meta, **extra})


@dataclass(frozen=True)
class Library:
    """A scanned library, loaded from its folder.

    Attributes:
        libdir: the library folder.
        root: the scanned music folder (absolute).
        files: every audio file found by the last scan (:data:`FILE_COLUMNS`).
        tracks: the usable files (status "ok"), row i described by ``X[i]``.
        X: float32 (M, F) raw content features (``musig.audio.FEATURE_NAMES``).
        playlists: playlists found under the root, matched to files.
    """

    libdir: Path
    root: Path
    files: pd.DataFrame
    tracks: pd.DataFrame
    X: np.ndarray
    playlists: tuple[PlaylistMatch, ...]

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    def locate(self, file: str | Path) -> int:
        """Row in ``tracks`` of a file given by absolute path, relative to the working folder,
        or relative to the library root.

        Raises:
            ValueError: the file is not in the library, or the scan skipped it (with why).
        """
        given = Path(file).expanduser()
        for candidate in (given.absolute(), given.resolve(), self.root / file):
            try:
                rel = Path(os.path.normpath(candidate)).relative_to(self.root).as_posix()
            except ValueError:
                continue
            hit = np.flatnonzero(self.tracks["path"].to_numpy() == rel)
            if len(hit):
                return int(hit[0])
            skipped = self.files[(self.files["path"] == rel) & (self.files["status"] != "ok")]
            if len(skipped):
                raise ValueError(
                    f"{file}: skipped by the library scan ({skipped['reason'].iloc[0]})"
                )
        raise ValueError(
            f"{file}: not in the library of {self.root} (add it with `python -m musig library add`)"
        )


def open_library(path: str | Path) -> Library:
    """Load a library from its folder, or from the scanned music folder (its default LIBDIR).

    Raises:
        ValueError: no library there, or it was scanned with another feature extractor.
    """
    path = Path(path).expanduser()
    libdir = path if (path / META).is_file() else default_libdir(path)
    if not (libdir / META).is_file():
        raise ValueError(f"{path}: no music library here (create one with `musig library add`)")
    meta = json.loads((libdir / META).read_text())
    if meta.get("extractor_version") != EXTRACTOR_VERSION:
        raise ValueError(
            f"{libdir}: scanned with feature extractor {meta.get('extractor_version')}, this musig "
            f"has {EXTRACTOR_VERSION}; scan it again with `python -m musig library add`"
        )
    files = read_table(libdir / FILES)
    if files is None:
        raise ValueError(f"{libdir}: {FILES} is missing; scan again with `musig library add`")
    feats = read_features(libdir)
    ok = files[files["status"] == "ok"].reset_index(drop=True)
    keys = file_keys(ok)
    missing = [k[0] for k in keys if k not in feats]
    if missing:
        raise ValueError(
            f"{libdir}: {len(missing)} files have no cached features (first: {missing[0]}); the "
            "last scan was interrupted: run `musig library add` again to finish it"
        )
    X = np.stack([feats[k] for k in keys]) if keys else np.zeros((0, len(FEATURE_NAMES)))
    playlists = ()
    if (libdir / PLAYLISTS).is_file():
        playlists = tuple(
            PlaylistMatch(Path(p["path"]), tuple(p["files"]), tuple(map(tuple, p["unmatched"])))
            for p in json.loads((libdir / PLAYLISTS).read_text())
        )
    return Library(libdir, Path(meta["root"]), files, ok, X.astype(np.float32), playlists)
