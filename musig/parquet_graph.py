"""Track graphs as Parquet edge lists: what a Spark cluster (or this machine) writes, and what
training reads back into the graph store.

Layout of GRAPH/ (``python -m musig graph --engine local|spark``)::

    graph.json        format, engine, dataset fingerprint, resolved GraphConfig, relations,
                      features fingerprint (acoustic relation only), edges per relation, seconds
    tracks.parquet    track_id int64, track_uri string: the dataset's track index
                      (``load_dataset(...).tracks`` rows) that every id below refers to
    cooc.parquet/     src int64, dst int64, weight float32: one row per undirected pair, src < dst
    acoustic.parquet/ the same for the content kNN relation

Spark gets the track index from ``tracks.parquet``, written by musig before the Spark job (a join
on ``track_uri``), so both engines number tracks identically. Loading converts the edge lists
into the graph store's symmetric CSR (:mod:`musig.graph_store`), memory-mapped from then on.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from musig.cooccurrence import symmetric_from_upper
from musig.csr import CSR
from musig.graph import RELATIONS, GraphConfig, TrackGraph, build_graph
from musig.graph_store import graph_dir, load_graph, save_graph
from musig.utils import atomic_dir, fingerprint

FORMAT = "musig-parquet-graph"
FORMAT_VERSION = 1
ENGINES = ("local", "spark")
META = "graph.json"
INDEX = "tracks.parquet"


def features_fingerprint(x: np.ndarray, mask: np.ndarray) -> str:
    """Hash of the scaled content features the acoustic relation was built from."""
    return fingerprint(np.asarray(x, np.float32), np.asarray(mask, bool))


def upper_edges(g: CSR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each undirected edge of a symmetric CSR once: (src int64 (E,), dst (E,), weight float32
    (E,)) with src < dst, sorted by (src, dst)."""
    src = np.repeat(np.arange(g.num_nodes, dtype=np.int64), np.diff(g.indptr))
    upper = src < g.indices
    return src[upper], np.asarray(g.indices[upper], np.int64), np.asarray(g.weights[upper])


def write_edges(folder: Path, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> None:
    """One relation as a Parquet folder with one part file (Spark writes several)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    table = pa.table(
        {
            "src": pa.array(src, pa.int64()),
            "dst": pa.array(dst, pa.int64()),
            "weight": pa.array(weight, pa.float32()),
        }
    )
    pq.write_table(table, folder / "part-00000.parquet")


def read_edges(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src int64 (E,), dst int64 (E,), weight float32 (E,)) of a relation's Parquet folder."""
    import pyarrow.dataset as pds

    table = pds.dataset(path, format="parquet").to_table(columns=["src", "dst", "weight"])
    return (
        table["src"].to_numpy().astype(np.int64, copy=False),
        table["dst"].to_numpy().astype(np.int64, copy=False),
        table["weight"].to_numpy().astype(np.float32, copy=False),
    )


def write_index(path: Path, track_uris) -> None:
    """``tracks.parquet``: track_id (the row of the track index) and track_uri."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    uris = list(track_uris)
    ids = pa.array(np.arange(len(uris), dtype=np.int64))
    pq.write_table(pa.table({"track_id": ids, "track_uri": pa.array(uris, pa.string())}), path)


def write_meta(
    folder: Path,
    *,
    engine: str,
    dataset,
    cfg: GraphConfig,
    relations,
    x,
    mask,
    edges: dict[str, int],
    seconds: float,
) -> dict:
    """Write ``graph.json`` (see the module docstring) and return it."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "engine": engine,
        "dataset_fingerprint": dataset.fingerprint,
        "num_nodes": dataset.num_tracks,
        "relations": list(relations),
        "config": dataclasses.asdict(cfg),
        "features_fingerprint": features_fingerprint(x, mask) if "acoustic" in relations else None,
        "edges": edges,
        "seconds": round(seconds, 3),
    }
    (folder / META).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def read_meta(folder: str | Path) -> dict:
    """``graph.json`` of a Parquet graph folder, with its format checked."""
    file = Path(folder) / META
    if not file.is_file():
        raise ValueError(f"{folder}: not a musig Parquet graph (no {META})")
    try:
        meta = json.loads(file.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{file}: not valid JSON ({e})") from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{file}: not a musig Parquet graph of format version {FORMAT_VERSION} "
            f"(format {meta.get('format')!r}, version {meta.get('format_version')!r})"
        )
    return meta


def write_local_graph(dataset, x, mask, cfg: GraphConfig, relations, out: str | Path) -> dict:
    """Build the graph on this machine (the blocked builder of :func:`musig.graph.build_graph`)
    and write it as Parquet edge lists. Returns graph.json's contents."""
    start = time.perf_counter()
    graph = build_graph(dataset, x, mask, cfg, tuple(relations))
    with atomic_dir(out) as tmp:
        write_index(tmp / INDEX, dataset.tracks["track_uri"])
        edges = {}
        for name, g in graph.relations.items():
            src, dst, w = upper_edges(g)
            write_edges(tmp / f"{name}.parquet", src, dst, w)
            edges[name] = int(src.size)
        return write_meta(
            tmp,
            engine="local",
            dataset=dataset,
            cfg=graph.config,
            relations=relations,
            x=x,
            mask=mask,
            edges=edges,
            seconds=time.perf_counter() - start,
        )


