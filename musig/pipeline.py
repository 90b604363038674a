"""From a dataset folder to a saved run: features, graph, fit, map, run folder.

Every registered method (:mod:`musig.methods`) goes through :func:`train_run`, so all of them see
the same features, graph settings and track index — and each builds only what it reads.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from musig.data import Dataset, load_dataset
from musig.features import FeatureSet, has_content, load_features
from musig.fitting import Callback, FitContext, MethodResult, Replica, config_to_dict
from musig.graph import TrackGraph
from musig.graph_store import cached_graph
from musig.methods import Method, get, resolve_config
from musig.parquet_graph import import_graph
from musig.runs import TRACK_TABLE, RunContents, save_run


def needs_features(method: Method, cfg) -> bool:
    """Whether fitting ``method`` reads content features, or its run keeps them for uploads."""
    return method.reads_content(cfg) or method.embeds_uploads(cfg)


def check_features(method: Method, features: FeatureSet | None, root) -> None:
    """Refuse, in one line, a method that reads content on a dataset without any."""
    if features is None or not features.mask.any():
        hint = " (or train it with --no-content)" if method.without_content else ""
        raise ValueError(
            f"{root}: {method.name} reads content features and this dataset has none; add audio "
            f"files (tracks.csv 'audio' column) or a features.csv/features.parquet table{hint}"
        )


def content_free(name: str, cfg, dataset: Dataset) -> tuple[object, str]:
    """The method's config without content sources, and a line saying what is left."""
    method = get(name)
    if method.without_content is None:
        raise ValueError(f"{name} has no content to drop; train it as it is")
    return method.without_content(cfg, bool(dataset.genres))


def fit_method(
    dataset: Dataset,
    features: FeatureSet | None,
    name: str,
    cfg,
    *,
    seed: int = 0,
    progress: bool = False,
    callback: Callback = None,
    graph_path: str | Path | None = None,
    replica: Replica | None = None,
) -> tuple[MethodResult, tuple[TrackGraph | None, str | None], float]:
    """Build what ``name`` reads and fit it.

    Args:
        graph_path: a Parquet graph (:mod:`musig.parquet_graph`) to train on instead of building
            one; refused in one line when it does not match the dataset, settings or relations.
        replica: this process's part of a fit over several (:mod:`musig.distributed`).

    Returns:
        the fit, the graph it was given (None when it reads no graph) with its store key, and the
        wall time in seconds, graph build included.
    """
    method = get(name)
    start = time.perf_counter()
    n = dataset.num_tracks
    x, mask = np.zeros((n, 0), np.float32), np.zeros(n, bool)
    if method.reads_content(cfg):
        check_features(method, features, dataset.root)
        x, mask = features.scaled, features.mask
    graph_cfg = method.graph_config(cfg)
    graph, key = None, None
    if graph_path is not None and graph_cfg is None:
        raise ValueError(f"{name} reads no graph; train it without --graph")
    if graph_path is not None:
        graph, key = import_graph(graph_path, dataset, x, mask, graph_cfg, method.relations(cfg))
    elif graph_cfg is not None:
        graph, key = cached_graph(dataset, x, mask, graph_cfg, method.relations(cfg))
    replica = replica or Replica()
    if replica.world_size > 1 and not method.distributed:
        raise ValueError(f"{name} trains in one process; drop --nproc")
    ctx = FitContext(dataset, x, mask, graph, seed, progress, replica)
    result = method.fit(ctx, cfg, callback)
    return result, (graph, key), time.perf_counter() - start


