"""Playlist-completion evaluation of every method on a split (``python -m musig evaluate``).

Each method is trained on the split's training playlists (or reused from a run cached by a hash
of method, config, seed and split), recommends 500 tracks per challenge playlist through the one
shared :class:`~musig.retrieval.Retriever`, and is scored with :mod:`musig.metrics`.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from musig._version import __version__
from musig.data import Dataset, load_dataset
from musig.features import FeatureSet, load_features
from musig.methods import (
    ABLATIONS,
    BASELINES,
    CEILING,
    METHODS,
    PRIMARY,
    by_cost,
    resolve_config,
    spec,
)
from musig.metrics import (
    BUCKET_METRICS,
    METRICS,
    PAIRED_METRICS,
    POPULARITY_BUCKETS,
    bootstrap_ci,
    evaluate_by_bucket,
    evaluate_rankings,
    paired_bootstrap,
    pooled_recall,
    popularity_bucket,
)
from musig.pipeline import needs_features, train_run
from musig.report import to_markdown
from musig.retrieval import RetrievalConfig, query_name
from musig.runs import load_run, read_run_meta, write_metrics
from musig.split import read_cold_tracks, read_scenarios
from musig.submission import complete_challenge
from musig.utils import atomic_write_json, atomic_write_text, fingerprint, spawn_without_main


@dataclass(frozen=True)
class EvalConfig:
    """What ``evaluate`` runs."""

    methods: tuple[str, ...] = METHODS
    ablations: bool = False  # also train and score every entry of ABLATIONS
    seeds: tuple[int, ...] = (0,)  # training seeds; several give mean ± sd per method
    k: int = 500  # recommendations per challenge playlist
    n_boot: int = 1000  # bootstrap resamples of the confidence intervals
    random_state: int = 0  # of the bootstrap
    ann: bool = False  # rank with an approximate index (voyager) instead of exact search
    # Also score ``oracle`` (the generator's own ranking) on a synthetic world: how far the
    # methods are from what the data allows. Never a baseline; skipped, in one line, elsewhere.
    ceiling: bool = True
    # Per method, settings on top of its registry config (e.g. fewer epochs on a big world):
    # they enter the run's cache key and are listed in results.json and results.md.
    overrides: dict[str, dict] = field(default_factory=dict)
    # Per method, query settings instead of its registry's (e.g. the popularity weight chosen
    # on validation): listed in results.json and results.md; runs are not retrained for them.
    queries: dict[str, RetrievalConfig] = field(default_factory=dict)


def run_key(
    name: str,
    seed: int,
    split: Dataset,
    features: FeatureSet | None,
    overrides: dict | None = None,
) -> str:
    """Hash of everything a run of ``name`` depends on: a change of any retrains it."""
    method, own = spec(name)
    cfg = resolve_config(name, overrides)
    return fingerprint(
        __version__,  # a new release may train differently: never reuse its predecessor's runs
        method.name,
        json.dumps({**own, **(overrides or {})}, sort_keys=True),
        repr(cfg),
        json.dumps(method.describe_graph(cfg), sort_keys=True),
        seed,
        split.fingerprint,
        *((features.source, features.scaled) if needs_features(method, cfg) else ()),
    )


def cached_run(
    split: Dataset,
    features: FeatureSet | None,
    name: str,
    seed: int,
    runs_dir: Path,
    *,
    progress: bool = False,
    callback: Callable | None = None,
    overrides: dict | None = None,
) -> Path:
    """Train ``name`` on the split, or reuse the run cached under the hash of all its inputs.

    ``overrides``: settings on top of the method's (or ablation's) own."""
    method, own = spec(name)
    path = runs_dir / f"{name}-s{seed}-{run_key(name, seed, split, features, overrides)}"
    if (path / "run.json").is_file():
        try:
            read_run_meta(path)
            return path
        except ValueError:
            pass  # an old run format: retrain below
    return train_run(
        split,
        method.name,
        path,
        overrides={**own, **(overrides or {})},
        seed=seed,
        features=features,
        compute_map=False,
        progress=progress,
        callback=callback,
    )


def score_run(
    run_path: Path,
    split: Dataset,
    k: int = 500,
    *,
    ann: bool = False,
    retrieval: RetrievalConfig | None = None,
) -> pd.DataFrame:
    """Per-playlist metrics of one run on the split's challenge set: the main metrics, cold
    recall hits, and the metrics by the held-out tracks' training popularity bucket.

    Args:
        retrieval: query settings instead of the method's (for tuning them on validation).
    """
    run = load_run(run_path, split, ann=ann, retrieval=retrieval)
    # Enough to cut at k after removing the other buckets' held-out tracks (evaluate_by_bucket);
    # the first k are what the main metrics read.
    extra = max((len(t) for t in split.truth.values()), default=0)
    rankings = complete_challenge(run, split.challenge, k + extra, warn=False)
    frame = evaluate_rankings(rankings, split.truth, k=k)
    bucket = dict(zip(run.track_uris, popularity_bucket(run.popularity), strict=True))
    frame = frame.merge(evaluate_by_bucket(rankings, split.truth, bucket, k), on="pid")
    cold = read_cold_tracks(split.root)
    frame["cold_recall@100"] = [
        pooled_recall({pid: rankings[pid]}, {pid: split.truth[pid]}, cold, k=100)
        for pid in frame["pid"]
    ]
    frame["cold_held"] = [len(set(split.truth[pid]) & cold) for pid in frame["pid"]]
    return frame


def _with_scenarios(frame: pd.DataFrame, split: Dataset) -> pd.DataFrame:
    scenario_of = {pid: s for s, pids in read_scenarios(split.root).items() for pid in pids}
    return frame.assign(scenario=frame["pid"].map(scenario_of).fillna("all"))


def evaluate_run(path: Path, split: Dataset, cfg: EvalConfig | None = None) -> dict:
    """Score one run folder on the split's challenge set and merge the result into its
    metrics.json as ``challenge`` (overall, per scenario, cold start, number of playlists)."""
    cfg = cfg or EvalConfig()
    frame = _with_scenarios(score_run(path, split, cfg.k, ann=cfg.ann), split)
    seconds = read_run_meta(path)["train_seconds"]
    res = summarise({"run": frame}, {}, {"run": [seconds]}, cfg)
    result = {key: res[key]["run"] for key in ("overall", "per_scenario", "cold_start", "buckets")}
    result["num_playlists"] = len(frame)
    write_metrics(path, {"challenge": result})
    return result


def _ci(values, cfg: EvalConfig) -> dict:
    mean, lo, hi = bootstrap_ci(
        np.asarray(values, float), n_boot=cfg.n_boot, random_state=cfg.random_state
    )
    return {"mean": mean, "lo": lo, "hi": hi}


def _bucket_cis(frame: pd.DataFrame, cfg: EvalConfig) -> dict:
    """Per popularity bucket: each metric's mean and CI over the playlists that have held-out
    tracks in it, their number, and the number skipped."""
    out = {}
    for name, _, _ in POPULARITY_BUCKETS:
        have = frame[f"{name}:ndcg"].notna().to_numpy()
        out[name] = {m: _ci(frame.loc[have, f"{name}:{m}"], cfg) for m in BUCKET_METRICS}
        out[name].update(num_playlists=int(have.sum()), skipped=int((~have).sum()))
    return out


def _cold_ci(frame: pd.DataFrame, cfg: EvalConfig) -> dict:
    """Pooled cold-start recall@100 with a bootstrap over playlists (ratio of sums)."""
    held = frame["cold_held"].to_numpy(float)
    hits = np.nan_to_num(frame["cold_recall@100"].to_numpy(float)) * held
    if held.sum() == 0:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan")}
    rng = np.random.default_rng(cfg.random_state)
    idx = rng.integers(0, len(held), size=(cfg.n_boot, len(held)))
    ratios = hits[idx].sum(1) / np.maximum(held[idx].sum(1), 1e-12)
    return {
        "mean": float(hits.sum() / held.sum()),
        "lo": float(np.percentile(ratios, 2.5)),
        "hi": float(np.percentile(ratios, 97.5)),
    }


def _train_and_score(
    split: Dataset,
    features: FeatureSet | None,
    name: str,
    seed: int,
    runs_dir: Path,
    cfg: EvalConfig,
    progress: bool = False,
) -> tuple[pd.DataFrame, float]:
    """Per-playlist metrics of one method and seed, and its training time in seconds."""
    path = cached_run(
        split, features, name, seed, runs_dir, progress=progress, overrides=cfg.overrides.get(name)
    )
    frame = score_run(path, split, cfg.k, ann=cfg.ann, retrieval=cfg.queries.get(name))
    return frame, read_run_meta(path)["train_seconds"]


def _features_for(
    split: Dataset, names, overrides: dict, progress: bool = False
) -> FeatureSet | None:
    """The split's features when one of ``names`` needs them (never loaded otherwise)."""
    if any(needs_features(spec(n)[0], resolve_config(n, overrides.get(n))) for n in names):
        return load_features(split, progress=progress)
    return None


