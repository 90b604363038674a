"""Audio features of a whole dataset: extracted in parallel, cached per dataset.

:mod:`musig.audio` descriptors of each track's file, kept in an ``.npz`` cache next to the data
(or in a user cache for read-only folders) and checkpointed during long extractions.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import os
import pickle
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musig import audio
from musig.audio import EXTRACTOR_VERSION, FEATURE_NAMES, AudioConfig
from musig.utils import atomic_write_bytes, fingerprint

if TYPE_CHECKING:
    from musig.data import Dataset


_SAVE_EVERY = 500  # new rows between cache checkpoints
_MAX_WARNINGS = 10  # unreadable files named one by one; the rest are counted


def _is_writable(directory: Path) -> bool:
    """Whether ``directory`` (or its nearest existing ancestor) accepts new files."""
    probe = Path(directory)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK)


def _cache_name(cfg: AudioConfig) -> str:
    if cfg == AudioConfig():
        return f"features-{EXTRACTOR_VERSION}.npz"
    return f"features-{EXTRACTOR_VERSION}-{fingerprint(repr(cfg))}.npz"


def _fallback_cache_dir(dataset: Dataset, cache_dir: str | Path | None) -> Path:
    base = cache_dir or os.environ.get("MUSIG_CACHE_DIR") or Path.home() / ".cache" / "musig"
    # Per-dataset subfolder: synthetic worlds with different seeds reuse the same track URIs.
    return Path(base) / dataset.fingerprint


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a cache file as ``(track_uri str (n,), X float32 (n, F))``; empty if unusable."""
    empty = np.array([], dtype=str), np.zeros((0, len(FEATURE_NAMES)), np.float32)
    if not path.is_file():
        return empty
    try:
        with np.load(path, allow_pickle=False) as z:
            uris, X = z["track_uri"].astype(str), z["X"].astype(np.float32)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        warnings.warn(f"{path}: ignoring unreadable feature cache ({e})", stacklevel=3)
        return empty
    if X.shape != (len(uris), len(FEATURE_NAMES)):
        warnings.warn(f"{path}: ignoring feature cache with shape {X.shape}", stacklevel=3)
        return empty
    return uris, X


def _write_cache(path: Path, uris: list[str], X: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, track_uri=np.asarray(uris, dtype=str), X=np.asarray(X, dtype=np.float32))
    atomic_write_bytes(path, buf.getvalue())


def _extract_one(
    job: tuple[str, str | None], renderer: Callable | None, cfg: AudioConfig
) -> tuple[np.ndarray | None, str | None]:
    """Features of one track from its file, or rendered when the job's path is None."""
    uri, path = job
    try:
        if path is not None:
            return audio.extract_file(path, cfg), None
        y, sr = renderer(uri)
        return audio.extract_features(y, sr, cfg), None
    except (ValueError, OSError, RuntimeError) as e:
        return None, str(e) if path is not None else f"{uri}: could not render ({e})"


_WORKER: dict[str, Any] = {}  # per worker process: renderer and cfg, sent once, not per job


def _init_worker(renderer: Callable | None, cfg: AudioConfig) -> None:
    _WORKER.update(renderer=renderer, cfg=cfg)
    try:  # n_jobs workers each with a multithreaded BLAS (a renderer's) would oversubscribe
        from threadpoolctl import threadpool_limits

        _WORKER["blas_limit"] = threadpool_limits(1)
    except ImportError:
        pass


def _worker_job(job: tuple[str, str | None]) -> tuple[np.ndarray | None, str | None]:
    return _extract_one(job, _WORKER["renderer"], _WORKER["cfg"])


