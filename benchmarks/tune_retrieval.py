"""Query settings per method on a split's VALIDATION folder only: the popularity term for every
method alike, and for ALS Rendle et al.'s fold-in against the cosine query.

    python -m benchmarks.tune_retrieval --data S/validation --out benchmarks/results/retrieval.json

Each method is trained once with its defaults (runs cached under ``--runs``) and scored with every
setting of its grid; nothing is retrained per setting. The best setting by validation NDCG is what
the method's registry entry (``retrieval=``) is set to. The test split is never touched.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from musig.data import load_dataset
from musig.evaluation import cached_run, score_run
from musig.features import load_features
from musig.methods import METHODS, get
from musig.retrieval import RetrievalConfig
from musig.utils import atomic_write_json

BETAS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1)


def grid(name: str) -> list[RetrievalConfig]:
    """Every popularity weight, and for a factorisation both queries."""
    queries = (False, True) if name == "als" else (False,)
    return [RetrievalConfig(popularity_weight=b, foldin=f) for f in queries for b in BETAS]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="SPLIT/validation")
    ap.add_argument("--out", default=Path("benchmarks/results/retrieval.json"), type=Path)
    ap.add_argument("--runs", default=Path("results/tune_runs"), type=Path)
    ap.add_argument(
        "--methods", nargs="+", default=[m for m in METHODS if not get(m).recommend_only]
    )
    args = ap.parse_args()
    val = load_dataset(args.data)
    if "validation" not in str(val.root):
        print("warning: --data should be a split's validation folder (tune on validation only)")
    feats = load_features(val)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for name in args.methods:
        path = cached_run(val, feats, name, 0, args.runs)
        rows = []
        for cfg in grid(name):
            frame = score_run(path, val, retrieval=cfg)
            rows.append({**asdict(cfg), "ndcg": float(np.nanmean(frame["ndcg"]))})
            print(f"{name:>9} {json.dumps(asdict(cfg))} ndcg {rows[-1]['ndcg']:.4f}", flush=True)
        best = max(rows, key=lambda r: r["ndcg"])
        results[name] = {"grid": rows, "best": best}
        atomic_write_json(args.out, results)
    for name, r in results.items():
        print(f"{name:>9} best {json.dumps(r['best'])}")


if __name__ == "__main__":
    main()
