"""Content features from audio: decoding, and a fixed-length librosa descriptor per clip.

One magnitude STFT per clip feeds every spectral feature (mel/MFCC, chroma, contrast, centroid,
...), so a 30 s clip takes about 0.1 s on one core. :mod:`musig.features` applies it to a whole
dataset, with a cache.

Extractor v2 reads the same song in any common format (MP3, Ogg Vorbis, Opus at 128 kb/s and up,
FLAC) as nearly the same vector: it analyses 0–8 kHz only (lossy codecs low-pass, noise-fill and
drop detail mostly above that) and ignores spectral detail more than 50 dB below the clip's peak
(where codecs put their quantisation noise); ``benchmarks/bench_codecs.py`` measures it.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musig.utils import as_rng

if TYPE_CHECKING:
    pass

EXTRACTOR_VERSION = "v2"


class AudioWarning(UserWarning):
    """A file was decoded, but its features may mean little (truncated, clipped, DC only)."""


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
        sr: every clip is resampled to this rate, so features do not depend on the file's rate;
            16 kHz keeps 0–8 kHz, below where MP3/Vorbis/Opus low-pass or noise-fill.
        max_seconds: only a window of this length from the middle of a file is decoded/analysed,
            which bounds time and memory for long uploads.
        min_seconds: shorter files are rejected; tempo and statistics mean little below this.
        silence_peak: files whose peak amplitude is below this are rejected as silent.
        n_fft: STFT size (128 ms at 16 kHz: 7.8 Hz bins, fine enough for low chroma).
        hop_length: STFT hop (23 ms at 16 kHz, the tempo resolution).
        floor_db: mel power and spectral-contrast valleys are floored this far below the clip's
            peak: the quieter detail is where lossy codecs put their quantisation noise.
        res_type: resampler; soxr is fast and good enough for features.
    """

    sr: int = 16000
    max_seconds: float = 30.0
    min_seconds: float = 0.5
    silence_peak: float = 1e-4
    n_fft: int = 2048
    hop_length: int = 368
    floor_db: float = 50.0
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


# Containers libsndfile (and ffmpeg, for MP4) reads; anything else is refused before decoding,
# so random bytes never reach a decoder (mpg123 would print its own complaints to stderr).
_AUDIO_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"fLaC", b"OggS", b"ID3", b"FORM",
                b".snd", b"caff")  # fmt: skip


def _sniff_non_audio(head: bytes) -> str | None:
    """Why a file is not audio, from its first bytes; None for audio."""
    for magic, what in _NON_AUDIO_MAGIC.items():
        if head.startswith(magic):
            return f"looks like {what}"
    if head and all(b in _TEXT_BYTES for b in head):
        return "looks like a text file"
    mpeg_sync = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # MP3/ADTS frame
    if head.startswith(_AUDIO_MAGIC) or mpeg_sync or head[4:8] == b"ftyp":
        return None
    return "no WAV, FLAC, Ogg, MP3, AIFF, AU, CAF or MP4 header"


