"""End to end through ``musig.cli.main`` on the tiny synthetic world (trained once per module)."""

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musig.cli import main
from musig.runs import read_arrays, read_run_meta

MUSIG_SETTINGS = ["--set", "steps=40", "--set", "eval_every=20", "--no-map"]


def cli(*args) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["-q", *map(str, args)])
    return rc, out.getvalue(), err.getvalue()


def ok(*args) -> str:
    rc, out, err = cli(*args)
    assert rc == 0, err
    return out


def fails(*args) -> str:
    """Run a command that must be refused: status 2 and one line naming the command."""
    rc, out, err = cli(*args)
    assert rc == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"musig {args[0]}: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def features_output(tiny_world) -> str:
    return ok("features", "--data", tiny_world)


@pytest.fixture(scope="module")
def split(tiny_world, tmp, features_output) -> Path:
    # After `features`, so the split copies the filled feature cache.
    ok("split", "--data", tiny_world, "--out", tmp / "split", "--test", 30)
    return tmp / "split"


@pytest.fixture(scope="module")
def musig_run(split, tmp) -> tuple[Path, str]:
    out = ok(
        "train", "--data", split, "--method", "musig", "--out", tmp / "musig", *MUSIG_SETTINGS,
        "--progress-file", tmp / "jobs" / "musig.jsonl",
    )  # fmt: skip
    return tmp / "musig", out


@pytest.fixture(scope="module")
def content_run(split, tmp) -> Path:
    ok("train", "--data", split, "--method", "content", "--out", tmp / "content", "--no-map")
    return tmp / "content"


@pytest.fixture(scope="module")
def popularity_run(split, tmp) -> Path:
    ok("train", "--data", split, "--method", "popularity", "--out", tmp / "pop", "--no-map")
    return tmp / "pop"


@pytest.fixture(scope="module")
def wav(tiny_world, tmp) -> tuple[Path, str]:
    """A catalog track re-rendered to a wav file outside the dataset folder."""
    from musig.synth import render_track

    uri = pd.read_csv(tiny_world / "tracks.csv")["track_uri"].iloc[40]
    y, sr = render_track(tiny_world / "world.json", uri)
    path = tmp / "upload.wav"
    sf.write(path, y, sr)
    return path, uri


def test_features(features_output):
    m = re.fullmatch(r"(\d+)/120 tracks have (\d+) audio features\n", features_output)
    assert m, features_output
    assert int(m[1]) == 120 and int(m[2]) > 10


