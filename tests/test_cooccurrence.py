"""Co-occurrence counting: by hand, against brute force, in chunks and in track blocks."""

import numpy as np
import pytest
from graph_cases import playlists_csr

import musig.cooccurrence as cooccurrence
from musig.cooccurrence import cooccurrence_matrix, symmetric_from_upper
from musig.csr import CSR


def brute_cooc(playlists: list[list[int]], n: int, window: int | None, min_weight: int):
    out = np.zeros((n, n))
    for pl in playlists:
        pairs = set()
        for i, a in enumerate(pl):
            for j in range(i + 1, len(pl)):
                if (window is None or j - i <= window) and a != pl[j]:
                    pairs.add((min(a, pl[j]), max(a, pl[j])))
        for a, b in pairs:
            out[a, b] += 1
            out[b, a] += 1
    out[out < min_weight] = 0
    return out


def dense(g: CSR) -> np.ndarray:
    return g.to_scipy().toarray()


# --- co-occurrence -------------------------------------------------------------------------------


def test_cooccurrence_hand_example():
    playlists = [
        [0, 1, 2, 3, 4, 5],  # window 2 cuts (0,3), (0,4), ... out of this long playlist
        [0, 3],
        [1, 0, 1],  # duplicate track: (0,1) counted once for this playlist, no self loop
        [],
        [6],
    ]
    indptr, tracks = playlists_csr(playlists)
    g = cooccurrence_matrix(indptr, tracks, 8, window=2, min_weight=1)
    expected = np.zeros((8, 8))
    for (a, b), w in {
        (0, 1): 2,
        (0, 2): 1,
        (1, 2): 1,
        (1, 3): 1,
        (2, 3): 1,
        (2, 4): 1,
        (3, 4): 1,
        (3, 5): 1,
        (4, 5): 1,
        (0, 3): 1,
    }.items():
        expected[a, b] = expected[b, a] = w
    np.testing.assert_array_equal(dense(g), expected)
    assert g.num_edges == 20 and g.weights.dtype == np.float32
    assert (g.degree()[6:] == 0).all()  # single-track playlist and unseen track: isolated

    g2 = cooccurrence_matrix(indptr, tracks, 8, window=2, min_weight=2)
    assert g2.num_edges == 2 and dense(g2)[0, 1] == dense(g2)[1, 0] == 2


@pytest.mark.parametrize("window", [1, 3, None])
@pytest.mark.parametrize("min_weight", [1, 2])
def test_cooccurrence_matches_brute_force(window, min_weight):
    rng = np.random.default_rng(0)
    # few tracks so that duplicates inside a playlist and repeated pairs are common
    playlists = [rng.integers(0, 15, rng.integers(0, 12)).tolist() for _ in range(60)]
    indptr, tracks = playlists_csr(playlists)
    g = cooccurrence_matrix(indptr, tracks, 15, window=window, min_weight=min_weight)
    np.testing.assert_array_equal(dense(g), brute_cooc(playlists, 15, window, min_weight))


def test_cooccurrence_chunked(monkeypatch):
    rng = np.random.default_rng(1)
    playlists = [rng.integers(0, 40, rng.integers(1, 30)).tolist() for _ in range(50)]
    indptr, tracks = playlists_csr(playlists)
    full = cooccurrence_matrix(indptr, tracks, 40, window=4, min_weight=1)
    monkeypatch.setattr(cooccurrence, "_PAIR_BUDGET", 17)
    chunked = cooccurrence_matrix(indptr, tracks, 40, window=4, min_weight=1)
    np.testing.assert_array_equal(dense(full), dense(chunked))


@pytest.mark.parametrize("min_weight", [1, 2])
def test_cooccurrence_in_track_blocks_equals_one_pass(monkeypatch, min_weight):
    """A small budget forces many track blocks (one pass over the playlists each): the graph is
    the same, array for array."""
    rng = np.random.default_rng(2)
    playlists = [rng.integers(0, 60, rng.integers(1, 25)).tolist() for _ in range(80)]
    indptr, tracks = playlists_csr(playlists)
    one = cooccurrence_matrix(indptr, tracks, 60, window=3, min_weight=min_weight)
    monkeypatch.setattr(cooccurrence, "_BLOCK_BUDGET", 40)
    monkeypatch.setattr(cooccurrence, "_PAIR_BUDGET", 50)
    blocked = cooccurrence_matrix(indptr, tracks, 60, window=3, min_weight=min_weight)
    for x, y in zip(one, blocked, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(dense(blocked), brute_cooc(playlists, 60, 3, min_weight))


def test_blocks_respect_the_budget():
    load = np.array([3, 3, 3, 10, 0, 1, 1])
    assert cooccurrence._blocks(load, 6) == [(0, 2), (2, 3), (3, 4), (4, 7)]


def test_symmetric_from_upper_matches_scipy():
    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(0, 30 * 30, 200))
    rows, cols = keys // 30, keys % 30
    up = rows < cols
    rows, cols = rows[up], cols[up]
    w = rng.random(len(rows)).astype(np.float32)
    g = symmetric_from_upper(rows, cols, w, 30)
    ref = CSR.from_edges(rows, cols, w, 30, symmetric=True)
    for x, y in zip(g, ref, strict=True):
        np.testing.assert_array_equal(x, y)


def test_cooccurrence_validation():
    with pytest.raises(ValueError, match="num_tracks|lie in"):
        cooccurrence_matrix(np.array([0, 2]), np.array([0, 5]), 3, window=2, min_weight=1)
    with pytest.raises(ValueError, match="end at"):
        cooccurrence_matrix(np.array([0, 3]), np.array([0, 1]), 3, window=2, min_weight=1)
    with pytest.raises(ValueError, match="window"):
        cooccurrence_matrix(np.array([0, 2]), np.array([0, 1]), 3, window=0, min_weight=1)
