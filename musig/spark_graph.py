"""The track graph on Apache Spark: co-occurrence by a self-join, content kNN by exact blocks.

Same relations as :func:`musig.graph.build_graph`, for playlist logs that outgrow one machine:

- **co-occurrence**: the playlist entries (pid, position, track) are read from the MPD slices
  (JSON, plain or gzipped, or Parquet) and numbered by a join on ``track_uri`` with the track
  index musig wrote (``tracks.parquet``). Each entry is joined with the entries 1..window
  positions after it in its playlist (an equi-join on (pid, position + d), not a join of every
  pair of a playlist), self pairs dropped, (pid, pair) made distinct — a playlist counts once per
  pair — then pairs counted and kept from ``min_cooccurrence`` on: exactly
  :func:`musig.cooccurrence.cooccurrence_matrix`.
- **acoustic**: exact k nearest neighbours by cosine. The unit feature rows (0.4 GB for the MPD's
  2.26M tracks) are broadcast to every executor and each task ranks the tracks of its partition
  against all of them in chunked matrix products (:func:`musig.knn.exact_neighbors`). Exact
  rather than Spark's ``BucketedRandomProjectionLSH``: that LSH hashes each table with one
  projection (no AND-amplification), so at a few million tracks its candidate buckets are either
  huge or miss neighbours, and its recall has to be tuned per catalog; exact blocks cost
  O(M^2 F) but split evenly over tasks and give the local builder's edges.

pyspark is imported inside functions: nothing here runs unless ``--engine spark`` is asked for.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from functools import reduce
from pathlib import Path

import numpy as np

from musig.knn import exact_neighbors, knn_weight, unit_rows

_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the musig package


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence pyspark's notice that it does not fully support pandas 3: musig never converts
    Spark frames to pandas (Arrow batches in, Parquet out, read back with pyarrow)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pandas.*", category=FutureWarning)
        yield


def _pyspark():
    """pyspark's SQL modules."""
    with _quiet():
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
        from pyspark.sql import types as T
    return SparkSession, F, T


def session(master: str = "local[2]", memory: str = "2g", partitions: int = 8):
    """A SparkSession: the one ``spark-submit`` started, else a local one on ``master``.

    Args:
        master: Spark master when not under spark-submit (``local[2]``: two cores).
        memory: driver memory of a local Spark (executors share its JVM).
        partitions: shuffle partitions of a local Spark (a cluster keeps its own setting).
    """
    SparkSession, _, _ = _pyspark()
    builder = SparkSession.builder.appName("musig-graph")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not launched by spark-submit
        builder = (
            builder.master(master)
            .config("spark.driver.memory", memory)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(partitions))
            # Python workers run this interpreter and import musig from this checkout.
            .config("spark.pyspark.python", sys.executable)
            .config("spark.executorEnv.PYTHONPATH", str(_ROOT))
        )
    with _quiet():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def playlist_entries(spark, files: list[str], index_path: str):
    """DataFrame (pid long, pos int, track_id long): one row per playlist entry, ``pos`` its
    place in the playlist's list, ``track_id`` its row in the track index."""
    _, F, T = _pyspark()
    parts = []
    json_files = [f for f in files if not f.endswith(".parquet")]
    parquet_files = [f for f in files if f.endswith(".parquet")]
    if json_files:
        track = T.StructType([T.StructField("track_uri", T.StringType())])
        playlist = T.StructType(
            [T.StructField("pid", T.LongType()), T.StructField("tracks", T.ArrayType(track))]
        )
        schema = T.StructType([T.StructField("playlists", T.ArrayType(playlist))])
        slices = spark.read.schema(schema).option("multiLine", True).option("mode", "FAILFAST")
        playlists = slices.json(json_files).select(F.explode("playlists").alias("p"))
        parts.append(playlists.select("p.pid", "p.tracks"))
    if parquet_files:
        parts.append(spark.read.parquet(*parquet_files).select("pid", "tracks"))
    entries = [
        p.select(
            F.col("pid").cast("long").alias("pid"), F.posexplode("tracks").alias("pos", "t")
        ).select("pid", "pos", F.col("t.track_uri").alias("track_uri"))
        for p in parts
    ]
    index = spark.read.parquet(index_path)
    return reduce(lambda a, b: a.unionByName(b), entries).join(index, "track_uri").drop("track_uri")


