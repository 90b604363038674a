"""Picking tracks by name (search, among millions) and completing playlists from the catalog,
your library or both, with exports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from musig import workspace as wsp
from musig.data import Dataset
from musig.ui.loaders import library_embeddings, library_key, run, split_key, track_frame, tracks
from musig.ui.widgets import track_label


@st.cache_resource(show_spinner="Indexing track names…", max_entries=4)
def _search(path: str, mtime: float, libdir: str, stamp: float):
    from musig.search import TrackSearch

    t = track_frame(path, mtime, libdir, stamp)
    mine = (t["source"] == "library").to_numpy()
    rank = np.where(mine, np.inf, t["popularity"].to_numpy(float))  # your own files first
    return TrackSearch(t["track_name"].to_numpy(), t["artist_name"].to_numpy(), rank)


def search(ws: wsp.Workspace, query: str, lib=None, limit: int = 50) -> np.ndarray:
    """Joint ids of tracks whose name or artist contains every word of ``query`` (any case),
    library tracks first, then the most popular; at most ``limit``."""
    return _search(*split_key(ws), *library_key(lib)).find(query, limit)


def find_track(ws: wsp.Workspace, lib, *, key: str, label: str = "Find a track") -> int | None:
    """A track found by name: a text query, then a pick among the best matches (first
    preselected). Returns its joint id, or None."""
    query = st.text_input(label, key=key, placeholder="Part of a track or artist name")
    hits = search(ws, query, lib)
    if not query.strip():
        return None
    if not len(hits):
        st.caption(f"No track or artist contains {query!r}.")
        return None
    name = track_label(tracks(ws, lib))
    shown = f"{len(hits)}{'+' if len(hits) == 50 else ''} matches"
    return st.selectbox(shown, hits.tolist(), format_func=name, key=f"{key}_pick_{query}")


def pick_tracks(ws: wsp.Workspace, lib, *, key: str, label: str = "Seed tracks") -> np.ndarray:
    """Several tracks picked by name: search, then add matches to the picked list (kept across
    reruns and pages). Returns int64 joint ids."""
    query = st.text_input(f"Search {label.lower()}", key=f"{key}_query", placeholder="Name")
    hits = search(ws, query, lib) if query.strip() else np.zeros(0, np.int64)
    keep = f"_keep_{key}"
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(keep, [])
    options = list(dict.fromkeys([*st.session_state[key], *hits.tolist()]))
    name = track_label(tracks(ws, lib))
    picked = st.multiselect(label, options, key=key, format_func=name, placeholder="Search first")
    st.session_state[keep] = picked
    return np.asarray(picked, np.int64)


def pick_source(lib, *, key: str) -> str:
    """Where completions come from: the catalog, the library or both (catalog: no library)."""
    from musig.library import SOURCES

    if lib is None:
        return "catalog"
    return st.radio("Complete from", SOURCES, index=2, horizontal=True, key=key)


def complete(info: wsp.RunSummary, ds: Dataset, lib, seeds, k: int, source: str, extra=None):
    """:func:`musig.library.complete_ids` with this session's library: (ids, scores) in joint
    ids; ValueError when the library is involved and the run cannot embed it."""
    from musig.library import complete_ids

    emb = library_embeddings(lib, info, ds)
    return complete_ids(run(info, ds), emb, np.asarray(seeds, np.int64), k, source, extra)


def export_buttons(rows: pd.DataFrame, *, key: str, name: str = "playlist") -> None:
    """Download a completion (:func:`musig.library.export_rows`) as M3U8 and as CSV."""
    import tempfile

    from musig.library import write_csv, write_m3u8

    with tempfile.TemporaryDirectory(prefix="musig-export-") as tmp:
        m3u8 = write_m3u8(rows, Path(tmp) / f"{name}.m3u8").read_bytes()
        csv = write_csv(rows, Path(tmp) / f"{name}.csv").read_bytes()
    left, right = st.columns(2)
    left.download_button(
        "Download M3U8", m3u8, f"{name}.m3u8", "audio/x-mpegurl", key=f"{key}_m3u8"
    )
    right.download_button("Download CSV", csv, f"{name}.csv", "text/csv", key=f"{key}_csv")


def export_rows(lib, info: wsp.RunSummary, ds: Dataset, ids, scores) -> pd.DataFrame:
    """A completion (joint ids) as rows to export: :func:`musig.library.export_rows`."""
    from musig.library import export_rows as rows

    return rows(lib, run(info, ds), np.asarray(ids, np.int64), scores)
