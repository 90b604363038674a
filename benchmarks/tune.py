"""Hyperparameter search on a split's VALIDATION folder only, the same budget for every method.

    python -m benchmarks.tune --data S/validation --out benchmarks/results/tuning.json

Each baseline gets the same number of configurations (its grid below: three rounds of four, each
round moving from the previous round's best, mostly where it sat on an edge of the grid; ALS,
which trains in seconds, two more); every one is trained on the validation folder's training
playlists and scored by NDCG on its challenge playlists. The test split is never touched. The
best configuration per method is what the method's config defaults are set to. Configurations
already scored in ``--out`` are reused, not retrained.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from musig.data import load_dataset
from musig.evaluation import score_run
from musig.features import load_features
from musig.pipeline import train_run
from musig.utils import atomic_write_json

# The embedding dimension stays 64 for every method, so the comparison is of representations of
# equal size. popularity and content have nothing to tune. MUSIG's design runs on validation are
# listed in results/musig_validation.md.
GRIDS: dict[str, list[dict]] = {
    "als": [{"iterations": i, "regularization": r} for i in (15, 30) for r in (0.05, 0.5)]
    + [{"alpha": a} for a in (0.5, 2.0, 5.0)]
    + [{"weighting": "binary"}]
    # alpha 5 was best at the edge of round 2; ALS trains in seconds, so it gets two more
    + [{"alpha": a} for a in (10.0, 20.0)]
    + [{"alpha": 5.0, "regularization": r} for r in (0.01, 0.2)]
    + [{"alpha": 5.0, "iterations": 30}, {"alpha": 3.0}],
    "item2vec": [{"epochs": e, "sample": s} for e in (5, 15) for s in (1e-3, 0.0)]
    + [{"epochs": 30}, {"negative": 10}, {"ns_exponent": 0.5}, {"alpha": 0.05}]
    + [{"alpha": 0.05, "epochs": 30}, {"alpha": 0.1}, {"alpha": 0.05, "epochs": 10}]
    + [{"alpha": 0.05, "negative": 10}],
    "deepwalk": [{"epochs": e, "window": w} for e in (5, 10) for w in (3, 5)]
    + [{"epochs": 20}, {"window": 10}, {"negative": 10}, {"shrink_windows": False}]
    + [{"alpha": 0.05}, {"alpha": 0.05, "epochs": 20}, {"epochs": 20, "window": 10}]
    + [{"alpha": 0.05, "window": 10}],
    "node2vec": [{"q": q, "window": w} for q in (0.5, 2.0) for w in (3, 5)]
    + [{"epochs": 10}, {"q": 0.25}, {"p": 2.0}, {"epochs": 10, "window": 5}]
    + [{"epochs": 10, "window": 5, "alpha": 0.05}, {"epochs": 20, "window": 5}]
    + [{"epochs": 10, "window": 10}, {"epochs": 10, "window": 5, "q": 0.25}],
    "sage": [{"lr": lr, "cooc_context": c} for lr in (3e-3, 1e-2) for c in (2, 4)],
    "musig": [{"lr": lr, "cooc_context": c} for lr in (3e-3, 1e-2) for c in (2, 4)],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="SPLIT/validation")
    ap.add_argument("--out", default=Path("benchmarks/results/tuning.json"), type=Path)
    ap.add_argument("--methods", nargs="+", default=list(GRIDS))
    args = ap.parse_args()
    val = load_dataset(args.data)
    if not (Path(val.root) / "split.json").is_file() or "validation" not in str(val.root):
        print("warning: --data should be a split's validation folder (tune on validation only)")
    feats = load_features(val)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for method in args.methods:
        scored = {
            json.dumps(r["overrides"], sort_keys=True): r
            for r in results.get(method, {}).get("grid", [])
        }
        rows = []
        for overrides in GRIDS[method]:
            if json.dumps(overrides, sort_keys=True) in scored:
                rows.append(scored[json.dumps(overrides, sort_keys=True)])
                continue
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                path = train_run(
                    val,
                    method,
                    Path(tmp) / "run",
                    overrides=overrides,
                    features=feats,
                    compute_map=False,
                )
                frame = score_run(path, val)
            rows.append(
                {
                    "overrides": overrides,
                    "ndcg": float(np.nanmean(frame["ndcg"])),
                    "r_precision": float(np.nanmean(frame["r_precision"])),
                    "seconds": time.perf_counter() - t,
                }
            )
            print(
                f"{method:>9} {json.dumps(overrides):<42} ndcg {rows[-1]['ndcg']:.4f} "
                f"({rows[-1]['seconds']:.0f} s)",
                flush=True,
            )
        best = max(rows, key=lambda r: r["ndcg"])
        results[method] = {"grid": rows, "best": best["overrides"]}
        atomic_write_json(args.out, results)
    for method, r in results.items():
        print(f"{method:>9} best {json.dumps(r['best'])}")


if __name__ == "__main__":
    main()
