"""Library tracks placed in a run's embedding space, inductively, cached per run.

Each file is embedded on its own from its content features (``run.embed_features``), as an
upload is, so its vector does not depend on the rest of the library and only files new since the
last time are embedded. The cache is keyed by the run's fingerprint, which changes when the run
is retrained, so a changed run is embedded afresh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musig.audio import EXTRACTOR_VERSION
from musig.library import store
from musig.library.store import Library
from musig.utils import fingerprint

_SAVE_EVERY = 256  # embedded files between checkpoints of the per-run cache


@dataclass(frozen=True)
class LibraryEmbeddings:
    """A library's tracks in one run's space, aligned with ``Library.tracks``.

    Attributes:
        run_name: the run folder's name.
        Z: float32 (M, D) embeddings.
        map_xy: float32 (M, 2) positions on the run's 2-D map (NaN without a map).
        far: bool (M,) the file sounds like nothing in the run's catalog.
    """

    run_name: str
    Z: np.ndarray
    map_xy: np.ndarray
    far: np.ndarray


def run_fingerprint(run_path: str | Path) -> str:
    """Fingerprint of a run folder: its ``run.json`` and the size and time of its arrays."""
    run_path = Path(run_path)
    parts: list[object] = [(run_path / "run.json").read_bytes(), EXTRACTOR_VERSION]
    for name in ("arrays.safetensors", "model.safetensors"):
        f = run_path / name
        if f.is_file():
            st = f.stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return fingerprint(*parts)


def check_can_embed(run) -> None:
    """Raise a clear ValueError when a run cannot place files that are not in its catalog."""
    if not run.can_embed_audio:
        raise ValueError(
            f"run {run.name!r} (method {run.method!r}) cannot embed library tracks: it has no "
            "vector for a file outside its catalog (it does not read musig's audio features). "
            "Use a musig, sage or content run; there is no popularity fallback for your files"
        )


def embed_library(
    lib: Library, run, run_path: str | Path, *, progress: bool = False, batch: int = 64
) -> LibraryEmbeddings:
    """Embed every usable library file with a run, reusing the run's cache in the library.

    Args:
        lib: from :func:`musig.library.open_library`.
        run: the run loaded from ``run_path`` (``musig.load_run``).
        run_path: its folder (names and fingerprints the cache).
        progress: show a tqdm bar.
        batch: files per ``run.embed_features`` call.

    Returns:
        :class:`LibraryEmbeddings` aligned with ``lib.tracks``.

    Raises:
        ValueError: the run cannot embed files outside its catalog (ALS, popularity, ...).
    """
    from tqdm.auto import tqdm

    check_can_embed(run)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(run_path).resolve().name)
    folder = lib.libdir / "embeddings"
    cache = folder / f"{safe}-{run_fingerprint(run_path)}.npz"
    names = ("embedding", "map_xy", "far")
    rows = store.read_keyed(cache, names)
    keys = store.file_keys(lib.tracks)
    todo = [i for i, k in enumerate(keys) if k not in rows]

    def save() -> None:
        kept = [k for k in keys if k in rows]
        arrays = {n: np.stack([rows[k][j] for k in kept]) for j, n in enumerate(names) if kept}
        store.write_keyed(cache, kept, **arrays)

    since = 0
    try:
        bar = tqdm(total=len(todo), desc=f"embed ({safe})", unit="file", disable=not progress)
        for start in range(0, len(todo), batch):
            ids = todo[start : start + batch]
            for i, e in zip(ids, run.embed_features(lib.X[ids]), strict=True):
                rows[keys[i]] = (e.embedding, np.asarray(e.map_xy, np.float32), e.far_from_catalog)
            since += len(ids)
            bar.update(len(ids))
            if since >= _SAVE_EVERY:
                save()
                since = 0
        bar.close()
    finally:
        if since:  # also on an error or Ctrl-C: what was embedded is kept
            save()
    for old in folder.glob(f"{safe}-*.npz"):  # the same run folder, trained before: stale
        if old != cache:
            old.unlink(missing_ok=True)
    if not keys:
        empty = np.zeros((0, 0), np.float32)
        return LibraryEmbeddings(run.name, empty, np.zeros((0, 2), np.float32), np.zeros(0, bool))
    return LibraryEmbeddings(
        run.name,
        np.stack([rows[k][0] for k in keys]).astype(np.float32),
        np.stack([rows[k][1] for k in keys]).astype(np.float32),
        np.array([bool(rows[k][2]) for k in keys]),
    )
