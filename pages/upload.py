"""Upload: embed a new audio file without retraining; neighbours, map position, completion."""

import numpy as np
import streamlit as st

from musig import ui
from musig import workspace as wsp
from musig.methods import UPLOAD_DEFAULT
from musig.workspace import figures

ws = ui.workspace()
ui.warm_audio()  # the extractor compiled while a file is being chosen
st.title("Upload")
file = st.file_uploader(
    "Audio file",
    type=list(wsp.AUDIO_TYPES),
    key="upload_file",
    max_upload_size=wsp.MAX_UPLOAD_MB,  # also in .streamlit/config.toml (read from the repo)
    help="The middle 30 s are analysed, like every catalog track.",
)
runs = ws.list_runs()
chosen = ui.pick_runs(runs, key="upload_runs", multi=True, audio_only=True, default=UPLOAD_DEFAULT)
if not chosen and not any(r.embeds_uploads for r in runs):
    st.info("No run that embeds audio is ready yet: the default runs are being trained.")
    st.stop()
if not chosen:
    st.info("Pick a run that can embed audio (musig, sage or content) in the sidebar.")
    st.stop()
ds = ui.split(ws)
lib = ui.library(ws)
tracks = ui.tracks(ws, lib)
label = ui.track_label(tracks)
if file is None:
    st.info("Upload a track to place it among the catalog's tracks.")
    st.stop()

data = file.getvalue()
st.audio(data, format=file.type or "audio/wav")
try:
    embs, notes = ui.embed_upload(
        data, file.name, tuple((str(r.path), r.mtime) for r in chosen), ds
    )
except ValueError as e:
    st.error(f"Cannot use this file: {e}")
    st.stop()
for note in notes:
    st.warning(note)

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
xy = ui.joint_map(lib, info, ds)
if xy is not None:
    nb = run.indices(first.neighbor_uris)
    fig = figures.map_figure(
        tracks,
        xy,
        "genre",
        highlight={"neighbours": nb},
        point=("your upload", first.map_xy),
    )
    st.plotly_chart(fig, key="upload_map")
    st.caption("Placed at the similarity-weighted mean of its nearest tracks' positions.")

st.subheader("Playlist completion with this track as a seed")
extra = ui.pick_tracks(ws, lib, key="upload_seeds", label="More seed tracks (optional)")
c1, c2 = st.columns([2, 3])
k = c1.slider("Completions", 5, 50, 10, key="upload_k")
with c2:
    pool = ui.pick_source(lib, key="upload_pool")
try:
    ids, scores = ui.complete(info, ds, lib, extra, k, pool, extra=first.embedding)
except ValueError as e:
    st.warning(str(e))
    st.stop()
table = tracks.iloc[ids][["track_name", "artist_name", "genre"]].copy()
table.insert(0, "score", np.round(scores, 3))
with st.container(key="upload_completion"):
    st.dataframe(table, hide_index=True)
ui.export_buttons(ui.export_rows(lib, info, ds, ids, scores), key="upload_export")
