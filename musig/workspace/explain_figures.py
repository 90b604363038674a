"""Figures of :mod:`musig.explain`: the sampled neighbourhood as a network, and what each source
adds to a candidate's score as bars. Plain plotly (no streamlit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

if TYPE_CHECKING:  # musig.explain imports torch: only when an explanation is drawn
    from musig.explain import Neighbourhood

RELATION_COLOR = {"cooc": "#1f77b4", "acoustic": "#ff7f0e"}
# kind -> (marker symbol, colour, size)
NODE_STYLE = {
    "candidate": ("diamond", "#ff00aa", 18),
    "seed": ("star", "#111111", 16),
    "neighbour": ("circle", "#7f7f7f", 8),
}


def spring_layout(
    num_nodes: int, src: np.ndarray, dst: np.ndarray, *, iterations: int = 200, seed: int = 0
) -> np.ndarray:
    """Fruchterman–Reingold positions, float (n, 2) in [-1, 1]: linked nodes close, all apart.

    Deterministic for a seed; all pairs each step, so meant for the few hundred nodes of a
    sampled neighbourhood.
    """
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, (num_nodes, 2))
    if num_nodes < 2:
        return pos * 0
    k = np.sqrt(4.0 / num_nodes)  # ideal distance in a 2 x 2 box
    temp = 0.2
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]  # (n, n, 2)
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-3)
        force = (delta / dist[..., None] * (k * k / dist)[..., None]).sum(1)  # repulsion
        d = pos[src] - pos[dst]
        length = np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-3)
        pull = d / length * (length * length / k)  # attraction along edges
        np.add.at(force, src, -pull)
        np.add.at(force, dst, pull)
        size = np.maximum(np.linalg.norm(force, axis=1, keepdims=True), 1e-9)
        pos += force / size * np.minimum(size, temp)
        temp *= 0.98
    pos -= pos.mean(0)
    return pos / max(np.abs(pos).max(), 1e-9)


def neighbourhood_figure(nb: Neighbourhood, labels: list[str], height: int = 520) -> go.Figure:
    """The neighbourhood as a network: nodes by kind (candidate, seeds, sampled neighbours,
    fainter two hops away), edges by relation, thicker the heavier, fainter when they feed a
    neighbour rather than the candidate or a seed; hover an edge's middle for its weight.

    Args:
        nb: :func:`musig.explain.neighbourhood`.
        labels: (n,) hover text of each node, aligned with ``nb.nodes``.
    """
    index = {int(t): i for i, t in enumerate(nb.nodes.tolist())}
    e = nb.edges
    src = e["src"].map(index).to_numpy(np.int64)
    dst = e["dst"].map(index).to_numpy(np.int64)
    pos = spring_layout(len(nb.nodes), src, dst)
    fig = go.Figure()
    heavy = np.log1p(e["weight"].to_numpy(float))
    cut = np.quantile(heavy, [1 / 3, 2 / 3]) if len(heavy) else np.zeros(2)
    inner = nb.hop[dst] == 0  # edges into the candidate or a seed; the rest feed their neighbours
    for relation, color in RELATION_COLOR.items():
        shown = False
        for level, width in enumerate((0.8, 1.8, 3.5)):
            for into_root, opacity in ((False, 0.25), (True, 0.85)):
                rows = np.flatnonzero(
                    (e["relation"] == relation).to_numpy()
                    & (np.searchsorted(cut, heavy) == level)
                    & (inner == into_root)
                )
                if not len(rows):
                    continue
                xs = np.stack([pos[src[rows], 0], pos[dst[rows], 0], np.full(len(rows), None)], 1)
                ys = np.stack([pos[src[rows], 1], pos[dst[rows], 1], np.full(len(rows), None)], 1)
                fig.add_trace(
                    go.Scatter(
                        x=xs.ravel(),
                        y=ys.ravel(),
                        mode="lines",
                        line={"color": color, "width": width},
                        opacity=opacity,
                        name={"cooc": "co-occurrence", "acoustic": "acoustic"}[relation],
                        legendgroup=relation,
                        showlegend=not shown,
                        hoverinfo="skip",
                    )
                )
                shown = True
    # Hover on the middle of each edge: its relation, weight and how often it was drawn.
    mid = (pos[src] + pos[dst]) / 2
    text = [
        f"{r}: weight {w:g}, drawn {d}×<br>{labels[a]} → {labels[b]}"
        for r, w, d, a, b in zip(e["relation"], e["weight"], e["draws"], src, dst, strict=True)
    ]
    fig.add_trace(
        go.Scatter(
            x=mid[:, 0],
            y=mid[:, 1],
            mode="markers",
            marker={"size": 6, "opacity": 0},
            text=text,
            hoverinfo="text",
            showlegend=False,
        )
    )
    for kind, (symbol, color, size) in NODE_STYLE.items():
        rows = np.flatnonzero(nb.kind == kind)
        if not len(rows):
            continue
        opacity = np.where(nb.hop[rows] > 1, 0.45, 1.0) if kind == "neighbour" else 1.0
        fig.add_trace(
            go.Scatter(
                x=pos[rows, 0],
                y=pos[rows, 1],
                mode="markers",
                name="sampled neighbour" if kind == "neighbour" else kind,
                marker={"symbol": symbol, "color": color, "size": size, "opacity": opacity},
                text=[f"{labels[i]} (hop {nb.hop[i]})" for i in rows],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
        title="what the encoder aggregated (one sampled neighbourhood)",
    )
    return fig


def attribution_figure(got: dict[str, float], stored: float | None = None) -> go.Figure:
    """Bars: what each source adds to the candidate's score (score minus the score without it).

    Args:
        got: :func:`musig.explain.attribution`.
        stored: the candidate's score in the run's saved embeddings (for reference).
    """
    from musig.explain import SOURCE_NAMES

    sources = [s for s in SOURCE_NAMES if s in got]
    values = [got[s] for s in sources]
    colors = [RELATION_COLOR.get(s, "#2ca02c") for s in sources]
    fig = go.Figure(
        go.Bar(
            x=[SOURCE_NAMES[s] for s in sources],
            y=values,
            marker_color=colors,
            text=[f"{v:+.3f}" for v in values],
            textposition="outside",
        )
    )
    note = f"score {got['score']:.3f} (mean over draws)"
    if stored is not None:
        note += f"; saved embedding {stored:.3f}"
    fig.update_layout(
        height=340,
        margin={"t": 60, "b": 0},
        title=f"what each source adds to the score<br><sup>{note}</sup>",
        yaxis_title="score − score without it",
    )
    return fig
