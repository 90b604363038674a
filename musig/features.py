"""Content features of a dataset's tracks, and their scaling.

:func:`load_features` turns a dataset into an ``(N, F)`` matrix plus a mask, standardised: from
``features.csv|parquet`` when the folder has one, else from the audio descriptors of each track's
file (:mod:`musig.audio_cache`, cached on disk).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from musig.audio import EXTRACTOR_VERSION, FEATURE_NAMES, AudioConfig

if TYPE_CHECKING:
    from musig.data import Dataset


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
    """Unscaled content features for every track of a dataset, aligned to its track index.

    With ``features.csv|parquet`` in the folder, its numeric columns are used (source
    ``"table"``); otherwise the audio descriptors of :func:`musig.audio_cache.audio_features`
    (source ``"audio"``; the arguments are passed on to it).

    Returns:
        ``(X, mask, names, source)``: X float32 (N, F), zero rows where mask is False;
        mask bool (N,); names list of F column names; source ``"audio"`` or ``"table"``.
    """
    table = load_feature_table(dataset.root)
    if table is not None:
        return _table_features(dataset, table)
    from musig.audio_cache import audio_features

    X, mask = audio_features(
        dataset, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress, renderer=renderer, cfg=cfg
    )
    return X, mask, list(FEATURE_NAMES), "audio"


@dataclass(frozen=True)
class FeatureSet:
    """Content features of a dataset's tracks.

    Attributes:
        raw: float32 (N, F) unscaled features; mask: bool (N,) present.
        scaled: float32 (N, F) standardised with ``scaler`` (fitted on the catalog).
        names: column names (F,); source: "audio" (musig's extractor) or "table".
    """

    raw: np.ndarray
    mask: np.ndarray
    scaled: np.ndarray
    names: list[str]
    source: str
    scaler: FeatureScaler

    def describe(self) -> dict:
        return {
            "source": self.source,
            "names": self.names,
            "scaler": self.scaler.to_dict(),
            "extractor_version": EXTRACTOR_VERSION if self.source == "audio" else None,
        }


def renderer_for(dataset: Dataset):
    """Re-render missing synthetic audio from world.json; None for real datasets."""
    world = Path(dataset.root) / "world.json"
    if not world.is_file():
        return None
    from musig.synth import render_track

    return partial(render_track, world)


def has_content(dataset: Dataset) -> bool:
    """Whether the dataset has a content source: a features table, or audio for some track."""
    root = Path(dataset.root)
    if (root / "features.csv").exists() or (root / "features.parquet").exists():
        return True
    return (root / "world.json").is_file() or bool((dataset.tracks["audio"] != "").any())


def load_features(
    dataset: Dataset, *, cache_dir=None, n_jobs: int = 1, progress: bool = False
) -> FeatureSet:
    """The dataset's content features, standardised on its own tracks (see
    :func:`catalog_features`).

    Raises:
        ValueError: the dataset has no content source, or no track's content could be read.
    """
    if not has_content(dataset):
        raise ValueError(
            f"{dataset.root}: no content features: add audio files (tracks.csv 'audio' column) "
            "or a features.csv/features.parquet table"
        )
    raw, mask, names, source = catalog_features(
        dataset,
        cache_dir=cache_dir,
        n_jobs=n_jobs,
        progress=progress,
        renderer=renderer_for(dataset),
    )
    if not mask.any():
        raise ValueError(f"{dataset.root}: no track's content features could be read")
    scaler = FeatureScaler().fit(raw, mask)
    scaled = scaler.transform(raw)
    scaled[~mask] = 0.0
    return FeatureSet(raw, mask, scaled, list(names), source, scaler)


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


def load_feature_table(root: str | Path) -> pd.DataFrame | None:
    """Load ``features.csv`` or ``features.parquet`` from a dataset folder.

    NaN values are allowed; callers treat a row with any NaN as a track without features.

    Returns:
        None if neither file exists, else a DataFrame (RangeIndex) with column ``track_uri`` (str)
        followed by the feature columns as float32.

    Raises:
        ValueError: both files exist, the table has no rows, ``track_uri`` is missing, empty or
            duplicated, a column mixes numbers and text (naming the data row, counted from 1), or
            a value is infinite. A column without a single number (labels) is left out, with a
            warning.
    """
    root = Path(root)
    csv, parquet = root / "features.csv", root / "features.parquet"
    if csv.exists() and parquet.exists():
        raise ValueError(f"{root}: both features.csv and features.parquet exist; keep one")
    if not csv.exists() and not parquet.exists():
        return None
    path = csv if csv.exists() else parquet
    try:
        if path is csv:
            df = pd.read_csv(path, dtype={"track_uri": str})
        else:
            df = pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: cannot read feature table ({e})") from e
    if "track_uri" not in df.columns:
        raise ValueError(f"{path}: missing required column 'track_uri'")
    if df.empty:
        raise ValueError(f"{path}: no rows (an empty table)")
    feat_cols = []
    for col in (c for c in df.columns if c != "track_uri"):
        if pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            feat_cols.append(col)
            continue
        num = pd.to_numeric(df[col], errors="coerce")
        if num.isna().all():  # a text column (labels, notes) beside the features
            warnings.warn(f"{path}: column {col!r} has no numbers; not a feature", stacklevel=2)
            continue
        bad = np.flatnonzero((num.isna() & df[col].notna()).to_numpy())
        raise ValueError(
            f"{path}: data row {bad[0] + 1}: column {col!r} holds {df[col].iloc[bad[0]]!r}, "
            "not a number"
        )
    if not feat_cols:
        raise ValueError(f"{path}: needs at least one numeric feature column")
    uris = df["track_uri"].astype("str")
    empty = np.flatnonzero((df["track_uri"].isna() | (uris == "")).to_numpy())
    if len(empty):
        raise ValueError(f"{path}: data row {empty[0] + 1}: empty track_uri")
    dup = np.flatnonzero(uris.duplicated().to_numpy())
    if len(dup):
        raise ValueError(
            f"{path}: data row {dup[0] + 1}: duplicate track_uri {uris.iloc[dup[0]]!r}"
        )
    X = df[feat_cols].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(X).any():
        col = feat_cols[int(np.flatnonzero(np.isinf(X).any(axis=0))[0])]
        raise ValueError(f"{path}: column {col!r} has infinite values")
    nan_rows = np.flatnonzero(np.isnan(X).any(axis=1))
    if len(nan_rows):
        warnings.warn(
            f"{path}: {len(nan_rows)} row(s) with NaN values (first: data row {nan_rows[0] + 1}); "
            "those tracks are without features",
            stacklevel=2,
        )
    out = pd.DataFrame(X.astype(np.float32), columns=[str(c) for c in feat_cols])
    out.insert(0, "track_uri", uris.reset_index(drop=True))
    return out
