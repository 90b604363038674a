import numpy as np
import pytest
import torch

from musig.model import GenreHead, MusigEncoder


def _encoder(**kw):
    args = dict(
        in_channels=6,
        hidden_channels=16,
        out_channels=8,
        num_layers=2,
        relations=("cooc", "acoustic"),
        num_nodes=10,
    )
    args.update(kw)
    torch.manual_seed(0)
    return MusigEncoder(**args)


def _inputs(model, n=10):
    x = torch.randn(n, 6)
    return model.input(
        x, torch.ones(n, dtype=torch.bool), torch.arange(n), torch.ones(n, dtype=torch.bool)
    )


def test_forward_shapes_and_unit_norm():
    model = _encoder()
    edges = {"cooc": torch.tensor([[1, 2, 3], [0, 0, 1]]), "acoustic": torch.tensor([[4], [0]])}
    z = model(_inputs(model), edges)
    assert z.shape == (10, 8)
    np.testing.assert_allclose(z.norm(dim=1).detach().numpy(), 1.0, rtol=1e-5)


def test_missing_relation_and_no_edges_work():
    model = _encoder()
    h = _inputs(model)
    z_none = model(h, {})
    z_one = model(h, {"cooc": torch.zeros((2, 0), dtype=torch.long)})
    torch.testing.assert_close(z_none, z_one)


def test_neighbours_change_the_embedding_only_of_their_target():
    model = _encoder(num_layers=1)
    h = _inputs(model)
    base = model(h, {})
    z = model(h, {"cooc": torch.tensor([[5], [0]])})
    assert not torch.allclose(z[0], base[0])
    torch.testing.assert_close(z[1:], base[1:])


def test_trimmed_forward_gives_the_seeds_full_forward():
    from musig.csr import CSR
    from musig.sampling import sample_subgraph

    rng = np.random.default_rng(0)
    src, dst = rng.integers(0, 10, 40), rng.integers(0, 10, 40)
    g = CSR.from_edges(src[src != dst], dst[src != dst], num_nodes=10)
    sub = sample_subgraph({"cooc": g, "acoustic": g}, [3, 7], {"cooc": [3, 2], "acoustic": [2, 2]})
    model = _encoder().eval()
    h = _inputs(model)[torch.from_numpy(sub.n_id)]
    edges = {r: torch.from_numpy(e) for r, e in sub.edge_index.items()}
    full = model(h, edges)
    trimmed = model(h, edges, sub.hop_ptr)
    assert trimmed.shape == (2, 8)
    torch.testing.assert_close(trimmed, full[:2])


def test_track_vector_used_only_where_allowed():
    model = _encoder()
    x = torch.zeros(3, 6)
    has_x = torch.zeros(3, dtype=torch.bool)
    no_id = model.input(x, has_x, torch.arange(3), torch.zeros(3, dtype=torch.bool))
    with_id = model.input(x, has_x, torch.arange(3), torch.tensor([True, False, False]))
    assert not torch.allclose(no_id[0], with_id[0])
    torch.testing.assert_close(no_id[1:], with_id[1:])


def test_needs_some_input():
    with pytest.raises(ValueError, match="needs audio features"):
        _encoder(in_channels=0, num_nodes=0)


def test_genre_head_logits():
    assert GenreHead(8, 5)(torch.randn(4, 8)).shape == (4, 5)


def test_artist_vector_is_added_to_known_artists_only():
    model = MusigEncoder(0, 4, 3, 1, ("cooc",), num_nodes=5, num_artists=2)
    with torch.no_grad():
        model.artist_emb.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 2.0, 0, 0]]))
    h = model.input(
        None,
        torch.zeros(3, dtype=torch.bool),
        torch.tensor([0, 1, 2]),
        torch.zeros(3, dtype=torch.bool),  # no track vector: cold
        torch.tensor([1, -1, 0]),
    )
    np.testing.assert_allclose(h.detach().numpy(), [[0, 2, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]])
