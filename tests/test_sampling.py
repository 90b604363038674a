import numpy as np
import pytest
from graph_cases import STAR_W, edge_set, spoke_freq

import musig.sampling as sampling
from musig.csr import CSR
from musig.sampling import cumulative_weights, sample_neighbors, sample_subgraph

# --- sample_neighbors ----------------------------------------------------------------------------


def test_weighted_with_replacement_matches_weights(star):
    src, dst = sample_neighbors(star, np.zeros(2000, np.int64), 10, random_state=1)
    assert src.size == 20_000 and (dst == 0).all()
    # binomial sd <= 0.0036 at n=20k; 0.015 is about 4 sd
    assert np.abs(spoke_freq(src) - STAR_W / STAR_W.sum()).max() < 0.015


def test_uniform_with_replacement(star):
    src, _ = sample_neighbors(star, [0], 20_000, weighted=False, random_state=2)
    assert np.abs(spoke_freq(src) - 0.2).max() < 0.015


def test_zero_weight_edges_never_sampled_and_all_zero_row_uniform():
    g = CSR.from_edges([0, 0, 0, 4, 4], [1, 2, 3, 5, 6], [1.0, 0.0, 1.0, 0.0, 0.0], num_nodes=7)
    src, _ = sample_neighbors(g, [0], 5000, random_state=0)
    assert 2 not in set(src.tolist())
    src, _ = sample_neighbors(g, [4], 5000, random_state=0)
    assert abs((src == 5).mean() - 0.5) < 0.03
    src, _ = sample_neighbors(g, [0] * 3000, 2, replace=False, random_state=0)
    assert 2 not in set(src.tolist())


def inclusion_probs(w: np.ndarray) -> np.ndarray:
    """Exact P(i in sample) for successive weighted draws without replacement, k = 2."""
    p = w / w.sum()
    out = p.copy()
    for j in range(len(w)):
        others = np.arange(len(w)) != j
        out[others] += p[j] * w[others] / (w.sum() - w[j])
    return out


def test_weighted_without_replacement(star):
    nodes = np.r_[np.zeros(10_000, np.int64), 1, 6]
    src, dst = sample_neighbors(star, nodes, 2, replace=False, random_state=3)
    hub_src = src[dst == 0].reshape(-1, 2)  # grouped by node, 2 per hub entry
    assert (hub_src[:, 0] != hub_src[:, 1]).all()  # no duplicates per node
    freq = np.bincount(hub_src.ravel(), minlength=6)[1:] / hub_src.shape[0]
    assert np.abs(freq - inclusion_probs(STAR_W)).max() < 0.02
    assert (np.diff(freq) > 0).all()  # heavier spokes are kept more often
    # node 1 has degree 2 == fanout: takes both neighbours; isolated 6 gives nothing
    assert sorted(src[dst == 1].tolist()) == [0, 2]
    assert (dst != 6).all()


def test_without_replacement_k1_matches_weights(star):
    src, _ = sample_neighbors(star, np.zeros(20_000, np.int64), 1, replace=False, random_state=4)
    assert np.abs(spoke_freq(src) - STAR_W / STAR_W.sum()).max() < 0.015


@pytest.mark.parametrize("weighted", [True, False])
def test_without_replacement_counts(random_graph, weighted):
    nodes = np.arange(random_graph.num_nodes)
    src, dst = sample_neighbors(
        random_graph, nodes, 5, replace=False, weighted=weighted, random_state=0
    )
    counts = np.bincount(dst, minlength=random_graph.num_nodes)
    np.testing.assert_array_equal(counts, np.minimum(random_graph.degree(), 5))
    assert len(set(zip(src.tolist(), dst.tolist(), strict=True))) == src.size
    assert set(zip(dst.tolist(), src.tolist(), strict=True)) <= edge_set(random_graph)


def test_fanout_all_and_isolated(star):
    src, dst = sample_neighbors(star, [6, 0, 6, 3], -1, random_state=0)
    np.testing.assert_array_equal(dst, [0, 0, 0, 0, 0, 3, 3])
    np.testing.assert_array_equal(src, [1, 2, 3, 4, 5, 0, 4])
    src, dst = sample_neighbors(star, [6, 6], 3, random_state=0)
    assert src.size == dst.size == 0 and src.dtype == np.int64
    assert sample_neighbors(star, [0], 0)[0].size == 0
    with pytest.raises(ValueError, match="fanout"):
        sample_neighbors(star, [0], -2)
    with pytest.raises(ValueError, match="nodes"):
        sample_neighbors(star, [7], 2)