def train_run(
    data: str | Path | Dataset,
    name: str,
    out: str | Path,
    *,
    overrides: dict | None = None,
    seed: int = 0,
    features: FeatureSet | None = None,
    compute_map: bool = True,
    progress: bool = False,
    callback: Callback = None,
    no_content: bool = False,
    graph: str | Path | None = None,
    replica: Replica | None = None,
    say=print,
) -> Path:
    """Train a registered method on a dataset folder and save the run folder ``out``.

    Args:
        features: the dataset's features when the caller has them (loaded here when the method
            needs them, never otherwise).
        seed: the one seed of the fit.
        no_content: train the method's content-free variant (MUSIG, sage) on playlists only;
            ``say`` gets the line saying which tasks and sources are left.
        graph: a Parquet graph folder (``python -m musig graph``) to train on.
        replica: this process's part of a fit over several (:mod:`musig.distributed`): every
            rank trains, rank 0 alone writes ``out``.
    """
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    method, cfg = get(name), resolve_config(name, overrides)
    if no_content:
        cfg, what = content_free(name, cfg, dataset)
        say(f"{name} {what}")
    if features is None and needs_features(method, cfg):
        if not has_content(dataset) and method.reads_content(cfg):
            check_features(method, None, dataset.root)
        features = load_features(dataset, progress=progress) if has_content(dataset) else None
    result, (_, graph_key), seconds = fit_method(
        dataset,
        features,
        name,
        cfg,
        seed=seed,
        progress=progress,
        callback=callback,
        graph_path=graph,
        replica=replica,
    )
    if replica is not None and not replica.writes:
        return Path(out)
    contents = run_contents(
        dataset,
        features,
        method,
        cfg,
        result,
        seconds,
        graph_key=graph_key,
        compute_map=compute_map,
        seed=seed,
    )
    return save_run(out, contents)


def run_contents(
    dataset: Dataset,
    features: FeatureSet | None,
    method: Method,
    cfg,
    result: MethodResult,
    seconds: float,
    *,
    graph_key: str | None,
    compute_map: bool,
    seed: int = 0,
) -> RunContents:
    """Package a fit as a run: embeddings, map, and what embedding new audio needs (the scaled
    features; the graph stays in the dataset's graph store, referred to by ``graph_key``)."""
    arrays = {"mask": result.mask.astype(bool), "popularity": dataset.popularity.astype(np.float32)}
    weights = {k: v for k, v in result.extras.items() if k.startswith(("encoder.", "genre_head."))}
    arrays.update({f"extra.{k}": v for k, v in result.extras.items() if k not in weights})
    if TRACK_TABLE in weights:
        # Half precision: at MPD size the per-track table is most of a run folder (2.26M x 128),
        # and uploads only read it for their neighbours' inputs.
        weights[TRACK_TABLE] = weights[TRACK_TABLE].astype(np.float16)
    if result.embeddings is not None:
        arrays["embeddings"] = result.embeddings.astype(np.float32)
        if compute_map:
            from musig.maps import umap_2d

            arrays["map2d"] = umap_2d(result.embeddings, result.mask, random_state=seed)
    if method.embeds_uploads(cfg) and features is not None:
        arrays["features"] = features.scaled
        arrays["feature_mask"] = features.mask
    metrics = {}
    for kind, key in (("eval", "diagnostics"), ("reference", "reference")):
        records = [r for r in result.log if r.get("kind") == kind]
        if records:
            metrics[key] = {k: v for k, v in records[-1].items() if k != "kind"}
    split_file = Path(dataset.root) / "split.json"
    split = (
        {"fingerprint": dataset.fingerprint, "file": "split.json"} if split_file.is_file() else None
    )
    return RunContents(
        method=method.name,
        config=config_to_dict(cfg),
        seed=seed,
        graph=method.describe_graph(cfg),
        graph_key=graph_key,
        tracks=dataset.tracks[["track_uri", "track_name", "artist_name", "genre"]].copy(),
        dataset_fingerprint=dataset.fingerprint,
        split=split,
        arrays=arrays,
        weights=weights,
        features=features.describe() if features is not None else {"source": None},
        log=result.log,
        metrics=metrics,
        train_seconds=seconds,
        dataset_root=str(Path(dataset.root).resolve()),
    )
