"""What MUSIG's training holds out, and the held-out AUC."""

import numpy as np
import pytest

from musig.cooccurrence import cooccurrence_matrix
from musig.csr import has_edge
from musig.data import Dataset
from musig.graph import GraphConfig, build_graph
from musig.holdout import Diagnostics, auc, make_holdout


def test_auc_by_hand_with_ties():
    assert auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auc(np.array([1.0]), np.array([2.0])) == 0.0
    # (1 win + 0.5 tie + 0 + 0.5) / 4 pairs
    assert auc(np.array([2.0, 1.0]), np.array([1.0, 2.0])) == pytest.approx(0.5)
    assert auc(np.array([3.0, 1.0]), np.array([1.0, 2.0])) == pytest.approx(0.625)


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    n, p, length = 60, 300, 6
    tracks = np.concatenate([rng.choice(n, length, replace=False) for _ in range(p)])
    import pandas as pd

    catalog = pd.DataFrame(
        {
            "track_uri": [f"u{i}" for i in range(n)],
            "track_name": "",
            "artist_name": "",
            "duration_ms": pd.array([0] * n, dtype="Int64"),
            "genre": [["a", "b", ""][i % 3] for i in range(n)],
            "audio": "",
            "in_catalog": True,
        }
    )
    ds = Dataset(
        root=".",
        tracks=catalog,
        playlist_indptr=np.arange(p + 1) * length,
        playlist_tracks=tracks,
        pids=np.arange(p),
        playlist_names=[""] * p,
    )
    x = rng.normal(size=(n, 4)).astype(np.float32)
    graph = build_graph(ds, x, np.ones(n, bool), GraphConfig(window=None, acoustic_k=4))
    return ds, graph


def test_held_out_links_are_absent_from_what_trains(world):
    ds, graph = world
    rng = np.random.default_rng(1)
    held = make_holdout(ds, graph, dict(graph.relations), 0.1, 500, rng)
    cooc = held.relations["cooc"]
    u, v = held.pairs["cooc"]
    assert len(u) > 0 and not has_edge(cooc, u, v).any()
    assert held.pairs["cooc"].shape[1] <= 500
    a, b = held.pairs["acoustic"]
    assert len(a) and not has_edge(held.relations["acoustic"], a, b).any()
    assert has_edge(graph.relations["acoustic"], a, b).all()  # they were real edges
    assert held.acoustic_edges is held.relations["acoustic"]
    # Held-out playlists are gone from the training playlists.
    assert len(held.playlists[1]) < len(ds.playlist_tracks)
    labelled = set(np.flatnonzero(graph.genre >= 0))
    assert set(held.genre_train) | set(held.genre_held) == labelled
    assert not set(held.genre_train) & set(held.genre_held)


@pytest.mark.parametrize("min_weight", [1, 2])
def test_training_graph_is_the_full_graph_minus_the_held_out_playlists(world, min_weight):
    """Subtracting the held-out playlists' counts gives the graph of the training playlists,
    exactly as counting them afresh would."""
    ds, _ = world
    cfg = GraphConfig(window=3, min_cooccurrence=min_weight)
    graph = build_graph(ds, None, None, cfg, ("cooc",))
    held = make_holdout(ds, graph, dict(graph.relations), 0.2, 500, np.random.default_rng(4))
    fresh = cooccurrence_matrix(*held.playlists, ds.num_tracks, window=3, min_weight=min_weight)
    for x, y in zip(held.relations["cooc"], fresh, strict=True):
        np.testing.assert_array_equal(x, y)


def test_holdout_and_diagnostics_are_seeded(world):
    ds, graph = world
    one = make_holdout(ds, graph, dict(graph.relations), 0.1, 500, np.random.default_rng(2))
    two = make_holdout(ds, graph, dict(graph.relations), 0.1, 500, np.random.default_rng(2))
    np.testing.assert_array_equal(one.pairs["cooc"], two.pairs["cooc"])
    d = Diagnostics(one, graph.genre, graph.num_nodes, seed=5)
    # Embedding every track by its own id as a one-hot: positives and negatives both score 0.
    eye = np.eye(graph.num_nodes, dtype=np.float32)
    scores = d.aucs(lambda ids: eye[ids])
    assert set(scores) == {"cooc_auc", "acoustic_auc"} and 0.4 < scores["cooc_auc"] < 0.6
