"""The Streamlit app (AppTest) and the workspace behind it, on a small generated world."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musig import workspace as wsp
from musig.workspace import jobs

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(__file__).resolve().parent.parent / "app.py")
# Few steps and short clips keep the session fixture near 30 s on two cores.
DEFAULTS = {"musig": {"steps": 60, "eval_every": 20}, "content": {}, "popularity": {}, "als": {}}


def build_app_world(root: Path) -> tuple[Path, Path]:
    """A 120-track world and an app home whose default runs are trained and evaluated."""
    from musig.synth import WorldConfig, generate_world

    data, home = root / "world", root / "home"
    if not (data / "world.json").is_file():
        cfg = WorldConfig(num_tracks=120, num_playlists=300, num_genres=4, seed=3, clip_seconds=1.5)
        generate_world(data, cfg, progress=False)
    wsp.bootstrap(wsp.Workspace.open(data, home), defaults=DEFAULTS)
    return data, home


def wav_bytes(world: Path, uri: str) -> bytes:
    import soundfile as sf

    from musig.synth import render_track

    y, sr = render_track(world / "world.json", uri)
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV")
    return buf.getvalue()


@pytest.fixture(scope="session")
def app_world(tmp_path_factory):
    # A fixed folder: the browser test in the same session reuses the world and its runs.
    return build_app_world(tmp_path_factory.getbasetemp() / "app-world")


@pytest.fixture
def ws(app_world):
    return wsp.Workspace.open(*app_world)


@pytest.fixture
def app(app_world, monkeypatch):
    data, home = app_world
    monkeypatch.setenv("MUSIG_DATA", str(data))
    monkeypatch.setenv("MUSIG_HOME", str(home))

    def open_page(page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        if page:
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
        return at

    return open_page


def frame_of(at: AppTest, key: str):
    return at.get_by_key(key).dataframe[0].value


# --- workspace (no streamlit) ---------------------------------------------------------------


def test_parse_args_prefers_cli_then_env(tmp_path):
    env = {"MUSIG_DATA": str(tmp_path / "d"), "MUSIG_HOME": str(tmp_path / "h")}
    assert wsp.parse_args(["--data", "x", "-k", "y"], env)[0] == Path("x").resolve()
    assert wsp.parse_args(["tests/test_app.py", "-q"], env) == (tmp_path / "d", tmp_path / "h")
    assert wsp.parse_args([], {})[0] == wsp.DEFAULT_DATA


def test_bootstrap_made_split_runs_and_evaluations(ws):
    runs = ws.list_runs()
    assert [r.name for r in runs] == list(DEFAULTS)  # default order kept
    assert all(r.default and "challenge" in r.metrics for r in runs)
    ndcg = {r.name: r.metrics["challenge"]["overall"]["ndcg"] for r in runs}
    assert all(v["lo"] <= v["mean"] <= v["hi"] for v in ndcg.values())
    # Every learned method beats the popularity order on a world with strong playlist structure.
    assert ndcg["als"]["mean"] > ndcg["popularity"]["mean"]
    assert wsp.bootstrap(ws) == []  # second start: nothing to train


def test_changed_default_config_is_retrained(app_world, tmp_path):
    """A default run trained with other settings than the current defaults is stale."""
    ws = wsp.Workspace.open(app_world[0], tmp_path)
    assert wsp.bootstrap(ws, defaults={"als": {"factors": 8}}) == ["als"]
    assert ws.ready() and ws.missing_defaults() == []
    ws.set_defaults({"als": {"factors": 16}})  # as if the method's defaults had changed
    assert not ws.ready() and ws.missing_defaults() == ["als"]
    assert wsp.bootstrap(ws) == ["als"]
    from musig.runs import load_run

    assert load_run(ws.runs_dir / "als").embeddings.shape[1] == 16 and ws.ready()


def test_changed_graph_default_is_retrained(ws, monkeypatch):
    """A default run built on other graph settings than the registry's is stale, even with an
    unchanged config: the graph a method reads is recorded in its run and compared."""
    from dataclasses import replace

    from musig import methods

    assert ws.missing_defaults() == []
    musig = methods.REGISTRY["musig"]
    monkeypatch.setitem(methods.REGISTRY, "musig", replace(musig, relations=lambda cfg: ("cooc",)))
    assert ws.missing_defaults() == ["musig"]


def test_runs_on_another_extractors_features_are_retrained(app_world, tmp_path):
    """After an audio-extractor change an audio run is stale: uploads would land elsewhere."""
    from musig.audio import EXTRACTOR_VERSION
    from musig.runs import load_run

    ws = wsp.Workspace.open(app_world[0], tmp_path)
    assert wsp.bootstrap(ws, defaults={"content": {}}) == ["content"]
    meta_file = ws.runs_dir / "content" / "run.json"
    meta = json.loads(meta_file.read_text())
    meta["features"]["extractor_version"] = "v0"
    meta_file.write_text(json.dumps(meta))
    assert ws.missing_defaults() == ["content"]
    with pytest.raises(ValueError, match=f"extractor v0; this musig extracts {EXTRACTOR_VERSION}"):
        load_run(ws.runs_dir / "content").embed_features(np.zeros((1, 94), np.float32))
    assert wsp.bootstrap(ws) == ["content"] and ws.missing_defaults() == []


def test_jaccard_and_overlap():
    assert wsp.jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(0.5)
    assert wsp.jaccard([], []) == 1.0
    frame = wsp.overlap_frame({"a": [1, 2], "b": [3]})
    assert frame.loc["a", "a"] == 1.0 and frame.loc["a", "b"] == 0.0


def test_explain_counts_shared_playlists_and_acoustics(ws):
    from musig.data import load_dataset

    ds = load_dataset(ws.split_dir)
    first = ds.playlist(0)
    seed, cand = first[0], first[1]
    other = int(np.setdiff1d(np.arange(ds.num_tracks), np.unique(ds.playlist_tracks))[0])
    inc = wsp.track_playlists(ds)
    feats = np.eye(ds.num_tracks, 4, dtype=np.float32) + 1.0
    why = wsp.explain(ds, inc, feats, np.ones(ds.num_tracks, bool), [seed], [cand, other])
    shared = int(inc[[seed, cand]].toarray().all(0).sum())
    assert why["shared_playlists"].tolist() == [shared, 0] and shared >= 1
    assert why["seeds_sharing"].tolist() == [1, 0]
    assert why["shared_with"].tolist() == [ds.tracks["track_name"][seed], ""]
    assert why["acoustic_similarity"].between(-1, 1.0001).all()


def test_recommend_vector_matches_retriever(ws):
    from musig.runs import load_run

    run = load_run(ws.runs_dir / "musig")
    seed = int(np.flatnonzero(run.mask)[0])
    ids, _ = wsp.recommend_vector(run, run.embeddings[seed], 10)
    ref, _ = run.retriever.recommend(np.array([seed]), 10)
    # The track itself is not a seed here, so it comes first; the rest is the same ranking.
    assert ids[0] == seed and list(ids[1:]) == list(ref[:9])
    with_seed, _ = wsp.recommend_vector(run, run.embeddings[seed], 10, np.array([seed]))
    assert seed not in with_seed


def test_map_figure_points_and_highlights():
    import pandas as pd

    from musig.workspace.figures import map_figure

    frame = pd.DataFrame(
        {
            "track_name": list("abcd"),
            "artist_name": ["x", "x", "y", "y"],
            "genre": ["rock", "", "jazz", "rock"],
            "popularity": [3, 0, 1, 2],
            "cold": [False, True, False, False],
        }
    )
    xy = np.array([[0, 0], [1, 1], [np.nan, np.nan], [2, 2]], np.float32)
    fig = map_figure(frame, xy, "genre", highlight={"seeds": np.array([3, 2])})
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"rock", "(unknown)", "seeds"}  # jazz's one track is not on the map
    assert sorted(by_name["rock"].customdata) == [0, 3]
    assert list(by_name["seeds"].customdata) == [3]  # an unmapped highlight is skipped
    one = map_figure(frame, xy, "popularity")
    assert len(one.data) == 1 and sorted(one.data[0].customdata) == [0, 1, 3]


def test_map_rows_samples_placed_rows_and_keeps_the_marked_ones():
    from musig.workspace.figures import map_rows

    xy = np.random.default_rng(0).normal(size=(1000, 2))
    xy[::7] = np.nan  # rows the run cannot place
    assert np.array_equal(map_rows(xy, max_points=2000), np.flatnonzero(~np.isnan(xy[:, 0])))
    keep = np.array([1, 1, 7, 999, 500])  # a duplicate, an unplaced row
    rows = map_rows(xy, keep, max_points=100, seed=3)
    assert len(rows) == 100 and np.all(np.diff(rows) > 0)
    assert np.isfinite(xy[rows]).all()
    assert {1, 999, 500} <= set(rows) and 7 not in rows
    assert np.array_equal(rows, map_rows(xy, keep, max_points=100, seed=3))
    assert not np.array_equal(rows, map_rows(xy, keep, max_points=100, seed=4))


def test_job_lock_busy_and_cancel(ws):
    out = ws.runs_dir / "sleeper"
    cmd = [sys.executable, "-c", "import time; time.sleep(60)"]
    job = jobs._start(ws, "train", "sleeper", cmd, 10, out)
    try:
        assert wsp.current_job(ws) == job
        with pytest.raises(wsp.JobBusy, match="one job at a time"):
            wsp.start_evaluate(ws)
    finally:
        wsp.cancel_job(ws)
    assert wsp.current_job(ws) is None
    assert wsp.last_outcome(ws)["state"] == "cancelled"
    assert not out.exists()


def test_delete_refuses_default_runs(ws):
    with pytest.raises(ValueError, match="default run"):
        wsp.delete_run(ws, "musig")


# --- pages ----------------------------------------------------------------------------------


def test_home_shows_dataset_and_runs(app, ws):
    at = app()
    assert at.title[0].value == "musig"
    values = {m.label: m.value for m in at.metric}
    assert values["Tracks"] == "120" and int(values["Cold-start tracks"]) > 0
    runs = at.dataframe[0].value
    assert runs["run"].tolist() == list(DEFAULTS)
    assert runs["ndcg"].between(0, 1).all()


def test_explore_map_search_and_neighbours(app, ws):
    at = app("explore")
    assert len(at.get("plotly_chart")) == 1
    assert [r.label for r in at.radio] == ["Colour by"]
    assert at.info[0].value.startswith("Select points")
    from musig.data import load_dataset

    names = load_dataset(ws.split_dir).tracks["track_name"]
    at.text_input(key="explore_find").set_value(names[5].upper()).run()  # any case
    found = at.selectbox(key=f"explore_find_pick_{names[5].upper()}")
    assert found.value in {i for i, n in enumerate(names) if names[5].lower() in n.lower()}
    table = at.dataframe[-1].value
    assert len(table) == 10 and table["cosine"].is_monotonic_decreasing
    at.slider(key="explore_k").set_value(20).run()
    assert len(at.dataframe[-1].value) == 20
    musig_nbrs = at.dataframe[-1].value["track_name"].tolist()
    at.sidebar.selectbox(key="explore_run").set_value("als").run()
    assert not at.exception
    assert at.dataframe[-1].value["track_name"].tolist() != musig_nbrs
    for colour in ("artist", "popularity", "cold-start"):
        at.radio(key="explore_color").set_value(colour).run()
        assert not at.exception and len(at.get("plotly_chart")) == 1
    assert len(at.get("audio")) == 2  # the track and a neighbour, re-rendered


def test_compare_challenge_playlist(app, ws):
    at = app("compare")
    chosen = at.sidebar.multiselect(key="compare_runs").value
    assert chosen == ["musig", "als", "content"]
    tables = {name: frame_of(at, f"recs_{name}") for name in chosen}
    assert all(len(t) == 10 and set(t["hit"]) <= {"✓", "·"} for t in tables.values())
    assert tables["musig"]["track"].tolist() != tables["als"]["track"].tolist()
    overlap = at.dataframe[len(chosen)].value
    assert overlap.shape == (3, 3) and np.allclose(np.diag(overlap), 1.0)
    assert len(at.get("plotly_chart")) == 4  # two maps, the neighbourhood, the sources
    sources = json.loads(at.get_by_key("why_sources").get("plotly_chart")[0].proto.spec)
    assert sources["data"][0]["x"] == ["co-occurrence edges", "acoustic edges", "own vector"]
    why = at.dataframe[-1].value
    assert len(why) == 10 and {"shared_playlists", "acoustic_similarity", "genre"} <= set(why)
    first_pid = at.selectbox(key="compare_pid").value
    at.selectbox(key="compare_pid").set_value(ws_pid(ws, skip=first_pid)).run()
    assert frame_of(at, "recs_musig")["track"].tolist() != tables["musig"]["track"].tolist()
    at.sidebar.multiselect(key="compare_runs").set_value(["musig", "popularity"]).run()
    assert not at.exception and len(at.get("plotly_chart")) == 3  # popularity has no map
    at.selectbox(key="compare_why").set_value("popularity").run()
    assert "no encoder to look into" in at.caption[-1].value


def ws_pid(ws, skip: int) -> int:
    """A challenge pid with seeds, other than ``skip``."""
    from musig.data import load_dataset

    pls = load_dataset(ws.split_dir).challenge
    return next(p.pid for p in pls if p.num_samples >= 5 and p.pid != skip)


def test_compare_picked_seeds(app):
    at = app("compare")
    at.radio(key="compare_source").set_value("Pick tracks").run()
    assert at.info[0].value == "Pick at least one seed track."
    at.text_input(key="compare_seeds_query").set_value("a").run()  # options: the 50 best hits
    options = at.multiselect(key="compare_seeds").options
    assert len(options) == 50 and at.multiselect(key="compare_seeds").value == []
    at.multiselect(key="compare_seeds").select(options[0]).select(options[1]).run()
    at.text_input(key="compare_seeds_query").set_value("zzz-nothing").run()
    seeds = at.multiselect(key="compare_seeds").value  # kept when the search changes
    assert len(seeds) == 2
    table = frame_of(at, "recs_musig")
    assert len(table) == 10 and "hit" not in table
    assert not set(seeds) & set(table.index)  # seeds are never recommended


def test_upload_audio_shows_neighbours(app, app_world):
    data, _ = app_world
    at = app("upload")
    assert at.file_uploader[0].allowed_type == [".wav", ".flac", ".ogg", ".mp3"] or set(
        at.file_uploader[0].allowed_type
    ) >= {"wav", "flac"}
    uri = "synth:track:00007"
    at.file_uploader[0].set_value(("clip.wav", wav_bytes(data, uri), "audio/wav")).run()
    assert not at.exception and not at.error
    content = frame_of(at, "nb_content")
    assert len(content) == 10 and len(frame_of(at, "nb_musig")) == 10
    # The content run compares audio features: the track itself is its own nearest neighbour.
    from musig.data import load_dataset

    name = load_dataset(data).tracks.set_index("track_uri").loc[uri, "track_name"]
    assert content["track_name"].iloc[0] == name and content["cosine"].iloc[0] > 0.99
    assert len(at.get("plotly_chart")) == 1
    assert len(frame_of(at, "upload_completion")) == 10
    at.slider(key="upload_k").set_value(15).run()
    assert len(frame_of(at, "upload_completion")) == 15


def test_upload_non_audio_shows_error(app):
    at = app("upload")
    at.file_uploader[0].set_value(("notes.wav", b"just some text, not audio\n" * 20, "audio/wav"))
    at.run()
    assert not at.exception
    assert "not an audio file" in at.error[0].value


def test_upload_far_from_catalog_says_so(app):
    """A pure tone is unlike every synthetic track: the page warns, neighbours still shown."""
    import soundfile as sf

    sr = 22050
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(5 * sr) / sr)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV")
    at = app("upload")
    at.file_uploader[0].set_value(("tone.wav", buf.getvalue(), "audio/wav")).run()
    assert not at.exception and not at.error
    assert "sounds like nothing in the catalog" in at.warning[0].value
    assert len(frame_of(at, "nb_musig")) == 10


def test_benchmark_tables_and_plots(app):
    at = app("benchmark")
    table = at.dataframe[0].value
    assert list(table.index) == list(DEFAULTS) and table["ndcg"].between(0, 1).all()
    charts = [c.key for c in at.get("plotly_chart")]
    assert charts == ["bench_scenarios", "bench_buckets", "bench_cold", "bench_time"]
    assert "Playlists with held-out tracks in each bucket" in at.caption[-1].value
    assert at.button(key="bench_run").label == "Run the evaluation"
    at.multiselect(key="bench_methods").set_value(["musig", "als"]).run()
    assert list(at.dataframe[0].value.index) == ["musig", "als"]
    at.selectbox(key="bench_metric").set_value("r_precision").run()
    at.selectbox(key="bench_bucket_metric").set_value("ndcg").run()
    assert not at.exception


def test_benchmark_prefers_full_evaluation_results(app, ws):
    """results.json of ``python -m musig evaluate`` (same schema) replaces the per-run view."""
    _, res = wsp.results(ws)
    ci = {"diff": 0.01, "lo": 0.002, "hi": 0.018, "frac_le_zero": 0.01}
    nan = {"diff": float("nan"), "lo": float("nan"), "hi": float("nan"), "frac_le_zero": 0.0}
    paired = {"ndcg": ci, "r_precision": ci, "tail:recall@500": ci, "cold:recall@500": nan}
    res = {**res, "methods": ["musig", "als"], "queries": {"als": "cos+0.05"}}
    res["paired_each"] = {"als": paired, "content": paired}  # content is not picked: not shown
    ws.results_dir.mkdir(parents=True, exist_ok=True)
    (ws.results_dir / "results.json").write_text(json.dumps(res))
    try:
        at = app("benchmark")
        assert "results.json" in at.caption[0].value
        assert at.caption[1].value.endswith("(cos+BETA adds BETA·log(1 + pop)): als: cos+0.05")
        assert list(at.dataframe[0].value.index) == ["musig", "als"]
        versus = at.dataframe[1].value  # the main table, then MUSIG against each baseline
        assert list(versus.index) == ["als"]
        assert list(versus.loc["als"]) == ["+0.0100 [+0.0020, +0.0180]"] * 3 + ["–"]
        assert not at.button  # no "run the evaluation" button once results exist
    finally:
        (ws.results_dir / "results.json").unlink()


def test_benchmark_skips_a_damaged_results_json(app, ws):
    """A truncated results.json (or JSON of another shape) is named in a warning; the page falls
    back to the saved runs' evaluations and offers to run the evaluation again."""
    ws.results_dir.mkdir(parents=True, exist_ok=True)
    foreign = ('{"overall": 5, "methods": "x"}', '{"methods": ["als"], "overall": {"als": 1}}')
    for damaged in ('{"methods": ["als"', "[1, 2]", *foreign):
        (ws.results_dir / "results.json").write_text(damaged)
        try:
            assert wsp.results(ws)[0] != wsp.FULL_RESULTS
            at = app("benchmark")
            assert not at.exception
            assert "results.json is not a readable evaluation" in at.warning[0].value
            assert any("evaluations of the saved runs" in c.value for c in at.caption)
            assert [b.label for b in at.button] == ["Run the evaluation"]
        finally:
            (ws.results_dir / "results.json").unlink()


