"""Explanations one level into the encoder: the neighbourhood it aggregates, and what each source
adds to a candidate's score, checked where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musig.csr import CSR
from musig.explain import VECTOR, attribution, edge_weights, explain_run, neighbourhood
from musig.inductive import NodeInputs
from musig.model import MusigEncoder

FANOUTS = {"cooc": [3, 2], "acoustic": [3, 2]}


@pytest.fixture(scope="module")
def toy():
    """8 tracks. Co-occurrence: 0-1 (w 4), 0-2 (w 1), 1-2, 3-4, 5-6; acoustic: 3-5, 3-6, 4-5,
    1-7. Track 0 has no acoustic edge; track 6 has no co-occurrence with the rest of its
    cluster besides 5; track 7 is cold (no vector)."""
    cooc = CSR.from_edges(
        np.array([0, 0, 1, 3, 5]), np.array([1, 2, 2, 4, 6]), np.array([4, 1, 2, 3, 1.0]), 8
    )
    acoustic = CSR.from_edges(
        np.array([3, 3, 4, 1]), np.array([5, 6, 5, 7]), np.array([0.9, 0.8, 0.7, 0.5]), 8
    )
    rng = np.random.default_rng(0)
    inputs = NodeInputs(
        x=rng.normal(size=(8, 5)).astype(np.float32),
        has_x=np.ones(8, bool),
        has_id=np.arange(8) != 7,
    )
    torch.manual_seed(0)
    model = MusigEncoder(5, 16, 8, 2, ("cooc", "acoustic"), num_nodes=8).eval()
    query = rng.normal(size=8).astype(np.float32)
    return model, {"cooc": cooc, "acoustic": acoustic}, inputs, query / np.linalg.norm(query)


def test_a_source_the_candidate_lacks_adds_nothing(toy):
    model, rel, inputs, q = toy
    no_acoustic = attribution(model, rel, inputs, FANOUTS, 0, q, draws=4)
    assert no_acoustic["acoustic"] == 0.0  # track 0 has no acoustic edge
    assert no_acoustic["cooc"] != 0.0 and no_acoustic[VECTOR] != 0.0
    cold = attribution(model, rel, inputs, FANOUTS, 7, q, draws=4)
    assert cold[VECTOR] == 0.0 and cold["cooc"] == 0.0  # no vector, no co-occurrence
    assert cold["acoustic"] != 0.0
    assert -1.0 <= cold["score"] <= 1.0


def test_attribution_is_fixed_by_its_seed_and_averages_draws(toy):
    model, rel, inputs, q = toy
    a = attribution(model, rel, inputs, FANOUTS, 3, q, draws=6, random_state=1)
    assert a == attribution(model, rel, inputs, FANOUTS, 3, q, draws=6, random_state=1)
    one = [attribution(model, rel, inputs, FANOUTS, 3, q, draws=1, random_state=s) for s in (5, 6)]
    assert one[0] != one[1]  # each draw samples another neighbourhood
    # A model without per-track vectors has no "vector" source to leave out.
    plain = MusigEncoder(5, 16, 8, 2, ("cooc", "acoustic")).eval()
    assert set(attribution(plain, rel, inputs, FANOUTS, 3, q, draws=2)) == {
        "score",
        "cooc",
        "acoustic",
    }


def test_neighbourhood_has_the_roots_and_the_graphs_edges(toy):
    _, rel, _, _ = toy
    nb = neighbourhood(rel, FANOUTS, 0, np.array([3, 0]), random_state=0)
    assert nb.nodes[:2].tolist() == [0, 3]  # candidate, then seeds (the candidate is no seed)
    assert nb.kind[:2].tolist() == ["candidate", "seed"] and nb.hop[:2].tolist() == [0, 0]
    assert set(nb.kind[2:]) <= {"neighbour"} and (nb.hop[2:] >= 1).all()
    e = nb.edges
    assert set(e["src"]) | set(e["dst"]) <= set(nb.nodes.tolist())
    assert (e["draws"] >= 1).all() and not e.duplicated(["src", "dst", "relation"]).any()
    for r in ("cooc", "acoustic"):
        part = e[e["relation"] == r]
        want = edge_weights(rel[r], part["src"].to_numpy(), part["dst"].to_numpy())
        assert np.array_equal(part["weight"].to_numpy(np.float32), want) and (want > 0).all()
    # Edges into track 0 are co-occurrence only, and its heavier edge (to 1, w 4) is among them.
    into0 = e[e["dst"] == 0]
    assert set(into0["relation"]) == {"cooc"} and 1 in into0["src"].tolist()
    assert edge_weights(rel["cooc"], np.array([1, 3]), np.array([0, 0])).tolist() == [4.0, 0.0]


def test_explain_run_on_a_trained_musig_run(app_world):  # noqa: F811
    from musig import workspace as wsp
    from musig.data import load_dataset
    from musig.runs import load_run

    ws = wsp.Workspace.open(*app_world)
    ds = load_dataset(ws.split_dir)
    run = load_run(ws.runs_dir / "musig", ds)
    seeds = ds.playlist(0)[:3]
    candidate = int(run.retriever.recommend(seeds, 1)[0][0])
    nb, got = explain_run(run, seeds, candidate, draws=4)
    assert nb.nodes[0] == candidate and set(seeds) <= set(nb.nodes.tolist())
    assert {"score", "cooc", "acoustic", VECTOR} == set(got)
    stored = float(run.retriever.unit[candidate] @ run.retriever.query([seeds])[0][0])
    assert abs(got["score"] - stored) < 0.25  # re-encoded over new draws: close, not equal
    with pytest.raises(ValueError, match="no encoder"):
        explain_run(load_run(ws.runs_dir / "als", ds), seeds, candidate)


from tests.test_app import app_world  # noqa: E402, F401  (session fixture)


def test_figures_draw_every_kind_relation_and_source(toy):
    from musig.workspace.explain_figures import attribution_figure, neighbourhood_figure

    model, rel, inputs, q = toy
    nb = neighbourhood(rel, FANOUTS, 3, np.array([0]), random_state=0)
    fig = neighbourhood_figure(nb, [f"track {i}" for i in nb.nodes])
    names = {t.name for t in fig.data if t.showlegend is not False}
    assert {"co-occurrence", "acoustic", "candidate", "seed", "sampled neighbour"} <= names
    got = attribution(model, rel, inputs, FANOUTS, 3, q, draws=2)
    bars = attribution_figure(got, stored=0.5).data[0]
    assert list(bars.x) == ["co-occurrence edges", "acoustic edges", "own vector"]
    assert np.allclose(bars.y, [got["cooc"], got["acoustic"], got[VECTOR]])