@pytest.mark.parametrize("replace", [True, False])
def test_seeding(random_graph, replace):
    nodes = np.arange(0, 300, 3)
    a = sample_neighbors(random_graph, nodes, 4, replace=replace, random_state=5)
    b = sample_neighbors(random_graph, nodes, 4, replace=replace, random_state=5)
    c = sample_neighbors(random_graph, nodes, 4, replace=replace, random_state=6)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_chunking_gives_same_sample(random_graph, monkeypatch, replace, weighted):
    nodes = np.arange(random_graph.num_nodes)
    kw = dict(replace=replace, weighted=weighted, random_state=7)
    full = sample_neighbors(random_graph, nodes, 3, **kw)
    monkeypatch.setattr(sampling, "_GATHER_BUDGET", 25)
    chunked = sample_neighbors(random_graph, nodes, 3, **kw)
    np.testing.assert_array_equal(full[0], chunked[0])
    np.testing.assert_array_equal(full[1], chunked[1])


# --- sample_subgraph -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_relations() -> dict[str, CSR]:
    # "a" is the path 0-1-2-3-4; "b" links 0-5, 5-6 and 2-7 (disjoint from "a"); 8 is isolated.
    a = CSR.from_edges([0, 1, 2, 3], [1, 2, 3, 4], num_nodes=9)
    b = CSR.from_edges([0, 5, 2], [5, 6, 7], [1.0, 2.0, 3.0], num_nodes=9)
    return {"a": a, "b": b}


def test_subgraph_exact_two_hops(two_relations):
    sub = sample_subgraph(two_relations, [0], {"a": [-1, -1], "b": [-1, -1]})
    assert sub.batch_size == 1 and sub.n_id[0] == 0
    assert sorted(sub.n_id.tolist()) == [0, 1, 2, 5, 6]  # 3, 7 are three hops away
    glob = {r: {tuple(sub.n_id[e].tolist()) for e in ei.T} for r, ei in sub.edge_index.items()}
    # hop 1: neighbours of 0; hop 2: neighbours of {1, 5} (0 is not expanded again)
    assert glob["a"] == {(1, 0), (0, 1), (2, 1)}
    assert glob["b"] == {(5, 0), (0, 5), (6, 5)}


def test_subgraph_structure(two_relations):
    seeds = np.array([4, 0, 4, 8])
    sub = sample_subgraph(two_relations, seeds, {"a": [2, 2], "b": [1, 3]}, random_state=0)
    np.testing.assert_array_equal(sub.n_id[: sub.batch_size], [4, 0, 8])
    np.testing.assert_array_equal(sub.n_id[sub.seed_local], seeds)
    assert len(np.unique(sub.n_id)) == sub.n_id.size
    for r, ei in sub.edge_index.items():
        assert ei.dtype == np.int64 and ei.shape[0] == 2
        assert ei.max() < sub.n_id.size
        assert {tuple(sub.n_id[e].tolist()) for e in ei.T} <= edge_set(two_relations[r])
        assert (sub.n_id[ei[1]] != 8).all()  # the isolated seed gets no edges
    again = sample_subgraph(two_relations, seeds, {"b": [1, 3], "a": [2, 2]}, random_state=0)
    np.testing.assert_array_equal(sub.n_id, again.n_id)
    for r in sub.edge_index:
        np.testing.assert_array_equal(sub.edge_index[r], again.edge_index[r])


def test_subgraph_with_precomputed_cum_weights_matches_weights(star):
    cum = {"s": cumulative_weights(star)}
    sub = sample_subgraph({"s": star}, [0], {"s": [20_000]}, random_state=3, cum_weights=cum)
    src = sub.n_id[sub.edge_index["s"][0]]
    assert np.abs(spoke_freq(src) - STAR_W / STAR_W.sum()).max() < 0.015
    # an all-zero row is sampled uniformly, zero-weight edges never
    w = CSR(np.array([0, 2, 4, 4]), np.array([1, 2, 0, 2]), np.array([0, 1, 0, 0], np.float32))
    cum = {"w": cumulative_weights(w)}
    for seed, expected in ((0, [2]), (1, [0, 2])):
        sub = sample_subgraph({"w": w}, [seed], {"w": [4000]}, random_state=0, cum_weights=cum)
        src = sub.n_id[sub.edge_index["w"][0]]
        np.testing.assert_array_equal(np.unique(src), expected)
    assert abs((src == 0).mean() - 0.5) < 0.05
    with pytest.raises(ValueError, match="does not match"):
        sample_subgraph({"s": star}, [0], {"s": [2]}, cum_weights={"s": np.zeros(3)})


