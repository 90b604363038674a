"""Content features from audio: a fixed-length librosa descriptor per track, cached per dataset.

One magnitude STFT per clip feeds every spectral feature (mel/MFCC, chroma, contrast, centroid,
...), so a 30 s clip takes about 0.1 s on one core. ``catalog_features`` turns a whole dataset
into an ``(N, F)`` matrix plus a mask, reading ``features.csv|parquet`` when the folder has one.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import io
import os
import pickle
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musig.utils import as_rng, atomic_write_bytes, fingerprint

if TYPE_CHECKING:
    from musig.data import Dataset

EXTRACTOR_VERSION = "v1"

_PITCHES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_N_MFCC = 20
_N_MELS = 128
_N_CONTRAST = 7  # 6 bands above fmin=200 Hz plus the residual band


def _names() -> list[str]:
    cols = [f"mfcc{i:02d}" for i in range(_N_MFCC)]
    cols += [f"chroma_{p}" for p in _PITCHES]
    cols += [f"contrast{i}" for i in range(_N_CONTRAST)]
    cols += ["centroid", "bandwidth", "rolloff", "flatness", "onset_strength", "rms_db", "zcr"]
    names = [f"{c}_{stat}" for stat in ("mean", "std") for c in cols]
    return names + ["tempo_bpm", "pulse_clarity"]


FEATURE_NAMES: list[str] = _names()


@dataclass(frozen=True)
class AudioConfig:
    """How audio is decoded and analysed.

    Attributes:
        sr: every clip is resampled to this rate, so features do not depend on the file's rate.
        max_seconds: only a window of this length from the middle of a file is decoded/analysed,
            which bounds time and memory for long uploads.
        min_seconds: shorter files are rejected; tempo and statistics mean little below this.
        silence_peak: files whose peak amplitude is below this are rejected as silent.
        n_fft: STFT size (93 ms at 22050 Hz).
        hop_length: STFT hop (23 ms at 22050 Hz).
        res_type: resampler; soxr is fast and good enough for features.
    """

    sr: int = 22050
    max_seconds: float = 30.0
    min_seconds: float = 0.5
    silence_peak: float = 1e-4
    n_fft: int = 2048
    hop_length: int = 512
    res_type: str = "soxr_hq"


# --------------------------------------------------------------------------------------------
# Decoding


_NON_AUDIO_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
}
_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def _sniff_non_audio(head: bytes) -> str | None:
    """Name the kind of a file that is clearly not audio, from its first bytes."""
    for magic, what in _NON_AUDIO_MAGIC.items():
        if head.startswith(magic):
            return what
    if head and all(b in _TEXT_BYTES for b in head):
        return "a text file"
    return None


def _centre_window(y: np.ndarray, sr: float, max_seconds: float) -> np.ndarray:
    win = int(round(max_seconds * sr))
    if y.shape[-1] <= win:
        return y
    start = (y.shape[-1] - win) // 2
    return y[..., start : start + win]


def _read_soundfile(path: Path, max_seconds: float) -> tuple[np.ndarray, int, float]:
    """Decode the middle window with libsndfile, seeking so long files are never read whole.

    Returns:
        ``(y, sr, duration)``: y float32 (n, channels) at the file's rate, duration of the file (s).
    """
    import soundfile as sf

    with sf.SoundFile(path) as f:
        sr, frames = f.samplerate, f.frames
        win = int(round(max_seconds * sr))
        if frames > win and f.seekable():
            f.seek((frames - win) // 2)
            y = f.read(win, dtype="float32", always_2d=True)
        else:
            y = _centre_window(f.read(dtype="float32", always_2d=True).T, sr, max_seconds).T
    return y, sr, frames / sr


def _read_audioread(path: Path, max_seconds: float) -> tuple[np.ndarray, int, float]:
    """Fallback for formats libsndfile lacks (needs an audioread backend such as ffmpeg)."""
    import librosa

    with warnings.catch_warnings():
        # audioread imports deprecated stdlib modules; librosa warns that soundfile failed (known)
        # and that its audioread path is deprecated. The outcome is a signal or a ValueError.
        warnings.simplefilter("ignore")
        import audioread

        with audioread.audio_open(str(path)) as f:
            duration = float(f.duration)
        offset = max(0.0, (duration - max_seconds) / 2)
        y, sr = librosa.load(path, sr=None, mono=False, offset=offset, duration=max_seconds)
    return np.atleast_2d(y).T.astype(np.float32), int(sr), duration


def load_audio(path: str | Path, cfg: AudioConfig | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file to a mono float32 signal at ``cfg.sr``.

    Reads whatever libsndfile reads (wav, flac, ogg, mp3, aiff, ...), any rate, any channel
    count. Files longer than ``cfg.max_seconds`` contribute only their middle window.

    Args:
        path: audio file.
        cfg: decoding settings (default ``AudioConfig()``).

    Returns:
        ``(y, sr)``: y float32 (n,) with ``n <= cfg.max_seconds * cfg.sr``; sr == ``cfg.sr``.

    Raises:
        ValueError: naming the file, if it is missing, empty, not audio, corrupt, shorter than
            ``cfg.min_seconds`` or silent.
    """
    import librosa
    import soundfile as sf

    cfg = cfg or AudioConfig()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: audio file not found")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        raise ValueError(f"{path}: empty file (0 bytes)")
    what = _sniff_non_audio(head)
    if what is not None:
        raise ValueError(f"{path}: not an audio file (looks like {what})")
    try:
        y, sr, duration = _read_soundfile(path, cfg.max_seconds)
    except (sf.LibsndfileError, RuntimeError, OSError, EOFError) as sf_err:
        try:
            y, sr, duration = _read_audioread(path, cfg.max_seconds)
        except Exception:  # audioread raises many unrelated types; libsndfile's reason is enough
            raise ValueError(
                f"{path}: not a readable audio file (unknown format or corrupt: {sf_err})"
            ) from None
    if y.size == 0:
        raise ValueError(f"{path}: no audio samples could be decoded (corrupt?)")
    if duration < cfg.min_seconds:
        raise ValueError(f"{path}: too short ({duration:.2f} s < {cfg.min_seconds} s)")
    if not np.isfinite(y).all():
        raise ValueError(f"{path}: corrupt audio (NaN or infinite samples)")
    y = y.mean(axis=1)
    peak = float(np.abs(y).max())
    if peak < cfg.silence_peak:
        raise ValueError(f"{path}: silent (peak amplitude {peak:.2e} < {cfg.silence_peak:.0e})")
    if sr != cfg.sr:
        y = librosa.resample(y, orig_sr=sr, target_sr=cfg.sr, res_type=cfg.res_type)
    return np.ascontiguousarray(y[: int(cfg.max_seconds * cfg.sr)], dtype=np.float32), cfg.sr