def cooccurrence(entries, window: int | None, min_count: int):
    """DataFrame (src long, dst long, weight float), src < dst: the number of playlists in which
    two tracks appear within ``window`` positions (None: anywhere), kept from ``min_count`` on."""
    _, F, _ = _pyspark()
    b = entries.select("pid", "pos", F.col("track_id").alias("b"))
    if window is None:
        a = entries.select("pid", F.col("pos").alias("pos_a"), F.col("track_id").alias("a"))
        pairs = a.join(b, "pid").where(F.col("pos") > F.col("pos_a"))
    else:  # each entry meets the entries d = 1..window places after it: an equi-join
        shifted = entries.select(
            "pid",
            "pos",
            F.col("track_id").alias("a"),
            F.explode(F.sequence(F.lit(1), F.lit(window))).alias("d"),
        )
        a = shifted.select("pid", (F.col("pos") + F.col("d")).alias("pos"), "a")
        pairs = a.join(b, ["pid", "pos"])
    distinct = (
        pairs.where(F.col("a") != F.col("b"))
        .select("pid", F.least("a", "b").alias("src"), F.greatest("a", "b").alias("dst"))
        .distinct()  # a playlist counts once per pair, even with repeated tracks
    )
    counts = distinct.groupBy("src", "dst").agg(F.count(F.lit(1)).alias("n"))
    return counts.where(F.col("n") >= min_count).select(
        "src", "dst", F.col("n").cast("float").alias("weight")
    )


def acoustic(spark, x: np.ndarray, mask: np.ndarray, k: int, partitions: int):
    """DataFrame (src long, dst long, weight float), src < dst: each track's exact k nearest
    tracks by cosine, weights as :func:`musig.knn.knn_graph` (the larger of two directions).

    Args:
        x: float32 (N, F) scaled features; mask: bool (N,) rows taking part.
        partitions: tasks the rows are ranked in (each reads the broadcast matrix).
    """
    _, F, _ = _pyspark()
    idx, Z = unit_rows(x, mask)
    k = min(k, idx.size - 1)
    schema = "a long, b long, weight float"
    if k < 1:
        directed = spark.createDataFrame([], schema)
    else:
        shared = spark.sparkContext.broadcast((idx, Z))

        def top_k(batches):
            import pyarrow as pa

            ids, unit = shared.value
            for batch in batches:
                rows = batch.column("id").to_numpy().astype(np.int64)
                nbr, sim = exact_neighbors(unit, k, rows=rows)
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(np.repeat(ids[rows], k)),
                        pa.array(ids[nbr.ravel()]),
                        pa.array(knn_weight(sim.ravel())),
                    ],
                    names=["a", "b", "weight"],
                )

        rows = spark.range(0, idx.size, numPartitions=max(1, min(partitions, idx.size)))
        with _quiet():
            directed = rows.mapInArrow(top_k, schema)
    pairs = directed.select(
        F.least("a", "b").alias("src"), F.greatest("a", "b").alias("dst"), "weight"
    )
    return pairs.groupBy("src", "dst").agg(F.max("weight").alias("weight"))


def write_relations(
    slices: list[Path],
    index_path: Path,
    x: np.ndarray | None,
    mask: np.ndarray | None,
    cfg,
    relations: tuple[str, ...],
    out: Path,
    *,
    spark=None,
    partitions: int = 8,
) -> dict[str, int]:
    """Write ``out/<relation>.parquet`` for each relation; returns edges per relation.

    Args:
        slices: the dataset's slice files (``musig.data.find_slices``).
        index_path: ``tracks.parquet`` (track_id, track_uri) of the dataset.
        cfg: the resolved GraphConfig.
        spark: a SparkSession; None starts a local one (:func:`session`) and stops it after.
    """
    own = spark is None
    spark = session(partitions=partitions) if own else spark
    try:
        edges = {}
        for name in relations:
            if name == "cooc":
                entries = playlist_entries(spark, [str(p) for p in slices], str(index_path))
                frame = cooccurrence(entries, cfg.window, cfg.min_cooccurrence)
            else:
                frame = acoustic(spark, x, mask, cfg.acoustic_k, partitions)
            path = str(out / f"{name}.parquet")
            frame.write.mode("errorifexists").parquet(path)
            edges[name] = spark.read.parquet(path).count()
        return edges
    finally:
        if own:
            spark.stop()