def test_train_page_runs_a_job_end_to_end(app, ws):
    """The form starts ``python -m musig train`` in a subprocess; the run is evaluated, listed
    on every page, and can be deleted."""
    at = app("train")
    assert {s.label for s in at.slider} == {"cooc", "acoustic", "genre"}
    assert len(at.get("plotly_chart")) == 2  # loss and diagnostics of the musig run
    at.text_input[0].set_value("bad name!")
    at.button[0].click().run()  # the form's submit button
    assert "run name" in at.error[0].value
    at.text_input[0].set_value("tiny")
    at.number_input[3].set_value(20)  # steps
    at.button[0].click().run()
    assert not at.exception
    deadline = time.time() + 180
    # Until its outcome is written: another poller may be finalising (evaluating) the job.
    while time.time() < deadline and (
        wsp.current_job(ws) is not None or (wsp.last_outcome(ws) or {}).get("name") != "tiny"
    ):
        time.sleep(0.5)
    outcome = wsp.last_outcome(ws)
    assert outcome["name"] == "tiny" and outcome["state"] == "done", outcome["message"]
    tiny = next(r for r in ws.list_runs() if r.name == "tiny")
    assert tiny.method == "musig" and "challenge" in tiny.metrics
    at.run()
    assert "tiny" in at.dataframe[0].value["run"].tolist()
    at = app("explore")
    assert "tiny (musig)" in at.sidebar.selectbox(key="explore_run").options
    at = app("train")
    at.checkbox(key="train_delete_sure").check().run()
    at.button(key="train_delete_btn").click().run()
    assert "tiny" not in [r.name for r in ws.list_runs()]