def test_train_musig(musig_run, split, tmp):
    path, out = musig_run
    assert out.startswith(f"saved musig run to {path}")
    meta = read_run_meta(path)
    assert meta["method"] == "musig"
    assert meta["config"]["steps"] == 40 and meta["config"]["eval_every"] == 20
    arrays = read_arrays(path)
    assert arrays["embeddings"].shape == (120, meta["config"]["out_channels"])
    assert "map2d" not in arrays  # --no-map
    assert (path / "model.safetensors").is_file()
    diag = json.loads((path / "metrics.json").read_text())["diagnostics"]
    assert diag["step"] == 40
    assert 0.0 <= diag["cooc_auc"] <= 1.0 and 0.0 <= diag["genre_acc"] <= 1.0
    # --progress-file: every training record as a JSON line, evaluations at steps 20 and 40.
    records = [json.loads(x) for x in (tmp / "jobs" / "musig.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == list(range(1, 41))
    assert [r["step"] for r in records if r["kind"] == "eval"] == [20, 40]


def test_train_content(content_run):
    arrays = read_arrays(content_run)
    mask = arrays["mask"].astype(bool)
    assert mask.all()  # every track of the synthetic world has audio
    norms = np.linalg.norm(arrays["embeddings"], axis=1)
    assert np.all(norms > 0)


def test_embed_content_finds_the_track_itself(content_run, wav):
    path, uri = wav
    out = ok("embed", "--run", content_run, path, "-k", 3)
    lines = out.splitlines()
    assert lines[0] == f"{path}: nearest tracks in content (content)"
    ranked = [line for line in lines if re.match(r"\s+\d+\. ", line)]
    assert len(ranked) == 3
    assert ranked[0].endswith(uri)
    assert float(ranked[0].split()[1]) > 0.99  # same audio, same features


def test_embed_musig(musig_run, wav):
    path, _ = wav
    out = ok("embed", "--run", musig_run[0], path, "-k", 5)
    ranked = [line for line in out.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert len(ranked) == 5
    scores = [float(line.split()[1]) for line in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_recommend(musig_run, split, tmp):
    out_file = tmp / "submission.csv"
    out = ok("recommend", "--run", musig_run[0], "--data", split, "--out", out_file, "-k", 15)
    assert out.strip() == f"wrote 30 playlists x 15 tracks to {out_file}"
    lines = out_file.read_text().splitlines()
    assert lines[0] == "team_info,musig,musig@example.org"
    challenge = json.loads((split / "challenge_set.json").read_text())["playlists"]
    seeds = {pl["pid"]: {t["track_uri"] for t in pl["tracks"]} for pl in challenge}
    assert len(lines) == 1 + len(challenge)
    for line in lines[1:]:
        pid, *uris = line.split(", ")
        assert len(set(uris)) == 15
        assert not set(uris) & seeds[int(pid)]
    # A challenge file alone: the dataset is not loaded (at MPD size, minutes); same completions.
    alone = tmp / "alone.csv"
    ok("recommend", "--run", musig_run[0], "--challenge", split / "challenge_set.json",
       "--out", alone, "-k", 15)  # fmt: skip
    assert alone.read_text() == out_file.read_text()
    assert "--data DIR" in fails("recommend", "--run", musig_run[0], "--out", alone)


def test_map_draws_the_map_of_a_run_saved_without_one(content_run, popularity_run, tmp):
    from musig.maps import umap_2d
    from musig.runs import load_run, read_arrays

    run = tmp / "content-mapped"
    shutil.copytree(content_run, run)
    assert "map2d" not in read_arrays(run)
    out = ok("map", "--run", run)
    arrays = read_arrays(run)
    placed = int(np.isfinite(arrays["map2d"]).all(axis=1).sum())
    assert out.strip() == f"placed {placed:,} tracks on the 2-D map of {run}"
    assert placed == int(arrays["mask"].sum()) > 0
    want = umap_2d(arrays["embeddings"], arrays["mask"].astype(bool), random_state=0)
    np.testing.assert_array_equal(arrays["map2d"], want)  # what training would have drawn
    assert load_run(run).map2d is not None
    assert "no embeddings to map" in fails("map", "--run", popularity_run)


def test_export(musig_run, tmp):
    path = musig_run[0]
    mask = read_arrays(path)["mask"].astype(bool)
    ok("export", "--run", path, "--out", tmp / "emb.parquet")
    frame = pd.read_parquet(tmp / "emb.parquet")
    assert len(frame) == mask.sum()
    assert {"track_uri", "track_name", "e0"} <= set(frame.columns)
    ok("export", "--run", path, "--format", "tsv", "--out", tmp / "projector")
    vectors = np.loadtxt(tmp / "projector" / "vectors.tsv", delimiter="\t")
    assert vectors.shape == (mask.sum(), frame.shape[1] - 4)
    meta = (tmp / "projector" / "metadata.tsv").read_text().splitlines()
    assert meta[0] == "track_uri\ttrack_name\tartist_name\tgenre"
    assert len(meta) == 1 + mask.sum()


# --- bad input: status 2 and a one-line reason -------------------------------------------------


def test_missing_data_folder(tmp):
    line = fails("features", "--data", tmp / "no-such-folder")
    assert "no-such-folder" in line


def test_malformed_slice(tiny_world, tmp):
    bad = tmp / "bad-world"
    shutil.copytree(tiny_world, bad, ignore=shutil.ignore_patterns("audio", "cache"))
    for f in (bad / "playlists").iterdir():
        f.unlink()
    (bad / "playlists" / "mpd.slice.0-999.json").write_text('{"info": {}, "playlists": [')
    line = fails("train", "--data", bad, "--method", "popularity", "--out", tmp / "never")
    assert "mpd.slice.0-999.json" in line and "JSON" in line
    assert not (tmp / "never").exists()


def test_unknown_method(split, tmp):
    line = fails("train", "--data", split, "--method", "nope", "--out", tmp / "never")
    assert "unknown method 'nope'" in line and "musig" in line


def test_unknown_setting(split, tmp):
    line = fails("train", "--data", split, "--out", tmp / "never", "--set", "stepz=3")
    assert "stepz" in line


def test_embed_non_audio_file(content_run, split):
    line = fails("embed", "--run", content_run, split / "tracks.csv")
    assert "tracks.csv" in line and "not an audio file" in line


def test_embed_with_popularity_run(popularity_run, wav):
    line = fails("embed", "--run", popularity_run, wav[0])
    assert "cannot embed" in line


def test_recommend_with_run_from_another_dataset(tiny_world, split, tmp):
    other = tmp / "world-content"
    ok("train", "--data", tiny_world, "--method", "content", "--out", other, "--no-map")
    line = fails("recommend", "--run", other, "--data", split, "--out", tmp / "s.csv")
    assert "another dataset or split" in line
    assert not (tmp / "s.csv").exists()


def test_not_a_run(tmp, wav):
    line = fails("embed", "--run", tmp / "no-run", wav[0])
    assert "not a musig run" in line


@pytest.fixture(scope="module")
def playlists_only(split, tmp) -> Path:
    """The tiny world's split as the MPD is downloaded: slices under data/, nothing else."""
    root = tmp / "mpd"
    shutil.copytree(split / "playlists", root / "data")
    return root


@pytest.mark.parametrize("method", ["popularity", "als", "item2vec", "deepwalk", "node2vec"])
def test_playlists_only_trains_methods_without_content(playlists_only, tmp, method):
    ok(
        "train",
        "--data",
        playlists_only,
        "--method",
        method,
        "--out",
        tmp / f"po-{method}",
        "--no-map",
    )
    assert read_run_meta(tmp / f"po-{method}")["features"]["source"] is None


@pytest.mark.parametrize("method", ["sage", "musig"])
def test_playlists_only_needs_the_explicit_no_content_preset(playlists_only, tmp, method):
    line = fails("train", "--data", playlists_only, "--method", method, "--out", tmp / "x")
    assert "has none" in line and "--no-content" in line
    out = ok(
        "train", "--data", playlists_only, "--method", method, "--out", tmp / f"po-{method}",
        "--no-content", *MUSIG_SETTINGS,
    )  # fmt: skip
    # No genre labels in the MPD: co-occurrence is all that is left, which is sage without audio.
    assert "tasks cooc" in out and "single-task `sage` without audio" in out
    config = read_run_meta(tmp / f"po-{method}")["config"]
    assert not config["use_audio"] and config["relations"] == ["cooc"]


def test_playlists_only_refuses_content_in_one_line(playlists_only, tmp):
    line = fails("train", "--data", playlists_only, "--method", "content", "--out", tmp / "c")
    assert "content reads content features" in line and "features.csv" in line
    assert "--no-content" not in line  # content has nothing else to train on
