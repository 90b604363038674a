"""The graph as Parquet edge lists: Spark (local[2]) and the local builder give the same graph,
and ``train --graph`` trains on it or refuses it in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import fails, ok

from musig.data import find_slices, load_dataset
from musig.features import load_features
from musig.graph import GraphConfig, build_graph
from musig.mpd import read_json
from musig.parquet_graph import build_parquet_graph, read_edges, read_meta
from musig.runs import read_run_meta

ROOT = Path(__file__).resolve().parents[1]
BOTH = ("cooc", "acoustic")
THRESHOLDED = GraphConfig(window=2, min_cooccurrence=2)


@pytest.fixture(scope="module")
def spark():
    from musig.spark_graph import session

    s = session("local[2]", "1g", partitions=4)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def world(tiny_world):
    ds = load_dataset(tiny_world)
    return ds, load_features(ds, progress=False)


@pytest.fixture(scope="module")
def graphs(world, spark, tmp_path_factory) -> Path:
    """Both engines' graphs: default settings with both relations, and a thresholded
    co-occurrence (+-2 positions, pairs in >= 2 playlists)."""
    ds, f = world
    out = tmp_path_factory.mktemp("graphs")
    for engine in ("local", "spark"):
        kw = {"engine": engine, "spark": spark}
        build_parquet_graph(ds, f.scaled, f.mask, GraphConfig(), BOTH, out / engine, **kw)
        build_parquet_graph(ds, None, None, THRESHOLDED, ("cooc",), out / f"{engine}-2", **kw)
    return out


def edges(folder: Path, relation: str) -> dict[tuple[int, int], float]:
    src, dst, w = read_edges(folder / f"{relation}.parquet")
    return dict(zip(zip(src.tolist(), dst.tolist(), strict=True), w.tolist(), strict=True))


@pytest.mark.parametrize("suffix", ["", "-2"])
def test_both_engines_count_identical_cooccurrence_edges_and_weights(graphs, world, suffix):
    local, spark = (
        edges(graphs / f"local{suffix}", "cooc"),
        edges(graphs / f"spark{suffix}", "cooc"),
    )
    assert len(local) > 100
    assert spark == local
    # and both are the single-machine graph musig builds in memory
    ds, _ = world
    cfg = THRESHOLDED if suffix else GraphConfig()
    g = build_graph(ds, None, None, cfg, ("cooc",)).relations["cooc"]
    assert sum(local.values()) * 2 == pytest.approx(float(g.weights.sum()))
    if suffix:
        assert min(local.values()) >= 2


def test_spark_knn_edges_recall_exact_ones(graphs):
    exact, spark = edges(graphs / "local", "acoustic"), edges(graphs / "spark", "acoustic")
    found = set(exact) & set(spark)
    assert len(found) / len(exact) >= 0.9
    assert max(abs(exact[p] - spark[p]) for p in found) < 1e-5


def test_graph_json_carries_dataset_settings_and_index(graphs, world):
    ds, _ = world
    local, spark = read_meta(graphs / "local"), read_meta(graphs / "spark")
    assert local["engine"] == "local" and spark["engine"] == "spark"
    for key in ("dataset_fingerprint", "config", "relations", "features_fingerprint", "edges"):
        assert local[key] == spark[key]
    assert local["dataset_fingerprint"] == ds.fingerprint
    assert read_meta(graphs / "spark-2")["config"]["min_cooccurrence"] == 2
    index = pq.read_table(graphs / "spark" / "tracks.parquet").to_pydict()
    assert index["track_uri"] == ds.tracks["track_uri"].tolist()
    assert index["track_id"] == list(range(ds.num_tracks))


def test_parquet_slices_give_the_same_dataset_and_graph(tiny_world, world, graphs, spark, tmp_path):
    ds, _ = world
    root = tmp_path / "pq"
    (root / "playlists").mkdir(parents=True)
    shutil.copy(tiny_world / "tracks.csv", root / "tracks.csv")
    for path in find_slices(tiny_world):
        name = path.name.split(".json")[0] + ".parquet"
        pq.write_table(
            pa.Table.from_pylist(read_json(path)["playlists"]), root / "playlists" / name
        )
    parquet = load_dataset(root)
    assert parquet.fingerprint == ds.fingerprint  # same playlists, same track index
    kw = {"engine": "spark", "spark": spark}
    build_parquet_graph(parquet, None, None, THRESHOLDED, ("cooc",), root / "g", **kw)
    assert edges(root / "g", "cooc") == edges(graphs / "local-2", "cooc")


def test_local_engine_from_the_command_line_starts_no_spark(tiny_world, tmp_path):
    args = ["-q", "graph", "--data", str(tiny_world), "--out", str(tmp_path / "g")]
    code = (
        "import sys; from musig.cli import main; "
        f"rc = main({args + ['--method', 'deepwalk']!r}); "
        "assert rc == 0 and 'pyspark' not in sys.modules, rc"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
    assert read_meta(tmp_path / "g")["relations"] == ["cooc"]


TRAIN = ["--set", "steps=20", "--set", "eval_every=10", "--no-map"]


def test_train_on_a_parquet_graph(graphs, tiny_world, tmp_path):
    ok("train", "--data", tiny_world, "--graph", graphs / "spark", "--out", tmp_path / "r", *TRAIN)
    meta = read_run_meta(tmp_path / "r")
    assert meta["graph"]["relations"] == list(BOTH)
    from musig.graph_store import graph_dir, load_graph

    stored = load_graph(graph_dir(meta["provenance"]["dataset_fingerprint"], meta["graph_key"]))
    src = np.repeat(np.arange(stored.num_nodes), np.diff(stored.relations["cooc"].indptr))
    upper = src < stored.relations["cooc"].indices
    assert int(upper.sum()) == read_meta(graphs / "spark")["edges"]["cooc"]


def test_train_refuses_a_graph_that_does_not_match(graphs, tiny_world, tmp_path):
    def train(graph, *extra) -> str:
        args = ["train", "--data", tiny_world, "--graph", graph, "--out", tmp_path / "r"]
        return fails(*args, *TRAIN, *extra)

    other = tmp_path / "other"
    shutil.copytree(graphs / "local", other)
    meta = json.loads((other / "graph.json").read_text())
    (other / "graph.json").write_text(json.dumps({**meta, "dataset_fingerprint": "0" * 16}))
    assert "another dataset" in train(other)
    assert "window=25 (needs 3)" in train(graphs / "local", "--set", "graph.window=3")
    assert "also reads ['acoustic']" in train(graphs / "local-2", "--set", "graph.window=2",
                                              "--set", "graph.min_cooccurrence=2")  # fmt: skip
    assert "reads no graph" in fails(
        "train", "--data", tiny_world, "--method", "als", "--graph", graphs / "local",
        "--out", tmp_path / "a", "--no-map",
    )  # fmt: skip
    assert "not a musig Parquet graph" in train(tiny_world)
