"""Audio features of a whole dataset: extraction, its on-disk cache and worker processes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from signals import song, tone

from musig import audio, audio_cache, features
from musig.audio import EXTRACTOR_VERSION, FEATURE_NAMES
from musig.data import load_dataset
from musig.writer import write_dataset

CACHE = f"features-{EXTRACTOR_VERSION}.npz"


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
        out = features.catalog_features(ds, progress=False, **kw)
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

    with np.load(catalog.root / "cache" / CACHE, allow_pickle=False) as z:
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
    monkeypatch.setattr(audio_cache, "_is_writable", lambda path: False)
    other = tmp_path / "elsewhere"
    if via_env:
        monkeypatch.setenv("MUSIG_CACHE_DIR", str(other))
    (X, mask, _, _), _ = _catalog(catalog, cache_dir=None if via_env else other)
    assert not (catalog.root / "cache").exists()
    cache = other / catalog.fingerprint / CACHE
    assert cache.is_file()
    (catalog.root / "audio/t4.wav").unlink()
    monkeypatch.setattr(audio, "extract_file", lambda *a, **k: pytest.fail("not cached"))
    (X2, _, _, _), _ = _catalog(catalog, cache_dir=None if via_env else other)
    np.testing.assert_array_equal(X2, X)


def test_catalog_parallel_matches_serial(catalog):
    (X1, m1, _, _), _ = _catalog(catalog)
    (catalog.root / "cache" / CACHE).unlink()
    (X2, m2, _, _), _ = _catalog(catalog, n_jobs=2)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(m1, m2)


def test_catalog_survives_bad_cache_and_unwritable_cache(catalog, monkeypatch):
    (X, mask, _, _), _ = _catalog(catalog)
    (catalog.root / "cache" / CACHE).write_bytes(b"not a zip")

    def refuse(*a, **k):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(audio_cache, "_write_cache", refuse)
    (X2, mask2, _, _), msgs = _catalog(catalog)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(mask2, mask)
    assert any("ignoring unreadable feature cache" in m for m in msgs)
    assert any("feature cache not saved" in m for m in msgs)
