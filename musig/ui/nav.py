"""The app's frame: its pages and navigation, the workspace of this session, the first start.

See :mod:`musig.ui` (the one place of musig that imports streamlit).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from musig import workspace as wsp
from musig.data import Dataset
from musig.ui.loaders import keep_split, split

PAGES = (
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/explore.py", "Explore", ":material/scatter_plot:"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/upload.py", "Upload", ":material/upload_file:"),
    ("pages/library.py", "Library", ":material/library_music:"),
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


@st.cache_resource(show_spinner="Opening the dataset…")
def _open_workspace(data: str, home: str) -> wsp.Workspace:
    return wsp.Workspace.open(data, home)


def workspace() -> wsp.Workspace:
    """This session's workspace: ``-- --data/--home``, env, or the dataset chosen on Home."""
    data, home = wsp.parse_args(sys.argv[1:], os.environ)
    try:
        ws = _open_workspace(str(st.session_state.get("data_dir", data)), str(home))
    except ValueError:
        _require_app()  # app.py shows the error
        raise
    if not st.session_state.get(_ROUTED):
        first_start(ws)  # begins now, not after the rerun through app.py
    _require_app()
    return ws


@st.cache_resource(show_spinner=False)
def bootstrapper(root: str, _ws: wsp.Workspace) -> wsp.Bootstrap:
    """One background bootstrap per workspace and server process, shared by all sessions."""
    return wsp.Bootstrap(_ws, on_split=lambda ds: keep_split(_ws, ds)).start()


def first_start(ws: wsp.Workspace) -> wsp.Bootstrap | None:
    """The workspace's first start (running or finished), or None when it is ready."""
    return None if ws.ready() else bootstrapper(str(ws.root), ws)


def context() -> tuple[wsp.Workspace, Dataset, list[wsp.RunSummary]]:
    """Workspace, split and saved runs; stops the page with a message while none exist."""
    ws = workspace()
    runs = ws.list_runs()
    if not runs:
        st.info("No runs yet: the default runs are being prepared (progress above).")
        # An empty chart makes the browser load its plotting code now, while the runs are
        # prepared, instead of after them: the first map then draws about 2 s sooner.
        st.plotly_chart(go.Figure(layout={"height": 10, "margin": dict(l=0, r=0, t=0, b=0)}))
        st.stop()
    return ws, split(ws), runs


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
