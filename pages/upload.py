"""Upload: embed a new audio file without retraining; neighbours, map position, completion."""

import numpy as np
import streamlit as st

from musig import ui
from musig import workspace as wsp
from musig.methods import UPLOAD_DEFAULT
from musig.workspace import figures

ws, ds, runs = ui.context()
chosen = ui.pick_runs(runs, key="upload_runs", multi=True, audio_only=True, default=UPLOAD_DEFAULT)
tracks = ui.tracks(ws)
label = ui.track_label(tracks)

st.title("Upload")
file = st.file_uploader(
    "Audio file",
    type=list(wsp.AUDIO_TYPES),
    key="upload_file",
    max_upload_size=50,  # MB; also in .streamlit/config.toml, which only applies from the repo
    help="The middle 30 s are analysed, like every catalog track.",
)
if not chosen:
    st.info("Pick a run that can embed audio (musig, sage or content) in the sidebar.")
    st.stop()
if file is None:
    st.info("Upload a track to place it among the catalog's tracks.")
    st.stop()

data = file.getvalue()
st.audio(data, format=file.type or "audio/wav")
try:
    embs = ui.embed_upload(data, file.name, tuple((str(r.path), r.mtime) for r in chosen), ds)
except ValueError as e:
    st.error(f"Cannot use this file: {e}")
    st.stop()

first = embs[chosen[0].name]
if first.far_from_catalog:
    st.warning(
        f"This recording sounds like nothing in the catalog (acoustic similarity "
        f"{first.acoustic_similarity:.2f} to its closest track, lower than 99 % of catalog "
        "tracks to theirs): its neighbours are only the least distant tracks."
    )

st.subheader("Nearest catalog tracks")
for info, col in zip(chosen, st.columns(len(chosen)), strict=True):
    emb = embs[info.name]
    ids = ui.run(info, ds).indices(emb.neighbor_uris)
    table = tracks.iloc[ids][["track_name", "artist_name", "genre"]].copy()
    table.insert(0, "cosine", np.round(emb.scores, 3))
    with col, st.container(key=f"nb_{info.name}"):
        st.markdown(f"**{info.label}**")
        st.dataframe(table, hide_index=True)
        ui.play(ds, st.selectbox("Play", ids, format_func=label, key=f"play_{info.name}"))

info = chosen[0]
run = ui.run(info, ds)
st.subheader(f"On the map of {info.label}")
if run.map2d is not None:
    nb = run.indices(first.neighbor_uris)
    fig = figures.map_figure(
        tracks,
        run.map2d,
        "genre",
        highlight={"neighbours": nb},
        point=("your upload", first.map_xy),
    )
    st.plotly_chart(fig, key="upload_map")
    st.caption("Placed at the similarity-weighted mean of its nearest tracks' positions.")

st.subheader("Playlist completion with this track as a seed")
extra = st.multiselect(
    "More seed tracks (optional)", range(len(tracks)), format_func=label, key="upload_seeds"
)
k = st.slider("Completions", 5, 50, 10, key="upload_k")
ids, scores = wsp.recommend_vector(run, first.embedding, k, np.array(extra, np.int64))
table = tracks.iloc[ids][["track_name", "artist_name", "genre"]].copy()
table.insert(0, "score", np.round(scores, 3))
with st.container(key="upload_completion"):
    st.dataframe(table, hide_index=True)
