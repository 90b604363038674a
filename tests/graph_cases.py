"""Small graphs shared by the CSR, sampling and walk tests, with their known properties."""

import numpy as np

from musig.csr import CSR

# Node 0 is a hub with weighted spokes 1..5; 1-2 and 3-4 are extra edges; 6 is isolated.
STAR_W = np.array([1.0, 2.0, 3.0, 4.0, 10.0])


def star() -> CSR:
    src = np.r_[np.zeros(5, np.int64), 1, 3]
    dst = np.r_[np.arange(1, 6), 2, 4]
    return CSR.from_edges(src, dst, np.r_[STAR_W, 1.0, 1.0], num_nodes=7)


def random_graph() -> CSR:
    rng = np.random.default_rng(0)
    n = 300
    src, dst = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    keep = src != dst
    return CSR.from_edges(src[keep], dst[keep], rng.uniform(0.1, 5, keep.sum()), num_nodes=n)


def edge_set(g: CSR) -> set[tuple[int, int]]:
    row = np.repeat(np.arange(g.num_nodes), g.degree())
    return set(zip(row.tolist(), g.indices.tolist(), strict=True))


def spoke_freq(src: np.ndarray) -> np.ndarray:
    """Share of each spoke 1..5 of :func:`star` among sampled neighbours of the hub."""
    return np.bincount(src, minlength=6)[1:6] / src.size


def playlists_csr(playlists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.r_[0, np.cumsum([len(p) for p in playlists])].astype(np.int64)
    tracks = np.concatenate([np.asarray(p, np.int64) for p in playlists] + [np.zeros(0, np.int64)])
    return indptr, tracks
