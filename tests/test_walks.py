"""Random walks: steps along edges, transition frequencies, node2vec bias, seeding."""

import numpy as np
import pytest
from graph_cases import STAR_W, spoke_freq

from musig.csr import CSR, has_edge
from musig.walks import random_walks


def test_walk_steps_are_edges(random_graph, star):
    for g in (random_graph, star):
        starts = np.arange(g.num_nodes).repeat(3)
        for p, q in [(1.0, 1.0), (0.5, 2.0)]:
            w = random_walks(g, starts, 8, p=p, q=q, random_state=0)
            assert w.shape == (starts.size, 9) and w.dtype == np.int64
            np.testing.assert_array_equal(w[:, 0], starts)
            a, b = w[:, :-1].ravel(), w[:, 1:].ravel()
            isolated = g.degree()[a] == 0
            assert has_edge(g, a[~isolated], b[~isolated]).all()
            assert (a[isolated] == b[isolated]).all()
    w = random_walks(star, [6], 4)
    np.testing.assert_array_equal(w, [[6] * 5])


def test_walk_transition_frequencies(star):
    w = random_walks(star, np.zeros(20_000, np.int64), 1, random_state=0)
    assert np.abs(spoke_freq(w[:, 1]) - STAR_W / STAR_W.sum()).max() < 0.015
    w = random_walks(star, np.zeros(20_000, np.int64), 1, weighted=False, random_state=0)
    assert np.abs(spoke_freq(w[:, 1]) - 0.2).max() < 0.015


def test_node2vec_second_step_exact():
    # 0-1 (w 1), 0-2 (w 1), 1-2 (w 2), 1-3 (w 3). From 1 after 0: back to 0 (1/p), to 2 (a
    # neighbour of 0: 1), to 3 (1/q); probabilities proportional to weight * bias.
    g = CSR.from_edges([0, 0, 1, 1], [1, 2, 2, 3], [1.0, 1.0, 2.0, 3.0], num_nodes=4)
    p, q = 0.5, 4.0
    w = random_walks(g, np.zeros(60_000, np.int64), 2, p=p, q=q, random_state=0)
    via1 = w[w[:, 1] == 1, 2]
    expected = np.array([1.0 / p, 2.0, 3.0 / q])
    freq = np.bincount(via1, minlength=4)[[0, 2, 3]] / via1.size
    assert np.abs(freq - expected / expected.sum()).max() < 0.015


def grid(n: int) -> CSR:
    ids = np.arange(n * n).reshape(n, n)
    src = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    dst = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    return CSR.from_edges(src, dst, num_nodes=n * n)


def test_node2vec_bias_statistics(random_graph):
    starts = np.repeat(np.arange(random_graph.num_nodes), 20)

    def return_rate(p: float) -> float:
        w = random_walks(random_graph, starts, 10, p=p, random_state=0)
        return float((w[:, 2:] == w[:, :-2]).mean())

    assert return_rate(0.25) > 2 * return_rate(1.0)

    g, n = grid(31), 31
    starts = np.full(4000, (n // 2) * n + n // 2)

    def spread(q: float) -> float:
        w = random_walks(g, starts, 20, q=q, random_state=1)
        r, c = np.divmod(w[:, -1], n)
        return float(np.mean(np.abs(r - n // 2) + np.abs(c - n // 2)))

    # large q favours backtracking over moving on (BFS-like); small q pushes walks outwards
    assert spread(4.0) < 0.8 * spread(1.0)
    assert spread(1.0) < 0.9 * spread(0.25)


def test_walk_seeding_and_validation(random_graph):
    a = random_walks(random_graph, np.arange(50), 5, p=2.0, random_state=3)
    b = random_walks(random_graph, np.arange(50), 5, p=2.0, random_state=3)
    c = random_walks(random_graph, np.arange(50), 5, p=2.0, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    unsorted = CSR(np.array([0, 2, 3, 4]), np.array([2, 1, 0, 0]), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="sorted"):
        random_walks(unsorted, [0], 3, p=0.5)
    with pytest.raises(ValueError, match="p and q"):
        random_walks(random_graph, [0], 3, q=0.0)
