"""One design run on a split's VALIDATION folder: train a method with overrides, score it, log it.

    python -m benchmarks.design_run --data S/validation --method musig --set steps=600 \
        --log results/design_runs.jsonl

Prints one Markdown row — overrides, query, validation NDCG, R-precision, recall@100, cold
recall@100, recall@500 of held-out tail (1–5 training playlists) and cold (0) tracks, training
seconds — and appends the same numbers as a JSON line to ``--log``, so every design run of
``benchmarks/results/musig_validation.md`` can be traced to its command. ``--query`` scores the one
trained run with several retrieval settings (ALS cosine and fold-in) without retraining; a run
already in ``--runs`` is scored again, not retrained.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from musig.data import load_dataset
from musig.evaluation import score_run
from musig.features import load_features
from musig.methods import get, resolve_config
from musig.pipeline import needs_features, train_run
from musig.retrieval import RetrievalConfig, parse_query
from musig.runs import read_run_meta


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _query(text: str) -> RetrievalConfig:
    try:
        return parse_query(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="SPLIT/validation")
    ap.add_argument("--method", required=True)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--query", nargs="*", type=_query, default=[], help="cos, foldin[+beta]")
    ap.add_argument("--runs", type=Path, default=Path("results/design_runs"))
    ap.add_argument("--run", type=Path, help="score this run folder (e.g. one `evaluate` trained)")
    ap.add_argument("--log", type=Path, default=Path("results/design_runs.jsonl"))
    args = ap.parse_args()
    val = load_dataset(args.data)
    if "validation" not in str(val.root):
        print("warning: --data should be a split's validation folder (design on validation only)")
    overrides = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    method, cfg = get(args.method), resolve_config(args.method, overrides)
    feats = load_features(val) if needs_features(method, cfg) else None
    name = "-".join([args.method, *(f"{k}={v}" for k, v in overrides.items())]).replace("/", "_")
    path = args.run or args.runs / f"{name}-s{args.seed}"
    if not (path / "run.json").is_file():  # else trained before: score it with other queries
        train_run(
            val, args.method, path, overrides=overrides, seed=args.seed, features=feats,
            compute_map=False,
        )  # fmt: skip
    seconds = read_run_meta(path)["train_seconds"]  # graph build + fit
    for query in args.query or [None]:
        frame = score_run(path, val, retrieval=query)
        held = frame["cold_held"].to_numpy(float)
        row = {
            "method": args.method, "overrides": overrides, "seed": args.seed,
            "query": None if query is None else asdict(query), "seconds": round(seconds, 1),
            **{m: float(np.nanmean(frame[m])) for m in ("ndcg", "r_precision", "recall@100")},
            "cold_recall@100": float(np.nansum(frame["cold_recall@100"] * held) / held.sum()),
            **{f"{b}_recall@500": float(np.nanmean(frame[f"{b}:recall@500"]))
               for b in ("tail", "cold")},
        }  # fmt: skip
        args.log.parent.mkdir(parents=True, exist_ok=True)
        with args.log.open("a") as f:
            f.write(json.dumps({"data": str(args.data), **row}) + "\n")
        q = "default"
        if query is not None:
            q = ("foldin" if query.foldin else "cos") + f"+{query.popularity_weight:g}"
        print(
            f"| {args.method} {json.dumps(overrides)} | {q} | {row['ndcg']:.4f} | "
            f"{row['r_precision']:.4f} | {row['recall@100']:.4f} | {row['cold_recall@100']:.4f} | "
            f"{row['tail_recall@500']:.4f} | {row['cold_recall@500']:.4f} | {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