def _os_reason(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symlink loop"
    if e.errno == errno.ENOENT:
        return "audio file not found"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "cannot read the file (permission denied)"
    return f"cannot read the file ({e.strerror or e})"


def _read_head(path: Path) -> bytes:
    """The first 512 bytes; a folder, a symlink loop or an unreadable file is a ValueError."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"{path}: is a folder, not an audio file")
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path}: not a regular file (a device, pipe or socket)")
        with open(path, "rb") as fh:
            return fh.read(512)
    except OSError as e:
        raise ValueError(f"{path}: {_os_reason(e)}") from None


def _truncation(info: str, frames: int, sr: int) -> str | None:
    """What libsndfile's header log says about a data chunk longer than the file, or None."""
    m = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", info, re.MULTILINE)
    if m is None or int(m[1]) <= int(m[2]) or frames == 0:
        return None
    declared = frames / sr * int(m[1]) / max(int(m[2]), 1)
    return f"truncated: the header declares {declared:.1f} s, the file holds {frames / sr:.1f} s"


def _centre_window(y: np.ndarray, sr: float, max_seconds: float) -> np.ndarray:
    win = int(round(max_seconds * sr))
    if y.shape[-1] <= win:
        return y
    start = (y.shape[-1] - win) // 2
    return y[..., start : start + win]


def _read_soundfile(path: Path, max_seconds: float) -> tuple[np.ndarray, int, float]:
    """Decode the middle window with libsndfile, seeking so long files are never read whole:
    reads are bounded by ``max_seconds`` whatever length the header declares.

    Returns:
        ``(y, sr, duration)``: y float32 (n, channels) at the file's rate, duration of the file (s).
    """
    import soundfile as sf

    # Bytes, not str: soundfile encodes a str path as strict UTF-8, which a file name that is
    # not UTF-8 (surrogate-escaped by Python) cannot be.
    with sf.SoundFile(os.fsencode(path)) as f:
        sr, frames = f.samplerate, f.frames
        win = int(round(max_seconds * sr))
        if frames > win and f.seekable():
            f.seek((frames - win) // 2)
            y = f.read(win, dtype="float32", always_2d=True)
            expected = win
        else:
            y = _centre_window(f.read(dtype="float32", always_2d=True).T, sr, max_seconds).T
            expected = min(frames, win)
        cut = _truncation(f.extra_info, frames, sr)
    if cut is None and 0 < len(y) < expected:  # a compressed stream that ends early
        cut = f"truncated: {frames / sr:.1f} s declared, decoding stopped early"
    if cut is not None:
        warnings.warn(f"{path}: {cut}", AudioWarning, stacklevel=3)
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
        ValueError: naming the file, if it is missing, a folder, a symlink loop, unreadable,
            empty, not audio, corrupt, shorter than ``cfg.min_seconds`` or silent.

    Warns:
        AudioWarning: the file is truncated (its header declares more than it holds), clipped,
            or only a constant offset: it decodes, but its features mean little.
    """
    import librosa
    import soundfile as sf

    cfg = cfg or AudioConfig()
    path = Path(path)
    head = _read_head(path)
    if not head:
        raise ValueError(f"{path}: empty file (0 bytes)")
    what = _sniff_non_audio(head)
    if what is not None:
        raise ValueError(f"{path}: not an audio file ({what})")
    try:
        y, sr, duration = _read_soundfile(path, cfg.max_seconds)
    except (sf.LibsndfileError, RuntimeError, OSError, EOFError) as sf_err:
        try:
            y, sr, duration = _read_audioread(path, cfg.max_seconds)
        except Exception:  # audioread raises many unrelated types; libsndfile's reason is enough
            why = getattr(sf_err, "error_string", "") or str(sf_err) or type(sf_err).__name__
            why = why.splitlines()[0]
            if "does not exist" in why:  # libsndfile's word for a format it cannot place
                why = "no decoder recognises it"
            raise ValueError(
                f"{path}: not a readable audio file (unknown format or corrupt: {why})"
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
    _warn_if_meaningless(path, y, peak, cfg)
    if sr != cfg.sr:
        y = librosa.resample(y, orig_sr=sr, target_sr=cfg.sr, res_type=cfg.res_type)
    return np.ascontiguousarray(y[: int(cfg.max_seconds * cfg.sr)], dtype=np.float32), cfg.sr


def _warn_if_meaningless(path: Path, y: np.ndarray, peak: float, cfg: AudioConfig) -> None:
    """Warn (AudioWarning) about a signal that decodes but whose descriptor says little."""
    if float(np.abs(y - y.mean()).max()) < cfg.silence_peak:
        warnings.warn(
            f"{path}: only a constant (DC) offset, no sound; its features mean little",
            AudioWarning,
            stacklevel=3,
        )
        return
    clipped = float(np.mean(np.abs(y) >= 0.999 * peak)) if peak > 0.98 else 0.0
    if clipped > 0.1:  # mastered music touches full scale on far fewer samples
        warnings.warn(
            f"{path}: clipped ({clipped:.0%} of samples at full scale); its features mean little",
            AudioWarning,
            stacklevel=3,
        )


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
    mel_db = librosa.power_to_db(mel_fb @ P, top_db=cfg.floor_db)  # (n_mels, T)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=_N_MFCC)  # (20, T)
    chroma = librosa.util.normalize(chroma_fb @ P, norm=np.inf, axis=0)  # (12, T)
    # Floor below the clip's peak (as mel_db): otherwise an empty band's contrast is a ratio of
    # noise floors, which depends on the file's rate and codec rather than the music.
    S_floor = np.maximum(S, 10 ** (-cfg.floor_db / 20) * S.max())
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
