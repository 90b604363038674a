"""The track graph: playlist co-occurrence and content-kNN relations plus genre labels.

Every relation is a symmetric weighted :class:`~musig.csr.CSR` without self loops over the
shared track index. All builders use sparse products, sorts and chunked matrix products; none loops
over tracks, pairs or edges in Python.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from musig.csr import CSR

# Candidate pairs materialised at once by cooccurrence_matrix (about 16 bytes each).
_PAIR_BUDGET = 1 << 24
# Similarity entries materialised at once by knn_graph (float32).
_SIM_BUDGET = 1 << 24
# Added to clipped similarities so that a kNN edge between orthogonal tracks keeps weight > 0.
_KNN_EPS = 1e-6


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
    acoustic_k: int = 10  # neighbours per track in the acoustic (content-feature kNN) relation


def _pair_counts_per_playlist(lengths: np.ndarray, window: int) -> np.ndarray:
    """int64 (P,): number of (i, i+d) position pairs with 1 <= d <= window per playlist."""
    w = np.minimum(lengths - 1, window).clip(min=0)
    return w * lengths - w * (w + 1) // 2


def cooccurrence_matrix(
    playlist_indptr: np.ndarray,
    playlist_tracks: np.ndarray,
    num_tracks: int,
    *,
    window: int | None = 25,
    min_weight: int = 1,
) -> CSR:
    """Playlist co-occurrence graph.

    The weight of edge (a, b) is the number of playlists in which a and b appear within
    ``window`` positions of each other; a playlist counts once per pair even when a track is
    repeated in it. Playlists are processed in chunks of about ``_PAIR_BUDGET`` candidate pairs
    (~16 bytes each); per position offset ``d`` the pairs (track at i, track at i+d) are formed by
    array shifts and encoded as int64 keys ``min * N + max``. Only pairs from playlists holding a
    repeated track need a per-playlist dedup (a sort of ``(playlist, pair)`` keys). Each chunk is
    counted by sorting its keys and merged into the running counts, so memory is the chunk plus
    the distinct pairs found so far. 10k playlists of mean length 29: ~2 s; 100k: ~15 s.

    Args:
        playlist_indptr: int64 (P+1,) CSR offsets over playlists.
        playlist_tracks: int64 (nnz,) track ids in playlist order.
        num_tracks: N.
        window: maximum position distance; None = any two tracks of a playlist.
        min_weight: drop pairs sharing fewer playlists than this.

    Returns:
        CSR (N nodes), symmetric, no self loops, float32 weights = playlist counts.
    """
    indptr = np.asarray(playlist_indptr, np.int64)
    tracks = np.asarray(playlist_tracks, np.int64)
    if indptr.ndim != 1 or indptr.size == 0 or indptr[0] != 0 or indptr[-1] != tracks.size:
        raise ValueError("playlist_indptr must start at 0 and end at len(playlist_tracks)")
    lengths = np.diff(indptr)
    if (lengths < 0).any():
        raise ValueError(f"playlist_indptr decreases at playlist {np.argmax(lengths < 0)}")
    if tracks.size and (tracks.min() < 0 or tracks.max() >= num_tracks):
        raise ValueError(f"playlist_tracks must lie in [0, {num_tracks})")
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1 or None, got {window}")
    max_len = int(lengths.max(initial=0))
    win = max(max_len - 1, 0) if window is None else min(window, max(max_len - 1, 0))

    n = num_tracks
    if n >= 1 << 31:
        raise ValueError(f"num_tracks={n} too large for int64 pair keys")
    # Dedup keys (playlist, a, b) are encoded as (playlist * n + a) * n + b, so a chunk may hold
    # at most this many playlists.
    max_playlists = max(((1 << 63) - 1) // max(n * n, 1), 1)
    keys = np.zeros(0, np.int64)  # sorted unique pair keys a * n + b with a < b
    counts = np.zeros(0, np.int32)
    csum = np.cumsum(_pair_counts_per_playlist(lengths, win))
    p0 = 0
    while p0 < lengths.size:
        base = csum[p0 - 1] if p0 else 0
        p1 = max(int(np.searchsorted(csum, base + _PAIR_BUDGET, side="right")), p0 + 1)
        p1 = min(p1, p0 + max_playlists)
        chunk = np.sort(_chunk_pair_keys(indptr, tracks, n, p0, p1, win))
        first = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1]]) if chunk.size else chunk
        chunk_counts = np.diff(np.r_[first, chunk.size]).astype(np.int32)
        # Both runs are sorted, so the stable sort (timsort) is a linear merge.
        merged = np.concatenate([keys, chunk[first]])
        order = np.argsort(merged, kind="stable")
        merged, merged_counts = merged[order], np.concatenate([counts, chunk_counts])[order]
        first = np.flatnonzero(np.r_[True, merged[1:] != merged[:-1]]) if merged.size else merged
        keys = merged[first]
        counts = np.add.reduceat(merged_counts, first) if first.size else merged_counts
        p0 = p1

    keep = counts >= min_weight
    keys, counts = keys[keep], counts[keep]
    indptr_u = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys // n, minlength=n), out=indptr_u[1:])
    upper = sp.csr_array((counts.astype(np.float32), keys % n, indptr_u), shape=(n, n))
    return CSR.from_scipy(upper + upper.T)  # each pair was counted once as (min, max)


def _chunk_pair_keys(
    indptr: np.ndarray, tracks: np.ndarray, n: int, p0: int, p1: int, win: int
) -> np.ndarray:
    """int64 pair keys ``a * n + b`` (a < b), one per playlist of [p0, p1) the pair occurs in."""
    t = tracks[indptr[p0] : indptr[p1]]
    pl = np.repeat(np.arange(p1 - p0, dtype=np.int64), np.diff(indptr[p0 : p1 + 1]))
    # Playlists containing some track twice can yield one pair at several offsets; only their
    # pairs need the (playlist, pair) dedup.
    occ = np.sort(pl * n + t)
    dup_pl = np.zeros(p1 - p0, bool)
    dup_pl[occ[1:][occ[1:] == occ[:-1]] // n] = True

    plain, dup_keys = [], []
    for d in range(1, win + 1):
        same = pl[:-d] == pl[d:]
        a, b, owner = t[:-d][same], t[d:][same], pl[:-d][same]
        keep = a != b
        a, b, owner = a[keep], b[keep], owner[keep]
        key = np.minimum(a, b) * n + np.maximum(a, b)
        dup = dup_pl[owner]
        plain.append(key[~dup])
        if dup.any():
            dup_keys.append(owner[dup] * (n * n) + key[dup])
    if dup_keys:
        # np.sort + diff: np.unique's hash path is far slower on tens of millions of int64
        both = np.sort(np.concatenate(dup_keys))
        plain.append(both[np.r_[True, both[1:] != both[:-1]]] % (n * n))
    return np.concatenate(plain) if plain else np.zeros(0, np.int64)


def knn_graph(X: np.ndarray, mask: np.ndarray, k: int, *, metric: str = "cosine") -> CSR:
    """Exact cosine k-nearest-neighbour graph among the rows with ``mask`` True.

    Similarities are computed in row chunks of about ``_SIM_BUDGET`` entries, so memory stays
    bounded for 100k+ rows (time is O(M^2 F) for M masked rows). Edge weight = similarity clipped
    to >= 0 plus a small epsilon; the graph is symmetrised by taking the larger weight of the two
    directions, so a node can have more than k neighbours. Masked-out rows are isolated.

    Args:
        X: float (N, F) features.
        mask: bool (N,) rows that take part.
        k: neighbours per row (capped at M - 1).
        metric: only "cosine".

    Returns:
        CSR (N nodes), symmetric, no self loops.
    """
    if metric != "cosine":
        raise ValueError(f"only metric='cosine' is supported, got {metric!r}")
    X = np.asarray(X)
    mask = np.asarray(mask, bool)
    if X.ndim != 2 or mask.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, F) and mask (N,), got {X.shape} and {mask.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = X.shape[0]
    idx = np.flatnonzero(mask)
    k = min(k, idx.size - 1)
    if k < 1:
        return CSR.from_edges(np.zeros(0, np.int64), np.zeros(0, np.int64), num_nodes=n)
    Z = X[idx].astype(np.float32)
    if not np.isfinite(Z).all():
        raise ValueError("X has non-finite values in masked rows")
    norm = np.linalg.norm(Z, axis=1, keepdims=True)
    Z /= np.where(norm > 0, norm, 1.0)  # a zero row has similarity 0 to everything

    m = idx.size
    step = max(1, _SIM_BUDGET // m)
    nbr = np.empty((m, k), np.int64)
    sim = np.empty((m, k), np.float32)
    for lo in range(0, m, step):
        hi = min(lo + step, m)
        s = Z[lo:hi] @ Z.T  # (chunk, M)
        s[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf  # no self loops
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        nbr[lo:hi] = top
        sim[lo:hi] = np.take_along_axis(s, top, axis=1)
    src = np.repeat(idx, k)
    dst = idx[nbr.ravel()]
    w = np.clip(sim.ravel(), 0.0, None) + _KNN_EPS
    return CSR.from_edges(src, dst, w, num_nodes=n, symmetric=True, reduce="max")


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

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat dict of numeric arrays ("cooc.indptr", ..., "genre"), storable with safetensors.

        Strings (genre names, config) are stored as uint8 UTF-8 JSON so every value is an array.
        """
        out: dict[str, np.ndarray] = {
            "num_nodes": np.array([self.num_nodes], np.int64),
            "genre": np.ascontiguousarray(self.genre, np.int64),
            "genre_names": _json_bytes(self.genre_names),
            "config": _json_bytes(dataclasses.asdict(self.config)),
        }
        for name, g in self.relations.items():
            out[f"{name}.indptr"] = g.indptr
            out[f"{name}.indices"] = g.indices
            out[f"{name}.weights"] = g.weights
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TrackGraph:
        """Inverse of :meth:`to_arrays`."""
        names = sorted({k.split(".")[0] for k in arrays if k.endswith(".indptr")})
        relations = {
            r: CSR(
                np.asarray(arrays[f"{r}.indptr"], np.int64),
                np.asarray(arrays[f"{r}.indices"], np.int64),
                np.asarray(arrays[f"{r}.weights"], np.float32),
            )
            for r in names
        }
        return cls(
            num_nodes=int(arrays["num_nodes"][0]),
            relations=relations,
            genre=np.asarray(arrays["genre"], np.int64),
            genre_names=list(_from_json_bytes(arrays["genre_names"])),
            config=GraphConfig(**_from_json_bytes(arrays["config"])),
        )


def _json_bytes(obj: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(obj).encode("utf-8"), np.uint8).copy()


def _from_json_bytes(arr: np.ndarray) -> Any:
    return json.loads(np.asarray(arr, np.uint8).tobytes().decode("utf-8"))


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
        cfg: how each relation is made.
        relations: which relations to make, a subset of :data:`RELATIONS`.

    Returns:
        TrackGraph holding exactly ``relations``.
    """
    unknown = sorted(set(relations) - set(RELATIONS))
    if unknown:
        raise ValueError(f"unknown relation(s) {unknown}; choose from {list(RELATIONS)}")
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
        built["acoustic"] = knn_graph(X, mask, cfg.acoustic_k)
    if cfg.use_genre:
        genre = np.asarray(dataset.genre_codes, np.int64)
        names = list(dataset.genres)
    else:
        genre, names = np.full(n, -1, np.int64), []
    if genre.shape != (n,):
        raise ValueError(f"genre_codes has shape {genre.shape}, expected ({n},)")
    return TrackGraph(n, built, genre, names, cfg)
