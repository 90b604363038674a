"""Compare: completions of 2–4 runs for the same seeds, their overlap, maps and reasons."""

import numpy as np
import streamlit as st

from musig import ui
from musig import workspace as wsp
from musig.workspace import figures

ws, ds, runs = ui.context()
chosen = ui.pick_runs(runs, key="compare_runs", multi=True)
tracks = ui.tracks(ws)
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
    seeds = np.array(
        st.multiselect("Seed tracks", range(len(tracks)), format_func=label, key="compare_seeds"),
        np.int64,
    )
k = st.slider("Completions per run", 5, 50, 10, key="compare_k")

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
    run = ui.run(info, ds)
    ids, scores = run.retriever.recommend(seeds, k)
    recs[info.name] = ids
    table = tracks.iloc[ids][["genre"]].copy()
    table.insert(0, "track", [label(i) for i in ids])
    table.insert(0, "rank", np.arange(1, len(ids) + 1))
    if truth is not None:
        table.insert(1, "hit", ["✓" if i in truth else "·" for i in ids])
    with col, st.container(key=f"recs_{info.name}"):
        hits = f" · {sum(i in truth for i in ids)} hits" if truth is not None else ""
        st.markdown(f"**{info.label}**{hits}")
        st.dataframe(table, hide_index=True, column_config=narrow)

st.subheader(f"Overlap (Jaccard@{k})")
st.dataframe(wsp.overlap_frame(recs).round(3))

st.subheader("Maps")
mapped = [r for r in chosen if not r.recommend_only]
keys = [f"cmp_map_{info.name}" for info in mapped[:2]]
# Linked selection: points picked on either map are ringed on both.
linked = np.unique(
    np.concatenate([ui.selected_ids(st.session_state.get(k)) for k in [*keys, None]])
)
for info, key, col in zip(mapped[:2], keys, st.columns(2), strict=False):
    run = ui.run(info, ds)
    marks = {"seeds": seeds, f"{info.name} completions": recs[info.name], "selected": linked}
    with col:
        st.markdown(f"**{info.label}**")
        fig = figures.map_figure(tracks, run.map2d, "genre", highlight=marks, height=420)
        st.plotly_chart(fig, key=key, on_select="rerun")
st.caption("Points selected on one map are ringed on both.")

st.subheader("Why these tracks?")
which = st.selectbox("Run", [r.name for r in chosen], key="compare_why")
feats = ui.features(str(ws.split_dir), ds)
why = wsp.explain(
    ds, ui.incidence(str(ws.split_dir), ds), feats.scaled, feats.mask, seeds, recs[which]
)
why.insert(0, "track", [label(i) for i in recs[which]])
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
    "seeds_sharing": cc.NumberColumn(f"seeds co-listed (of {len(seeds)})"),
    "shared_with": cc.TextColumn("co-listed seeds"),
}
with st.container(key="compare_why_table"):
    st.dataframe(why, hide_index=True, column_config=config)
