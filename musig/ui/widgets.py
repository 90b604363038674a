"""Widgets shared by the pages: run pickers, run tables, MUSIG's settings, map selections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from musig import workspace as wsp
from musig.graph import RELATIONS
from musig.methods import COMPARE_DEFAULT
from musig.metrics import METRICS
from musig.musig_config import TASKS
from musig.workspace.figures import training_figures


def pick_runs(
    runs: list[wsp.RunSummary],
    *,
    key: str,
    multi: bool = False,
    audio_only: bool = False,
    embedding_only: bool = False,
    default: tuple[str, ...] = COMPARE_DEFAULT,
    max_selections: int = 4,
) -> list[wsp.RunSummary]:
    """Sidebar run picker; the choice is kept across pages and reruns in session state."""
    if audio_only:
        runs = [r for r in runs if r.embeds_uploads]
    if embedding_only:
        runs = [r for r in runs if not r.recommend_only]
    names = [r.name for r in runs]
    keep = f"_keep_{key}"
    if key not in st.session_state:  # first visit, or the widget was dropped on a page switch
        kept = [n for n in st.session_state.get(keep, []) if n in names]
        wanted = kept or [n for n in default if n in names] or names[:1]
        st.session_state[key] = wanted[:max_selections] if multi else (wanted or [None])[0]
    by_name = {r.name: r for r in runs}
    label = {r.name: r.label for r in runs}.get
    with st.sidebar:
        if multi:
            chosen = st.multiselect(
                "Runs", names, key=key, format_func=label, max_selections=max_selections
            )
        else:
            chosen = [st.selectbox("Run", names, key=key, format_func=label)]
    chosen = [c for c in chosen if c in by_name]
    st.session_state[keep] = chosen
    return [by_name[c] for c in chosen]


def pick_run(runs: list[wsp.RunSummary], *, key: str, **kw) -> wsp.RunSummary | None:
    """Single-run variant of :func:`pick_runs` (None when no run fits)."""
    chosen = pick_runs(runs, key=key, multi=False, **kw)
    return chosen[0] if chosen else None


def runs_table(runs: list[wsp.RunSummary], *, key: str, highlight: str | None = None) -> None:
    """The saved runs with their headline challenge metrics; ``highlight`` is shown in bold."""
    frame = wsp.runs_frame(runs)
    number = st.column_config.NumberColumn
    config = {c: number(format="%.4f") for c in (*METRICS, "cold recall@100")}
    config.update({"clicks": number(format="%.2f"), "train s": number(format="%.1f")})
    shown = frame
    if highlight is not None:
        bold = ["font-weight: bold"] * frame.shape[1]
        shown = frame.style.apply(
            lambda r: bold if r["run"] == highlight else [""] * len(r), axis=1
        )
    with st.container(key=key):
        st.dataframe(shown, hide_index=True, column_config=config)


def musig_settings(base: dict) -> dict:
    """Fields of MUSIG's config inside a form, prefilled from ``base`` (a config as a dict).

    Returns:
        Config overrides; ``fanouts`` is the text typed (e.g. "10,5"), parsed on submit.
    """
    tasks = dict(base["tasks"])
    st.markdown("**Tasks** — sampling probability of each task per step")
    probs = {
        t: c.slider(t, 0.0, 1.0, float(tasks.get(t, 0.0)), 0.05, key=f"task_{t}")
        for t, c in zip(TASKS, st.columns(len(TASKS)), strict=True)
    }
    out: dict = {"tasks": [[t, p] for t, p in probs.items() if p > 0]}
    c1, c2, c3 = st.columns(3)
    out["use_audio"] = c1.checkbox("Audio features as input", base["use_audio"])
    out["use_track_vectors"] = c2.checkbox("Per-track vectors", base["use_track_vectors"])
    out["relations"] = c3.multiselect("Relations", list(RELATIONS), base["relations"])
    c1, c2, c3, c4 = st.columns(4)
    out["hidden_channels"] = c1.number_input("Hidden dim", 8, 1024, base["hidden_channels"])
    out["out_channels"] = c2.number_input("Embedding dim", 8, 512, base["out_channels"])
    out["num_layers"] = c3.number_input("Layers", 1, 4, base["num_layers"])
    out["fanouts"] = c4.text_input("Fan-outs per layer", ",".join(map(str, base["fanouts"])))
    c1, c2, c3 = st.columns(3)
    out["steps"] = c1.number_input("Steps", 10, 100_000, base["steps"], step=100)
    out["lr"] = c2.number_input("Learning rate", 1e-5, 1.0, base["lr"], format="%.4f")
    out["batch_size"] = c3.number_input("Batch size", 16, 8192, base["batch_size"])
    return out


def track_label(frame: pd.DataFrame):
    """format_func for track ids: 'name — artist'. Looks up only the ids it is asked for: a
    widget labels some fifty, and converting every name of a million-track table to Python
    strings took 0.1 s a rerun."""
    names, artists = frame["track_name"], frame["artist_name"]
    return lambda i: f"{names.iat[i]} — {artists.iat[i]}"


def selected_ids(event) -> np.ndarray:
    """Track ids of the points selected on a map (click, box or lasso)."""
    if not event or not event.selection:
        return np.zeros(0, np.int64)
    ids = [p.get("customdata") for p in event.selection.get("points", [])]
    ids = [i[0] if isinstance(i, list) else i for i in ids if i is not None]
    return np.unique(np.asarray(ids, np.int64))


def show_training(log: pd.DataFrame) -> None:
    if log.empty or "kind" not in log:
        st.caption("No per-step log (this method reports none).")
        return
    loss, diag = training_figures(log)
    left, right = st.columns(2)
    left.plotly_chart(loss)
    if diag is not None:
        right.plotly_chart(diag)
