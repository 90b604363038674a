"""How informative is each source of a world? Genre predicted from audio alone, from
co-occurrence alone, and from both (5-fold logistic regression on labelled tracks with history).

    python -m benchmarks.world_report --data sample_data

Neither source should be trivial, and both together should beat either: the sources then carry
different information, which is what makes combining them worth anything.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.sparse.linalg import svds
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from musig.cooccurrence import cooccurrence_matrix
from musig.data import load_dataset
from musig.features import load_features


def cooccurrence_vectors(ds, dim: int = 64) -> np.ndarray:
    """Truncated SVD of the log-scaled co-occurrence matrix: float32 (N, dim)."""
    g = (
        cooccurrence_matrix(
            ds.playlist_indptr, ds.playlist_tracks, ds.num_tracks, window=None, min_weight=1
        )
        .to_scipy()
        .astype(np.float64)
    )
    g.data = np.log1p(g.data)
    u, s, _ = svds(g, k=dim, random_state=0)
    return (u * np.sqrt(s)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="sample_data")
    args = ap.parse_args()
    ds = load_dataset(args.data)
    feats = load_features(ds)
    y = ds.genre_codes
    rows = np.flatnonzero((y >= 0) & feats.mask & (ds.popularity > 0))
    sources = {"audio": feats.scaled, "co-occurrence": cooccurrence_vectors(ds)}
    sources["audio + co-occurrence"] = np.hstack(list(sources.values()))
    chance = np.bincount(y[rows]).max() / len(rows)
    print(
        f"{args.data}: {ds.num_tracks} tracks, {ds.num_playlists} playlists, "
        f"{len(ds.genres)} genres; {len(rows)} labelled tracks with history"
    )
    print(f"{'source':>24}  genre accuracy (5-fold)")
    print(f"{'majority class':>24}  {chance:.3f}")
    for name, x in sources.items():
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        acc = cross_val_score(clf, x[rows], y[rows], cv=5)
        print(f"{name:>24}  {acc.mean():.3f} ± {acc.std():.3f}")


if __name__ == "__main__":
    main()
