"""The oracle: the generator's own ranking, the ceiling of every synthetic world's table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musig import methods, synth
from musig.data import load_dataset
from musig.evaluation import EvalConfig, evaluate
from musig.fitting import FitContext
from musig.split import SplitConfig, make_split


@pytest.fixture(scope="module")
def split(tiny_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle") / "split"
    make_split(load_dataset(tiny_world), out, SplitConfig(num_test_playlists=40))
    return out


def test_default_profile_log_probs_rank_a_playlists_own_tracks_high(tiny_world):
    ds = load_dataset(tiny_world)
    lp = synth.log_probs(tiny_world, ds.pids)  # (P, N), pid == generator playlist here
    one = synth.log_probs(tiny_world, int(ds.pids[5]))
    assert lp.shape == (ds.num_playlists, ds.num_tracks) and one.shape == (ds.num_tracks,)
    np.testing.assert_allclose(lp[5], one, rtol=1e-5, atol=1e-4)
    assert np.array_equal(np.isneginf(lp[0]), ds.popularity == 0)  # the generator's cold tracks
    warm = ds.popularity > 0
    pct = [(row[ds.playlist(i)][:, None] > row[None, warm]).mean() for i, row in enumerate(lp)]
    assert np.mean(pct) > 0.8  # a playlist's own tracks sit far above the rest of the catalog
    with pytest.raises(ValueError, match="pids"):
        synth.log_probs(tiny_world, [10**6])


def test_oracle_beats_every_method_on_a_small_world(split, tmp_path, monkeypatch):
    fast = {"steps": 200, "batch_size": 64, "eval_every": 100, "hidden_channels": 32}
    for name in ("sage", "musig"):
        m = methods.REGISTRY[name]
        monkeypatch.setitem(methods.REGISTRY, name, replace(m, default=replace(m.default, **fast)))
    names = ("popularity", "als", "item2vec", "content", "sage", "musig")
    res = evaluate(split, tmp_path / "r", EvalConfig(methods=names, n_boot=50), log=lambda _: 0)
    assert res["methods"][-1] == "oracle"  # added on a synthetic world, as the last row
    ndcg = {m: res["overall"][m]["ndcg"]["mean"] for m in res["methods"]}
    assert ndcg["oracle"] > max(v for m, v in ndcg.items() if m != "oracle") + 0.02
    assert "oracle" not in res["paired_each"]  # never a baseline
    assert "| oracle |" in (tmp_path / "r" / "results.md").read_text()


def test_oracle_refuses_data_that_is_not_a_synthetic_world_in_one_line(split, tmp_path):
    import shutil

    from musig.oracle import fit

    plain = tmp_path / "plain"
    shutil.copytree(split, plain)
    (plain / "world.json").unlink()
    ds = load_dataset(plain)
    n = ds.num_tracks
    ctx = FitContext(ds, np.zeros((n, 0), np.float32), np.zeros(n, bool), None)
    with pytest.raises(ValueError, match="not a synthetic world") as e:
        fit(ctx)
    assert "\n" not in str(e.value)
    lines: list[str] = []
    res = evaluate(plain, tmp_path / "r", EvalConfig(methods=("popularity",), n_boot=10),
                   log=lines.append)  # fmt: skip
    assert res["methods"] == ["popularity"]
    assert [x for x in lines if x.startswith("oracle")] == [
        f"oracle: not scored, {plain} is not a synthetic world (no world.json)"
    ]


def test_oracle_is_never_a_baseline_nor_tuned_nor_trained_by_the_app():
    entry = methods.get("oracle")
    assert entry.recommend_only and entry.ceiling and not entry.baseline
    assert "oracle" not in methods.METHODS and "oracle" not in methods.BASELINES
    assert methods.CEILING == "oracle"
    root = Path(__file__).resolve().parents[1]
    for script in ("benchmarks/tune.py", "benchmarks/tune_retrieval.py"):
        assert "oracle" not in (root / script).read_text()  # tuning lists METHODS or its grids
