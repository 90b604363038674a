"""The acoustic relation: exact kNN by hand and against brute force, and the approximate path
against exact on tens of thousands of tracks."""

import numpy as np
import pytest

import musig.knn as knn
from musig.csr import CSR
from musig.knn import approximate_neighbors, exact_neighbors, knn_graph, nearest_in


def dense(g: CSR) -> np.ndarray:
    return g.to_scipy().toarray()


# --- content kNN ---------------------------------------------------------------------------------


def test_knn_hand_points():
    X = np.array(
        [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [1.0, 1.0], [-1.0, 0.0]], np.float32
    )
    mask = np.array([True, True, True, True, False, True])
    g = knn_graph(X, mask, 1)
    cos01 = 0.9 / np.hypot(0.9, 0.1)
    expected = np.zeros((6, 6), np.float32)
    expected[0, 1] = expected[1, 0] = expected[2, 3] = expected[3, 2] = cos01 + knn._KNN_EPS
    # point 5 points away from everything: its nearest neighbour has cosine <= 0 -> weight eps
    nn5 = int(np.argmax(X[[0, 1, 2, 3]] @ X[5]))
    expected[5, nn5] = expected[nn5, 5] = knn._KNN_EPS
    np.testing.assert_allclose(dense(g), expected, atol=1e-6)
    assert g.degree()[4] == 0  # masked out


def test_knn_matches_brute_force_and_chunking(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6)).astype(np.float32)
    mask = rng.random(80) > 0.2
    g = knn_graph(X, mask, 4)
    idx = np.flatnonzero(mask)
    Z = X[idx] / np.linalg.norm(X[idx], axis=1, keepdims=True)
    S = Z @ Z.T
    np.fill_diagonal(S, -np.inf)
    nn = np.argsort(-S, axis=1)[:, :4]
    expected = np.zeros((80, 80), np.float32)
    for i, row in enumerate(nn):
        for j in row:
            w = max(S[i, j], 0) + knn._KNN_EPS
            a, b = idx[i], idx[j]
            expected[a, b] = expected[b, a] = max(expected[a, b], w)
    np.testing.assert_allclose(dense(g), expected, atol=1e-5)
    monkeypatch.setattr(knn, "_SIM_BUDGET", 100)
    np.testing.assert_allclose(dense(knn_graph(X, mask, 4)), dense(g), atol=1e-6)
    assert (g.degree()[~mask] == 0).all() and (g.degree()[mask] >= 4).all()


def test_knn_edge_cases():
    assert knn_graph(np.ones((3, 2)), np.array([True, False, False]), 5).num_edges == 0
    with pytest.raises(ValueError, match="cosine"):
        knn_graph(np.ones((3, 2)), np.ones(3, bool), 1, metric="euclidean")


def _clustered(n: int, f: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(300, f))
    x = centres[rng.integers(0, 300, n)] + 0.5 * rng.normal(size=(n, f))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def many():
    """20k tracks with 12 features, and the exact neighbours of 1,000 of them."""
    z = _clustered(20_000, 12)
    queries = np.random.default_rng(1).choice(len(z), 1000, replace=False)
    s = z[queries] @ z.T
    s[np.arange(len(queries)), queries] = -np.inf
    return z, queries, np.argpartition(-s, 9, axis=1)[:, :10]


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact, strict=True)]))


def test_approximate_recall_against_exact_on_20k_tracks(many):
    z, queries, exact = many
    nbr, sim = approximate_neighbors(z, 10)
    assert nbr.shape == (len(z), 10) and (np.diff(sim, axis=1) <= 0).all()  # best first
    assert not (nbr == np.arange(len(z))[:, None]).any()  # never itself
    assert _recall(nbr[queries], exact) >= 0.9
    np.testing.assert_allclose(sim, np.einsum("mf,mkf->mk", z, z[nbr]), atol=1e-4)


def test_approximate_path_is_the_same_on_every_run(many):
    z = many[0][:8000]
    one, _ = approximate_neighbors(z, 10)
    two, _ = approximate_neighbors(z, 10)
    np.testing.assert_array_equal(one, two)


def test_nearest_in_finds_the_queries_own_neighbours(many):
    z, queries, exact = many
    nbr, sim = nearest_in(z, z[queries], 11)  # each query is in z: itself first
    assert (nbr[:, 0] == queries).mean() > 0.99
    assert _recall(nbr[:, 1:], exact) >= 0.9


def test_knn_graph_switches_to_the_index_above_the_threshold(many):
    z = many[0][:3000]
    mask = np.ones(len(z), bool)
    exact = knn_graph(z, mask, 5)
    approx = knn_graph(z, mask, 5, exact_max=100)
    same = (dense(exact) > 0) == (dense(approx) > 0)
    assert same.mean() > 0.999 and approx.num_edges >= 5 * len(z)
    nbr, _ = exact_neighbors(z, 5)
    assert nbr.shape == (len(z), 5)
