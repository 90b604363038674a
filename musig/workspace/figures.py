"""Plotly figures of the app: maps of embedding spaces, training curves, bars with CIs.

Plain plotly (no streamlit), so the figures can be built and checked without a browser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from musig.musig_config import TASKS

COLOR_BY = ("genre", "artist", "popularity", "cold-start")
# Distinct hues (Plotly's D3 set): the streamlit theme's own palette repeats near-identical blues.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")  # fmt: skip
UNKNOWN = "#c7c7c7"


# Most points a map draws: beyond, a seeded sample (see map_rows). Drawing is most of Explore's
# time on a big run: on an 812k-track map, 100k points opened it in 2.3-2.5 s, 50k in 1.4-1.6 s
# (target 2 s; benchmarks/results/bench_app_100k.txt); plotly.js alone draws 100k in 0.73 s.
MAP_POINTS = 50_000
LIBRARY = "your library"  # the trace of library tracks (rows whose "source" is "library")


def map_rows(
    xy: np.ndarray, keep: np.ndarray | None = None, max_points: int = MAP_POINTS, seed: int = 0
) -> np.ndarray:
    """Rows a map draws: every placed row up to ``max_points``; beyond, a seeded sample of them
    plus every row of ``keep`` (found, selected, seeds, library tracks), so that what the page
    talks about is always on the map.

    Args:
        xy: float (N, 2) positions, NaN rows for tracks without one.
        keep: int64 rows drawn whatever the sample.
    Returns:
        int64 sorted rows with finite positions.
    """
    placed = np.isfinite(xy).all(1)
    ok = np.flatnonzero(placed)
    if len(ok) <= max_points:
        return ok
    # Boolean masks, not set operations: np.intersect1d/setdiff1d sort the 812k placed rows of
    # a 100k-playlist world on every rerun of Explore (half a second).
    keep = np.asarray([] if keep is None else keep, np.int64)
    kept = np.zeros(len(xy), bool)
    kept[keep[placed[keep]]] = True
    rest = np.flatnonzero(placed & ~kept)
    n = max(max_points - int(kept.sum()), 0)
    kept[np.random.default_rng(seed).choice(rest, n, replace=False)] = True
    return np.flatnonzero(kept)


def map_figure(
    frame: pd.DataFrame,
    xy: np.ndarray,
    color_by: str = "genre",
    *,
    highlight: dict[str, np.ndarray] | None = None,
    point: tuple[str, np.ndarray] | None = None,
    height: int = 520,
    max_points: int = MAP_POINTS,
) -> go.Figure:
    """WebGL scatter of a run's 2-D map; customdata holds the track id of every point.

    Args:
        frame: track table (track_name, artist_name, genre, popularity, cold; optional
            ``source``: rows of "library" are drawn as one trace of their own marker).
        xy: float32 (N, 2) map, NaN rows for tracks the run cannot place.
        highlight: label -> int64 track ids drawn on top (seeds, completions, selection).
        point: (label, float (2,)) one extra marker, e.g. an uploaded track.
        max_points: most points drawn (:func:`map_rows`); ``layout.meta`` says how many were.
    """
    library = (
        (frame["source"] == "library").to_numpy()
        if "source" in frame
        else np.zeros(len(frame), bool)
    )
    marked = [np.asarray(ids, np.int64) for ids in (highlight or {}).values()]
    ok = map_rows(xy, np.concatenate([np.flatnonzero(library), *marked]), max_points)
    f = frame.iloc[ok]
    hover = f["track_name"] + " — " + f["artist_name"] + " · " + f["genre"].replace("", "?")
    fig = go.Figure()

    def scatter(rows, name, **marker):
        return go.Scattergl(
            x=xy[ok[rows], 0],
            y=xy[ok[rows], 1],
            mode="markers",
            name=name,
            customdata=ok[rows],
            text=hover.iloc[rows],
            hovertemplate="%{text}<extra></extra>",
            marker={"size": 6, "opacity": 0.75, **marker},
        )

    mine = library[ok]
    f = f[~mine]  # catalog rows, coloured; library rows get one trace after them
    rows_of = np.flatnonzero(~mine)
    if color_by in ("genre", "cold-start"):
        col = f["genre"].replace("", "(unknown)") if color_by == "genre" else f["cold"]
        if color_by == "cold-start":
            col = col.map({True: "cold-start (no training playlist)", False: "in playlists"})
        # Unlabelled tracks first, underneath: on the MPD-shaped worlds most tracks have no
        # genre, and drawn last their grey covered every labelled one.
        for j, value in enumerate(["(unknown)"] + sorted(set(col) - {"(unknown)"})):
            rows = rows_of[(col == value).to_numpy()]
            color = UNKNOWN if value == "(unknown)" else PALETTE[(j - 1) % len(PALETTE)]
            if len(rows):
                fig.add_trace(scatter(rows, str(value), color=color))
    else:
        if color_by == "artist":
            marker = {"color": pd.factorize(f["artist_name"])[0], "colorscale": "Turbo"}
        else:
            marker = {
                "color": np.log1p(f["popularity"].to_numpy(float)),
                "colorscale": "Viridis",
                "colorbar": {"title": "log(1+playlists)"},
            }
        fig.add_trace(scatter(rows_of, color_by, **marker))
    if mine.any():
        style = {"size": 9, "symbol": "triangle-up", "color": "#111111", "opacity": 0.9}
        fig.add_trace(scatter(np.flatnonzero(mine), LIBRARY, **style))
    marks = (
        ("star", "black"),
        ("diamond", "#ff00aa"),
        ("circle-open", "black"),
        ("square", "navy"),
    )
    for j, (label, ids) in enumerate((highlight or {}).items()):
        ids = np.asarray([i for i in ids if np.isfinite(xy[i]).all()], np.int64)
        symbol, color = marks[j % len(marks)]
        style = {"size": 14, "symbol": symbol, "color": color, "opacity": 1}
        fig.add_trace(scatter(np.searchsorted(ok, ids), label, **style, line={"width": 2}))
    if point is not None and np.isfinite(point[1]).all():
        fig.add_trace(
            go.Scattergl(
                x=[point[1][0]],
                y=[point[1][1]],
                mode="markers",
                name=point[0],
                marker={"size": 20, "symbol": "x", "color": "black"},
                hoverinfo="name",
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "itemsizing": "constant"},
        xaxis={"visible": False},
        yaxis={"visible": False},
        dragmode="lasso",
        meta={"drawn": len(ok), "placed": int(np.isfinite(xy).all(1).sum())},
    )
    return fig


TASK_COLOR = dict(zip(TASKS, PALETTE, strict=False))


def training_figures(log: pd.DataFrame, window: int = 20) -> tuple[go.Figure, go.Figure | None]:
    """Per-task training loss (rolling mean over ``window`` steps of that task) and the held-out
    diagnostics against the step: co-occurrence / acoustic AUC and genre accuracy, with the AUCs
    of the raw content features as dashed reference lines (what the encoder should beat)."""
    kind = log["kind"] if "kind" in log else pd.Series("", index=log.index)
    loss = go.Figure()
    for task, g in log[kind == "train"].groupby("task"):
        smooth = g["loss"].rolling(window, min_periods=1).mean()
        line = {"color": TASK_COLOR.get(task, PALETTE[3])}
        loss.add_trace(go.Scatter(x=g["step"], y=smooth, mode="lines", name=task, line=line))
    loss.update_layout(
        height=300, margin={"t": 30, "b": 0}, title="training loss (per task)", xaxis_title="step"
    )
    evals = log[kind == "eval"]
    cols = [c for c in ("cooc_auc", "acoustic_auc", "genre_acc") if c in evals]
    if evals.empty or not cols:
        return loss, None
    diag = go.Figure()
    for c in cols:
        line = {"color": TASK_COLOR[c.split("_")[0]]}
        diag.add_trace(
            go.Scatter(x=evals["step"], y=evals[c], mode="lines+markers", name=c, line=line)
        )
    ref = log[kind == "reference"]
    for task in TASKS:
        col = f"content_{task}_auc"
        if col in ref and ref[col].notna().any():
            diag.add_hline(
                y=float(ref[col].dropna().iloc[-1]),
                line={"dash": "dash", "color": TASK_COLOR[task], "width": 1},
                annotation_text=f"content features alone ({task})",
                annotation_font_size=10,
            )
    diag.update_layout(
        height=300,
        margin={"t": 30, "b": 0},
        title="held-out diagnostics",
        xaxis_title="step",
        yaxis_range=[0, 1.02],
    )
    return loss, diag


def ci_bars(
    values: dict[str, dict], title: str, *, by: str | None = None, order: list[str] | None = None
) -> go.Figure:
    """Bar chart of {"mean","lo","hi"} values with their confidence intervals as error bars.

    Args:
        values: method -> {"mean","lo","hi"} or, with ``by``, method -> group -> {metric: {...}}
            (one bar group per group, one colour per method).
        order: category order of the x axis.
    """
    fig = go.Figure()

    def bar(name, xs, cis, color):
        means = np.array([c["mean"] for c in cis], float)
        lo = np.array([c["lo"] for c in cis], float)
        hi = np.array([c["hi"] for c in cis], float)
        error = {"type": "data", "symmetric": False, "array": hi - means, "arrayminus": means - lo}
        fig.add_trace(go.Bar(name=name, x=xs, y=means, marker_color=color, error_y=error))

    if by is None:
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(values))]
        bar(title, list(values), list(values.values()), colors)
    else:
        for i, (method, groups) in enumerate(values.items()):
            bar(method, list(groups), [g[by] for g in groups.values()], PALETTE[i % len(PALETTE)])
    fig.update_layout(barmode="group", height=380, margin={"t": 40, "b": 0}, title=title)
    if order:
        fig.update_xaxes(categoryorder="array", categoryarray=order)
    return fig