def _train_and_score_in_worker(
    data: str, name: str, seed: int, runs_dir: Path, cfg: EvalConfig
) -> tuple[pd.DataFrame, float]:
    split = load_dataset(data)
    features = _features_for(split, [name], cfg.overrides)
    return _train_and_score(split, features, name, seed, runs_dir, cfg)


def evaluate(
    data: str | Path,
    out: str | Path,
    cfg: EvalConfig = EvalConfig(),
    *,
    runs_dir: str | Path | None = None,
    jobs: int = 1,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Train/reuse, recommend and score every method; write results.json, results.md and
    per_playlist.csv into ``out``. Returns the results dict.

    Args:
        jobs: runs trained at once, each in its own process on one core; the results do not
            depend on it. Progress bars are shown only with ``jobs=1``.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    split = load_dataset(data)
    if not split.challenge or split.truth is None:
        raise ValueError(
            f"{data}: needs challenge_set.json and challenge_truth.json "
            "(make one with `python -m musig split`)"
        )
    out = Path(out)
    runs_dir = Path(runs_dir) if runs_dir else out / "runs"
    names = list(cfg.methods) + (list(ABLATIONS) if cfg.ablations else [])
    if cfg.ceiling and CEILING not in names:
        if (split.root / "world.json").is_file():
            names.append(CEILING)
        else:
            log(f"{CEILING}: not scored, {data} is not a synthetic world (no world.json)")
    unused = sorted((set(cfg.overrides) | set(cfg.queries)) - set(names))
    if unused:
        raise ValueError(f"settings given for {unused}, which are not evaluated: {names}")
    for name in names:  # an unknown name or a bad setting fails here, before anything trains
        resolve_config(name, cfg.overrides.get(name))
    tasks = [(name, seed) for name in names for seed in cfg.seeds]
    done: dict[tuple[str, int], tuple[pd.DataFrame, float]] = {}

    def report(task: tuple[str, int], frame: pd.DataFrame, train_seconds: float) -> None:
        done[task] = (frame, train_seconds)
        log(
            f"{task[0]:>26} (seed {task[1]}): ndcg {frame['ndcg'].mean():.4f}  "
            f"r-prec {frame['r_precision'].mean():.4f}  ({train_seconds:.1f} s to train)"
        )

    if jobs <= 1:
        features = _features_for(split, names, cfg.overrides, progress)
        for task in tasks:
            report(task, *_train_and_score(split, features, *task, runs_dir, cfg, progress))
    else:
        # Each run is seeded on its own and trains on one thread, so runs in parallel processes
        # give the numbers of the sequential loop. Slow methods go first to balance the workers.
        rank = {n: i for i, n in enumerate(by_cost(names))}
        order = sorted(tasks, key=lambda t: rank[t[0]])
        context = multiprocessing.get_context("spawn")  # torch's thread pools do not survive fork
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            with spawn_without_main():
                futures = {
                    pool.submit(_train_and_score_in_worker, str(data), *t, runs_dir, cfg): t
                    for t in order
                }
            for future in as_completed(futures):
                report(futures[future], *future.result())

    frames, seconds, per_seed = {}, {}, {}
    for name, seed in tasks:  # fixed order: the output does not depend on which run ends first
        frame, train_seconds = done[name, seed]
        per_seed.setdefault(name, []).append({m: float(np.nanmean(frame[m])) for m in METRICS})
        seconds.setdefault(name, []).append(train_seconds)
        if seed == cfg.seeds[0]:
            frames[name] = _with_scenarios(frame, split)
    results = summarise(frames, per_seed, seconds, cfg)
    results["split"] = {
        "root": str(split.root),
        "fingerprint": split.fingerprint,
        "num_challenge": len(split.challenge),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "results.json", results)
    atomic_write_text(out / "results.md", to_markdown(results))
    long = pd.concat([f.assign(method=m) for m, f in frames.items()], ignore_index=True)
    atomic_write_text(out / "per_playlist.csv", long.to_csv(index=False))
    return results


def summarise(
    frames: dict[str, pd.DataFrame], per_seed: dict, seconds: dict, cfg: EvalConfig
) -> dict:
    overall = {m: {k: _ci(f[k], cfg) for k in METRICS} for m, f in frames.items()}
    per_scenario = {
        m: {s: {k: _ci(g[k], cfg) for k in METRICS} for s, g in f.groupby("scenario")}
        for m, f in frames.items()
    }
    cold = {m: {"recall@100": _cold_ci(f, cfg)} for m, f in frames.items()}
    buckets = {m: _bucket_cis(f, cfg) for m, f in frames.items()}
    results = {
        "methods": list(frames),
        "overall": overall,
        "per_scenario": per_scenario,
        "cold_start": cold,
        "buckets": buckets,
        "train_seconds": {m: float(np.mean(s)) for m, s in seconds.items()},
    }
    if cfg.overrides:
        results["overrides"] = cfg.overrides
    if cfg.queries:
        results["queries"] = {m: query_name(q) for m, q in cfg.queries.items()}
    if len(cfg.seeds) > 1:
        results["seeds"] = {
            m: {
                k: {
                    "mean": float(np.mean([r[k] for r in rs])),
                    "sd": float(np.std([r[k] for r in rs], ddof=1)),
                }
                for k in METRICS
            }
            for m, rs in per_seed.items()
        }
    baselines = [m for m in frames if m in BASELINES]
    if PRIMARY in frames and baselines:
        # MUSIG minus each baseline, per playlist: "paired" keeps the best baseline by NDCG.
        # Bucket recalls pair over the playlists with held-out tracks in that bucket.
        each = {}
        for other in baselines:
            each[other] = {}
            for metric in PAIRED_METRICS:
                diff, lo, hi, frac = paired_bootstrap(
                    frames[PRIMARY][metric].to_numpy(float),
                    frames[other][metric].to_numpy(float),
                    n_boot=cfg.n_boot,
                    random_state=cfg.random_state,
                )
                each[other][metric] = {"diff": diff, "lo": lo, "hi": hi, "frac_le_zero": frac}
        best = max(baselines, key=lambda m: overall[m]["ndcg"]["mean"])
        results["paired"] = {"against": best, **each[best]}
        results["paired_each"] = each
    return results
