"""What does a world look like, and how informative is each source? Its playlist and popularity
statistics next to the Million Playlist Dataset's, then genre predicted from content alone, from
co-occurrence alone and from both (5-fold logistic regression on labelled tracks with history).

    python -m benchmarks.world_report --data sample_data
    python -m benchmarks.world_report --data W   # e.g. a `generate --profile mpd` world

Neither source should be trivial, and both together should beat either: the sources then carry
different information, which is what makes combining them worth anything. Content is the audio
descriptors or the folder's features table (load_features decides). Co-occurrence vectors are a
truncated SVD of the normalised playlist x track matrix (sparse, O(entries), never a track x
track matrix): its right singular vectors are eigenvectors of the normalised co-occurrence.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from musig.data import load_dataset
from musig.features import load_features

# The MPD as published: stats.txt of the dataset (1M playlists) and an EDA of its first 100k
# playlists (https://sites.google.com/view/spotify-rms/eda); None = not published.
MPD = {
    1_000_000: {"entries": 66_346_428, "tracks": 2_262_292, "artists": 295_860,
                "albums": 734_684, "length_mean": 66.35},
    100_000: {"entries": 6_677_800, "tracks": 681_805, "artists": 110_063, "albums": 271_413},
}  # fmt: skip
# Growth exponents between 100k and 1M playlists (Heaps' law), to scale the MPD to a world's size.
HEAPS = {k: float(np.log10(MPD[1_000_000][k] / MPD[100_000][k])) for k in ("tracks", "artists",
                                                                           "albums")}  # fmt: skip
# The frequency spectrum of a Pitman-Yor process whose discount is the tracks' Heaps exponent
# d = 0.52: share of tracks in exactly k playlists = d Γ(k - d) / (k! Γ(1 - d)). "Nearly half of
# the tracks appear only once" is how the MPD's own histogram is described.
_D = HEAPS["tracks"]
_SPECTRUM = np.cumprod([_D] + [(k - _D) / (k + 1) for k in range(1, 5)])  # k = 1..5


def world_stats(ds) -> dict:
    """Length, catalog and popularity statistics of a dataset (popularity over warm tracks)."""
    lengths = np.diff(ds.playlist_indptr)
    pop = ds.popularity
    warm = np.sort(pop[pop > 0])[::-1]
    head = max(1, len(warm) // 100)
    t = ds.tracks
    return {
        "playlists": ds.num_playlists,
        "entries": int(lengths.sum()),
        "length_mean": float(lengths.mean()),
        "length_median": float(np.median(lengths)),
        "length_range": f"{lengths.min()}-{lengths.max()}",
        "tracks": int(len(warm)),
        "cold_share": float((pop == 0).mean()),
        "artists": int(t.loc[pop > 0, "artist_uri"].nunique()) if "artist_uri" in t else None,
        "albums": int(t.loc[pop > 0, "album_uri"].nunique()) if "album_uri" in t else None,
        "median_popularity": float(np.median(warm)),
        "share_in_1": float((warm == 1).mean()),
        "share_le_2": float((warm <= 2).mean()),
        "share_le_5": float((warm <= 5).mean()),
        "top_track_share_of_playlists": float(warm[0] / ds.num_playlists),
        "head_share": float(warm[:head].sum() / warm.sum()),
    }


def mpd_reference(playlists: int) -> dict:
    """The MPD's statistics, counts scaled by Heaps' law to ``playlists`` playlists."""
    one = MPD[1_000_000]
    scaled = {k: one[k] * (playlists / 1e6) ** HEAPS[k] for k in HEAPS}
    return {
        "length_mean": one["length_mean"], "length_median": 49.0, "length_range": "5-250",
        **scaled, "median_popularity": float(np.searchsorted(np.cumsum(_SPECTRUM), 0.5) + 1),
        "share_in_1": float(_SPECTRUM[0]),
        "share_le_2": float(_SPECTRUM[:2].sum()), "share_le_5": float(_SPECTRUM.sum()),
    }  # fmt: skip


def print_stats(name: str, stats: dict, ref: dict) -> None:
    print(f"{'statistic':>30}  {name:>16}  {'MPD at this size':>16}")
    for key, value in stats.items():
        if value is None or key == "playlists":
            continue
        r = ref.get(key)
        fmt = (lambda v: f"{v:,.0f}") if isinstance(value, int) else (lambda v: f"{v:.3f}")
        shown = value if isinstance(value, str) else fmt(value)
        ref_shown = "n/a" if r is None else (r if isinstance(r, str) else fmt(r))
        print(f"{key:>30}  {shown:>16}  {ref_shown:>16}")
    print(
        "MPD: tracks, artists, albums from stats.txt (1M playlists) and the first 100k playlists,\n"
        "scaled to this size by their growth between the two (Heaps' law, tracks ~ P^"
        f"{HEAPS['tracks']:.2f});\nshares in 1 / <= 2 / <= 5 playlists and the median: a "
        "Pitman-Yor spectrum with that exponent\n(the MPD's own histogram: nearly half of the "
        "tracks appear once); length median 49 (MPD paper)."
    )


def cooccurrence_vectors(ds, dim: int = 64) -> np.ndarray:
    """Truncated SVD of the playlist x track matrix: float32 (N, dim).

    The binary matrix (a repeated track counts once) is scaled by 1/sqrt(playlist length) and
    1/sqrt(track popularity), so that neither long playlists nor hits dominate; a track's vector
    is its right singular vector times sqrt(singular value).
    """
    rows = np.repeat(np.arange(ds.num_playlists), np.diff(ds.playlist_indptr))
    x = sp.csr_matrix(
        (np.ones(len(rows)), (rows, ds.playlist_tracks)), shape=(ds.num_playlists, ds.num_tracks)
    )
    x.data[:] = 1.0
    inv = lambda c: sp.diags(1.0 / np.sqrt(np.maximum(c, 1)))  # noqa: E731
    x = inv(x.getnnz(axis=1)) @ x @ inv(x.getnnz(axis=0))
    _, s, vt = svds(x, k=dim, random_state=0)
    return (vt.T * np.sqrt(s)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="sample_data")
    ap.add_argument(
        "--max-tracks", type=int, default=20_000,
        help="labelled tracks used for the genre fits (a seeded sample when there are more)",
    )  # fmt: skip
    ap.add_argument("--stats-only", action="store_true", help="the statistics, no genre fits")
    args = ap.parse_args()
    ds = load_dataset(args.data)
    print_stats(args.data, world_stats(ds), mpd_reference(ds.num_playlists))
    if args.stats_only:
        return
    feats = load_features(ds)
    y = ds.genre_codes
    pop = ds.popularity
    rows = np.flatnonzero((y >= 0) & feats.mask & (pop > 0))
    n_all = len(rows)
    if len(rows) > args.max_tracks:
        rows = np.sort(np.random.default_rng(0).choice(rows, args.max_tracks, replace=False))
    sources = {feats.source: feats.scaled, "co-occurrence": cooccurrence_vectors(ds)}
    sources[f"{feats.source} + co-occurrence"] = np.hstack(list(sources.values()))
    chance = np.bincount(y[rows]).max() / len(rows)
    print(
        f"\n{args.data}: {ds.num_tracks} tracks, {ds.num_playlists} playlists, "
        f"{len(ds.genres)} genres; {n_all} labelled tracks with history, {len(rows)} used"
    )
    buckets = {"in 1": pop[rows] == 1, "in 2-5": (pop[rows] >= 2) & (pop[rows] <= 5),
               "in > 5": pop[rows] > 5}  # fmt: skip
    shares = "  ".join(f"{k} {m.mean():.2f}" for k, m in buckets.items())
    print(f"{'source':>24}  genre accuracy (5-fold)  by track popularity ({shares})")
    print(f"{'majority class':>24}  {chance:.3f}")
    for name, x in sources.items():
        ok, acc = np.zeros(len(rows), bool), []
        for train, test in StratifiedKFold(5).split(rows, y[rows]):
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            clf.fit(x[rows[train]], y[rows[train]])
            ok[test] = clf.predict(x[rows[test]]) == y[rows[test]]
            acc.append(ok[test].mean())
        by = "  ".join(f"{k} {ok[m].mean():.3f}" for k, m in buckets.items() if m.any())
        print(f"{name:>24}  {np.mean(acc):.3f} ± {np.std(acc):.3f}  {by}")


if __name__ == "__main__":
    main()
