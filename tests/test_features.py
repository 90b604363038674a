"""Dataset features: the scaler, feature tables, and which source a dataset's features come from."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musig import features
from musig.data import load_dataset
from musig.features import FeatureScaler, load_feature_table
from musig.writer import write_dataset


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


def _catalog(ds, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = features.catalog_features(ds, progress=False, **kw)
    return out, [str(w.message) for w in caught]


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
        ("track_uri,f1,mood\nu1,1,2\nu2,1,sad\n", r"data row 2: column 'mood' holds 'sad'"),
        ("track_uri,f1\n", r"features\.csv: no rows"),
        ("track_uri,f1\nu1,1\nu2,2\nu1,3\n", r"features\.csv: data row 3: duplicate track_uri"),
        ("track_uri,f1\nu1,1\n,2\n", r"features\.csv: data row 2: empty track_uri"),
        ("track_uri,f1\nu1,inf\n", r"column 'f1' has infinite"),
    ],
)
def test_feature_table_errors(tmp_path: Path, text: str, pattern: str) -> None:
    (tmp_path / "features.csv").write_text(text)
    with pytest.raises(ValueError, match=pattern):
        load_feature_table(tmp_path)


def test_feature_table_text_column_is_not_a_feature(tmp_path):
    (tmp_path / "features.csv").write_text("track_uri,f1,mood\nu1,1,sad\nu2,2,glad\n")
    with pytest.warns(UserWarning, match="column 'mood' has no numbers; not a feature"):
        table = load_feature_table(tmp_path)
    assert list(table.columns) == ["track_uri", "f1"]
