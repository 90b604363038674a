"""Tests for musig.audio: decoding, the feature extractor, the catalog cache and the scaler."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musig import audio
from musig.audio import FEATURE_NAMES, AudioConfig, FeatureScaler
from musig.data import load_dataset, write_dataset

COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
NYQUIST = AudioConfig().sr / 2


def tone(freq: float, sr: int, seconds: float = 3.0, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def song(sr: int, seconds: float = 6.0) -> np.ndarray:
    """Harmonic notes struck every 0.5 s (120 BPM); defined in continuous time, so any rate."""
    t = np.arange(int(seconds * sr)) / sr
    env = 0.3 + 0.7 * np.exp(-(t % 0.5) / 0.08)
    partials = [(0.4, 220), (0.2, 440), (0.1, 660), (0.05, 1320), (0.03, 2640)]
    y = sum(a * np.sin(2 * np.pi * f * t) for a, f in partials)
    return (0.8 * env * y).astype(np.float32)


def click_track(bpm: float, sr: int = 22050, seconds: float = 10.0) -> np.ndarray:
    y = np.zeros(int(seconds * sr), np.float32)
    n = int(0.01 * sr)
    click = np.random.default_rng(0).standard_normal(n) * np.exp(-np.arange(n) / 50)
    for start in (np.arange(0, seconds, 60 / bpm) * sr).astype(int):
        seg = y[start : start + n]
        seg += 0.5 * click[: len(seg)].astype(np.float32)
    return y


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
    assert sr == 22050 and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 2 * 22050) <= 2
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
    assert audio.extract_features(loaded, sr)[COL["centroid_mean"]] == pytest.approx(
        1000 / NYQUIST, abs=0.01
    )
    short, _ = audio.load_audio(path, AudioConfig(max_seconds=5.0))
    assert len(short) == 5 * sr


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
        "noise.wav": "not a readable audio file",
        "silent.wav": "silent",
        "short.wav": "too short",
        "missing.ogg": "not found",
    }


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    for name, reason in _bad_files(tmp_path).items():
        with pytest.raises(ValueError, match=reason) as err:
            audio.load_audio(tmp_path / name)
        assert name in str(err.value)


def test_scaler_fit_transform_clip_and_round_trip():
    X = np.array([[1.0, 10.0], [3.0, 10.0], [100.0, 0.0], [5.0, 10.0]], np.float32)
    mask = np.array([True, True, False, True])
    sc = FeatureScaler().fit(X, mask)
    np.testing.assert_allclose(sc.mean, [3.0, 10.0])
    np.testing.assert_allclose(sc.std, [np.sqrt(8 / 3), 1e-6], rtol=1e-6)
    Z = sc.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:2, 0], [-np.sqrt(1.5), 0.0], rtol=1e-6)
    assert Z[2, 0] == 8.0 and Z[2, 1] == -8.0  # outlier row and constant column: clipped
    np.testing.assert_array_equal(sc.transform(X, mask)[2], [0.0, 0.0])
    back = FeatureScaler.from_dict(json.loads(json.dumps(sc.to_dict())))
    np.testing.assert_array_equal(back.transform(X), Z)
    with pytest.raises(ValueError, match="mask"):
        FeatureScaler().fit(X, np.zeros(4, bool))
    with pytest.raises(ValueError, match="before fit"):
        FeatureScaler().transform(X)


# ---------------------------------------------------------------------------------------------
# catalog_features


@pytest.fixture
def catalog(tmp_path):
    """Dataset whose tracks are: good wav, good flac, no audio, missing file, corrupt file;
    plus one playlist-only track."""
    root = tmp_path / "ds"
    tracks = pd.DataFrame(
        {
            "track_uri": [f"spotify:track:t{i}" for i in range(5)],
            "track_name": [f"T{i}" for i in range(5)],
            "artist_name": ["A"] * 5,
            "duration_ms": [3000] * 5,
            "genre": ["g"] * 5,
            "audio": ["audio/t0.wav", "audio/t1.flac", "", "audio/t3.wav", "audio/t4.wav"],
        }
    )
    playlists = [{"pid": 0, "name": "p", "tracks": [*tracks["track_uri"], "spotify:track:x"]}]
    write_dataset(root, tracks, playlists)
    (root / "audio").mkdir()
    sf.write(root / "audio/t0.wav", tone(440, 22050), 22050)
    sf.write(root / "audio/t1.flac", song(44100, seconds=3.0), 44100)
    (root / "audio/t4.wav").write_text("corrupt")
    return load_dataset(root)


def _catalog(ds, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = audio.catalog_features(ds, progress=False, **kw)
    return out, [str(w.message) for w in caught]


def test_catalog_extracts_masks_and_caches(catalog, monkeypatch):
    (X, mask, names, source), msgs = _catalog(catalog)
    assert source == "audio" and names == FEATURE_NAMES
    assert X.shape == (6, len(FEATURE_NAMES)) and X.dtype == np.float32
    np.testing.assert_array_equal(mask, [True, True, False, False, False, False])
    assert not X[~mask].any()
    np.testing.assert_array_equal(X[0], audio.extract_file(catalog.root / "audio/t0.wav"))
    assert any("t4.wav" in m for m in msgs)  # unreadable file warned, not fatal
    assert any("1 tracks' audio files are missing" in m for m in msgs)

    with np.load(catalog.root / "cache/features-v1.npz", allow_pickle=False) as z:
        assert sorted(z["track_uri"]) == ["spotify:track:t0", "spotify:track:t1"]

    real = audio.extract_file

    def only_uncached(path, cfg=None):
        assert "t4" in str(path), f"{path} extracted despite the cache"  # failures are retried
        return real(path, cfg)

    monkeypatch.setattr(audio, "extract_file", only_uncached)
    (X2, mask2, _, _), _ = _catalog(catalog)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(mask2, mask)


def test_catalog_renders_missing_audio(catalog):
    def render(uri):
        assert uri == "spotify:track:t3"
        return tone(3000, 16000), 16000

    (X, mask, _, _), _ = _catalog(catalog, renderer=render)
    np.testing.assert_array_equal(mask, [True, True, False, True, False, False])
    np.testing.assert_array_equal(X[3], audio.extract_features(tone(3000, 16000), 16000))


@pytest.mark.parametrize("via_env", [False, True])
def test_catalog_read_only_folder_caches_elsewhere(catalog, tmp_path, monkeypatch, via_env):
    # Running as root, chmod cannot make a folder read-only; patch the check instead.
    monkeypatch.setattr(audio, "_is_writable", lambda path: False)
    other = tmp_path / "elsewhere"
    if via_env:
        monkeypatch.setenv("MUSIG_CACHE_DIR", str(other))
    (X, mask, _, _), _ = _catalog(catalog, cache_dir=None if via_env else other)
    assert not (catalog.root / "cache").exists()
    cache = other / catalog.fingerprint / "features-v1.npz"
    assert cache.is_file()
    (catalog.root / "audio/t4.wav").unlink()
    monkeypatch.setattr(audio, "extract_file", lambda *a, **k: pytest.fail("not cached"))
    (X2, _, _, _), _ = _catalog(catalog, cache_dir=None if via_env else other)
    np.testing.assert_array_equal(X2, X)


def test_catalog_parallel_matches_serial(catalog):
    (X1, m1, _, _), _ = _catalog(catalog)
    (catalog.root / "cache/features-v1.npz").unlink()
    (X2, m2, _, _), _ = _catalog(catalog, n_jobs=2)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(m1, m2)


def test_catalog_uses_feature_table(tmp_path):
    root = tmp_path / "ds"
    tracks = pd.DataFrame({"track_uri": ["u:a", "u:b", "u:c"], "audio": ["a.wav", "", ""]})
    table = b"track_uri,energy,valence\nu:c,0.5,0.25\nu:a,1.0,\nu:zz,3,3\n"
    write_dataset(root, tracks, [{"pid": 1, "tracks": ["u:a", "u:b"]}])
    (root / "features.csv").write_bytes(table)
    (X, mask, names, source), _ = _catalog(load_dataset(root))
    assert source == "table" and names == ["energy", "valence"]
    np.testing.assert_array_equal(mask, [False, False, True])  # u:a has a NaN, u:b is absent
    np.testing.assert_array_equal(X, [[0, 0], [0, 0], [0.5, 0.25]])
    assert X.dtype == np.float32


def test_catalog_survives_bad_cache_and_unwritable_cache(catalog, monkeypatch):
    (X, mask, _, _), _ = _catalog(catalog)
    (catalog.root / "cache/features-v1.npz").write_bytes(b"not a zip")

    def refuse(*a, **k):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(audio, "_write_cache", refuse)
    (X2, mask2, _, _), msgs = _catalog(catalog)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(mask2, mask)
    assert any("ignoring unreadable feature cache" in m for m in msgs)
    assert any("feature cache not saved" in m for m in msgs)
