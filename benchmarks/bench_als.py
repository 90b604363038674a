"""What ALS's per-iteration training loss costs: implicit's fit with and without
``calculate_training_loss``, alternated, on one dataset's BM25-weighted playlist x track matrix.

    python -m benchmarks.bench_als --data SPLIT [--repeats 2]

musig computes the loss (it is the progress the app and the run log show); this measures its
price at scale. Prints each fit's seconds and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from musig.baselines.als import ALSConfig, implicit_model, playlist_track_matrix, weighted
from musig.data import load_dataset
from musig.fitting import FitContext


def main() -> None:
    from threadpoolctl import threadpool_limits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    cfg = ALSConfig()
    ctx = FitContext(load_dataset(a.data), None, None, None)
    matrix = weighted(playlist_track_matrix(ctx), cfg)
    seconds: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(a.repeats):
        for loss in (True, False):
            model = implicit_model(cfg, random_state=0, training_loss=loss)
            with threadpool_limits(1, "blas"):
                t = time.perf_counter()
                model.fit(matrix, show_progress=False)
            seconds[loss].append(time.perf_counter() - t)
            print(
                f"training loss {'on ' if loss else 'off'}: {seconds[loss][-1]:.1f} s", flush=True
            )
    on, off = (float(np.median(seconds[k])) for k in (True, False))
    print(f"{matrix.nnz:,} entries, {cfg.iterations} iterations: loss on {on:.1f} s, "
          f"off {off:.1f} s (x{on / off:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
