"""Streamlit glue shared by the app's pages: cached loaders, run picker, tables, audio.

The only module of musig that imports streamlit. Heavy objects (datasets, runs, feature
matrices) live in ``st.cache_resource`` and are never mutated; frames in ``st.cache_data``.
Figures are built by :mod:`musig.workspace.figures` (plain plotly).
"""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from musig import workspace as wsp
from musig.data import Dataset
from musig.graph import RELATIONS
from musig.methods import COMPARE_DEFAULT
from musig.metrics import METRICS
from musig.musig_config import TASKS
from musig.workspace.figures import training_figures

# --- navigation ------------------------------------------------------------------------------

# The app's pages in menu order: (script, title, icon); the first is the default page.
PAGES = (
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/explore.py", "Explore", ":material/scatter_plot:"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/upload.py", "Upload", ":material/upload_file:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/benchmark.py", "Benchmark", ":material/leaderboard:"),
)
_ROUTED = "_musig_routed"  # session state: app.py has run in this session


def _pages() -> list:
    return [
        st.Page(path, title=title, icon=icon, default=i == 0)
        for i, (path, title, icon) in enumerate(PAGES)
    ]


def start_app() -> None:
    """app.py's first call: page setup, and this session is marked as routed by app.py."""
    st.set_page_config(page_title="musig", page_icon=":material/graphic_eq:", layout="wide")
    st.session_state[_ROUTED] = True


def navigation():
    """The app's navigation (``st.navigation``); app.py runs the page it returns."""
    return st.navigation(_pages())


def _require_app() -> None:
    """Route a page opened by its address through app.py.

    On a fresh server, until some session has run ``st.navigation``, Streamlit routes a request
    for ``/explore`` by the ``pages/`` folder alone (its legacy multipage mode): the page runs
    without app.py, so without its navigation, page setup and first start. Streamlit has no
    setting to turn that folder discovery off (1.67); as documented, the first ``st.navigation``
    call of any session makes the whole server ignore ``pages/``. So a page that finds app.py
    has not run in this session calls it once and reruns: the rerun goes through app.py and
    lands on the page asked for (pages are keyed by their URL path in both modes).
    """
    if not st.session_state.get(_ROUTED):
        st.navigation(_pages(), position="hidden")
        st.rerun()


# --- cached loaders --------------------------------------------------------------------------


@st.cache_resource(show_spinner="Opening the dataset…")
def _open_workspace(data: str, home: str) -> wsp.Workspace:
    return wsp.Workspace.open(data, home)


def workspace() -> wsp.Workspace:
    """This session's workspace: ``-- --data/--home``, env, or the dataset chosen on Home."""
    _require_app()
    data, home = wsp.parse_args(sys.argv[1:], os.environ)
    return _open_workspace(str(st.session_state.get("data_dir", data)), str(home))


@st.cache_resource(show_spinner=False)
def bootstrapper(root: str, _ws: wsp.Workspace) -> wsp.Bootstrap:
    """One background bootstrap per workspace and server process, shared by all sessions."""
    return wsp.Bootstrap(_ws).start()


@st.cache_resource(show_spinner="Loading the split…")
def split_dataset(path: str, mtime: float) -> Dataset:
    from musig.data import load_dataset

    return load_dataset(path)


def split(ws: wsp.Workspace) -> Dataset:
    path = ws.split_dir
    return split_dataset(str(path), (path / "challenge_truth.json").stat().st_mtime)


@st.cache_resource(show_spinner="Loading run…", max_entries=16)
def load_run(path: str, mtime: float, _ds: Dataset):
    """A run checked against the split (ValueError for a run of another dataset)."""
    from musig.runs import load_run as _load

    return _load(path, _ds)


def run(info: wsp.RunSummary, ds: Dataset):
    return load_run(str(info.path), info.mtime, ds)


@st.cache_data(show_spinner=False)
def track_frame(path: str, mtime: float) -> pd.DataFrame:
    """Display table of the split's tracks (training popularity, cold = in no training playlist)."""
    return wsp.track_table(split_dataset(path, mtime))


def tracks(ws: wsp.Workspace) -> pd.DataFrame:
    path = ws.split_dir
    return track_frame(str(path), (path / "challenge_truth.json").stat().st_mtime)