# --------------------------------------------------------------------------------------------
# Features


@functools.lru_cache(maxsize=8)
def _filterbanks(sr: int, n_fft: int) -> tuple[Any, Any]:
    """Mel (n_mels, 1 + n_fft/2) and chroma (12, 1 + n_fft/2) filterbanks as sparse arrays.

    Sparse products skip the zeros (98% of the mel bank) and stay off BLAS, whose thread pool
    made these two products 100x slower on a busy machine and made results depend on threads.
    """
    import librosa
    import scipy.sparse

    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=_N_MELS).astype(np.float32)
    # tuning=0: librosa's default tuning estimate (piptrack) would cost more than all else.
    chroma = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0).astype(np.float32)
    return scipy.sparse.csr_array(mel), scipy.sparse.csr_array(chroma)


def _mean_std(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.atleast_2d(a)
    return a.mean(axis=1), a.std(axis=1)


def extract_features(y: np.ndarray, sr: int, cfg: AudioConfig | None = None) -> np.ndarray:
    """Fixed-length content descriptor of a signal (columns named by ``FEATURE_NAMES``).

    The signal is mixed to mono, resampled to ``cfg.sr`` and cut to its middle
    ``cfg.max_seconds``. Frame-level features are summarised by mean and std over time;
    centroid, bandwidth and rolloff are divided by Nyquist so they lie in [0, 1].

    Args:
        y: float (n,) mono or (channels, n) multichannel signal (librosa layout).
        sr: sample rate of ``y``.
        cfg: analysis settings (default ``AudioConfig()``).

    Returns:
        float32 (F,) with ``F == len(FEATURE_NAMES)``; finite even for silence.

    Raises:
        ValueError: if ``y`` is empty or not finite.
    """
    import librosa

    cfg = cfg or AudioConfig()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"signal must be non-empty (n,) or (channels, n), got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("signal contains NaN or infinite samples")
    if sr != cfg.sr:
        y = librosa.resample(y, orig_sr=sr, target_sr=cfg.sr, res_type=cfg.res_type)
    sr, hop, n_fft = cfg.sr, cfg.hop_length, cfg.n_fft
    y = np.ascontiguousarray(_centre_window(y, sr, cfg.max_seconds))

    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))  # (1 + n_fft/2, T) magnitude
    P = S**2
    mel_fb, chroma_fb = _filterbanks(sr, n_fft)
    mel_db = librosa.power_to_db(mel_fb @ P)  # (n_mels, T), top_db=80 below the clip's max
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=_N_MFCC)  # (20, T)
    chroma = librosa.util.normalize(chroma_fb @ P, norm=np.inf, axis=0)  # (12, T)
    # Floor at -80 dB below the clip's peak (as mel_db): otherwise an empty band's contrast is a
    # ratio of noise floors, which depends on the file's rate and codec rather than the music.
    S_floor = np.maximum(S, 1e-4 * S.max())
    contrast = librosa.feature.spectral_contrast(S=S_floor, sr=sr, n_fft=n_fft, hop_length=hop)
    nyquist = sr / 2
    centroid = librosa.feature.spectral_centroid(S=S, sr=sr) / nyquist
    bandwidth = librosa.feature.spectral_bandwidth(S=S, sr=sr, centroid=centroid * nyquist)
    rolloff = librosa.feature.spectral_rolloff(S=S, sr=sr) / nyquist
    flatness = librosa.feature.spectral_flatness(S=S)
    rms_db = librosa.amplitude_to_db(librosa.feature.rms(S=S, frame_length=n_fft), top_db=None)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)

    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop)  # (T,)
    tg = librosa.feature.tempogram(onset_envelope=onset, sr=sr, hop_length=hop)  # (384, T)
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=sr, hop_length=hop, tg=tg)[0]
    # Pulse clarity: height of the strongest periodicity in 30..300 BPM of the mean tempogram
    # (lag 0 is normalised to 1), i.e. how clearly the music has a beat.
    bpm_times_lag = 60.0 * sr / hop
    ac = tg.mean(axis=1)
    lo, hi = int(np.ceil(bpm_times_lag / 300)), min(int(bpm_times_lag / 30), len(ac) - 1)
    pulse = float(ac[lo : hi + 1].max() / ac[0]) if ac[0] > 0 else 0.0

    frame_feats = [mfcc, chroma, contrast, centroid, bandwidth / nyquist, rolloff, flatness]
    frame_feats += [onset, rms_db, zcr]
    stats = [_mean_std(f) for f in frame_feats]
    out = np.concatenate(
        [m for m, _ in stats] + [s for _, s in stats] + [np.array([tempo, pulse])]
    ).astype(np.float32)
    assert out.shape == (len(FEATURE_NAMES),), out.shape
    # Fully silent input gives 0/0 in a few normalisations; those features are simply 0.
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def extract_file(path: str | Path, cfg: AudioConfig | None = None) -> np.ndarray:
    """``extract_features(*load_audio(path, cfg), cfg)``: float32 (F,). Raises ValueError."""
    y, sr = load_audio(path, cfg)
    return extract_features(y, sr, cfg)


