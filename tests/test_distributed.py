"""Training and batch inference on two gloo processes give the single-process results."""

from __future__ import annotations

import numpy as np
import pytest
from test_cli import fails, ok
from test_inductive import _world

from musig.data import load_dataset
from musig.distributed import DDPReplica, launch
from musig.evaluation import score_run
from musig.fitting import Replica
from musig.inductive import embed_nodes
from musig.metrics import paired_bootstrap
from musig.runs import read_log

# Same total examples: one process draws 32 per step, each of two draws 16. Playlists only
# (--no-content: co-occurrence and genre tasks, track vectors), so no audio is rendered. A catalog
# much larger than a batch's seeds: training's sampler shares nodes between a batch's seeds, and
# on a catalog the size of a batch that sharing, not the process count, would decide the result.
STEPS = 600
TRAIN = ["--set", f"steps={STEPS}", "--set", "batch_size=32", "--set", "eval_every=300"]
TRAIN += ["--no-map", "--no-content"]


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """600 test playlists over 1,500 tracks; short playlists (median 12 entries)."""
    from musig.synth import WorldConfig, generate_world

    tmp = tmp_path_factory.mktemp("dist")
    cfg = WorldConfig(num_tracks=1500, num_playlists=3000, num_genres=4, seed=5, clip_seconds=1.0,
                      length_median=12.0, max_length=60)  # fmt: skip
    world = generate_world(tmp / "world", cfg, progress=False)
    ok("split", "--data", world, "--out", tmp / "split", "--test", 600)
    return tmp / "split"


@pytest.fixture(scope="module")
def runs(split, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    ok("train", "--data", split, "--out", tmp / "one", *TRAIN)
    jobs = tmp / "jobs.jsonl"
    ok(
        "train",
        "--data",
        split,
        "--out",
        tmp / "two",
        "--nproc",
        2,
        *TRAIN,
        "--progress-file",
        jobs,
    )
    return tmp


def test_two_processes_match_one_on_ndcg(runs, split):
    ds = load_dataset(split)
    one, two = score_run(runs / "one", ds), score_run(runs / "two", ds)
    assert len(one) >= 500
    diff, lo, hi, _ = paired_bootstrap(one["ndcg"], two["ndcg"], random_state=0)
    assert lo <= 0 <= hi, (diff, lo, hi)
    assert two["ndcg"].mean() > 0.3  # it learned


def test_rank_zero_alone_writes_the_run(runs):
    assert sorted(p.name for p in runs.iterdir()) == ["jobs.jsonl", "one", "two"]  # no leftovers
    log = read_log(runs / "two")
    steps = log.loc[log["kind"] == "train", "step"].tolist()
    assert steps == list(range(1, STEPS + 1))  # one rank's log, each step once
    progress = (runs / "jobs.jsonl").read_text().splitlines()
    assert sum('"kind": "train"' in line for line in progress) == STEPS


def test_recommend_split_over_two_processes_is_the_single_process_submission(runs, split):
    ok("recommend", "--run", runs / "one", "--data", split, "--out", runs / "one.csv", "-k", 50)
    ok("recommend", "--run", runs / "one", "--data", split, "--out", runs / "two.csv", "-k", 50,
       "--nproc", 2)  # fmt: skip
    assert (runs / "two.csv").read_text() == (runs / "one.csv").read_text()
    (runs / "one.csv").unlink(), (runs / "two.csv").unlink()


def _embed_and_compare(replica: DDPReplica, out: str) -> None:
    """On each rank: embed every node of a small graph with this rank's share, and check the
    gathered result against one process doing it all."""
    graph, inputs, model = _world()
    fanouts = {r: [3, 2] for r in graph.relations}

    def embed(nodes):
        return embed_nodes(model, graph.relations, inputs, nodes, fanouts, random_state=7)

    shared = replica.embed_all(embed, graph.num_nodes)
    alone = Replica().embed_all(embed, graph.num_nodes)
    np.testing.assert_allclose(shared, alone, atol=1e-6)
    if replica.writes:
        np.save(out, shared)


def test_embedding_split_over_two_ranks_equals_one_process(tmp_path):
    launch(_embed_and_compare, 2, str(tmp_path / "z.npy"))
    assert np.load(tmp_path / "z.npy").shape == (40, 8)


def _average_tables(replica: DDPReplica, out: str) -> None:
    """On each rank: sparse table gradients with rows of its own, averaged over the ranks."""
    import torch

    def sparse(rows, value, shape):
        vals = torch.full((len(rows), shape[1]), float(value))
        return torch.sparse_coo_tensor(torch.tensor([rows], dtype=torch.long), vals, shape)

    track, artist, unused = (torch.nn.Parameter(torch.zeros(n, 2)) for n in (6, 3, 3))
    track.grad = sparse([[1, 2], [2, 5]][replica.rank], replica.rank + 1, (6, 2))
    if replica.rank == 1:  # rank 0's batch reached no artist
        artist.grad = sparse([0], 4, (3, 2))
    replica.average_sparse_grads([track, artist, unused])
    assert unused.grad is None
    if replica.writes:
        np.save(
            out,
            np.stack([track.grad.to_dense()[:, 0], np.r_[artist.grad.to_dense()[:, 0], 0, 0, 0]]),
        )


def test_sparse_table_gradients_are_averaged_over_ranks(tmp_path):
    launch(_average_tables, 2, str(tmp_path / "g.npy"))
    got = np.load(tmp_path / "g.npy")
    # rows 1 and 5 from one rank each, row 2 from both: (1 + 2) / 2; the artist row 4 / 2
    np.testing.assert_allclose(got[0], [0, 0.5, 1.5, 0, 0, 1.0])
    np.testing.assert_allclose(got[1], [2.0, 0, 0, 0, 0, 0])


def test_nproc_refusals_are_one_line(split, tmp_path):
    args = ["train", "--data", split, "--out", tmp_path / "r", "--nproc"]
    assert "trains in one process" in fails(*args, 2, "--method", "als")
    assert "does not split over 3" in fails(*args, 3, "--set", "batch_size=32")
    assert not (tmp_path / "r").exists()
