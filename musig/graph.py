"""The track graph: playlist co-occurrence and content-kNN relations plus genre labels.

Every relation is a symmetric weighted :class:`~musig.csr.CSR` without self loops over the
shared track index. All builders use sparse products, sorts and chunked matrix products; none loops
over tracks, pairs or edges in Python.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musig.cooccurrence import cooccurrence_matrix
from musig.csr import CSR
from musig.knn import knn_graph

# The relations a track graph can hold; a method builds only those it reads (musig.methods).
RELATIONS = ("cooc", "acoustic")


@dataclass(frozen=True)
class GraphConfig:
    """How build_graph makes each relation; which relations it makes is the method's choice."""

    use_genre: bool = True  # genre labels; off -> all -1 (no genre task)
    # Keep pairs sharing >= this many playlists. The paper drops pairs sharing <= 10 playlists at
    # Spotify scale (min_cooccurrence=11); small datasets need 1.
    min_cooccurrence: int = 1
    # Pairs only within +-window positions of a playlist: a 250-track playlist would otherwise
    # give 31k pairs, mostly between tracks far apart in the listening order. None = whole list.
    window: int | None = 25
    # From this many playlist entries on (MPD size: 66M), the large_* settings replace the two
    # above: +-25 positions there make 1.6B pair occurrences and a graph too big to count in
    # minutes or sample from in memory (README, "At MPD size"; at 100k MPD-shaped playlists,
    # 5.9M entries, +-25 makes 175M graph entries and takes 10 GB to count).
    large_entries: int = 20_000_000
    large_window: int | None = 5
    large_min_cooccurrence: int = 2
    acoustic_k: int = 10  # neighbours per track in the acoustic (content-feature kNN) relation
    # Above this many tracks with features the acoustic relation comes from an approximate index
    # (musig.knn): exact all-pairs similarity grows with the square of the catalog.
    exact_knn_max: int = 50_000

    def resolve(self, num_entries: int) -> GraphConfig:
        """The settings used for a dataset of ``num_entries`` playlist entries."""
        if num_entries < self.large_entries:
            return self
        return dataclasses.replace(
            self, window=self.large_window, min_cooccurrence=self.large_min_cooccurrence
        )


def _pad(g: CSR, num_nodes: int) -> CSR:
    extra = np.full(num_nodes - g.num_nodes, g.indptr[-1], np.int64)
    return CSR(np.concatenate([g.indptr, extra]), g.indices, g.weights)


@dataclass
class TrackGraph:
    """Relations and genre labels over the shared track index.

    Attributes:
        num_nodes: N.
        relations: name ("cooc", "acoustic") -> CSR, symmetric, no self loops.
        genre: int64 (N,) genre code, -1 unknown.
        genre_names: names of the codes.
        config: the GraphConfig it was built with.
    """

    num_nodes: int
    relations: dict[str, CSR]
    genre: np.ndarray
    genre_names: list[str]
    config: GraphConfig = field(default_factory=GraphConfig)

    def add_nodes(
        self, relations_edges: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], num_new: int
    ) -> TrackGraph:
        """A new graph with ``num_new`` nodes appended (ids N..N+num_new-1), e.g. uploaded tracks.

        Args:
            relations_edges: relation -> (src int (E,), dst int (E,), weight float (E,)). Each edge
                must touch a new node (edges among existing nodes are left as they are); edges are
                added in both directions, a pair given twice keeps the larger weight. Relations not
                named get no edges to the new nodes.
            num_new: number of nodes to append (genre -1).

        Returns:
            TrackGraph with num_nodes + num_new nodes; this graph is not modified.
        """
        if num_new < 0:
            raise ValueError(f"num_new must be >= 0, got {num_new}")
        n_old, n = self.num_nodes, self.num_nodes + num_new
        relations = {}
        for name, g in self.relations.items():
            relations[name] = _pad(g, n)
        for name, (src, dst, w) in relations_edges.items():
            if name not in self.relations:
                raise ValueError(f"unknown relation {name!r}; graph has {sorted(self.relations)}")
            src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
            if ((src < n_old) & (dst < n_old)).any():
                bad = int(np.argmax((src < n_old) & (dst < n_old)))
                raise ValueError(f"{name} edge {bad} ({src[bad]}, {dst[bad]}) touches no new node")
            if (src == dst).any():
                raise ValueError(f"{name} edge {int(np.argmax(src == dst))} is a self loop")
            new = CSR.from_edges(src, dst, w, num_nodes=n, symmetric=True, reduce="max")
            relations[name] = CSR.from_scipy(relations[name].to_scipy() + new.to_scipy())
        genre = np.concatenate([self.genre, np.full(num_new, -1, np.int64)])
        return TrackGraph(n, relations, genre, list(self.genre_names), self.config)


def build_graph(
    dataset: Any,
    X: np.ndarray | None,
    mask: np.ndarray | None,
    cfg: GraphConfig = GraphConfig(),
    relations: tuple[str, ...] = RELATIONS,
) -> TrackGraph:
    """Build the track graph of a dataset.

    Args:
        dataset: a ``musig.data.Dataset`` (uses playlist_indptr, playlist_tracks, num_tracks,
            genre_codes, genres). Pass the training playlists only: held-out playlist tracks must
            not become co-occurrence edges.
        X: float (N, F) content features (only read for the "acoustic" relation).
        mask: bool (N,) rows of X that are valid.
        cfg: how each relation is made (resolved for the dataset's size, see
            :meth:`GraphConfig.resolve`; the graph keeps the resolved settings).
        relations: which relations to make, a subset of :data:`RELATIONS`.

    Returns:
        TrackGraph holding exactly ``relations``.
    """
    unknown = sorted(set(relations) - set(RELATIONS))
    if unknown:
        raise ValueError(f"unknown relation(s) {unknown}; choose from {list(RELATIONS)}")
    cfg = cfg.resolve(len(dataset.playlist_tracks))
    n = int(dataset.num_tracks)
    built: dict[str, CSR] = {}
    if "cooc" in relations:
        built["cooc"] = cooccurrence_matrix(
            dataset.playlist_indptr,
            dataset.playlist_tracks,
            n,
            window=cfg.window,
            min_weight=cfg.min_cooccurrence,
        )
    if "acoustic" in relations:
        if X is None or mask is None:
            raise ValueError("the acoustic relation needs content features X and mask")
        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows for {n} tracks")
        built["acoustic"] = knn_graph(X, mask, cfg.acoustic_k, exact_max=cfg.exact_knn_max)
    if cfg.use_genre:
        genre = np.asarray(dataset.genre_codes, np.int64)
        names = list(dataset.genres)
    else:
        genre, names = np.full(n, -1, np.int64), []
    if genre.shape != (n,):
        raise ValueError(f"genre_codes has shape {genre.shape}, expected ({n},)")
    return TrackGraph(n, built, genre, names, cfg)
