"""Scan a folder tree of audio files into a library: tags, content features, playlists.

Files are decoded and analysed (:func:`musig.audio.extract_file`) in worker processes; a file
whose path, size and modification time are unchanged since the last scan is not decoded again.
A file that cannot be used is listed with the reason and skipped, and the scan goes on; the cache
is checkpointed as it goes, so an interrupted scan resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from musig.library import store
from musig.library.formats import AUDIO_EXTENSIONS, PLAYLIST_EXTENSIONS, needs_ffmpeg
from musig.library.playlists import PlaylistMatch, match_playlist, read_playlist
from musig.library.tags import read_info
from musig.utils import atomic_write_json


@dataclass(frozen=True)
class ScanConfig:
    """How a folder is scanned.

    Attributes:
        n_jobs: worker processes that decode and analyse files (one core each).
        max_file_bytes: larger files are skipped (a disk image named .wav, a 10-hour mix): only
            a 30 s window is analysed anyway, and some decoders read a file whole.
        checkpoint_every: new files between cache checkpoints; at most this much work is lost
            when a scan is killed (an exception or Ctrl-C saves everything done).
        checkpoint_seconds: also checkpoint after this long, for slow files.
        progress: show a tqdm bar.
    """

    n_jobs: int = 1
    max_file_bytes: int = 2 * 2**30
    checkpoint_every: int = 100
    checkpoint_seconds: float = 60.0
    progress: bool = True


@dataclass(frozen=True)
class ScanResult:
    """What a scan found.

    Attributes:
        libdir / root: the library folder and the scanned folder.
        files: every audio file found (:data:`musig.library.store.FILE_COLUMNS`).
        extracted: files decoded by this scan; reused: files whose cached result was reused.
        playlists: every playlist found, matched to files (unreadable ones have no entries and
            one ``unmatched`` reason).
        ignored: files under the root that are neither audio nor playlists (by extension).
        seconds: wall time.
    """

    libdir: Path
    root: Path
    files: pd.DataFrame
    extracted: int
    reused: int
    playlists: tuple[PlaylistMatch, ...]
    ignored: int
    seconds: float

    @property
    def skipped(self) -> pd.DataFrame:
        """``path, reason`` of files that are in no embedding."""
        return self.files.loc[self.files["status"] != "ok", ["path", "reason"]]

    @property
    def warnings(self) -> pd.DataFrame:
        """``path, warning`` of usable files whose features may be off (low bitrate)."""
        return self.files.loc[self.files["warning"] != "", ["path", "warning"]]


def find_files(root: Path, skip: Path | None = None) -> tuple[list[str], list[str], int]:
    """Audio files and playlists under ``root`` as sorted POSIX paths relative to it.

    Hidden files and folders (a leading dot: ``.musig-library``, macOS ``._`` resource forks,
    ``.Trash``) and the folder ``skip`` are not entered.

    Returns:
        ``(audio, playlists, n_ignored)``.
    """
    audio, playlists, ignored = [], [], 0
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d != skip)
        for name in sorted(names):
            if name.startswith("."):
                continue
            rel = (here / name).relative_to(root).as_posix()
            ext = Path(name).suffix.lower()
            if ext in AUDIO_EXTENSIONS:
                audio.append(rel)
            elif ext in PLAYLIST_EXTENSIONS:
                playlists.append(rel)
            else:
                ignored += 1
    return audio, playlists, ignored


def _shown(name: str) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 as ``\\xNN`` escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _size_mtime(path: Path) -> tuple[int, int]:
    """Size and mtime of a file; a link that cannot be followed (a loop, a dangling or unreadable
    target) has size -1, which :func:`_process_file` turns into a reason."""
    try:
        st = path.stat()
    except OSError:
        return -1, 0
    return st.st_size, st.st_mtime_ns


def _process_file(root: str, rel: str, size: int, max_bytes: int) -> tuple[dict, np.ndarray | None]:
    """Tags and features of one file: ``(record, float32 (F,) or None if skipped)``."""
    from musig.audio import AudioWarning, extract_file

    path = Path(root) / rel
    record = {"path": rel, "status": "skipped", "reason": "", **read_info(path).to_dict()}
    feats = None
    if _shown(rel) != rel:  # the library's tables hold UTF-8 text only (title from the name too)
        record = {k: _shown(v) if isinstance(v, str) else v for k, v in record.items()}
        record["reason"] = "file name is not valid UTF-8; rename the file to scan it"
    elif size < 0:  # musig.audio names why a link cannot be followed
        try:
            extract_file(path)
        except ValueError as e:
            record["reason"] = str(e).removeprefix(f"{path}: ")
        record["reason"] = record["reason"] or "cannot read the file"
    elif size == 0:
        record["reason"] = "empty file (0 bytes)"
    elif size > max_bytes:
        record["reason"] = f"too large ({size / 2**20:.0f} MiB > {max_bytes / 2**20:.0f} MiB)"
    elif needs_ffmpeg(path):
        record["reason"] = f"{path.suffix.lower()[1:]} (AAC) needs ffmpeg to decode; not installed"
    else:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", AudioWarning)
                feats = extract_file(path)
            record["status"] = "ok"
            notes = [str(w.message).removeprefix(f"{path}: ") for w in caught
                     if issubclass(w.category, AudioWarning)]  # fmt: skip
            record["warning"] = "; ".join(filter(None, [record["warning"], *notes]))
        except ValueError as e:  # musig.audio's reasons name the file; the table already does
            record["reason"] = str(e).removeprefix(f"{path}: ")
        except Exception as e:  # one broken file must not end a scan of thousands
            record["reason"] = f"cannot decode ({type(e).__name__}: {e})"
    if record["status"] != "ok":
        record["warning"] = ""
    return record, feats


def _init_worker() -> None:
    try:  # n_jobs workers each with a multithreaded BLAS would oversubscribe the cores
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


def _star(args: tuple) -> tuple[dict, np.ndarray | None]:
    return _process_file(*args)


def _run_jobs(jobs: list[tuple], n_jobs: int) -> Iterator[tuple[dict, np.ndarray | None]]:
    """Results of :func:`_process_file` per job, in job order."""
    if n_jobs <= 1 or len(jobs) < 2:
        yield from (_process_file(*job) for job in jobs)
        return
    ex = cf.ProcessPoolExecutor(n_jobs, initializer=_init_worker)
    try:
        yield from ex.map(_star, jobs, chunksize=2)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C drop queued files, keep results


def scan_library(
    root: str | Path,
    libdir: str | Path | None = None,
    cfg: ScanConfig | None = None,
    on_file: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan ``root`` into the library at ``libdir``, reusing what the last scan cached.

    Args:
        root: a folder tree of audio files (wav, flac, ogg, opus, mp3, aiff; m4a/aac only where
            ffmpeg is installed) and playlists (m3u, m3u8, pls).
        libdir: the library folder (default :func:`musig.library.store.default_libdir`).
        cfg: scan settings.
        on_file: called with (files done, files to decode) after each decoded file, and once
            with (0, n) before the first (a progress bar in the app).

    Returns:
        A :class:`ScanResult`; the library is then loadable with ``open_library(libdir)``.

    Raises:
        ValueError: ``root`` is not a folder.
    """
    from tqdm.auto import tqdm

    cfg = cfg or ScanConfig()
    start = time.perf_counter()
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    libdir = Path(libdir).expanduser().resolve() if libdir else store.default_libdir(root)
    audio, playlist_files, ignored = find_files(root, skip=libdir)
    keys = [(rel, *_size_mtime(root / rel)) for rel in audio]

    old = store.read_table(libdir / store.FILES)
    old_rows = {}
    if old is not None:
        old_rows = dict(zip(store.file_keys(old), old.to_dict("records"), strict=True))
    feats = store.read_features(libdir) if (libdir / store.META).is_file() else {}
    records: dict[tuple[str, int, int], dict] = {}
    for key in keys:  # reuse unchanged files: skipped ones, and usable ones with features
        row = old_rows.get(key)
        if row is not None and (row["status"] != "ok" or key in feats):
            records[key] = row
    reused = len(records)
    feats = {k: v for k, v in feats.items() if k in records}  # drop removed and changed files
    todo = [k for k in keys if k not in records]

    def table() -> pd.DataFrame:
        rows = [{**records[k], "size": k[1], "mtime_ns": k[2]} for k in keys if k in records]
        return pd.DataFrame(rows, columns=store.FILE_COLUMNS).astype({"lossless": bool})

    def save() -> None:
        store.write_features(libdir, feats)  # features first: a table row without them is redone
        store.write_table(libdir / store.FILES, table())
        counts = {"files": len(keys), "done": len(records), "usable": len(feats)}
        store.write_meta(libdir, root, scanned_at=time.strftime("%Y-%m-%dT%H:%M:%S"), **counts)

    libdir.mkdir(parents=True, exist_ok=True)
    jobs = [(str(root), rel, size, cfg.max_file_bytes) for rel, size, _ in todo]
    results = _run_jobs(jobs, cfg.n_jobs)
    since, last = 0, time.monotonic()
    if on_file is not None:
        on_file(0, len(jobs))
    try:
        bar = tqdm(results, total=len(jobs), desc="library", unit="file", disable=not cfg.progress)
        for done, (key, (record, x)) in enumerate(zip(todo, bar, strict=False), 1):
            records[key] = record
            if x is not None:
                feats[key] = x
            if on_file is not None:
                on_file(done, len(jobs))
            since += 1
            if since >= cfg.checkpoint_every or time.monotonic() - last > cfg.checkpoint_seconds:
                save()
                since, last = 0, time.monotonic()
    except BaseException:  # an error or Ctrl-C: keep every file done, the next scan resumes
        results.close()
        save()
        raise
    finally:
        results.close()

    files = table()
    matches = _match_playlists(root, playlist_files, files)
    atomic_write_json(libdir / store.PLAYLISTS, [m.to_dict() for m in matches])
    save()
    return ScanResult(
        libdir, root, files, len(todo), reused, matches, ignored, time.perf_counter() - start
    )


def _match_playlists(root: Path, rels: list[str], files: pd.DataFrame) -> list[PlaylistMatch]:
    """Match every playlist to the scanned files; an entry whose file was skipped is unmatched."""
    reasons = dict(zip(files["path"], files["reason"], strict=True))
    status = dict(zip(files["path"], files["status"], strict=True))
    out = []
    for rel in rels:
        try:
            pl = read_playlist(root / rel)
        except ValueError as e:
            out.append(PlaylistMatch(root / rel, (), (("", str(e)),)))
            continue
        m = match_playlist(pl, root, list(files["path"]))
        misses, unmatched, kept = iter(m.unmatched), [], []
        for entry, hit in zip(pl.entries, m.files, strict=True):
            if hit is None:
                unmatched.append(next(misses))
            elif status[hit] != "ok":
                unmatched.append((entry.location, f"file skipped by the scan: {reasons[hit]}"))
                hit = None
            kept.append(hit)
        out.append(PlaylistMatch(m.path, tuple(kept), tuple(unmatched)))
    return out
