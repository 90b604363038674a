"""Library: your own music folder — scanned, placed in a run's space, completed and exported."""

from pathlib import Path

import numpy as np
import streamlit as st

from musig import ui
from musig import workspace as wsp
from musig.library import ScanConfig, scan_library

ws = ui.workspace()
ui.warm_audio()  # the extractor compiled while a file is being chosen
st.title("Library")
lib = ui.library(ws)
with st.form("library_form"):
    folder = st.text_input(
        "Music folder",
        value=str(lib.root) if lib is not None else "",
        placeholder="/home/you/Music",
        help="wav, flac, ogg, opus, mp3 and aiff files and m3u/m3u8/pls playlists under it. "
        "Files unchanged since the last scan are not decoded again.",
    )
    scan = st.form_submit_button("Scan", type="primary")
if scan:
    bar = st.progress(0.0, text="Looking for files…")

    def on_file(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Reading and analysing files: {done}/{total}")

    try:
        found = scan_library(folder, cfg=ScanConfig(progress=False), on_file=on_file)
    except ValueError as e:
        st.error(f"Cannot scan {folder!r}: {e}")
        st.stop()
    bar.empty()
    wsp.remember_library(ws, found.root)
    st.session_state["library_root"] = str(found.root)
    st.toast(f"Scanned {len(found.files)} files ({found.extracted} analysed now)")
    lib = ui.library(ws)
if lib is None:
    st.info("Scan a folder of your music to place it among the catalog's tracks.")
    st.stop()

files, n_ok = lib.files, len(lib.tracks)
cols = st.columns(4)
cols[0].metric("Audio files", f"{len(files):,}")
cols[1].metric("Usable", f"{n_ok:,}")
cols[2].metric("Skipped", f"{len(files) - n_ok:,}")
cols[3].metric("Playlists", f"{len(lib.playlists):,}")
st.caption(f"{lib.root} · cache in {lib.libdir}")
tabs = st.tabs(["Tracks", "Skipped", "Warnings", "Playlists"])
shown = ["path", "title", "artist", "album", "genre", "duration_s", "bitrate_kbps"]
with tabs[0], st.container(key="library_tracks"):
    st.dataframe(lib.tracks[shown], hide_index=True)
with tabs[1], st.container(key="library_skipped"):
    st.dataframe(files.loc[files["status"] != "ok", ["path", "reason"]], hide_index=True)
with tabs[2]:
    st.dataframe(files.loc[files["warning"] != "", ["path", "warning"]], hide_index=True)
with tabs[3], st.container(key="library_playlists"):
    for pl in lib.playlists:
        hit = sum(f is not None for f in pl.files)
        with st.expander(f"{pl.path.name}: {hit} of {len(pl.files)} entries matched"):
            for entry, why in pl.unmatched:
                st.caption(f"{entry or pl.path.name}: {why}")

runs = ws.list_runs()
info = ui.pick_run(runs, key="library_run", audio_only=True)
if info is None:
    st.info("No run that embeds audio is ready yet: the default runs are being trained.")
    st.stop()
ds = ui.split(ws)
emb = ui.library_embeddings(lib, info, ds)
far = int(emb.far.sum())
st.caption(
    f"{n_ok} files placed in the space of {info.label}"
    + (f"; {far} sound like nothing in its catalog." if far else ".")
)

st.subheader("Make a playlist")
offset = ds.num_tracks  # joint ids: the library's tracks come after the catalog's
names = [p.path.name for p in lib.playlists]
start = st.selectbox("Seeds from a playlist", ["(none)", *names], key="library_playlist")
seeds = ui.pick_tracks(ws, lib, key="library_seeds", label="Seed tracks")
if start != "(none)":
    rows = lib.tracks["path"].tolist()
    listed = lib.playlists[names.index(start)].files
    seeds = np.union1d(seeds, [offset + rows.index(f) for f in listed if f in rows])
c1, c2 = st.columns([2, 3])
k = c1.slider("Tracks to add", 5, 100, 20, key="library_k")
with c2:
    pool = ui.pick_source(lib, key="library_pool")
if not len(seeds):
    st.info("Pick a playlist or seed tracks (search by title or artist).")
    st.stop()
ids, scores = ui.complete(info, ds, lib, seeds, k, pool)
tracks = ui.tracks(ws, lib)
table = tracks.iloc[ids][["track_name", "artist_name", "genre", "source"]].copy()
table.insert(0, "score", np.round(scores, 3))
with st.container(key="library_completion"):
    st.dataframe(table, hide_index=True)
name = Path(start).stem + "-more" if start != "(none)" else "musig-playlist"
ui.export_buttons(ui.export_rows(lib, info, ds, ids, scores), key="library_export", name=name)
st.caption("Library files are written by absolute path, catalog tracks by URI.")
