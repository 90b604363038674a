import numpy as np
import torch

from musig.csr import CSR
from musig.graph import TrackGraph
from musig.inductive import NodeInputs, attach_new_nodes, content_neighbors, embed_nodes
from musig.model import MusigEncoder


def _world(seed=0, n=40, f=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)).astype(np.float32)
    src, dst = rng.integers(0, 30, 120), rng.integers(0, 30, 120)  # tracks 30..39: no playlists
    keep = src != dst
    cooc = CSR.from_edges(src[keep], dst[keep], np.ones(keep.sum()), n)
    csrc, cdst = np.repeat(np.arange(n), 3), rng.integers(0, n, 3 * n)
    keep = csrc != cdst
    content = CSR.from_edges(csrc[keep], cdst[keep], np.ones(keep.sum()), n)
    graph = TrackGraph(n, {"cooc": cooc, "acoustic": content}, np.zeros(n, np.int64), ["g"])
    has_id = np.arange(n) < 30
    inputs = NodeInputs(x, np.ones(n, bool), has_id)
    torch.manual_seed(seed)
    model = MusigEncoder(f, 16, 8, 2, ("cooc", "acoustic"), num_nodes=n)
    return graph, inputs, model


def test_content_neighbors_match_brute_force():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 4)).astype(np.float32)
    has_x = np.ones(50, bool)
    has_x[[3, 7]] = False
    q = rng.normal(size=(2, 4)).astype(np.float32)
    idx, sim = content_neighbors(x, has_x, q, 5)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    brute = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ unit.T
    brute[:, ~has_x] = -np.inf
    np.testing.assert_array_equal(idx, np.argsort(-brute, axis=1)[:, :5])
    np.testing.assert_allclose(sim, np.sort(brute, axis=1)[:, ::-1][:, :5], rtol=1e-5)
    assert not np.isin(idx, [3, 7]).any()


def test_full_neighbourhood_embedding_does_not_depend_on_batching():
    graph, inputs, model = _world()
    fanouts = {r: [-1, -1] for r in graph.relations}
    a = embed_nodes(model, graph.relations, inputs, np.arange(40), fanouts, batch_size=7)
    b = embed_nodes(model, graph.relations, inputs, np.arange(40), fanouts, batch_size=40)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_sampled_embedding_is_deterministic_per_seed():
    graph, inputs, model = _world()
    fanouts = {r: [2, 2] for r in graph.relations}
    a = embed_nodes(model, graph.relations, inputs, np.arange(40), fanouts, random_state=3)
    b = embed_nodes(model, graph.relations, inputs, np.arange(40), fanouts, random_state=3)
    np.testing.assert_array_equal(a, b)


def test_sampled_embedding_does_not_depend_on_batching_or_splitting():
    """Each node's sample is its own (seed, node): batches and shares across ranks agree."""
    graph, inputs, model = _world()
    fanouts = {r: [2, 2] for r in graph.relations}
    whole = embed_nodes(model, graph.relations, inputs, np.arange(40), fanouts, random_state=3)
    small = embed_nodes(
        model, graph.relations, inputs, np.arange(40), fanouts, batch_size=7, random_state=3
    )
    np.testing.assert_allclose(small, whole, atol=1e-6)
    order = np.random.default_rng(0).permutation(40)
    parts = [
        embed_nodes(model, graph.relations, inputs, part, fanouts, random_state=3)
        for part in np.array_split(order, 3)
    ]
    np.testing.assert_allclose(np.concatenate(parts), whole[order], atol=1e-6)
    other = embed_nodes(model, graph.relations, inputs, np.arange(40), fanouts, random_state=4)
    assert not np.allclose(other, whole, atol=1e-3)


def test_upload_is_placed_next_to_the_cold_track_with_the_same_audio():
    """Inductive: a new track with a cold track's audio lands next to that track."""
    graph, inputs, model = _world()
    cold = 35  # no playlists, no per-track vector
    g2, inputs2, new = attach_new_nodes(graph, inputs, inputs.x[[cold]], 4)
    assert new.tolist() == [40]
    assert g2.relations["cooc"].degree()[40] == 0
    content = g2.relations["acoustic"]
    nbrs = content.indices[content.indptr[40] : content.indptr[41]]
    assert cold in nbrs and len(nbrs) == 4  # its own twin is its nearest acoustic neighbour
    assert not inputs2.has_id[40] and inputs2.has_x[40]
    fanouts = {r: [-1, -1] for r in g2.relations}
    z = embed_nodes(model, g2.relations, inputs2, np.arange(41), fanouts)
    sims = z[:40] @ z[40]
    assert int(np.argmax(sims)) == cold