@st.cache_resource(show_spinner="Loading audio features…")
def features(path: str, _ds: Dataset):
    from musig.features import load_features

    return load_features(_ds)


@st.cache_resource(show_spinner=False)
def incidence(path: str, _ds: Dataset):
    return wsp.track_playlists(_ds)


def _warmup() -> None:
    import musig.inference  # noqa: F401  (torch and the encoder code: seconds on a cold start)
    from musig.audio import warmup

    warmup()


@st.cache_resource(show_spinner=False)
def warm_audio() -> threading.Thread:
    """Import torch and compile the audio extractor (numba) in the background, once per
    process, so the first upload answers in well under a second instead of several."""
    thread = threading.Thread(target=_warmup, daemon=True, name="musig-warmup")
    thread.start()
    return thread


@st.cache_data(show_spinner=False, max_entries=256)
def track_wav(root: str, track_uri: str, audio: str) -> bytes | None:
    """WAV bytes of a catalog track (re-rendered for synthetic worlds), or None."""
    import soundfile as sf

    got = wsp.track_audio(root, track_uri, audio)
    if got is None or isinstance(got, Path):
        return None if got is None else got.read_bytes()
    buf = io.BytesIO()
    sf.write(buf, got[0], got[1], format="WAV", subtype="PCM_16")
    return buf.getvalue()


def play(ds: Dataset, track: int) -> None:
    """Audio player for catalog track ``track`` (a caption when it has no audio)."""
    row = ds.tracks.iloc[track]
    wav = track_wav(str(ds.root), row["track_uri"], row["audio"])
    if wav is None:
        st.caption("No audio for this track.")
    else:
        st.audio(wav, format="audio/wav")


# --- shared widgets -------------------------------------------------------------------------


def context() -> tuple[wsp.Workspace, Dataset, list[wsp.RunSummary]]:
    """Workspace, split and saved runs; stops the page with a message while none exist."""
    ws = workspace()
    runs = ws.list_runs()
    if not runs:
        st.info("No runs yet: the default runs are being trained (see Home).")
        st.stop()
    return ws, split(ws), runs


def pick_runs(
    runs: list[wsp.RunSummary],
    *,
    key: str,
    multi: bool = False,
    audio_only: bool = False,
    embedding_only: bool = False,
    default: tuple[str, ...] = COMPARE_DEFAULT,
    max_selections: int = 4,
) -> list[wsp.RunSummary]:
    """Sidebar run picker; the choice is kept across pages and reruns in session state."""
    if audio_only:
        runs = [r for r in runs if r.embeds_uploads]
    if embedding_only:
        runs = [r for r in runs if not r.recommend_only]
    names = [r.name for r in runs]
    keep = f"_keep_{key}"
    if key not in st.session_state:  # first visit, or the widget was dropped on a page switch
        kept = [n for n in st.session_state.get(keep, []) if n in names]
        wanted = kept or [n for n in default if n in names] or names[:1]
        st.session_state[key] = wanted[:max_selections] if multi else (wanted or [None])[0]
    by_name = {r.name: r for r in runs}
    label = {r.name: r.label for r in runs}.get
    with st.sidebar:
        if multi:
            chosen = st.multiselect(
                "Runs", names, key=key, format_func=label, max_selections=max_selections
            )
        else:
            chosen = [st.selectbox("Run", names, key=key, format_func=label)]
    chosen = [c for c in chosen if c in by_name]
    st.session_state[keep] = chosen
    return [by_name[c] for c in chosen]


def runs_table(runs: list[wsp.RunSummary], *, key: str, highlight: str | None = None) -> None:
    """The saved runs with their headline challenge metrics; ``highlight`` is shown in bold."""
    frame = wsp.runs_frame(runs)
    number = st.column_config.NumberColumn
    config = {c: number(format="%.4f") for c in (*METRICS, "cold recall@100")}
    config.update({"clicks": number(format="%.2f"), "train s": number(format="%.1f")})
    shown = frame
    if highlight is not None:
        bold = ["font-weight: bold"] * frame.shape[1]
        shown = frame.style.apply(
            lambda r: bold if r["run"] == highlight else [""] * len(r), axis=1
        )
    with st.container(key=key):
        st.dataframe(shown, hide_index=True, column_config=config)


