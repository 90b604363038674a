import numpy as np
import pytest

import musig.sampling as sampling
from musig.sampling import (
    CSR,
    cumulative_weights,
    has_edge,
    random_walks,
    sample_neighbors,
    sample_subgraph,
)

# Node 0 is a hub with weighted spokes 1..5; 1-2 and 3-4 are extra edges; 6 is isolated.
STAR_W = np.array([1.0, 2.0, 3.0, 4.0, 10.0])


@pytest.fixture(scope="module")
def star() -> CSR:
    src = np.r_[np.zeros(5, np.int64), 1, 3]
    dst = np.r_[np.arange(1, 6), 2, 4]
    return CSR.from_edges(src, dst, np.r_[STAR_W, 1.0, 1.0], num_nodes=7)


@pytest.fixture(scope="module")
def random_graph() -> CSR:
    rng = np.random.default_rng(0)
    n = 300
    src, dst = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    keep = src != dst
    return CSR.from_edges(src[keep], dst[keep], rng.uniform(0.1, 5, keep.sum()), num_nodes=n)


def edge_set(g: CSR) -> set[tuple[int, int]]:
    row = np.repeat(np.arange(g.num_nodes), g.degree())
    return set(zip(row.tolist(), g.indices.tolist(), strict=True))


# --- CSR -----------------------------------------------------------------------------------------


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


# --- sample_neighbors ----------------------------------------------------------------------------


def spoke_freq(src: np.ndarray) -> np.ndarray:
    return np.bincount(src, minlength=6)[1:6] / src.size


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


# --- random walks --------------------------------------------------------------------------------


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


def test_subgraph_without_relations_is_the_seeds_alone():
    sub = sample_subgraph({}, np.array([4, 2, 4]), {}, random_state=0)
    assert sub.n_id.tolist() == [4, 2] and sub.batch_size == 2
    assert sub.edge_index == {} and sub.seed_local.tolist() == [0, 1, 0]
