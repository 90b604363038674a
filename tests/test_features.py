"""Dataset features: the scaler, and catalog extraction with its cache, workers and tables."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from signals import song, tone

from musig import audio, features
from musig.audio import EXTRACTOR_VERSION, FEATURE_NAMES
from musig.data import load_dataset
from musig.features import FeatureScaler, load_feature_table
from musig.writer import write_dataset

CACHE = f"features-{EXTRACTOR_VERSION}.npz"


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
    monkeypatch.setattr(features, "_is_writable", lambda path: False)
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
    (catalog.root / "cache" / CACHE).write_bytes(b"not a zip")

    def refuse(*a, **k):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(features, "_write_cache", refuse)
    (X2, mask2, _, _), msgs = _catalog(catalog)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(mask2, mask)
    assert any("ignoring unreadable feature cache" in m for m in msgs)
    assert any("feature cache not saved" in m for m in msgs)


def test_feature_table_csv_and_parquet(tmp_path: Path) -> None:
    assert load_feature_table(tmp_path) is None
    (tmp_path / "features.csv").write_text("track_uri,f1,f2\nu1,1.5,2\nu2,,3\nu3,nan,4\n")
    ft = load_feature_table(tmp_path)
    assert ft.columns.tolist() == ["track_uri", "f1", "f2"]
    assert ft["track_uri"].tolist() == ["u1", "u2", "u3"]
    assert ft["f1"].dtype == np.float32 and ft["f2"].dtype == np.float32
    np.testing.assert_array_equal(ft["f1"].to_numpy(), np.array([1.5, np.nan, np.nan], np.float32))
    assert isinstance(ft.index, pd.RangeIndex)

    (tmp_path / "features.csv").unlink()
    pd.DataFrame({"track_uri": ["a", "b"], "x": [1, 2], "flag": [True, False]}).to_parquet(
        tmp_path / "features.parquet"
    )
    ft = load_feature_table(tmp_path)
    np.testing.assert_array_equal(ft[["x", "flag"]].to_numpy(), [[1, 1], [2, 0]])
    (tmp_path / "features.csv").write_text("track_uri,f\nu,1\n")
    with pytest.raises(ValueError, match="both features.csv and features.parquet"):
        load_feature_table(tmp_path)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("uri,f1\nu1,1\n", r"features\.csv: missing required column 'track_uri'"),
        ("track_uri\nu1\n", r"features\.csv: needs at least one numeric"),
        ("track_uri,f1,mood\nu1,1,sad\n", r"features\.csv: column 'mood' is not numeric"),
        ("track_uri,f1\nu1,1\nu2,2\nu1,3\n", r"features\.csv: data row 3: duplicate track_uri"),
        ("track_uri,f1\nu1,1\n,2\n", r"features\.csv: data row 2: empty track_uri"),
        ("track_uri,f1\nu1,inf\n", r"column 'f1' has infinite"),
    ],
)
def test_feature_table_errors(tmp_path: Path, text: str, pattern: str) -> None:
    (tmp_path / "features.csv").write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_feature_table(tmp_path)