def musig_settings(base: dict) -> dict:
    """Fields of MUSIG's config inside a form, prefilled from ``base`` (a config as a dict).

    Returns:
        Config overrides; ``fanouts`` is the text typed (e.g. "10,5"), parsed on submit.
    """
    tasks = dict(base["tasks"])
    st.markdown("**Tasks** — sampling probability of each task per step")
    probs = {
        t: c.slider(t, 0.0, 1.0, float(tasks.get(t, 0.0)), 0.05, key=f"task_{t}")
        for t, c in zip(TASKS, st.columns(len(TASKS)), strict=True)
    }
    out: dict = {"tasks": [[t, p] for t, p in probs.items() if p > 0]}
    c1, c2, c3 = st.columns(3)
    out["use_audio"] = c1.checkbox("Audio features as input", base["use_audio"])
    out["use_track_vectors"] = c2.checkbox("Per-track vectors", base["use_track_vectors"])
    out["relations"] = c3.multiselect("Relations", list(RELATIONS), base["relations"])
    c1, c2, c3, c4 = st.columns(4)
    out["hidden_channels"] = c1.number_input("Hidden dim", 8, 1024, base["hidden_channels"])
    out["out_channels"] = c2.number_input("Embedding dim", 8, 512, base["out_channels"])
    out["num_layers"] = c3.number_input("Layers", 1, 4, base["num_layers"])
    out["fanouts"] = c4.text_input("Fan-outs per layer", ",".join(map(str, base["fanouts"])))
    c1, c2, c3 = st.columns(3)
    out["steps"] = c1.number_input("Steps", 10, 100_000, base["steps"], step=100)
    out["lr"] = c2.number_input("Learning rate", 1e-5, 1.0, base["lr"], format="%.4f")
    out["batch_size"] = c3.number_input("Batch size", 16, 8192, base["batch_size"])
    return out


def pick_run(runs: list[wsp.RunSummary], *, key: str, **kw) -> wsp.RunSummary | None:
    """Single-run variant of :func:`pick_runs` (None when no run fits)."""
    chosen = pick_runs(runs, key=key, multi=False, **kw)
    return chosen[0] if chosen else None


def track_label(frame: pd.DataFrame):
    """format_func for track ids: 'name — artist'."""
    names = frame["track_name"].to_numpy(dtype=object)
    artists = frame["artist_name"].to_numpy(dtype=object)
    return lambda i: f"{names[i]} — {artists[i]}"


# --- maps -----------------------------------------------------------------------------------


def selected_ids(event) -> np.ndarray:
    """Track ids of the points selected on a map (click, box or lasso)."""
    if not event or not event.selection:
        return np.zeros(0, np.int64)
    ids = [p.get("customdata") for p in event.selection.get("points", [])]
    ids = [i[0] if isinstance(i, list) else i for i in ids if i is not None]
    return np.unique(np.asarray(ids, np.int64))


def dataset_setting() -> None:
    """Point this session at another dataset folder (validated before it is used)."""
    data, _ = wsp.parse_args(sys.argv[1:], os.environ)
    current = str(st.session_state.get("data_dir", data))
    with st.form("dataset_form"):
        path = st.text_input("Dataset folder", value=current, help="musig dataset folder")
        if st.form_submit_button("Open dataset"):
            _, home = wsp.parse_args(sys.argv[1:], os.environ)
            try:
                _open_workspace(str(Path(path).expanduser().resolve()), str(home))
            except ValueError as e:
                st.error(str(e))
            else:
                st.session_state["data_dir"] = str(Path(path).expanduser().resolve())
                st.rerun()


@st.cache_data(show_spinner="Embedding the upload…", max_entries=32)
def embed_upload(data: bytes, filename: str, run_keys: tuple, _ds: Dataset) -> dict:
    """Run name -> AudioEmbedding of an uploaded file, for runs given as (path, mtime) pairs.

    The features are extracted once and shared by every run. Raises ValueError for a bad file.
    """
    raw = wsp.upload_features(data, filename)
    return {
        Path(path).name: load_run(path, mtime, _ds).embed_features(raw[None, :])[0]
        for path, mtime in run_keys
    }


def show_training(log: pd.DataFrame) -> None:
    if log.empty or "kind" not in log:
        st.caption("No per-step log (this method reports none).")
        return
    loss, diag = training_figures(log)
    left, right = st.columns(2)
    left.plotly_chart(loss)
    if diag is not None:
        right.plotly_chart(diag)
