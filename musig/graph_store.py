"""Track graphs stored once per dataset: built on first use, memory-mapped afterwards.

A graph depends on the dataset (its playlists and track index), the graph settings, the relations
built and — for the acoustic relation — the scaled content features. Its key hashes all of them.
Each graph is a folder of ``.npy`` arrays plus ``graph.json`` under
``$MUSIG_CACHE_DIR`` (default ``~/.cache/musig``) ``/<dataset fingerprint>/graphs/<key>/``,
written atomically and read with ``np.load(mmap_mode="r", allow_pickle=False)``: runs refer to
their graph by key instead of carrying a copy, and every method trained on a dataset shares it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

import numpy as np

from musig.csr import CSR
from musig.graph import GraphConfig, TrackGraph, build_graph
from musig.utils import atomic_dir, fingerprint

_META = "graph.json"


def cache_root() -> Path:
    """Where musig keeps per-dataset caches that do not belong in the dataset folder."""
    return Path(os.environ.get("MUSIG_CACHE_DIR") or Path.home() / ".cache" / "musig")


def graph_key(
    dataset_fingerprint: str,
    cfg: GraphConfig,
    relations: tuple[str, ...],
    x: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> str:
    """Hash of everything the graph depends on (the features only when it is acoustic)."""
    content = (x, mask) if "acoustic" in relations else ()
    return fingerprint(dataset_fingerprint, repr(cfg), ",".join(relations), *content)


def graph_dir(dataset_fingerprint: str, key: str) -> Path:
    return cache_root() / dataset_fingerprint / "graphs" / key


def save_graph(graph: TrackGraph, folder: Path) -> None:
    """Write ``graph`` as ``.npy`` arrays and ``graph.json``, atomically."""
    with atomic_dir(folder) as tmp:
        for name, g in graph.relations.items():
            for part in ("indptr", "indices", "weights"):
                np.save(tmp / f"{name}.{part}.npy", getattr(g, part))
        np.save(tmp / "genre.npy", graph.genre)
        meta = {
            "num_nodes": graph.num_nodes,
            "relations": list(graph.relations),
            "genre_names": graph.genre_names,
            "config": dataclasses.asdict(graph.config),
        }
        (tmp / _META).write_text(json.dumps(meta))


def load_graph(folder: Path) -> TrackGraph:
    """A stored graph, its arrays memory-mapped read-only (never unpickled)."""
    meta = json.loads((folder / _META).read_text())

    def read(name: str) -> np.ndarray:
        return np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)

    relations = {
        r: CSR(read(f"{r}.indptr"), read(f"{r}.indices"), read(f"{r}.weights"))
        for r in meta["relations"]
    }
    return TrackGraph(
        meta["num_nodes"],
        relations,
        read("genre"),
        list(meta["genre_names"]),
        GraphConfig(**meta["config"]),
    )


def cached_graph(
    dataset,
    x: np.ndarray,
    mask: np.ndarray,
    cfg: GraphConfig,
    relations: tuple[str, ...],
) -> tuple[TrackGraph, str]:
    """The dataset's graph for these settings: from the store, else built and stored.

    Returns:
        the graph and its key (recorded in runs, which load it again by key).
    """
    key = graph_key(dataset.fingerprint, cfg, relations, x, mask)
    folder = graph_dir(dataset.fingerprint, key)
    if (folder / _META).is_file():
        return load_graph(folder), key
    graph = build_graph(dataset, x, mask, cfg, relations)
    try:
        save_graph(graph, folder)
    except OSError as e:  # a full or read-only cache costs a rebuild next time, nothing else
        warnings.warn(
            f"graph not stored in {folder.parent} ({e}); it is rebuilt when needed", stacklevel=2
        )
        return graph, key
    return load_graph(folder), key