def warmup() -> None:
    """Run the extractor once on 1 s of noise so numba compiles outside request paths."""
    cfg = AudioConfig()
    noise = 0.1 * as_rng(0).standard_normal(cfg.sr).astype(np.float32)
    extract_features(noise, cfg.sr, cfg)


# --------------------------------------------------------------------------------------------
# Catalog


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
            return extract_file(path, cfg), None
        y, sr = renderer(uri)
        return extract_features(y, sr, cfg), None
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


def _table_features(dataset: Dataset, table) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    names = [
        c for c in table.columns if c != "track_uri" and np.issubdtype(table[c].dtype, np.number)
    ]
    aligned = table.drop_duplicates("track_uri").set_index("track_uri")[names]
    X = aligned.reindex(dataset.tracks["track_uri"].astype(str)).to_numpy(np.float32, copy=True)
    mask = np.isfinite(X).all(axis=1)
    X[~mask] = 0.0
    return X, mask, names, "table"


def catalog_features(
    dataset: Dataset,
    *,
    cache_dir: str | Path | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    renderer: Callable[[str], tuple[np.ndarray, int]] | None = None,
    cfg: AudioConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Content features for every track of a dataset, aligned to its track index.

    With ``features.csv|parquet`` in the folder, its numeric columns are used (source
    ``"table"``). Otherwise (source ``"audio"``) features come from the cache
    ``<root>/cache/features-<EXTRACTOR_VERSION>.npz`` or are extracted from each track's
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
        ``(X, mask, names, source)``: X float32 (N, F), zero rows where mask is False;
        mask bool (N,); names list of F column names; source ``"audio"`` or ``"table"``.
    """
    from tqdm.auto import tqdm

    from musig.data import load_feature_table

    root = Path(dataset.root)
    table = load_feature_table(root)
    if table is not None:
        return _table_features(dataset, table)

    cfg = cfg or AudioConfig()
    uris = dataset.tracks["track_uri"].astype(str).tolist()
    audio = dataset.tracks["audio"].fillna("").astype(str).str.strip().tolist()
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
    for i, (uri, rel) in enumerate(zip(uris, audio, strict=True)):
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
        return X, mask, list(FEATURE_NAMES), "audio"

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
    return X, mask, list(FEATURE_NAMES), "audio"


# --------------------------------------------------------------------------------------------
# Scaling


@dataclass
class FeatureScaler:
    """Standardise features with statistics of the masked rows, then clip to ``±clip``.

    Clipping keeps outliers bounded, e.g. real uploaded music scored against a synthetic
    catalog whose feature ranges are narrow.

    Attributes:
        mean: float32 (F,) column means (None before ``fit``).
        std: float32 (F,) column stds, floored at ``min_std``.
        clip: bound on the absolute standardised value.
        min_std: floor for constant columns.
    """

    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    clip: float = 8.0
    min_std: float = 1e-6

    def fit(self, X: np.ndarray, mask: np.ndarray | None = None) -> FeatureScaler:
        """Fit on rows of X float (N, F) where mask bool (N,) is True (all rows if None)."""
        X = np.asarray(X, dtype=np.float64)
        rows = X if mask is None else X[np.asarray(mask, dtype=bool)]
        if rows.shape[0] == 0:
            raise ValueError("FeatureScaler.fit: no rows with features (mask is all False)")
        self.mean = rows.mean(axis=0).astype(np.float32)
        self.std = np.maximum(rows.std(axis=0), self.min_std).astype(np.float32)
        return self

    def transform(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Scaled float32 copy of X (N, F) or (F,); rows where mask is False become 0."""
        if self.mean is None or self.std is None:
            raise ValueError("FeatureScaler.transform called before fit")
        X = np.asarray(X, dtype=np.float32)
        if X.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"expected {self.mean.shape[0]} feature columns, got {X.shape[-1]}")
        Z = np.clip((X - self.mean) / self.std, -self.clip, self.clip).astype(np.float32)
        if mask is not None:
            Z[~np.asarray(mask, dtype=bool)] = 0.0
        return Z

    def fit_transform(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, mask).transform(X, mask)

    def to_dict(self) -> dict:
        """Plain-list form for JSON (or ``np.asarray`` per key for safetensors)."""
        if self.mean is None or self.std is None:
            raise ValueError("FeatureScaler.to_dict called before fit")
        return {
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "clip": float(self.clip),
            "min_std": float(self.min_std),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureScaler:
        return cls(
            mean=np.asarray(d["mean"], dtype=np.float32),
            std=np.asarray(d["std"], dtype=np.float32),
            clip=float(d.get("clip", 8.0)),
            min_std=float(d.get("min_std", 1e-6)),
        )
