import json

import numpy as np
import pandas as pd
import pytest

import musig.runs
from musig.runs import (
    RUN_FORMAT_VERSION,
    RunContents,
    check_compatible,
    read_arrays,
    read_log,
    read_run_meta,
    save_run,
    track_index_fingerprint,
    write_metrics,
)

URIS = [f"spotify:track:{i}" for i in range(5)]


def _record(**changes) -> RunContents:
    rng = np.random.default_rng(0)
    tracks = pd.DataFrame(
        {
            "track_uri": URIS,
            "track_name": [f"song {i}" for i in range(5)],
            "artist_name": ["a", "b", "a", "c", "b"],
            "genre": ["rock", "", "jazz", "rock", ""],
        }
    )
    values = dict(
        method="musig",
        config={"steps": 40, "tasks": [["cooc", 1.0]], "graph": {"window": 50}},
        seed=3,
        graph={"relations": ["cooc"], "window": 50},
        graph_key="0123456789abcdef",
        tracks=tracks,
        dataset_fingerprint="0123456789abcdef",
        split={"fingerprint": "0123456789abcdef", "file": "split.json"},
        arrays={
            "embeddings": rng.normal(size=(5, 3)).astype(np.float32),
            "mask": np.array([True, True, False, True, True]),
            "popularity": np.array([3, 1, 0, 2, 5], np.float32),
            "graph.cooc.indptr": np.array([0, 1, 2, 2, 2, 2], np.int64),
            # Non-contiguous on purpose: save_run must still write it.
            "map2d": rng.normal(size=(2, 5)).astype(np.float32).T,
        },
        weights={"encoder.lin.weight": rng.normal(size=(3, 4)).astype(np.float32)},
        features={"source": "audio", "names": ["f0", "f1"]},
        log=[{"step": 1, "kind": "train", "loss": 1.5}, {"step": 2, "kind": "eval", "auc": 0.7}],
        metrics={"diagnostics": {"cooc_auc": 0.7}},
        train_seconds=1.25,
    )
    values.update(changes)
    return RunContents(**values)


def test_round_trip(tmp_path):
    rec = _record()
    path = save_run(tmp_path / "run", rec)
    assert path == tmp_path / "run"

    meta = read_run_meta(path)
    assert meta["format_version"] == RUN_FORMAT_VERSION
    assert meta["method"] == "musig"
    assert meta["config"] == rec.config
    assert meta["num_tracks"] == 5
    assert meta["train_seconds"] == 1.25
    assert meta["features"] == rec.features
    prov = meta["provenance"]
    assert prov["dataset_fingerprint"] == "0123456789abcdef"
    assert prov["track_index_fingerprint"] == track_index_fingerprint(URIS)
    assert prov["split"] == rec.split
    assert "numpy" in prov["packages"]

    arrays = read_arrays(path)
    assert set(arrays) == set(rec.arrays)
    for name, value in rec.arrays.items():
        np.testing.assert_array_equal(arrays[name], value)
        assert arrays[name].dtype == value.dtype
    weights = read_arrays(path, "model.safetensors")
    np.testing.assert_array_equal(weights["encoder.lin.weight"], rec.weights["encoder.lin.weight"])

    tracks = pd.read_csv(path / "tracks.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(tracks, rec.tracks)
    log = read_log(path)
    assert log["step"].tolist() == [1, 2]
    assert log.loc[0, "loss"] == 1.5
    assert json.loads((path / "metrics.json").read_text()) == rec.metrics


def test_method_without_weights_or_log(tmp_path):
    path = save_run(tmp_path / "pop", _record(method="popularity", weights={}, log=[]))
    assert not (path / "model.safetensors").exists()
    assert read_arrays(path, "model.safetensors") == {}
    assert read_log(path).empty


def test_failed_save_leaves_no_folder(tmp_path, monkeypatch):
    def broken(_arrays):
        raise RuntimeError("disk full")

    monkeypatch.setattr(musig.runs, "st_save", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_run(tmp_path / "run", _record())
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_existing_run(tmp_path, monkeypatch):
    path = save_run(tmp_path / "run", _record())
    before = {f.name: f.read_bytes() for f in path.iterdir()}

    def broken(_arrays):
        raise RuntimeError("disk full")

    monkeypatch.setattr(musig.runs, "st_save", broken)
    with pytest.raises(RuntimeError):
        save_run(path, _record(method="content", train_seconds=9.0))
    assert {f.name: f.read_bytes() for f in path.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temp folder left behind


def test_save_replaces_an_existing_run(tmp_path):
    path = save_run(tmp_path / "run", _record())
    save_run(path, _record(method="popularity", weights={}))
    assert read_run_meta(path)["method"] == "popularity"
    assert not (path / "model.safetensors").exists()  # no stale file from the old run


def test_format_version_mismatch(tmp_path):
    path = save_run(tmp_path / "run", _record())
    meta = json.loads((path / "run.json").read_text())
    meta["format_version"] = RUN_FORMAT_VERSION + 1
    (path / "run.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"version {RUN_FORMAT_VERSION + 1}.*retrain"):
        read_run_meta(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not a musig run"),
        ("{not json", "not valid JSON"),
        ('{"format": "something-else", "format_version": 1}', "not a musig run"),
    ],
)
def test_not_a_run(tmp_path, content, message):
    if content is not None:
        (tmp_path / "run.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        read_run_meta(tmp_path)


def test_check_compatible(tmp_path):
    meta = read_run_meta(save_run(tmp_path / "run", _record()))
    check_compatible(meta, "0123456789abcdef", URIS)  # same dataset: no error
    with pytest.raises(ValueError, match="different track index"):
        check_compatible(meta, "0123456789abcdef", URIS[:4])
    with pytest.raises(ValueError, match="different track index"):
        check_compatible(meta, "0123456789abcdef", URIS[::-1])  # same tracks, other order
    with pytest.raises(ValueError, match="another dataset or split.*ffffffffffffffff"):
        check_compatible(meta, "ffffffffffffffff", URIS)


def test_write_metrics_merges(tmp_path):
    path = save_run(tmp_path / "run", _record())
    write_metrics(path, {"evaluation": {"ndcg": 0.25}})
    write_metrics(path, {"evaluation": {"ndcg": 0.3}, "note": "second"})
    assert json.loads((path / "metrics.json").read_text()) == {
        "diagnostics": {"cooc_auc": 0.7},
        "evaluation": {"ndcg": 0.3},
        "note": "second",
    }
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    write_metrics(fresh, {"a": 1})
    assert json.loads((fresh / "metrics.json").read_text()) == {"a": 1}


def test_refuses_to_replace_something_that_is_not_a_run(tmp_path):
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "tracks.csv").write_text("track_uri\n")
    with pytest.raises(ValueError, match="not a musig run; refusing"):
        save_run(data, _record())
    assert (data / "tracks.csv").read_text() == "track_uri\n"
    file = tmp_path / "notes.txt"
    file.write_text("keep")
    with pytest.raises(ValueError, match="refusing"):
        save_run(file, _record())
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_run_meta(save_run(empty, _record()))["method"] == "musig"
