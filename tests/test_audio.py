"""Tests for musig.audio: decoding, the feature extractor, the catalog cache and the scaler."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf
from signals import click_track, song, tone

from musig import audio
from musig.audio import FEATURE_NAMES, AudioConfig

COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
NYQUIST = AudioConfig().sr / 2


@pytest.fixture(scope="module", autouse=True)
def _warm():
    audio.warmup()


def test_feature_names_unique():
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 94
    assert {"tempo_bpm", "centroid_mean", "mfcc00_std", "chroma_A_mean"} <= set(FEATURE_NAMES)


def test_vector_shape_dtype_finite_and_deterministic(tmp_path):
    path = tmp_path / "song.wav"
    sf.write(path, song(22050), 22050)
    a = audio.extract_file(path)
    b = audio.extract_file(path)
    assert a.shape == (len(FEATURE_NAMES),) and a.dtype == np.float32
    assert np.isfinite(a).all()
    assert np.array_equal(a, b)


def test_centroid_of_pure_tones_is_their_frequency():
    low = audio.extract_features(tone(440, 22050), 22050)
    high = audio.extract_features(tone(3000, 22050), 22050)
    assert low[COL["centroid_mean"]] == pytest.approx(440 / NYQUIST, abs=0.01)
    assert high[COL["centroid_mean"]] == pytest.approx(3000 / NYQUIST, abs=0.01)
    # A (440 Hz) dominates the chroma of an A tone.
    chroma = low[[COL[f"chroma_{p}_mean"] for p in audio._PITCHES]]
    assert audio._PITCHES[int(np.argmax(chroma))] == "A"


@pytest.mark.parametrize("bpm", [90, 120])
def test_tempo_of_click_track(bpm):
    feats = audio.extract_features(click_track(bpm), 22050)
    assert abs(feats[COL["tempo_bpm"]] - bpm) <= 5
    assert feats[COL["pulse_clarity"]] > 0.5


def test_silence_and_tiny_signals_give_finite_features():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa: n_fft larger than the 100-sample signal
        for y in (np.zeros(22050, np.float32), np.full(100, 0.1, np.float32)):
            feats = audio.extract_features(y, 22050)
            assert feats.shape == (len(FEATURE_NAMES),) and np.isfinite(feats).all()
    with pytest.raises(ValueError, match="non-empty"):
        audio.extract_features(np.zeros(0, np.float32), 22050)
    with pytest.raises(ValueError, match="NaN"):
        audio.extract_features(np.full(1000, np.nan, np.float32), 22050)


def test_sample_rate_barely_matters(tmp_path):
    sf.write(tmp_path / "a.wav", song(22050), 22050)
    sf.write(tmp_path / "b.flac", song(44100), 44100)
    a = audio.extract_file(tmp_path / "a.wav")
    b = audio.extract_file(tmp_path / "b.flac")
    for name in ("centroid_mean", "rolloff_mean", "bandwidth_mean", "zcr_mean"):
        assert b[COL[name]] == pytest.approx(a[COL[name]], abs=0.01), name
    assert b[COL["rms_db_mean"]] == pytest.approx(a[COL["rms_db_mean"]], abs=0.5)
    assert b[COL["tempo_bpm"]] == pytest.approx(a[COL["tempo_bpm"]], abs=1)
    rel = np.abs(a - b) / (np.abs(a) + 1.0)
    assert np.median(rel) < 0.02


def test_stereo_equals_mono(tmp_path):
    y = song(22050)
    sf.write(tmp_path / "mono.wav", y, 22050)
    sf.write(tmp_path / "stereo.wav", np.stack([y, y], axis=1), 22050)
    np.testing.assert_allclose(
        audio.extract_file(tmp_path / "mono.wav"), audio.extract_file(tmp_path / "stereo.wav")
    )
    # (channels, n) arrays are mixed the same way.
    np.testing.assert_allclose(
        audio.extract_features(np.stack([y, y]), 22050), audio.extract_features(y, 22050)
    )


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_formats_load(tmp_path, ext):
    path = tmp_path / f"x.{ext}"
    sf.write(path, tone(1000, 32000, seconds=2.0), 32000)
    y, sr = audio.load_audio(path)
    assert sr == AudioConfig().sr and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 2 * sr) <= 2
    feats = audio.extract_file(path)
    assert feats[COL["centroid_mean"]] == pytest.approx(1000 / NYQUIST, abs=0.01)


def test_long_file_only_middle_is_read(tmp_path):
    # 30 s at 200 Hz, 30 s at 1000 Hz, 30 s at 3000 Hz: the middle window is the 1000 Hz part.
    sr = 22050
    y = np.concatenate([tone(f, sr, seconds=30.0) for f in (200, 1000, 3000)])
    path = tmp_path / "long.flac"
    sf.write(path, y, sr)
    cfg = AudioConfig()
    loaded, _ = audio.load_audio(path, cfg)
    assert len(loaded) == int(cfg.max_seconds * cfg.sr)
    assert audio.extract_features(loaded, cfg.sr)[COL["centroid_mean"]] == pytest.approx(
        1000 / NYQUIST, abs=0.01
    )
    short, _ = audio.load_audio(path, AudioConfig(max_seconds=5.0))
    assert len(short) == 5 * cfg.sr


def _bad_files(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("this is not audio\n")
    (tmp_path / "cover.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    rng = np.random.default_rng(0)
    (tmp_path / "noise.wav").write_bytes(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    sf.write(tmp_path / "silent.wav", np.zeros(22050, np.float32), 22050)
    sf.write(tmp_path / "short.wav", tone(440, 22050, seconds=0.2), 22050)
    return {
        "empty.wav": "empty",
        "notes.wav": "text",
        "cover.mp3": "PNG",
        "noise.wav": "not an audio file",
        "silent.wav": "silent",
        "short.wav": "too short",
        "missing.ogg": "not found",
    }


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    for name, reason in _bad_files(tmp_path).items():
        with pytest.raises(ValueError, match=reason) as err:
            audio.load_audio(tmp_path / name)
        assert name in str(err.value)
