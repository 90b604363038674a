"""Which audio formats a music library may hold, and how to write encoded copies of a signal.

Decoding goes through :func:`musig.audio.load_audio` (libsndfile: wav, flac, ogg/vorbis,
ogg/opus, mp3, aiff). AAC in MP4 (m4a) and raw ADTS (aac) need an ffmpeg-backed decoder, which
libsndfile does not have; :func:`needs_ffmpeg` says when such a file cannot be read here.

:func:`write_encoded` makes lossy and lossless copies with libsndfile's own encoders (LAME for
MP3, libvorbis, libopus, FLAC), so codec robustness can be measured without ffmpeg.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Extensions scanned as audio; anything else in a library folder is ignored (covers, text, ...).
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".m4a", ".aac"}
)
LOSSLESS_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".aif", ".aiff"})
FFMPEG_EXTENSIONS = frozenset({".m4a", ".aac"})  # AAC: no libsndfile decoder
PLAYLIST_EXTENSIONS = frozenset({".m3u", ".m3u8", ".pls"})


def needs_ffmpeg(path: str | Path) -> bool:
    """True for an m4a/aac file on a machine without ``ffmpeg`` (it cannot be decoded here)."""
    return Path(path).suffix.lower() in FFMPEG_EXTENSIONS and shutil.which("ffmpeg") is None


@dataclass(frozen=True)
class Encoding:
    """One way of storing a signal: a container, a codec and a target bitrate.

    Attributes:
        name: short label, e.g. ``"mp3-128"``.
        ext: file extension with the dot.
        format / subtype: libsndfile's names (``soundfile.available_subtypes(format)``).
        kbps: target bitrate of a lossy codec (None for lossless).
        sr: rate the signal is resampled to before encoding (None: keep), e.g. Opus needs 48 kHz
            and a 32 kb/s MP3 is MPEG-2 at 22.05 kHz, as LAME itself resamples it.
    """

    name: str
    ext: str
    format: str
    subtype: str
    kbps: int | None = None
    sr: int | None = None

    @property
    def lossless(self) -> bool:
        return self.kbps is None


def mp3(kbps: int, sr: int | None = None) -> Encoding:
    """Constant-bitrate MP3 (LAME) at ``kbps``."""
    return Encoding(f"mp3-{kbps}", ".mp3", "MP3", "MPEG_LAYER_III", kbps, sr)


# Every format libsndfile writes here, lossless and at 128 kb/s or more, plus one bad MP3.
ENCODINGS: dict[str, Encoding] = {
    e.name: e
    for e in (
        Encoding("wav", ".wav", "WAV", "PCM_16"),
        Encoding("flac", ".flac", "FLAC", "PCM_16"),
        mp3(128),
        mp3(192),
        mp3(320),
        Encoding("vorbis-128", ".ogg", "OGG", "VORBIS", 128),
        Encoding("vorbis-192", ".ogg", "OGG", "VORBIS", 192),
        Encoding("opus-128", ".opus", "OGG", "OPUS", 128, 48000),
        Encoding("opus-192", ".opus", "OGG", "OPUS", 192, 48000),
        mp3(32, 22050),
    )
}


def _compression_level(enc: Encoding, sr: int, channels: int) -> float:
    """libsndfile's ``compression_level`` in [0, 1] that gives ``enc.kbps``.

    libsndfile maps the level linearly onto each codec's bitrate range: LAME CBR from 320 to
    32 kb/s (MPEG-1, 32–48 kHz) or 160 to 8 kb/s (MPEG-2, lower rates); Opus from 256 to 6 kb/s
    per channel. Vorbis takes a quality instead; the levels below give about 128 and 192 kb/s
    (nominal, mono 44.1 kHz) and are checked against the written file's bitrate in the tests.
    """
    kbps = float(enc.kbps)
    if enc.subtype == "MPEG_LAYER_III":
        hi, lo = (320.0, 32.0) if sr >= 32000 else (160.0, 8.0)
    elif enc.subtype == "OPUS":
        hi, lo = 256.0 * channels, 6.0 * channels
    elif enc.subtype == "VORBIS":
        return float(np.interp(kbps, [96, 120, 140, 160, 240], [0.5, 0.3, 0.2, 0.1, 0.0]))
    else:
        raise ValueError(f"{enc.name}: no bitrate control for {enc.subtype}")
    return float(np.clip((hi - kbps) / (hi - lo), 0.0, 0.99))


def write_encoded(path: str | Path, y: np.ndarray, sr: int, enc: Encoding) -> Path:
    """Write a signal in one encoding.

    Args:
        path: output file; its extension is replaced by ``enc.ext``.
        y: float32 (n,) mono or (n, channels) signal in [-1, 1].
        sr: its sample rate.
        enc: the encoding, e.g. ``ENCODINGS["mp3-128"]``.

    Returns:
        The path written.
    """
    import soundfile as sf

    path = Path(path).with_suffix(enc.ext)
    y = np.asarray(y, dtype=np.float32)
    if enc.sr is not None and enc.sr != sr:
        import librosa

        y = librosa.resample(y.T, orig_sr=sr, target_sr=enc.sr, res_type="soxr_hq").T
        sr = enc.sr
    y = np.clip(y, -1.0, 1.0)
    kwargs = {}
    if enc.kbps is not None:
        channels = 1 if y.ndim == 1 else y.shape[1]
        kwargs["compression_level"] = _compression_level(enc, sr, channels)
        if enc.subtype == "MPEG_LAYER_III":
            kwargs["bitrate_mode"] = "CONSTANT"
    sf.write(path, y, sr, format=enc.format, subtype=enc.subtype, **kwargs)
    return path
