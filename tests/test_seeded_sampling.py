"""Per-node seeded neighbourhoods: a node's draws depend on (seed, node) only."""

import numpy as np
from graph_cases import STAR_W, spoke_freq

from musig.sampling import cumulative_weights
from musig.seeded_sampling import node_uniforms, sample_layered


def test_node_uniforms_are_uniform_and_keyed_by_seed_node_and_stream():
    u = node_uniforms(5, np.arange(2000), 0, 50)
    assert u.shape == (2000, 50) and 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    np.testing.assert_array_equal(node_uniforms(5, np.array([7]), 0, 50)[0], u[7])
    assert not np.allclose(node_uniforms(6, np.array([7]), 0, 50), u[7])
    assert not np.allclose(node_uniforms(5, np.array([7]), 1, 50), u[7])


def test_weighted_draws_follow_edge_weights(star):
    sub = sample_layered({"s": star}, [0], {"s": [20_000]}, seed=3)
    src = sub.n_id[sub.edge_index["s"][0]]
    assert np.abs(spoke_freq(src) - STAR_W / STAR_W.sum()).max() < 0.015


def test_a_node_keeps_its_neighbourhood_whatever_else_is_in_the_batch(random_graph):
    rels = {"x": random_graph}
    cum = {"x": cumulative_weights(random_graph)}
    fanouts = {"x": [4, 3]}

    def tree(sub, node):
        """(depth-1 neighbours, their depth-2 neighbours) of ``node`` as global ids."""
        ei = sub.edge_index["x"]
        root = int(np.flatnonzero(sub.n_id[: sub.batch_size] == node)[0])
        first = ei[0][ei[1] == root]
        second = [sorted(sub.n_id[ei[0][ei[1] == v]].tolist()) for v in first]
        return sorted(sub.n_id[first].tolist()), sorted(map(tuple, second))

    alone = sample_layered(rels, [17], fanouts, seed=1, cum_weights=cum)
    neighbours = tree(alone, 17)[0]
    batch = np.r_[np.arange(10), neighbours, 17]  # 17's neighbours are seeds too
    crowd = sample_layered(rels, batch, fanouts, seed=1, cum_weights=cum)
    assert tree(crowd, 17) == tree(alone, 17)
    assert crowd.hop_ptr[1] == len(np.unique(batch))
    other = sample_layered(rels, [17], fanouts, seed=2, cum_weights=cum)
    assert tree(other, 17) != tree(alone, 17)


def test_isolated_seeds_and_full_fanout():
    from musig.csr import CSR

    g = CSR.from_edges(np.array([0, 0]), np.array([1, 2]), np.array([1.0, 2.0]), num_nodes=4)
    sub = sample_layered({"g": g}, [3, 0], {"g": [-1, -1]}, seed=0)
    ei = sub.edge_index["g"]
    assert sorted(sub.n_id[ei[0][:2]].tolist()) == [1, 2]  # 0's whole row, 3 has none
    assert set(sub.n_id[ei[1]].tolist()) <= {0, 1, 2}