def check_meta(meta: dict, folder, dataset, cfg: GraphConfig, relations, x, mask) -> None:
    """Refuse, in one line, a graph built from another dataset, with other settings, without a
    relation the method reads, or (acoustic) from other content features."""
    if meta["dataset_fingerprint"] != dataset.fingerprint:
        raise ValueError(
            f"{folder} was built from another dataset (fingerprint "
            f"{meta['dataset_fingerprint']}; {dataset.root} is {dataset.fingerprint}); "
            "build it from this one with `python -m musig graph`"
        )
    want = dataclasses.asdict(cfg.resolve(len(dataset.playlist_tracks)))
    have = meta["config"]
    differ = [f"{k}={have.get(k)!r} (needs {v!r})" for k, v in want.items() if have.get(k) != v]
    if differ:
        raise ValueError(f"{folder} was built with other graph settings: {', '.join(differ)}")
    missing = [r for r in relations if r not in meta["relations"]]
    if missing:
        raise ValueError(
            f"{folder} has relations {meta['relations']}; this method also reads {missing}"
        )
    if "acoustic" in relations and meta["features_fingerprint"] != features_fingerprint(x, mask):
        raise ValueError(f"{folder}: its acoustic relation was built from other content features")


def import_graph(folder: str | Path, dataset, x, mask, cfg: GraphConfig, relations) -> tuple:
    """Load a Parquet graph into the dataset's graph store (once) and return it from there.

    Only the relations the method reads are loaded (others in the folder are ignored).

    Args:
        x, mask: the scaled content features float32 (N, F) and bool (N,) the run trains on.
        cfg: the method's GraphConfig (before :meth:`GraphConfig.resolve`).

    Returns:
        (TrackGraph memory-mapped from the store, its store key for the run folder).
    """
    folder = Path(folder)
    meta = read_meta(folder)
    relations = tuple(r for r in RELATIONS if r in relations)
    check_meta(meta, folder, dataset, cfg, relations, x, mask)
    key = fingerprint("parquet", json.dumps(meta, sort_keys=True), ",".join(relations))
    stored = graph_dir(dataset.fingerprint, key)
    if not (stored / META).is_file():
        save_graph(to_track_graph(folder, meta, dataset, relations), stored)
    return load_graph(stored), key


def to_track_graph(folder: Path, meta: dict, dataset, relations) -> TrackGraph:
    """The relations of a Parquet graph as a TrackGraph over the dataset's track index."""
    n = dataset.num_tracks
    built = {}
    for name in relations:
        src, dst, w = read_edges(folder / f"{name}.parquet")
        if src.size and (src.min() < 0 or dst.max() >= n or (src >= dst).any()):
            raise ValueError(f"{folder}/{name}.parquet: ids must satisfy 0 <= src < dst < {n}")
        key = src * n + dst
        order = np.argsort(key, kind="stable")
        if (key[order][1:] == key[order][:-1]).any():
            raise ValueError(f"{folder}/{name}.parquet: a pair is listed twice")
        built[name] = symmetric_from_upper(src[order], dst[order], w[order], n)
    cfg = GraphConfig(**meta["config"])
    if cfg.use_genre:
        genre, names = np.asarray(dataset.genre_codes, np.int64), list(dataset.genres)
    else:
        genre, names = np.full(n, -1, np.int64), []
    return TrackGraph(n, built, genre, names, cfg)


def build_parquet_graph(
    dataset,
    x,
    mask,
    cfg: GraphConfig,
    relations,
    out: str | Path,
    *,
    engine: str = "local",
    spark=None,
) -> dict:
    """Write the dataset's graph as Parquet edge lists with ``engine`` ("local" or "spark").

    Args:
        x, mask: scaled content features float32 (N, F) and bool (N,) (acoustic relation only).
        cfg: graph settings (resolved here for the dataset's size).
        spark: a SparkSession to use (engine "spark"); None starts one (:mod:`musig.spark_graph`).

    Returns:
        graph.json's contents.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {list(ENGINES)}")
    out = Path(out)
    if out.is_file() or (out.is_dir() and not (out / META).is_file() and any(out.iterdir())):
        raise ValueError(f"{out}: exists and is not a musig Parquet graph; refusing to replace it")
    relations = tuple(r for r in RELATIONS if r in relations)
    if not relations:
        raise ValueError("no relation to build: this method reads no graph")
    if "acoustic" in relations and (x is None or not np.asarray(mask).any()):
        raise ValueError("the acoustic relation needs content features and the dataset has none")
    if engine == "local":
        return write_local_graph(dataset, x, mask, cfg, relations, out)
    from musig import spark_graph
    from musig.data import find_slices

    start = time.perf_counter()
    cfg = cfg.resolve(len(dataset.playlist_tracks))
    with atomic_dir(out) as tmp:
        write_index(tmp / INDEX, dataset.tracks["track_uri"])
        slices = find_slices(Path(dataset.root))
        edges = spark_graph.write_relations(
            slices, tmp / INDEX, x, mask, cfg, relations, tmp, spark=spark
        )
        return write_meta(
            tmp,
            engine="spark",
            dataset=dataset,
            cfg=cfg,
            relations=relations,
            x=x,
            mask=mask,
            edges=edges,
            seconds=time.perf_counter() - start,
        )