def _run_jobs(
    jobs: list[tuple[str, str | None]], renderer: Callable | None, cfg: AudioConfig, n_jobs: int
) -> Iterator[tuple[np.ndarray | None, str | None]]:
    """``(features or None, error or None)`` per job, in job order."""
    if n_jobs > 1 and renderer is not None:
        try:
            pickle.dumps(renderer)
        except Exception:  # lambdas, closures, ...: anything pickle refuses
            warnings.warn("renderer cannot be pickled; extracting with n_jobs=1", stacklevel=3)
            n_jobs = 1
    if n_jobs <= 1 or len(jobs) < 2:
        yield from (_extract_one(job, renderer, cfg) for job in jobs)
        return
    chunk = max(1, min(32, len(jobs) // (4 * n_jobs)))
    ex = cf.ProcessPoolExecutor(n_jobs, initializer=_init_worker, initargs=(renderer, cfg))
    try:
        yield from ex.map(_worker_job, jobs, chunksize=chunk)  # map keeps input order
    finally:
        # On an early exit (error, Ctrl-C) drop queued chunks instead of finishing them.
        ex.shutdown(wait=True, cancel_futures=True)


def audio_features(
    dataset: Dataset,
    *,
    cache_dir: str | Path | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    renderer: Callable[[str], tuple[np.ndarray, int]] | None = None,
    cfg: AudioConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Audio features of every track of a dataset, aligned to its track index.

    Features come from the cache ``<root>/cache/features-<EXTRACTOR_VERSION>.npz`` or are
    extracted from each track's
    ``audio`` file; a missing file is rendered with ``renderer`` when one is given. If the
    dataset folder is not writable, the cache lives in ``cache_dir``, else ``$MUSIG_CACHE_DIR``,
    else ``~/.cache/musig``, under a subfolder named by ``dataset.fingerprint``; caches in both
    places are read. Unreadable files are skipped with a warning rather than aborting.

    Args:
        dataset: a ``musig.data.Dataset``.
        cache_dir: fallback cache folder for read-only datasets.
        n_jobs: worker processes for extraction (results are identical and in order).
        progress: show a tqdm bar.
        renderer: ``track_uri -> (y, sr)`` for tracks whose audio file is absent (e.g.
            ``musig.synth.render_track`` bound to the world); must pickle for ``n_jobs > 1``.
        cfg: analysis settings; non-default settings get their own cache file.

    Returns:
        ``(X, mask)``: X float32 (N, F), zero rows where mask is False, columns named by
        ``musig.audio.FEATURE_NAMES``; mask bool (N,).
    """
    from tqdm.auto import tqdm

    root = Path(dataset.root)
    cfg = cfg or AudioConfig()
    uris = dataset.tracks["track_uri"].astype(str).tolist()
    audio_files = dataset.tracks["audio"].fillna("").astype(str).str.strip().tolist()
    F = len(FEATURE_NAMES)
    X = np.zeros((len(uris), F), dtype=np.float32)
    mask = np.zeros(len(uris), dtype=bool)

    local = root / "cache" / _cache_name(cfg)
    fallback = _fallback_cache_dir(dataset, cache_dir) / _cache_name(cfg)
    known: dict[str, np.ndarray] = {}  # every cached row, kept so a rewrite loses nothing
    for path in (local, fallback):
        for u, row in zip(*_read_cache(path), strict=True):
            known.setdefault(u, row)
    row_of = {u: i for i, u in enumerate(uris)}
    for u, row in known.items():
        if u in row_of:
            X[row_of[u]], mask[row_of[u]] = row, True

    jobs, rows, n_absent = [], [], 0
    for i, (uri, rel) in enumerate(zip(uris, audio_files, strict=True)):
        if mask[i] or not rel:
            continue
        path = root / rel
        if path.is_file() or renderer is not None:
            jobs.append((uri, str(path) if path.is_file() else None))
            rows.append(i)
        else:
            n_absent += 1
    if n_absent:
        warnings.warn(
            f"{root}: {n_absent} tracks' audio files are missing; their features are masked",
            stacklevel=2,
        )
    if not jobs:
        return X, mask

    target = local if _is_writable(local.parent) else fallback
    n_new = 0

    def save() -> None:
        nonlocal target
        if target is None:
            return
        order = list(known)
        stacked = np.stack([known[u] for u in order])
        for place in dict.fromkeys([target, fallback]):  # a folder may refuse despite access()
            try:
                _write_cache(place, order, stacked)
                target = place
                return
            except OSError as e:
                err = e
        target = None
        warnings.warn(f"feature cache not saved ({err}); continuing without", stacklevel=3)

    failed = []
    results = _run_jobs(jobs, renderer, cfg, n_jobs)
    try:
        bar = tqdm(results, total=len(jobs), desc="audio features", disable=not progress)
        for i, (feats, err) in zip(rows, bar, strict=True):
            if feats is None:
                failed.append(f"skipping track {uris[i]}: {err}")
                continue
            X[i], mask[i] = feats, True
            known[uris[i]] = feats
            n_new += 1
            if n_new % _SAVE_EVERY == 0:  # checkpoint: an interrupted long run keeps its work
                save()
    finally:
        results.close()
        if n_new % _SAVE_EVERY:
            save()
    for msg in failed[:_MAX_WARNINGS]:
        warnings.warn(msg, stacklevel=2)
    if len(failed) > _MAX_WARNINGS:
        warnings.warn(f"... and {len(failed) - _MAX_WARNINGS} more unreadable tracks", stacklevel=2)
    return X, mask
