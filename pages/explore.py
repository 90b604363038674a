"""Explore: a run's embedding space as a UMAP map; find, select, nearest neighbours."""

import numpy as np
import streamlit as st

from musig import ui
from musig.workspace import figures

ws, ds, runs = ui.context()
info = ui.pick_run(runs, key="explore_run", embedding_only=True)
lib = ui.library(ws)
tracks = ui.tracks(ws, lib)
label = ui.track_label(tracks)

st.title("Explore")
c1, c2 = st.columns([3, 2])
color_by = c1.radio("Colour by", figures.COLOR_BY, horizontal=True, key="explore_color")
with c2:
    found = ui.find_track(ws, lib, key="explore_find")

if info is None:
    st.info("Pick a run with embeddings in the sidebar.")
    st.stop()
xy = ui.joint_map(lib, info, ds)
if xy is None:
    st.info(
        f"Run {info.name!r} was saved without a 2-D map: pick another run, or draw its map "
        f"with `python -m musig map --run {info.path}`."
    )
    st.stop()

marks = {"found": np.array([found])} if found is not None else None
fig = figures.map_figure(tracks, xy, color_by, highlight=marks)
event = st.plotly_chart(fig, key=f"map_{info.name}", on_select="rerun")
picked = ui.selected_ids(event)
meta = fig.layout.meta
sample = (
    f" (a fixed sample of {meta['drawn']:,} is drawn)" if meta["drawn"] < meta["placed"] else ""
)
st.caption(
    f"{meta['placed']:,} of {len(tracks):,} tracks on the map of {info.label}{sample}. "
    "Click, box or lasso points to list them."
)
if lib is not None and ui.library_embeddings(lib, info, ds) is None:
    st.caption(f"{info.name} cannot place your library's files: they are not on this map.")

if len(picked):
    st.subheader(f"Selected tracks ({len(picked)})")
    table = tracks.iloc[picked][["track_name", "artist_name", "genre", "popularity", "cold"]]
    with st.container(key="explore_selected"):
        st.dataframe(table, hide_index=True)
    st.download_button("Download CSV", table.to_csv(index=False), "selected_tracks.csv", "text/csv")

choices = ([found] if found is not None else []) + [i for i in picked if i != found]
if not choices:
    st.info("Select points on the map or find a track to see its nearest neighbours.")
    st.stop()
with st.container(key="explore_focus"):  # a new search resets the choice to the found track
    focus = st.selectbox("Nearest neighbours of", choices, format_func=label, key=f"focus_{found}")
k = st.slider("Neighbours", 5, 50, 10, key="explore_k")
source = ui.pick_source(lib, key="explore_source")
if focus < ds.num_tracks and not ui.run(info, ds).mask[focus]:
    st.warning(f"{info.name} cannot embed this track (no playlist history or features).")
    st.stop()
try:
    ids, scores = ui.complete(info, ds, lib, [focus], k, source)
except ValueError as e:
    st.warning(str(e))
    st.stop()
table = tracks.iloc[ids][["track_name", "artist_name", "genre", "popularity"]].copy()
table.insert(0, "cosine", np.round(scores, 3))
left, right = st.columns([3, 2])
with left, st.container(key="explore_neighbours"):
    st.dataframe(table, hide_index=True)
with right:
    st.markdown(f"**{label(focus)}**")
    ui.play(ds, focus, lib)
    nb = st.selectbox("Play a neighbour", ids.tolist(), format_func=label, key="explore_play")
    ui.play(ds, nb, lib)
