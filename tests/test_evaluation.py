"""`evaluate` end to end: same numbers twice, and unchanged on an MPD-format folder with the real
data's quirks and content features given as a table (no audio)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musig.data import load_dataset
from musig.evaluation import EvalConfig, evaluate, run_key
from musig.retrieval import RetrievalConfig
from musig.runs import load_run
from musig.split import SplitConfig, make_split

METHODS = ("popularity", "als", "content")


@pytest.fixture(scope="module")
def tiny_split(tiny_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "split"
    make_split(load_dataset(tiny_world), out, SplitConfig(num_test_playlists=40))
    return out


def test_same_numbers_twice_and_runs_reused(tiny_split, tmp_path):
    cfg = EvalConfig(methods=METHODS, n_boot=100)
    first = evaluate(
        tiny_split, tmp_path / "a", cfg, runs_dir=tmp_path / "runs", log=lambda _: None
    )
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    second = evaluate(
        tiny_split, tmp_path / "b", cfg, runs_dir=tmp_path / "runs2", jobs=2, log=lambda _: None
    )
    # retrained from scratch, in two worker processes: identical, in the same order
    assert first["overall"] == second["overall"] and first["methods"] == second["methods"]
    assert len(runs) == len(METHODS) + 1  # and the oracle's, added on a synthetic world
    md = (tmp_path / "a" / "results.md").read_text()
    assert all(f"| {m} |" in md for m in METHODS)
    # A popularity-only ranking cannot beat a trained method on NDCG in a world with structure.
    assert first["overall"]["als"]["ndcg"]["mean"] > first["overall"]["popularity"]["ndcg"]["mean"]
    # By popularity bucket: ALS ranks the cold tracks (no training playlist) last, by the shared
    # fallback, content by their sound; each playlist counts in every bucket, as having some
    # held-out tracks there or as skipped.
    buckets = first["buckets"]
    assert set(buckets["als"]) == {"cold", "tail", "torso", "head"}
    for b in buckets["als"].values():
        assert b["num_playlists"] + b["skipped"] == 40
    cold_ndcg = {m: buckets[m]["cold"]["ndcg"]["mean"] for m in METHODS}
    assert cold_ndcg["content"] > cold_ndcg["als"] and buckets["als"]["cold"]["num_playlists"]
    assert "| recall@500 | cold | tail | torso | head |" in md


def test_run_key_sees_config_graph_seed_and_split(tiny_split, monkeypatch):
    from dataclasses import replace

    from musig import methods
    from musig.evaluation import run_key
    from musig.graph import GraphConfig

    split = load_dataset(tiny_split)
    key = run_key("deepwalk", 0, split, None)
    assert run_key("deepwalk", 0, split, None) == key
    assert run_key("deepwalk", 1, split, None) != key
    walk = methods.REGISTRY["deepwalk"]
    wider = replace(walk, default=replace(walk.default, graph=GraphConfig(window=3)))
    monkeypatch.setitem(methods.REGISTRY, "deepwalk", wider)
    assert run_key("deepwalk", 0, split, None) != key  # a changed graph default retrains
    both = replace(walk, relations=lambda cfg: ("cooc", "acoustic"))
    monkeypatch.setitem(methods.REGISTRY, "deepwalk", both)
    assert run_key("deepwalk", 0, split, None) != key  # so do changed relations


def test_ann_scores_like_exact_search(tiny_split, tmp_path):
    cfg = EvalConfig(methods=("als",), n_boot=50)
    exact = evaluate(tiny_split, tmp_path / "a", cfg, runs_dir=tmp_path / "runs", log=print)
    ann = evaluate(
        tiny_split,
        tmp_path / "b",
        EvalConfig(methods=("als",), n_boot=50, ann=True),
        runs_dir=tmp_path / "runs",
        log=print,
    )
    e, a = exact["overall"]["als"]["ndcg"]["mean"], ann["overall"]["als"]["ndcg"]["mean"]
    assert abs(e - a) < 0.01


def test_per_method_settings_are_keyed_recorded_and_checked(tiny_split, tmp_path, capsys):
    from musig.cli import main

    main(["-q", "evaluate", "--data", str(tiny_split), "--out", str(tmp_path / "r"),
          "--methods", "popularity", "item2vec", "--set", "item2vec:epochs=2",
          "--set", "item2vec:window=5", "--jobs", "1"])  # fmt: skip
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["overrides"] == {"item2vec": {"epochs": 2, "window": 5}}
    assert "item2vec: epochs=2, window=5" in (tmp_path / "r" / "results.md").read_text()
    (run,) = (tmp_path / "r" / "runs").glob("item2vec-*")
    assert json.loads((run / "run.json").read_text())["config"]["epochs"] == 2
    split = load_dataset(tiny_split)
    assert run.name.endswith(run_key("item2vec", 0, split, None, {"epochs": 2, "window": 5}))
    assert run_key("item2vec", 0, split, None, {"epochs": 2}) != run_key("item2vec", 0, split, None)
    with pytest.raises(ValueError, match="not evaluated"):
        evaluate(tiny_split, tmp_path, EvalConfig(methods=("popularity",),
                 overrides={"als": {"factors": 8}}))  # fmt: skip
    with pytest.raises(ValueError, match="epoch"):
        evaluate(tiny_split, tmp_path, EvalConfig(methods=("item2vec",),
                 overrides={"item2vec": {"epoch": 2}}))  # fmt: skip
    assert main(["evaluate", "--data", str(tiny_split), "--out", str(tmp_path),
                 "--set", "epochs=2"]) == 2  # fmt: skip
    assert "expects METHOD:KEY=VALUE, got 'epochs=2'" in capsys.readouterr().err


def test_per_method_queries_rescore_the_same_run_and_are_recorded(tiny_split, tmp_path, capsys):
    from musig.cli import main

    args = ["-q", "evaluate", "--data", str(tiny_split), "--methods", "popularity", "als",
            "--jobs", "1", "--runs", str(tmp_path / "runs")]  # fmt: skip
    main([*args, "--out", str(tmp_path / "cos")])
    main([*args, "--out", str(tmp_path / "pop"), "--query", "popularity=cos", "als=cos+100"])
    assert len(list((tmp_path / "runs").glob("als-*"))) == 1  # scored again, not retrained
    cos, pop = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("cos", "pop"))
    assert "queries" not in cos and pop["queries"] == {"popularity": "cos", "als": "cos+100"}
    assert "als: cos+100" in (tmp_path / "pop" / "results.md").read_text()
    # Such a weight ranks by popularity (the cosine only breaks ties): the ALS row moves to
    # the popularity row.
    popularity = evaluate(tiny_split, tmp_path / "p", EvalConfig(methods=("popularity",),
                          ceiling=False), log=lambda _: None)  # fmt: skip
    ndcg = [r["overall"][m]["ndcg"]["mean"] for r, m in
            ((cos, "als"), (pop, "als"), (popularity, "popularity"))]  # fmt: skip
    assert abs(ndcg[1] - ndcg[2]) < 0.005 < abs(ndcg[0] - ndcg[2])
    assert main([*args, "--out", str(tmp_path / "x"), "--query", "als=dot"]) == 2
    assert "a query is cos or foldin, optionally +BETA >= 0; got 'dot'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not evaluated"):
        evaluate(tiny_split, tmp_path, EvalConfig(methods=("popularity",),
                 queries={"als": RetrievalConfig()}))  # fmt: skip


def test_jobs_must_be_positive(tiny_split, tmp_path):
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        evaluate(tiny_split, tmp_path, EvalConfig(methods=("popularity",)), jobs=0)


def _mpd_track(uri: str, pos: int) -> dict:
    return {
        "pos": pos,
        "track_uri": uri,
        "track_name": f"t{uri[-3:]}",
        "artist_name": "a",
        "artist_uri": "spotify:artist:x",
        "album_uri": "spotify:album:y",
        "album_name": "b",
        "duration_ms": 200000,
    }


def test_mpd_quirks_fixture_evaluates_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "mpd"
    (root / "playlists").mkdir(parents=True)
    uris = [f"spotify:track:{i:03d}" for i in range(60)]
    for s in range(2):  # MPD slice naming; "collaborative" as a string; no descriptions
        playlists = []
        for j in range(100):
            pid = s * 1000 + j
            group = (pid % 3) * 20  # three taste groups of 20 tracks
            picks = list(group + rng.choice(20, size=12, replace=False))
            picks.append(picks[0])  # a track twice in one playlist, as in real MPD
            playlists.append(
                {
                    "name": f"mix {j % 7}",
                    "collaborative": "false",
                    "pid": pid,
                    "num_tracks": len(picks),
                    "tracks": [_mpd_track(uris[t], p) for p, t in enumerate(picks)],
                }
            )
        info = {"generated_on": "2017-12-03", "slice": f"{s * 1000}-{s * 1000 + 999}"}
        path = root / "playlists" / f"mpd.slice.{s * 1000}-{s * 1000 + 999}.json"
        path.write_text(json.dumps({"info": info, "playlists": playlists}))
    feats = ["track_uri,danceability,energy,valence"]
    feats += [
        f"{u},{(i // 20) / 3:.2f},{rng.random():.3f},{rng.random():.3f}" for i, u in enumerate(uris)
    ]
    (root / "features.csv").write_text("\n".join(feats) + "\n")
    split = tmp_path / "split"
    make_split(load_dataset(root), split, SplitConfig(num_test_playlists=30, min_holdouts=3))
    results = evaluate(
        split, tmp_path / "res", EvalConfig(methods=METHODS, n_boot=50), log=lambda _: None
    )
    assert set(results["methods"]) == set(METHODS)
    assert results["overall"]["als"]["ndcg"]["mean"] > 0
    content_run = next((tmp_path / "res" / "runs").glob("content-*"))
    with pytest.raises(ValueError, match="table"):
        load_run(content_run).embed_audio(Path("any.wav"))


METRICS3 = ("ndcg", "recall@100", "recall@500")


def test_paired_bootstrap_against_each_baseline():
    from musig.evaluation import summarise, to_markdown

    rng = np.random.default_rng(0)
    base = rng.random(200)
    frames = {
        name: pd.DataFrame(
            {
                "pid": np.arange(200),
                **{m: base + shift for m in ("ndcg", "r_precision", "recall@100", "recall@500")},
                "clicks": np.zeros(200),
                "cold_recall@100": np.nan,
                "cold_held": 0,
                "scenario": "all",
                **{f"{b}:{m}": np.nan for b in ("cold", "tail", "torso", "head") for m in METRICS3},
                # tail tracks held out from the first 50 playlists only: the others are skipped
                "tail:recall@500": np.where(np.arange(200) < 50, base + 2 * shift, np.nan),
            }
        )
        for name, shift in (("musig", 0.0), ("als", 0.05), ("content", -0.1))
    }
    per_seed = {
        m: [{k: float(f[k].mean()) for k in ("ndcg", "r_precision")}] for m, f in frames.items()
    }
    res = summarise(frames, per_seed, {m: [1.0] for m in frames}, EvalConfig(n_boot=200))
    each = res["paired_each"]
    assert set(each) == {"als", "content"} and res["paired"]["against"] == "als"
    assert each["content"]["ndcg"]["diff"] == pytest.approx(0.1)  # every playlist +0.1
    assert each["als"]["ndcg"]["hi"] < 0 < each["content"]["ndcg"]["lo"]
    assert each["content"]["tail:recall@500"]["diff"] == pytest.approx(0.2)
    assert np.isnan(each["content"]["cold:recall@500"]["diff"])  # no playlist has cold tracks
    table = to_markdown(res)
    assert "| MUSIG − (95 % paired CI) | NDCG | R-prec | tail recall@500 |" in table
    row = next(line for line in table.splitlines() if line.startswith("| content | +0.1000"))
    assert row.startswith("| content | +0.1000 [+0.1000, +0.1000] | +0.1000 [+0.1000, +0.1000] |")
    assert row.endswith("| +0.2000 [+0.2000, +0.2000] | – |")
