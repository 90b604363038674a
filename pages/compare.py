"""Compare: completions of 2–4 runs for the same seeds, their overlap, maps and reasons."""

import numpy as np
import streamlit as st

from musig import ui
from musig import workspace as wsp
from musig.workspace import explain_figures as xfig
from musig.workspace import figures

ws, ds, runs = ui.context()
chosen = ui.pick_runs(runs, key="compare_runs", multi=True)
lib = ui.library(ws)
tracks = ui.tracks(ws, lib)
label = ui.track_label(tracks)
scenario = {pid: s for s, pids in ws.scenario_pids().items() for pid in pids}

st.title("Compare")
source = st.radio(
    "Seeds", ["Challenge playlist", "Pick tracks"], horizontal=True, key="compare_source"
)
truth = None
if source == "Challenge playlist" and ds.challenge:
    pls = {p.pid: p for p in ds.challenge}
    pid = st.selectbox(
        "Held-out playlist",
        list(pls),
        key="compare_pid",
        format_func=lambda p: (
            f"{pls[p].name or '(no title)'} · {scenario.get(p, '')} · "
            f"{pls[p].num_samples} seeds, {pls[p].num_holdouts} held out"
        ),
    )
    seeds = np.array([ds.uri_to_index[u] for u in pls[pid].seed_uris], np.int64)
    truth = {ds.uri_to_index[u] for u in ds.truth[pid]}
else:
    seeds = ui.pick_tracks(ws, lib, key="compare_seeds")
c1, c2 = st.columns([2, 3])
k = c1.slider("Completions per run", 5, 50, 10, key="compare_k")
with c2:
    pool = ui.pick_source(lib, key="compare_pool")

if len(chosen) < 2:
    st.info("Pick 2–4 runs in the sidebar.")
    st.stop()
if source == "Pick tracks" and not len(seeds):
    st.info("Pick at least one seed track.")
    st.stop()
if not len(seeds):
    st.caption("This playlist shows only its title: every run falls back to popularity order.")

recs = {}
cc = st.column_config
narrow = {
    "rank": cc.NumberColumn(width=40),
    "hit": cc.TextColumn(width=30),
    "track": cc.TextColumn(width=190),
    "genre": cc.TextColumn(width=80),
}
for info, col in zip(chosen, st.columns(len(chosen)), strict=True):
    with col, st.container(key=f"recs_{info.name}"):
        try:
            ids, scores = ui.complete(info, ds, lib, seeds, k, pool)
        except ValueError as e:  # the library is involved and this run cannot embed it
            st.markdown(f"**{info.label}**")
            st.info(str(e))
            continue
        recs[info.name] = ids
        table = tracks.iloc[ids][["genre"]].copy()
        table.insert(0, "track", [label(i) for i in ids])
        table.insert(0, "rank", np.arange(1, len(ids) + 1))
        if truth is not None:
            table.insert(1, "hit", ["✓" if i in truth else "·" for i in ids])
        hits = f" · {sum(i in truth for i in ids)} hits" if truth is not None else ""
        st.markdown(f"**{info.label}**{hits}")
        st.dataframe(table, hide_index=True, column_config=narrow)
        ui.export_buttons(ui.export_rows(lib, info, ds, ids, scores), key=f"export_{info.name}")

st.subheader(f"Overlap (Jaccard@{k})")
st.dataframe(wsp.overlap_frame(recs).round(3))

st.subheader("Maps")
mapped = [r for r in chosen if not r.recommend_only and r.name in recs]
keys = [f"cmp_map_{info.name}" for info in mapped[:2]]
# Linked selection: points picked on either map are ringed on both.
linked = np.unique(
    np.concatenate([ui.selected_ids(st.session_state.get(k)) for k in [*keys, None]])
)
for info, key, col in zip(mapped[:2], keys, st.columns(2), strict=False):
    marks = {"seeds": seeds, f"{info.name} completions": recs[info.name], "selected": linked}
    with col:
        st.markdown(f"**{info.label}**")
        xy = ui.joint_map(lib, info, ds)
        fig = figures.map_figure(tracks, xy, "genre", highlight=marks, height=420)
        st.plotly_chart(fig, key=key, on_select="rerun")
st.caption("Points selected on one map are ringed on both.")

st.subheader("Why these tracks?")
which = st.selectbox("Run", list(recs), key="compare_why")
if which is None:
    st.stop()
feats = ui.features(str(ws.split_dir), ds)
catalog = seeds[seeds < ds.num_tracks]  # reasons come from the catalog's playlists and audio
cands = recs[which][recs[which] < ds.num_tracks]
why = wsp.explain(ds, ui.incidence(str(ws.split_dir), ds), feats.scaled, feats.mask, catalog, cands)
why.insert(0, "track", [label(i) for i in cands])
config = {
    "seed_genre_share": cc.NumberColumn("same genre as seeds", format="percent"),
    "acoustic_similarity": cc.ProgressColumn(
        "acoustic similarity",
        min_value=-1,
        max_value=1,
        format="%.2f",
        help="highest cosine to a seed's audio features",
    ),
    "shared_playlists": cc.NumberColumn("playlists with seeds", help="training playlists"),
    "seeds_sharing": cc.NumberColumn(f"seeds co-listed (of {len(catalog)})"),
    "shared_with": cc.TextColumn("co-listed seeds"),
}
with st.container(key="compare_why_table"):
    st.dataframe(why, hide_index=True, column_config=config)

st.subheader("Inside the encoder")
info = next(r for r in chosen if r.name == which)
if not len(cands) or not len(catalog):
    st.caption("Pick seeds and completions from the catalog to look inside the encoder.")
    st.stop()
cand = st.selectbox("Completion", cands.tolist(), format_func=label, key="compare_inside")
try:
    nb, got, stored = ui.explain(str(info.path), info.mtime, tuple(catalog.tolist()), cand, ds)
except ValueError as e:  # a method without an encoder (ALS, item2vec, ...)
    st.caption(str(e))
    st.stop()
left, right = st.columns([3, 2])
with left, st.container(key="why_network"):
    st.plotly_chart(xfig.neighbourhood_figure(nb, [label(i) for i in nb.nodes]))
with right, st.container(key="why_sources"):
    st.plotly_chart(xfig.attribution_figure(got, stored))
st.caption(
    "Left: one neighbourhood the encoder sampled for this track (◆) and the seeds (★), with "
    "the run's fan-outs; thicker edges weigh more. Right: its score (cosine to the seeds' query, "
    "seeds held at their saved embeddings) minus its score when the encoder runs without its "
    "co-occurrence edges, its acoustic edges or its own vector, averaged over 8 draws."
)
