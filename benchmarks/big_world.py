"""A big random world to measure the app at scale: long-tail playlists over many tracks and a
features table, written with musig's own writer (no audio).

    python -m benchmarks.big_world --out /tmp/big --playlists 100000 --tracks 500000

A stand-in for an MPD-shaped world until ``python -m musig generate --profile mpd`` exists:
tracks belong to taste clusters; a playlist draws 70 % of its tracks from one cluster and the
rest from everywhere, each by a Zipf popularity, so a few tracks are in thousands of playlists
and most in a handful or none. ``features.parquet`` holds 32 numbers per track: its cluster's
centre plus noise, so content and co-occurrence agree roughly, as in real music.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from musig.writer import write_dataset  # noqa: E402

SYLLABLES = np.array("ka lo mi ra ne tu zo bi fa qu el on ar is da ve po si ju ba".split())


def names(rng: np.random.Generator, n: int, words: int) -> list[str]:
    """``n`` random capitalised names of ``words`` words of 2-3 syllables."""
    parts = SYLLABLES[rng.integers(0, len(SYLLABLES), (n, words, 3))]
    keep = rng.random((n, words)) < 0.5  # drop the third syllable of about half the words
    out = []
    for row, k in zip(parts, keep, strict=True):
        ws = ["".join(w[:2] if short else w) for w, short in zip(row, k, strict=True)]
        out.append(" ".join(w.capitalize() for w in ws))
    return out


def make_world(out: Path, playlists: int, tracks: int, clusters: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, clusters, tracks)
    pop = 1.0 / np.arange(1, tracks + 1) ** 0.9  # Zipf, in a random order over the catalog
    pop = pop[rng.permutation(tracks)]
    members = [np.flatnonzero(cluster == c) for c in range(clusters)]
    member_p = [pop[m] / pop[m].sum() for m in members]
    everyone = pop / pop.sum()
    lengths = np.clip(rng.lognormal(np.log(35), 0.7, playlists).astype(int), 5, 250)
    uris = np.array([f"big:track:{i:07d}" for i in range(tracks)])
    body = []
    for pid, length in enumerate(lengths.tolist()):
        c = rng.integers(clusters)
        own = rng.random(length) < 0.7
        picked = np.empty(length, np.int64)
        picked[own] = rng.choice(members[c], own.sum(), p=member_p[c])
        picked[~own] = rng.choice(tracks, (~own).sum(), p=everyone)
        body.append({"pid": pid, "name": f"mix {c}", "tracks": uris[picked].tolist()})
    artists = names(rng, tracks // 8, 2)
    catalog = pd.DataFrame(
        {
            "track_uri": uris,
            "track_name": names(rng, tracks, 2),
            "artist_name": [artists[i] for i in rng.integers(0, len(artists), tracks)],
            "duration_ms": rng.integers(90_000, 400_000, tracks),
            "genre": [f"genre {c % 20:02d}" for c in cluster],
            "audio": "",
        }
    )
    centres = rng.normal(size=(clusters, 32))
    feats = centres[cluster] + rng.normal(scale=1.5, size=(tracks, 32))
    table = pd.DataFrame(feats.astype(np.float32), columns=[f"f{i:02d}" for i in range(32)])
    table.insert(0, "track_uri", uris)
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    write_dataset(out, catalog, body, extra_files={"features.parquet": buf.getvalue()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--playlists", type=int, default=100_000)
    ap.add_argument("--tracks", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    start = time.perf_counter()
    make_world(a.out, a.playlists, a.tracks, seed=a.seed)
    print(f"wrote {a.out}: {a.playlists:,} playlists, {a.tracks:,} tracks, features.parquet "
          f"({time.perf_counter() - start:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
