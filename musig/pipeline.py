"""From a dataset folder to a saved run: features, scaling, graph, fit, map, artefact.

Every method — MUSIG, its single-task variant and each baseline — goes through :func:`train_run`,
so all of them see the same features, graph and track index.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from musig.audio import EXTRACTOR_VERSION
from musig.baselines import BASELINES
from musig.data import Dataset, load_dataset
from musig.features import FeatureScaler, catalog_features
from musig.graph import GraphConfig, TrackGraph, build_graph
from musig.methods import FitContext, MethodResult, config_from_dict, config_to_dict
from musig.runs import RunRecord, save_run
from musig.train import MusigConfig
from musig.train import fit as musig_fit

# name -> (config class, fit function, default config). "sage" is the MUSIG encoder trained on the
# co-occurrence task alone: the paper's single-task graph embedding.
METHODS: dict[str, tuple[type, Callable, object]] = {
    "musig": (MusigConfig, musig_fit, MusigConfig()),
    "sage": (MusigConfig, musig_fit, MusigConfig(tasks=(("cooc", 1.0),))),
    **{name: (cls, fit, cls()) for name, (cls, fit) in BASELINES.items()},
}
AUDIO_METHODS = ("musig", "sage", "content")  # methods that can embed a new audio file


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
    from functools import partial

    from musig.synth import render_track

    return partial(render_track, world)


def load_features(
    dataset: Dataset, *, cache_dir=None, n_jobs: int = 1, progress: bool = False
) -> FeatureSet:
    raw, mask, names, source = catalog_features(
        dataset,
        cache_dir=cache_dir,
        n_jobs=n_jobs,
        progress=progress,
        renderer=renderer_for(dataset),
    )
    scaler = FeatureScaler().fit(raw, mask)
    scaled = scaler.transform(raw)
    scaled[~mask] = 0.0
    return FeatureSet(raw, mask, scaled, list(names), source, scaler)


def resolve_config(method: str, overrides: dict | None = None, seed: int | None = None):
    """The method's default config with ``overrides`` (plain values) and ``seed`` applied."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    cls, _, default = METHODS[method]
    values = config_to_dict(default)
    values.update(overrides or {})
    cfg = config_from_dict(cls, values)
    if seed is not None and hasattr(cfg, "seed"):
        cfg = replace(cfg, seed=seed)
    return cfg


def fit_method(
    dataset: Dataset,
    features: FeatureSet,
    method: str,
    cfg,
    *,
    seed: int = 0,
    progress: bool = False,
    callback: Callable[[dict], None] | None = None,
    graph: TrackGraph | None = None,
) -> tuple[MethodResult, float]:
    """Fit one method; returns its result and the wall time in seconds (graph build included
    when ``graph`` is not given)."""
    _, fit, _ = METHODS[method]
    start = time.perf_counter()
    if graph is None:
        graph = build_graph(
            dataset, features.scaled, features.mask, getattr(cfg, "graph", GraphConfig())
        )
    ctx = FitContext(
        dataset, features.scaled, features.mask, graph, random_state=seed, progress=progress
    )
    result = fit(ctx, cfg, callback) if fit is musig_fit else fit(ctx, cfg)
    return result, time.perf_counter() - start


def train_run(
    data: str | Path | Dataset,
    method: str,
    out: str | Path,
    *,
    overrides: dict | None = None,
    seed: int = 0,
    features: FeatureSet | None = None,
    compute_map: bool = True,
    progress: bool = False,
    callback: Callable[[dict], None] | None = None,
) -> Path:
    """Train ``method`` on a dataset folder and save the run folder ``out``."""
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    features = features or load_features(dataset, progress=progress)
    cfg = resolve_config(method, overrides, seed)
    start = time.perf_counter()
    graph = build_graph(
        dataset, features.scaled, features.mask, getattr(cfg, "graph", GraphConfig())
    )
    graph_seconds = time.perf_counter() - start
    result, seconds = fit_method(
        dataset, features, method, cfg, seed=seed, progress=progress, callback=callback, graph=graph
    )
    record = make_record(
        dataset,
        features,
        method,
        cfg,
        result,
        graph_seconds + seconds,
        graph=graph,
        compute_map=compute_map,
        seed=seed,
    )
    return save_run(out, record)


def make_record(
    dataset: Dataset,
    features: FeatureSet,
    method: str,
    cfg,
    result: MethodResult,
    seconds: float,
    *,
    graph: TrackGraph,
    compute_map: bool,
    seed: int,
) -> RunRecord:
    """Package a fit as a run: embeddings, map, and what embedding new audio needs."""
    arrays = {"mask": result.mask.astype(bool), "popularity": dataset.popularity.astype(np.float32)}
    arrays.update(
        {
            f"extra.{k}": v
            for k, v in result.extras.items()
            if not k.startswith(("encoder.", "genre_head."))
        }
    )
    if result.embeddings is not None:
        arrays["embeddings"] = result.embeddings.astype(np.float32)
        if compute_map:
            from musig.maps import umap_2d

            arrays["map2d"] = umap_2d(result.embeddings, result.mask, random_state=seed)
    if method in AUDIO_METHODS:
        arrays["features"] = features.scaled
        arrays["feature_mask"] = features.mask
        arrays.update({f"graph.{k}": v for k, v in graph.to_arrays().items()})
    weights = {k: v for k, v in result.extras.items() if k.startswith(("encoder.", "genre_head."))}
    metrics = {}
    for kind, key in (("eval", "diagnostics"), ("reference", "reference")):
        records = [r for r in result.log if r.get("kind") == kind]
        if records:
            metrics[key] = {k: v for k, v in records[-1].items() if k != "kind"}
    split_file = Path(dataset.root) / "split.json"
    split = (
        {"fingerprint": dataset.fingerprint, "file": "split.json"} if split_file.is_file() else None
    )
    tracks = dataset.tracks[["track_uri", "track_name", "artist_name", "genre"]].copy()
    return RunRecord(
        method=method,
        config={"seed": seed, **config_to_dict(cfg)},
        tracks=tracks,
        dataset_fingerprint=dataset.fingerprint,
        split=split,
        arrays=arrays,
        weights=weights,
        features=features.describe(),
        log=result.log,
        metrics=metrics,
        train_seconds=seconds,
    )


def track_table(dataset: Dataset) -> pd.DataFrame:
    """Track metadata for display: index, uri, name, artist, genre, popularity, cold flag."""
    t = dataset.tracks[["track_uri", "track_name", "artist_name", "genre"]].copy()
    t["popularity"] = dataset.popularity
    t["cold"] = dataset.popularity == 0
    return t
