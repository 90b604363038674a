from types import SimpleNamespace

import numpy as np
import pytest
from graph_cases import playlists_csr

import musig.graph_store as graph_store
from musig.csr import CSR
from musig.graph import GraphConfig, build_graph
from musig.sampling import sample_subgraph


def dense(g: CSR) -> np.ndarray:
    return g.to_scipy().toarray()


# --- TrackGraph ----------------------------------------------------------------------------------


@pytest.fixture
def dataset():
    playlists = [[0, 1, 2], [2, 3], [0, 1], [4, 5, 4]]
    indptr, tracks = playlists_csr(playlists)
    return SimpleNamespace(
        playlist_indptr=indptr,
        playlist_tracks=tracks,
        num_tracks=7,
        genre_codes=np.array([0, 0, 1, 1, -1, 0, 1]),
        genres=["jazz", "rock"],
    )


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 4)).astype(np.float32)
    mask = np.array([True] * 6 + [False])
    return X, mask


def test_build_graph_builds_the_relations_asked_for(dataset, features):
    X, mask = features
    g = build_graph(dataset, X, mask, GraphConfig(window=5, acoustic_k=2))
    assert set(g.relations) == {"cooc", "acoustic"} and g.num_nodes == 7
    assert dense(g.relations["cooc"])[0, 1] == 2 and dense(g.relations["cooc"])[4, 5] == 1
    np.testing.assert_array_equal(g.genre, dataset.genre_codes)
    assert g.genre_names == ["jazz", "rock"]

    only_cooc = build_graph(dataset, None, None, GraphConfig(use_genre=False), ("cooc",))
    assert set(only_cooc.relations) == {"cooc"}
    assert (only_cooc.genre == -1).all() and only_cooc.genre_names == []
    only_acoustic = build_graph(dataset, X, mask, GraphConfig(), ("acoustic",))
    assert set(only_acoustic.relations) == {"acoustic"}
    none = build_graph(dataset, None, None, GraphConfig(), ())
    assert none.relations == {}
    with pytest.raises(ValueError, match="acoustic relation needs content features"):
        build_graph(dataset, None, None, GraphConfig())
    with pytest.raises(ValueError, match="unknown relation"):
        build_graph(dataset, X, mask, GraphConfig(), ("lyrics",))


def test_add_nodes(dataset, features):
    g = build_graph(dataset, *features, GraphConfig(acoustic_k=2))
    src = np.array([7, 7, 8])
    dst = np.array([1, 3, 7])
    bigger = g.add_nodes({"acoustic": (src, dst, np.array([0.5, 0.8, 0.3]))}, 2)
    assert bigger.num_nodes == 9 and bigger.genre.tolist()[-2:] == [-1, -1]
    c_old, c_new = dense(g.relations["acoustic"]), dense(bigger.relations["acoustic"])
    np.testing.assert_array_equal(c_new[:7, :7], c_old)  # existing edges untouched
    np.testing.assert_allclose(c_new[7], [0, 0.5, 0, 0.8, 0, 0, 0, 0, 0.3])
    np.testing.assert_allclose(c_new[:, 7], c_new[7])  # symmetric
    cooc = bigger.relations["cooc"]
    assert cooc.num_nodes == 9 and (cooc.degree()[7:] == 0).all()
    np.testing.assert_array_equal(dense(cooc)[:7, :7], dense(g.relations["cooc"]))
    sub = sample_subgraph(bigger.relations, [7], {"cooc": [-1], "acoustic": [-1]})
    assert sorted(sub.n_id.tolist()) == [1, 3, 7, 8]
    assert g.num_nodes == 7  # original unchanged
    with pytest.raises(ValueError, match="touches no new node"):
        g.add_nodes({"acoustic": (np.array([0]), np.array([1]), np.array([1.0]))}, 1)
    with pytest.raises(ValueError, match="unknown relation"):
        g.add_nodes({"genre": (src, dst, np.ones(3))}, 2)


def test_graph_store_round_trip_and_reuse(dataset, features, tmp_path, monkeypatch):
    """A stored graph comes back array for array, memory-mapped; the same settings reuse it."""
    monkeypatch.setenv("MUSIG_CACHE_DIR", str(tmp_path))
    dataset.fingerprint = "f" * 16
    cfg = GraphConfig(window=3, acoustic_k=2)
    g, key = graph_store.cached_graph(dataset, *features, cfg, ("cooc", "acoustic"))
    built = build_graph(dataset, *features, cfg)
    for name in ("cooc", "acoustic"):
        for x, y in zip(g.relations[name], built.relations[name], strict=True):
            np.testing.assert_array_equal(x, y)
        assert isinstance(g.relations[name].indices, np.memmap)
    assert g.config == cfg and g.genre_names == built.genre_names
    again, key2 = graph_store.cached_graph(dataset, *features, cfg, ("cooc", "acoustic"))
    assert key2 == key and len(list((tmp_path / dataset.fingerprint / "graphs").iterdir())) == 1
    _, other = graph_store.cached_graph(dataset, *features, cfg, ("cooc",))
    assert other != key  # other relations, another graph
    x, mask = features
    assert graph_store.graph_key("f" * 16, cfg, ("cooc",), x + 1, mask) == other  # no acoustic
    assert graph_store.graph_key(
        "f" * 16, cfg, ("acoustic",), x + 1, mask
    ) != graph_store.graph_key("f" * 16, cfg, ("acoustic",), x, mask)


def test_mpd_size_datasets_use_the_large_settings(dataset, features):
    cfg = GraphConfig(window=3, large_entries=5, large_window=1, large_min_cooccurrence=2)
    assert cfg.resolve(4) == cfg
    big = cfg.resolve(5)
    assert (big.window, big.min_cooccurrence) == (1, 2)
    g = build_graph(dataset, *features, cfg, ("cooc",))  # 11 entries: large
    assert g.config == big and dense(g.relations["cooc"]).max() <= 2
