"""CSR construction, validation and edge lookup."""

import numpy as np
import pytest

from musig.csr import CSR, has_edge, subtract


def test_from_edges_symmetric_sorted_and_reduced():
    g = CSR.from_edges([2, 0, 0, 1], [0, 2, 1, 0], [1.0, 3.0, 2.0, 5.0], num_nodes=4)
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int64
    assert g.weights.dtype == np.float32
    np.testing.assert_array_equal(g.indptr, [0, 2, 3, 4, 4])
    np.testing.assert_array_equal(g.indices, [1, 2, 0, 0])
    # (0,1) given as 0->1 (2) and 1->0 (5): both directions get 2 + 5
    np.testing.assert_allclose(g.weights, [7.0, 4.0, 7.0, 4.0])
    gm = CSR.from_edges([2, 0, 0, 1], [0, 2, 1, 0], [1.0, 3.0, 2.0, 5.0], num_nodes=4, reduce="max")
    np.testing.assert_allclose(gm.weights, [5.0, 3.0, 5.0, 3.0])
    np.testing.assert_array_equal(g.degree(), [2, 1, 1, 0])


def test_scipy_round_trip(random_graph):
    g2 = CSR.from_scipy(random_graph.to_scipy())
    for a, b in zip(random_graph, g2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (random_graph.to_scipy() != random_graph.to_scipy().T).nnz == 0


def test_has_edge_matches_dense(random_graph):
    rng = np.random.default_rng(0)
    u, v = rng.integers(0, 300, 5000), rng.integers(0, 300, 5000)
    dense = random_graph.to_scipy().toarray() > 0
    np.testing.assert_array_equal(has_edge(random_graph, u, v), dense[u, v])
    assert has_edge(random_graph, u, v).sum() > 50  # both outcomes are exercised


def test_csr_validation():
    with pytest.raises(ValueError, match="finite"):
        CSR.from_edges([0], [1], [-1.0])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        CSR.from_edges([0], [5], num_nodes=2)


def test_subtract_drops_edges_that_fall_below_the_minimum():
    g = CSR.from_edges([0, 0, 1, 2], [1, 2, 2, 3], [3.0, 1.0, 2.0, 5.0], num_nodes=5)
    part = CSR.from_edges([0, 0, 2], [1, 2, 3], [1.0, 1.0, 1.0], num_nodes=5)
    out = subtract(g, part, min_weight=2.0)
    expected = np.zeros((5, 5))
    for (a, b), w in {(0, 1): 2.0, (1, 2): 2.0, (2, 3): 4.0}.items():
        expected[a, b] = expected[b, a] = w
    np.testing.assert_array_equal(out.to_scipy().toarray(), expected)
    assert subtract(g, part).num_edges == 6  # (0, 2) reaches 0: gone at any minimum
    # An edge of part that g lacks was under g's threshold already: nothing to subtract from.
    extra = CSR.from_edges([0, 3], [1, 4], [1.0, 1.0], num_nodes=5)
    np.testing.assert_array_equal(subtract(g, extra).weights[:2], [2.0, 1.0])
