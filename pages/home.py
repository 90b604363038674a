"""Home: what musig is, the dataset, the runs and their headline metrics."""

import streamlit as st

from musig import ui
from musig.workspace import figures

ws = ui.workspace()
st.title("musig")
st.markdown(
    "**MUSIG** learns one embedding per music track from a graph of tracks — playlist "
    "co-occurrence and acoustic similarity — trained on several tasks at once (co-occurrence, "
    "content and genre). Because the encoder reads audio features, it embeds tracks that no "
    "playlist contains yet, and even audio files it has never seen. This app compares it with "
    "the baselines on held-out playlists."
)

runs = ws.list_runs()
if not runs:
    st.info("The default runs are being trained; this page fills in when the first is ready.")
    st.stop()

ds = ui.split(ws)
tracks = ui.tracks(ws)
st.subheader("Dataset")
st.caption(f"{ws.data} · evaluation split in {ws.split_dir}")
cols = st.columns(5)
cols[0].metric("Tracks", f"{ds.num_tracks:,}")
cols[1].metric("Training playlists", f"{ds.num_playlists:,}")
cols[2].metric("Challenge playlists", f"{len(ds.challenge or []):,}")
cols[3].metric("Genres", len(ds.genres))
cols[4].metric(
    "Cold-start tracks", f"{int(tracks['cold'].sum()):,}", help="in no training playlist"
)

st.subheader("Runs")
ui.runs_table(runs, key="home_runs")
st.caption(
    "Means over the split's challenge playlists (NDCG, R-precision and recall: higher is "
    "better; clicks: lower is better). Cold recall@100 counts held-out tracks that no training "
    "playlist contains."
)
ndcg = {r.name: r.metrics["challenge"]["overall"]["ndcg"] for r in runs if "challenge" in r.metrics}
if ndcg:
    fig = figures.ci_bars(ndcg, "NDCG on the held-out playlists (95 % CI)")
    fig.update_layout(height=260, showlegend=False)
    st.plotly_chart(fig, key="home_ndcg")

st.subheader("Where to start")
c = st.columns(5)
c[0].page_link("pages/explore.py", label="Explore the maps", icon=":material/scatter_plot:")
c[1].page_link("pages/compare.py", label="Compare completions", icon=":material/compare_arrows:")
c[2].page_link("pages/upload.py", label="Upload a track", icon=":material/upload_file:")
c[3].page_link("pages/train.py", label="Train a run", icon=":material/model_training:")
c[4].page_link("pages/benchmark.py", label="Benchmark", icon=":material/leaderboard:")

with st.expander("Use another dataset"):
    ui.dataset_setting()