def test_hop_ptr_marks_the_nodes_of_each_hop(random_graph):
    sub = sample_subgraph({"x": random_graph}, np.arange(10), {"x": [4, 3]}, random_state=1)
    ptr = sub.hop_ptr
    assert len(ptr) == 4 and ptr[0] == 0 and ptr[1] == sub.batch_size and ptr[-1] == sub.n_id.size
    ei = sub.edge_index["x"]
    hop_of = np.searchsorted(ptr, np.arange(sub.n_id.size), side="right") - 1
    # an edge into a hop-h node was sampled in hop h + 1: its source is at most one hop further
    assert (hop_of[ei[1]] <= 1).all() and (hop_of[ei[0]] <= hop_of[ei[1]] + 1).all()
    # every node after the seeds is reached by an edge into the previous hop
    for h in (1, 2):
        reached = np.unique(ei[0][hop_of[ei[1]] == h - 1])
        assert set(range(ptr[h], ptr[h + 1])) <= set(reached.tolist())


def test_subgraph_random_graph_hops(random_graph):
    rels = {"x": random_graph}
    seeds = np.arange(10)
    sub = sample_subgraph(rels, seeds, {"x": [4, 3]}, replace=False, random_state=1)
    ei = sub.edge_index["x"]
    hop1 = np.isin(ei[1], np.arange(sub.batch_size))
    # hop-1 edges end at seeds (4 each); hop-2 edges end at nodes first reached in hop 1
    assert hop1.sum() == 4 * 10
    targets2 = np.unique(ei[1][~hop1])
    assert (targets2 >= sub.batch_size).all()
    first_reached = np.setdiff1d(np.unique(ei[0][hop1]), np.arange(sub.batch_size))
    np.testing.assert_array_equal(targets2, first_reached)
    other = sample_subgraph(rels, seeds, {"x": [4, 3]}, replace=False, random_state=2)
    assert not np.array_equal(sub.n_id, other.n_id)


def test_subgraph_empty_cases(two_relations):
    sub = sample_subgraph(two_relations, np.zeros(0, np.int64), {"a": [3, 2], "b": [1, 1]})
    assert sub.n_id.size == 0 and sub.batch_size == 0 and sub.seed_local.size == 0
    assert sub.edge_index["a"].shape == (2, 0) and sub.edge_index["a"].dtype == np.int64
    sub = sample_subgraph(two_relations, [8, 3], {"a": [], "b": []})
    np.testing.assert_array_equal(sub.n_id, [8, 3])
    assert sub.edge_index["b"].shape == (2, 0)
    sub = sample_subgraph(two_relations, [8], {"a": [5, 5]})  # isolated seed: nothing to expand
    np.testing.assert_array_equal(sub.n_id, [8])
    assert set(sub.edge_index) == {"a"} and sub.edge_index["a"].shape == (2, 0)


def test_subgraph_validation(two_relations):
    small = CSR.from_edges([0], [1], num_nodes=3)
    with pytest.raises(ValueError, match="num_nodes"):
        sample_subgraph({"a": two_relations["a"], "s": small}, [0], {"a": [1], "s": [1]})
    with pytest.raises(ValueError, match="same number of hops"):
        sample_subgraph(two_relations, [0], {"a": [1, 1], "b": [1]})
    with pytest.raises(ValueError, match="'zzz'"):
        sample_subgraph(two_relations, [0], {"zzz": [1]})


def test_subgraph_without_relations_is_the_seeds_alone():
    sub = sample_subgraph({}, np.array([4, 2, 4]), {}, random_state=0)
    assert sub.n_id.tolist() == [4, 2] and sub.batch_size == 2
    assert sub.edge_index == {} and sub.seed_local.tolist() == [0, 1, 0]
