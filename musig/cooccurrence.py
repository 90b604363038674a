"""Playlist co-occurrence counting in bounded memory, for catalogs up to the MPD's size.

Pairs are formed by array shifts (track at position i with the track at i + d, 1 <= d <= window)
over chunks of playlists, encoded as int64 keys ``min * N + max``, sorted and counted. When all
pair occurrences fit the budget they are counted in one go; otherwise the tracks are cut into
contiguous blocks by the smaller endpoint, each block small enough for the budget, and every block
is one more pass over the playlists that keeps only its own pairs. Memory is then about the budget
plus the resulting graph, whatever the number of playlists; time grows with the number of blocks.
No step loops over tracks, pairs or edges in Python.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from musig.csr import CSR

# Pair keys generated at once from one chunk of playlists (8 bytes each, a few copies).
_PAIR_BUDGET = 1 << 24
# Pair keys sorted and counted at once in one track block (8 bytes each, about two copies).
_BLOCK_BUDGET = 1 << 27


def pair_counts_per_playlist(lengths: np.ndarray, window: int) -> np.ndarray:
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
    repeated in it. See the module docstring for how memory stays bounded.

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
    n = num_tracks
    if n >= 1 << 31:
        raise ValueError(f"num_tracks={n} too large for int64 pair keys")
    max_len = int(lengths.max(initial=0))
    win = max(max_len - 1, 0) if window is None else min(window, max(max_len - 1, 0))
    pairs = _Pairs(indptr, tracks, n, win)

    if pairs.total <= _BLOCK_BUDGET:
        blocks = [(0, n)]
    else:  # one counting pass for the load of each track as the smaller endpoint
        load = np.zeros(n, np.int64)
        for keys in pairs.chunks():
            load += np.bincount(keys // n, minlength=n)
        blocks = _blocks(load, _BLOCK_BUDGET)
    rows, cols, counts = [], [], []
    for lo, hi in blocks:
        keys = np.sort(np.concatenate([*pairs.chunks(lo, hi), np.zeros(0, np.int64)]))
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys
        count = np.diff(np.r_[first, keys.size])
        keep = count >= min_weight
        keys = keys[first[keep]]
        rows.append(keys // n)
        cols.append(keys % n)
        counts.append(count[keep].astype(np.float32))
        del keys, first, count
    return symmetric_from_upper(
        np.concatenate(rows), np.concatenate(cols), np.concatenate(counts), n
    )


def _blocks(load: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Contiguous row ranges [lo, hi) whose summed ``load`` stays within ``budget`` (a single
    row over budget gets a block of its own)."""
    cum = np.cumsum(load)
    out, lo = [], 0
    while lo < len(load):
        base = cum[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(cum, base + budget, side="right")), lo + 1)
        out.append((lo, hi))
        lo = hi
    return out


def symmetric_from_upper(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n: int) -> CSR:
    """The symmetric CSR of an upper-triangle edge list sorted by (row, col), row < col.

    Row r lists its lower neighbours (the rows a < r of edges (a, r)) and then its upper ones
    (the cols b > r of edges (r, b)); both come out sorted, so no sort of the whole graph is
    needed — one stable sort of the edges by column.
    """
    deg_up = np.bincount(rows, minlength=n)
    deg_low = np.bincount(cols, minlength=n)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(deg_up + deg_low, out=indptr[1:])
    indices = np.empty(indptr[-1], np.int64)
    out_w = np.empty(indptr[-1], np.float32)
    # Upper part of row r: after its deg_low lower entries, in the order given.
    start_up = indptr[:-1] + deg_low
    first_up = np.zeros(n + 1, np.int64)
    np.cumsum(deg_up, out=first_up[1:])
    pos = start_up[rows] + (np.arange(len(rows)) - first_up[rows])
    indices[pos], out_w[pos] = cols, weights
    # Lower part of row c: the rows of its edges, ascending (a stable sort by column keeps the
    # edges' row order).
    order = np.argsort(cols, kind="stable")
    first_low = np.zeros(n + 1, np.int64)
    np.cumsum(deg_low, out=first_low[1:])
    c = cols[order]
    pos = indptr[:-1][c] + (np.arange(len(c)) - first_low[c])
    indices[pos], out_w[pos] = rows[order], weights[order]
    return CSR(indptr, indices, out_w)


class _Pairs:
    """The pair keys of a set of playlists, generated chunk by chunk."""

    def __init__(self, indptr: np.ndarray, tracks: np.ndarray, n: int, win: int):
        self.indptr, self.tracks, self.n, self.win = indptr, tracks, n, win
        self.csum = np.cumsum(pair_counts_per_playlist(np.diff(indptr), win))
        self.total = int(self.csum[-1]) if self.csum.size else 0
        # Dedup keys (playlist, a, b) are (playlist * n + a) * n + b: a chunk holds at most this
        # many playlists.
        self.max_playlists = max(((1 << 63) - 1) // max(n * n, 1), 1)

    def chunks(self, row_lo: int = 0, row_hi: int | None = None) -> Iterator[np.ndarray]:
        """int64 keys ``a * n + b`` (a < b, row_lo <= a < row_hi), one per playlist a pair
        occurs in, chunk by chunk of about ``_PAIR_BUDGET`` pair occurrences."""
        n = self.n
        row_hi = n if row_hi is None else row_hi
        num_playlists = len(self.indptr) - 1
        p0 = 0
        while p0 < num_playlists:
            base = self.csum[p0 - 1] if p0 else 0
            p1 = max(int(np.searchsorted(self.csum, base + _PAIR_BUDGET, side="right")), p0 + 1)
            p1 = min(p1, p0 + self.max_playlists, num_playlists)
            keys = self._chunk(p0, p1)
            if row_lo > 0 or row_hi < n:
                keys = keys[(keys >= row_lo * n) & (keys < row_hi * n)]
            yield keys
            p0 = p1

    def _chunk(self, p0: int, p1: int) -> np.ndarray:
        indptr, n, win = self.indptr, self.n, self.win
        t = self.tracks[indptr[p0] : indptr[p1]]
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
