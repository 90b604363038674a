"""Benchmark: playlist-completion results with confidence intervals, cold start, training time."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from musig import report, ui
from musig import workspace as wsp
from musig.metrics import BUCKET_METRICS, METRICS, POPULARITY_BUCKETS
from musig.workspace import figures

ws = ui.workspace()
st.title("Benchmark")
found = wsp.results(ws)
job = wsp.current_job(ws)
full = found is not None and found[0] == wsp.FULL_RESULTS
if not full and (ws.results_dir / "results.json").is_file():
    st.warning(
        f"{ws.results_dir / 'results.json'} is not a readable evaluation (damaged or from "
        "elsewhere); it is ignored until the evaluation is run again."
    )

if not full:
    with st.expander("Full evaluation", expanded=found is None):
        st.caption(
            "`python -m musig evaluate` trains every method on the split and scores it; "
            "it runs in the background (one job at a time) and may take a while."
        )
        if job is not None:
            st.info(f"A {job.kind} job ({job.name}) is running; see Train for progress.")
        elif st.button("Run the evaluation", key="bench_run"):
            try:
                wsp.start_evaluate(ws)
                st.toast("Evaluation started")
            except wsp.JobBusy as e:
                st.warning(str(e))
if found is None:
    st.info("No results yet: wait for the default runs, or run the full evaluation.")
    st.stop()

source, res = found
methods = st.multiselect("Methods", res["methods"], res["methods"], key="bench_methods")
if not methods:
    st.info("Pick at least one method.")
    st.stop()
st.caption(f"Source: {source} · 95 % bootstrap confidence intervals over challenge playlists.")
for line in report.changed_settings(res):
    st.caption(line)

table = wsp.results_frame(res)
table = table[table["method"].isin(methods)]
wide = table.pivot(index="method", columns="metric", values="mean").reindex(methods)
wide["cold recall@100"] = [res["cold_start"][m]["recall@100"]["mean"] for m in methods]
wide["train s"] = [res["train_seconds"].get(m) for m in methods]
columns = [c for c in (*METRICS, "cold recall@100", "train s") if c in wide]
fmt = {c: st.column_config.NumberColumn(format="%.3f") for c in columns}
with st.container(key="bench_table"):
    st.dataframe(wide[columns], column_config=fmt)

metric = st.selectbox("Metric per scenario", METRICS, key="bench_metric")
per = {m: res["per_scenario"][m] for m in methods}
fig = figures.ci_bars(per, f"{metric} per scenario", by=metric, order=ws.scenarios())
st.plotly_chart(fig, key="bench_scenarios")

by_pop = {m: res["buckets"][m] for m in methods if res.get("buckets", {}).get(m)}
if by_pop:
    metric = st.selectbox("Metric by popularity", BUCKET_METRICS, 2, key="bench_bucket_metric")
    title = f"{metric} by the held-out tracks' training playlists (other held-out tracks removed)"
    buckets = [name for name, _, _ in POPULARITY_BUCKETS]
    fig = figures.ci_bars(by_pop, title, by=metric, order=buckets)
    st.plotly_chart(fig, key="bench_buckets")
    first = next(iter(by_pop.values()))
    counts = ", ".join(f"{b} {first[b]['num_playlists']}" for b in buckets if b in first)
    st.caption(f"Playlists with held-out tracks in each bucket: {counts}.")

paired = {m: cells for m, cells in report.paired_cells(res).items() if m in methods}
if paired:
    st.subheader("MUSIG against each baseline, playlist by playlist")
    st.caption(
        "MUSIG minus the baseline, mean over the same challenge playlists with a 95 % paired "
        "bootstrap interval; an interval above zero is a win. Bucket recalls pair over the "
        "playlists with held-out tracks in that bucket."
    )
    frame = pd.DataFrame.from_dict(paired, orient="index", columns=list(report.PAIRED_HEADERS))
    with st.container(key="bench_paired"):
        st.dataframe(frame)

left, right = st.columns(2)
cold = {m: res["cold_start"][m]["recall@100"] for m in methods}
left.plotly_chart(figures.ci_bars(cold, "cold-start recall@100"), key="bench_cold")
secs = [res["train_seconds"].get(m, 0.0) for m in methods]
colors = [figures.PALETTE[i % len(figures.PALETTE)] for i in range(len(methods))]
fig = go.Figure(go.Bar(x=methods, y=secs, marker_color=colors))
fig.update_layout(height=380, margin={"t": 40, "b": 0}, title="training time (s)")
right.plotly_chart(fig, key="bench_time")
