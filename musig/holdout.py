"""What MUSIG's training holds out, and the diagnostics it scores on it during training.

Co-occurrence holds out whole playlists (its held-out pairs are the links only they add), the
acoustic relation a share of its edges, genre a share of the labelled tracks. The encoder never
trains on, or aggregates over, any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from musig.cooccurrence import cooccurrence_matrix
from musig.csr import CSR, has_edge, subtract


@dataclass(frozen=True)
class Holdout:
    """Training data with the held-out part removed, and the held-out part.

    Attributes:
        playlists: training playlists as CSR (indptr int64 (P'+1,), tracks int64 (nnz,)).
        relations: relation -> CSR the encoder trains on (held-out edges and playlists removed).
        acoustic_edges: the training acoustic edges (None when the graph has none).
        pairs: task -> int64 (2, H) held-out pairs, at most ``eval_size`` each.
        genre_train / genre_held: int64 labelled tracks to train / score the genre task on.
    """

    playlists: tuple[np.ndarray, np.ndarray]
    relations: dict[str, CSR]
    acoustic_edges: CSR | None
    pairs: dict[str, np.ndarray]
    genre_train: np.ndarray
    genre_held: np.ndarray


def _holdout_edges(g: CSR, fraction: float, rng: np.random.Generator) -> tuple[CSR, np.ndarray]:
    """Remove a random share of undirected edges; returns the reduced graph and (2, H) pairs."""
    src = np.repeat(np.arange(g.num_nodes), np.diff(g.indptr))
    upper = src < g.indices
    u, v, w = src[upper], g.indices[upper], g.weights[upper]
    held = rng.random(len(u)) < fraction
    kept = CSR.from_edges(u[~held], v[~held], w[~held], g.num_nodes, symmetric=True)
    return kept, np.stack([u[held], v[held]])


def _holdout_playlists(
    dataset, graph, fraction: float, rng: np.random.Generator
) -> tuple[tuple[np.ndarray, np.ndarray], CSR, np.ndarray]:
    """Hold out a share of playlists.

    Returns:
        the training playlists as CSR, the co-occurrence graph of those playlists, and held-out
        pairs int64 (2, H): links that only the held-out playlists make, in random order.
    """
    indptr, tracks = dataset.playlist_indptr, dataset.playlist_tracks
    lengths = np.diff(indptr)
    held = rng.random(len(lengths)) < fraction
    held_entries = np.repeat(held, lengths)
    train = (np.concatenate([[0], np.cumsum(lengths[~held])]), tracks[~held_entries])
    held_playlists = (np.concatenate([[0], np.cumsum(lengths[held])]), tracks[held_entries])
    n, cfg = dataset.num_tracks, graph.config
    kw = {"window": cfg.window, "min_weight": cfg.min_cooccurrence}
    held_counts = cooccurrence_matrix(*held_playlists, n, window=cfg.window, min_weight=1)
    held_graph = (
        held_counts if cfg.min_cooccurrence <= 1 else cooccurrence_matrix(*held_playlists, n, **kw)
    )
    if "cooc" in graph.relations:  # the full graph minus the held-out playlists' counts
        cooc_train = subtract(graph.relations["cooc"], held_counts, cfg.min_cooccurrence)
    else:  # a model that aggregates no co-occurrence: count the training playlists for the test
        cooc_train = cooccurrence_matrix(*train, n, **kw)
    u = np.repeat(np.arange(n), held_graph.degree())
    v = held_graph.indices
    new = (u < v) & ~has_edge(cooc_train, u, v)
    pairs = np.stack([u[new], v[new]])
    return train, cooc_train, pairs[:, rng.permutation(pairs.shape[1])]


def make_holdout(
    dataset, graph, relations: dict[str, CSR], fraction: float, eval_size: int, rng
) -> Holdout:
    """Split off what the diagnostics score (draws from ``rng`` in a fixed order).

    Args:
        dataset: the training dataset; graph: its TrackGraph; relations: the graph's relations
            the encoder reads (a subset of ``graph.relations``).
    """
    train_rel, pairs = dict(relations), {}
    playlists, cooc_train, pairs["cooc"] = _holdout_playlists(dataset, graph, fraction, rng)
    if "cooc" in train_rel:
        train_rel["cooc"] = cooc_train
    acoustic_edges = None
    if "acoustic" in graph.relations and graph.relations["acoustic"].indices.size:
        acoustic_edges, pairs["acoustic"] = _holdout_edges(
            graph.relations["acoustic"], fraction, rng
        )
        if "acoustic" in train_rel:
            train_rel["acoustic"] = acoustic_edges
    labelled = np.flatnonzero(graph.genre >= 0)
    held_genre = rng.random(len(labelled)) < max(fraction, 0.1)
    return Holdout(
        playlists=playlists,
        relations=train_rel,
        acoustic_edges=acoustic_edges,
        pairs={t: p[:, :eval_size] for t, p in pairs.items()},
        genre_train=labelled[~held_genre],
        genre_held=labelled[held_genre][:eval_size],
    )


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a held-out positive outscores a random negative (ties count half)."""
    scores = np.concatenate([pos, neg])
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1.0
    # Average ranks over ties so equal scores are not ordered by position.
    _, inv, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    n_pos, n_neg = len(pos), len(neg)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class Diagnostics:
    """Held-out AUCs (positives against fixed random pairs, by embedding cosine) and genre
    accuracy, for any way of embedding tracks."""

    def __init__(self, holdout: Holdout, genre: np.ndarray, num_nodes: int, seed: int):
        self.holdout, self.genre = holdout, genre
        rng = np.random.default_rng(seed)
        self.neg = {t: rng.integers(0, num_nodes, size=p.shape) for t, p in holdout.pairs.items()}

    def aucs(self, embed: Callable[[np.ndarray], np.ndarray], prefix: str = "") -> dict:
        out = {}
        for task, pairs in self.holdout.pairs.items():
            if pairs.shape[1]:
                z = embed(np.concatenate([pairs.ravel(), self.neg[task].ravel()]))
                z = z.reshape(4, -1, z.shape[1])  # (pos u, pos v, neg u, neg v)
                out[f"{prefix}{task}_auc"] = auc((z[0] * z[1]).sum(1), (z[2] * z[3]).sum(1))
        return out

    def __call__(self, embed: Callable[[np.ndarray], np.ndarray], head: nn.Module) -> dict:
        """AUCs of every held-out task plus ``genre_acc`` of ``head`` on held-out labels."""
        record = self.aucs(embed)
        held = self.holdout.genre_held
        if len(held):
            with torch.no_grad():
                pred = head(torch.from_numpy(embed(held))).argmax(1).numpy()
            record["genre_acc"] = float((pred == self.genre[held]).mean())
        return record