def test_first_start_trains_defaults_in_background(app_world, tmp_path, monkeypatch):
    """A fresh home: the app draws the split and trains the defaults off the request path,
    showing progress, and the pages fill in once the runs exist."""
    data, _ = app_world
    ws = wsp.Workspace.open(data, tmp_path)
    ws.set_defaults({"popularity": {}, "content": {}})  # fast methods keep the test short
    monkeypatch.setenv("MUSIG_DATA", str(data))
    monkeypatch.setenv("MUSIG_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "First start" in at.progress[0].proto.text
    assert at.info[0].value.startswith("The default runs are being trained")
    deadline = time.time() + 60
    while not ws.ready() and time.time() < deadline:
        time.sleep(0.2)
    assert ws.ready() and (ws.split_dir / "challenge_truth.json").is_file()
    at.run()
    assert not at.progress  # the progress bar is gone once everything is ready
    assert at.get_by_key("home_runs").dataframe[0].value["run"].tolist() == [
        "popularity",
        "content",
    ]


def test_train_page_shows_live_progress_and_cancels(app, ws):
    """A running job (a stand-in process writing the progress file) is polled and cancelled."""
    cmd = [sys.executable, "-c", "import time; time.sleep(60)"]
    job = jobs._start(ws, "train", "live", cmd, 10, ws.runs_dir / "live")
    records = [
        {"step": s, "kind": "train", "task": "cooc", "loss": 5.0 - s / 10} for s in (1, 2, 3)
    ]
    records.append({"step": 3, "kind": "eval", "cooc_auc": 0.7, "genre_acc": 0.5})
    Path(job.progress_file).write_text("".join(json.dumps(r) + "\n" for r in records))
    try:
        at = app("train")
        assert "training live: step 3/10" in at.progress[0].proto.text
        assert at.progress[0].value == 30  # percent
        at.button(key="train_cancel").click().run()
    finally:
        wsp.cancel_job(ws)
    assert wsp.current_job(ws) is None and not at.progress
    assert "cancelled" in at.info[0].value


def test_dataset_setting_validates_folder(app, app_world, tmp_path, monkeypatch):
    at = app()
    form = at.get_by_key("dataset_form")
    form.text_input[0].set_value(str(tmp_path / "nothing-here"))
    form.button[0].click().run()
    assert "not a dataset folder" in at.error[0].value
    monkeypatch.setenv("MUSIG_DATA", str(tmp_path / "missing"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and "Cannot open the dataset" in at.error[0].value
    at.text_input[0].set_value(str(app_world[0]))
    at.button[0].click().run()
    assert not at.exception and at.title[0].value == "musig"


@pytest.fixture
def music(app_world, ws, tmp_path):
    """A music folder of six tagged clips of the app world, five bad files and a playlist; the
    workspace forgets it afterwards (the Library page remembers the last folder scanned)."""
    from tests.test_library import make_folder

    root = make_folder(tmp_path / "music", app_world[0])
    (root / "mix.m3u8").write_text("#EXTM3U\nAna/First/01 Rain.flac\nBo/Live/03 Wind.ogg\nx.mp3\n")
    yield root
    (ws.root / "library.json").unlink(missing_ok=True)


def test_library_page_scans_places_completes_and_exports(app, music):
    at = app("library")
    assert at.info[0].value.startswith("Scan a folder")
    form = at.get_by_key("library_form")
    form.text_input[0].set_value(str(music))
    form.button[0].click().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Usable"], metrics["Skipped"], metrics["Playlists"]) == ("6", "5", "1")
    assert "needs ffmpeg" in " ".join(frame_of(at, "library_skipped")["reason"])
    titles = sorted(frame_of(at, "library_tracks")["title"])
    assert titles == ["Rain", "Rain copy", "Snow", "Sun", "Wind", "low"]
    assert "x.mp3" in at.get_by_key("library_playlists").expander[0].caption[0].value
    at.selectbox(key="library_playlist").set_value("mix.m3u8").run()
    both = frame_of(at, "library_completion")
    assert len(both) == 20 and set(both["source"]) == {"catalog", "library"}
    assert "Rain" not in both["track_name"].tolist()  # a seed
    at.radio(key="library_pool").set_value("library").run()
    mine = frame_of(at, "library_completion")
    assert len(mine) == 4 and set(mine["source"]) == {"library"}  # 6 files, 2 of them seeds
    assert len(at.get("download_button")) == 2


def test_library_tracks_are_seeds_and_on_maps_and_runs_say_when_they_cannot(app, music):
    at = app("library")
    form = at.get_by_key("library_form")
    form.text_input[0].set_value(str(music))
    form.button[0].click().run()
    at = app("compare")
    at.radio(key="compare_source").set_value("Pick tracks").run()
    at.text_input(key="compare_seeds_query").set_value("snow").run()
    snow = at.multiselect(key="compare_seeds").options[0]  # library tracks come first
    assert snow.startswith("Snow — Bo")
    at.multiselect(key="compare_seeds").select(snow).run()
    assert "cannot embed library tracks" in at.get_by_key("recs_als").info[0].value
    assert len(frame_of(at, "recs_musig")) == 10 and len(frame_of(at, "recs_content")) == 10
    at = app("explore")
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    mine = next(t for t in traces if t["name"] == "your library")
    assert mine["marker"]["symbol"] == "triangle-up" and len(mine["text"]) == 6


def server_config() -> dict:
    """The app's .streamlit/config.toml, as the server reads it."""
    import tomllib

    return tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())


def test_server_config_skips_the_full_collection_after_each_rerun():
    """A full gc.collect() after every script run took 0.3-1.2 s on a 100k-playlist workspace
    and held back the next rerun (README, "A big workspace")."""
    assert server_config()["runner"]["postScriptGC"] is False


def test_upload_size_limit_fixed_name_and_no_temp_left(tmp_path, monkeypatch):
    """Over the limit: one clear line (the server's limit is the same number). The bytes are
    written under a name of musig's own, never the user's, in a folder removed afterwards."""
    import tempfile

    import soundfile as sf

    from musig import audio
    from musig.workspace import views

    assert server_config()["server"]["maxUploadSize"] == wsp.MAX_UPLOAD_MB
    big = b"RIFF" + bytes(wsp.MAX_UPLOAD_MB * 2**20)
    with pytest.raises(ValueError, match=r"^big\.wav: 50\.0 MB is over the upload limit of 50 MB"):
        wsp.upload_features(big, "big.wav")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []
    real = audio.extract_file
    monkeypatch.setattr(audio, "extract_file", lambda p, cfg=None: seen.append(p) or real(p))
    sr = 16000
    buf = io.BytesIO()
    y = 0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)
    sf.write(buf, np.sign(y).astype(np.float32), sr, format="WAV")  # clipped: warns
    with pytest.warns(UserWarning, match=r"^\.\./\.\./etc/x y\.wav: clipped"):
        views.upload_features(buf.getvalue(), "../../etc/x y.wav")
    assert seen[0].name == "upload.wav" and seen[0].parent.parent == tmp_path
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone


def test_two_sessions_start_training_at_once(ws):
    """Two requests race for the one job: one runs, the other is told; cancelling it leaves no
    run and no temporary folder behind."""
    import threading

    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def session(name: str) -> None:
        barrier.wait()
        try:
            results[name] = wsp.start_train(ws, name, "musig", {"steps": 5000})
        except wsp.JobBusy as e:
            results[name] = e

    threads = [threading.Thread(target=session, args=(n,)) for n in ("race-a", "race-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [r for r in results.values() if isinstance(r, jobs.Job)]
    refused = [r for r in results.values() if isinstance(r, wsp.JobBusy)]
    try:
        assert len(started) == 1 and len(refused) == 1
        assert "is running; one job at a time" in str(refused[0])
        lock = ws.runs_dir / f".{started[0].name}.lock"
        deadline = time.time() + 60  # cancel once the training holds its run's write lock
        while not lock.is_file() and time.time() < deadline:
            time.sleep(0.2)
        assert lock.is_file()
    finally:
        wsp.cancel_job(ws)
    assert wsp.last_outcome(ws)["state"] == "cancelled"
    assert not [p for p in ws.runs_dir.iterdir() if "race-" in p.name]


def test_track_label_names_the_asked_rows_by_position():
    """Labels come from the asked rows only, by position (the app's table has Arrow strings and
    a default index; a shuffled index must not change which row is named)."""
    import pandas as pd

    from musig.ui import track_label

    frame = pd.DataFrame(
        {"track_name": ["Alpha", "Beta", "Gamma"], "artist_name": ["A", "", "C"]},
        index=[7, 3, 5],
    ).astype({"track_name": "string[pyarrow]", "artist_name": "string[pyarrow]"})
    label = track_label(frame)
    assert [label(i) for i in (2, 0, 1)] == ["Gamma — C", "Alpha — A", "Beta — "]
    assert label(np.int64(1)) == "Beta — "
    with pytest.raises(IndexError):
        label(3)
