"""Counting each track's playlists at MPD size: ``np.unique`` of (playlist, track) keys against
the CSR matrix musig uses (:func:`musig.data.track_popularity`), side by side on one input.

    python -m benchmarks.bench_popularity [--playlists 1000000] [--tracks 1960000]

Random playlists of 5-127 entries (mean 66, as the MPD's) over ``--tracks`` tracks, repeats
included; prints both timings, their ratio, and whether the counts agree.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from musig.data import track_popularity


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--playlists", type=int, default=1_000_000)
    ap.add_argument("--tracks", type=int, default=1_960_000)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    indptr = np.r_[0, np.cumsum(rng.integers(5, 128, a.playlists))]
    tracks = rng.integers(0, a.tracks, indptr[-1]).astype(np.int32)

    t = time.perf_counter()
    rows = np.repeat(np.arange(a.playlists), np.diff(indptr))
    keys = np.unique(rows * a.tracks + tracks)
    by_unique = np.bincount(keys % a.tracks, minlength=a.tracks)
    unique_s = time.perf_counter() - t
    t = time.perf_counter()
    by_csr = track_popularity(indptr, tracks, a.tracks)
    csr_s = time.perf_counter() - t
    same = bool((by_unique == by_csr).all())
    print(
        f"{len(tracks):,} entries: np.unique {unique_s:.1f} s, CSR {csr_s:.1f} s "
        f"({unique_s / csr_s:.0f}x); same counts: {same}"
    )


if __name__ == "__main__":
    main()
