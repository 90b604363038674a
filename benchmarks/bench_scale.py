"""Every stage of musig at MPD size: wall seconds and peak memory, one stage per process.

    python -m benchmarks.bench_scale --playlists 100000 --work /tmp/scale100k
    python -m benchmarks.bench_scale --playlists 1000000 --work /tmp/scale1m

Generates the MPD-shaped world (``musig generate --profile mpd``) and its split (10,000 challenge
playlists) into ``--work`` unless they are there, then runs each stage in a fresh process and
prints its wall time and the peak resident memory of that process (``ru_maxrss``; stages that
train load the dataset first, which is part of what they hold). ``--stages`` picks some. Results
are appended as JSON lines to ``WORK/bench_scale.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from musig.cli import parse_overrides
from musig.heap import heap_env

SPEED_CHALLENGE = "speed_challenge.json"
# MUSIG's configuration at MPD size: the registry's (1,200 steps of 512) with the large graph
# settings (+-5 positions, >= 2 playlists) from 5M entries on, so the 100k world's MUSIG samples
# the graph the 1M one does, not 175M entries of +-25. 2,400 steps took 27 minutes at 1M (0.68 s
# a step), over the 20-minute target. ``--set`` adds settings on top (e.g. num_threads=2).
MUSIG_SCALE = {"eval_every": 600, "graph": {"large_entries": 5_000_000}}
STAGES = (
    "load",
    "cooc",
    "knn",
    "knn_recall",
    "als",
    "musig",
    "recommend",
    "map",
    "folder",
    "quality",
)


def _peak_gb() -> float:
    """Peak resident memory of this process or any worker it waited for (the loader's and the
    generator's processes), the larger of the two."""
    peaks = (
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return max(peaks) / 2**20  # KiB on Linux


def run_stage(stage: str, work: Path, settings: dict) -> dict:
    """One stage, in this process; returns what it measured. ``settings``: MUSIG's on top of
    MUSIG_SCALE."""
    split = work / "split" if (work / "split").is_dir() else work / "world"  # --no-split
    t0 = time.perf_counter()
    if stage == "load":
        from musig.data import load_dataset

        ds = load_dataset(split)
        out = {
            "playlists": ds.num_playlists,
            "tracks": ds.num_tracks,
            "entries": len(ds.playlist_tracks),
        }
    elif stage == "cooc":
        from musig.cooccurrence import cooccurrence_matrix
        from musig.data import load_dataset
        from musig.methods import get

        ds = load_dataset(split)
        cfg = get("musig").config().graph.resolve(len(ds.playlist_tracks))
        t0 = time.perf_counter()
        g = cooccurrence_matrix(
            ds.playlist_indptr,
            ds.playlist_tracks,
            ds.num_tracks,
            window=cfg.window,
            min_weight=cfg.min_cooccurrence,
        )
        out = {"entries": g.num_edges, "window": cfg.window, "min": cfg.min_cooccurrence}
    elif stage in ("knn", "knn_recall"):
        from musig.data import load_dataset
        from musig.features import load_features
        from musig.knn import approximate_neighbors, knn_graph

        feats = load_features(load_dataset(split))
        t0 = time.perf_counter()
        if stage == "knn":
            g = knn_graph(feats.scaled, feats.mask, 10)
            out = {"entries": g.num_edges, "tracks": int(feats.mask.sum())}
        else:
            z = feats.scaled[feats.mask]
            z = (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)).astype("f4")
            q = np.random.default_rng(0).choice(len(z), 1000, replace=False)
            s = z[q] @ z.T
            s[np.arange(len(q)), q] = -np.inf
            exact = np.argpartition(-s, 9, axis=1)[:, :10]
            nbr, _ = approximate_neighbors(z, 10)
            hits = [len(set(a) & set(b)) for a, b in zip(nbr[q], exact, strict=True)]
            out = {"recall@10": float(np.mean(hits)) / 10, "tracks": len(z)}
    elif stage in ("als", "musig"):
        from musig.pipeline import train_run
        from musig.runs import read_log, read_run_meta

        graph = {**MUSIG_SCALE["graph"], **settings.get("graph", {})}
        overrides = {**MUSIG_SCALE, **settings, "graph": graph} if stage == "musig" else {}
        path = train_run(
            split, stage, work / f"run-{stage}", overrides=overrides, compute_map=False
        )
        meta = read_run_meta(path)
        out = {"train_seconds": meta["train_seconds"]}
        if stage == "musig":
            log = read_log(path)
            out["embed_seconds"] = float(log.loc[log["kind"] == "embed", "seconds"].iloc[-1])
            out["settings"] = overrides
    elif stage == "recommend":
        from musig.cli import main

        # The challenge file alone, as a submission is made: the dataset is not loaded.
        speed_only = work / SPEED_CHALLENGE
        challenge = speed_only if speed_only.is_file() else split / "challenge_set.json"
        rc = main(["-q", "recommend", "--run", str(work / "run-musig"), "--challenge",
                   str(challenge), "--out", str(work / "submission.csv")])  # fmt: skip
        out = {"returncode": rc}
    elif stage == "map":  # drawn into the run, as `python -m musig map` does (the app's map)
        from musig.runs import draw_map

        out = {"placed": draw_map(work / "run-musig")}
    elif stage == "quality":  # the split's 10,000 challenge playlists, each trained run
        from musig.data import load_dataset
        from musig.evaluation import score_run

        if split.name != "split":
            raise SystemExit("quality needs the split (run without --no-split)")
        ds = load_dataset(split)
        out = {}
        for run in sorted(work.glob("run-*")):
            frame = score_run(run, ds)
            held = frame["cold_held"].to_numpy(float)
            cols = ["ndcg", "r_precision", "clicks", "recall@500"]
            cols += [f"{b}:recall@500" for b in ("cold", "tail", "torso", "head")]
            out[run.name] = {c: float(np.nanmean(frame[c])) for c in cols}
            out[run.name]["cold_recall@100"] = float(
                np.nansum(frame["cold_recall@100"] * held) / held.sum()
            )
    elif stage == "folder":
        run = work / "run-musig"
        out = {"gb": sum(f.stat().st_size for f in run.rglob("*") if f.is_file()) / 1e9}
    else:
        raise ValueError(f"unknown stage {stage!r}; choose from {STAGES}")
    return {"stage": stage, "seconds": time.perf_counter() - t0, "peak_gb": _peak_gb(), **out}


def write_speed_challenge(world: Path, out: Path, n: int = 10_000, seed: int = 0) -> None:
    """A challenge set for timing ``recommend`` without a split: ``n`` of the world's own
    playlists, their first five tracks as seeds, under new pids. Its truth is in the training
    data, so it measures speed only, never quality."""
    from musig.data import load_dataset

    ds = load_dataset(world)
    rng = np.random.default_rng(seed)
    uris = ds.tracks["track_uri"].to_numpy()
    base = int(ds.pids.max()) + 1
    playlists = []
    for j, i in enumerate(np.sort(rng.choice(ds.num_playlists, n, replace=False))):
        tracks = ds.playlist(i)
        seeds = [{"pos": p, "track_uri": str(uris[t])} for p, t in enumerate(tracks[:5])]
        rest = len(tracks) - len(seeds)
        entry = {"pid": base + j, "num_samples": len(seeds), "num_holdouts": rest}
        playlists.append({**entry, "num_tracks": len(tracks), "tracks": seeds})
    out.write_text(json.dumps({"playlists": playlists}))


def prepare(work: Path, playlists: int, seed: int, split_it: bool = True) -> None:
    """Generate the world and split it, unless already there (timed, printed); without the
    split, a speed-only challenge set for ``recommend``."""
    world, split = work / "world", work / ("split" if split_it else "world")
    steps = [
        (world, ["generate", "--profile", "mpd", "--playlists", str(playlists), "--seed",
                 str(seed), "--out", str(world)]),
        (split, ["split", "--data", str(world), "--out", str(split), "--test", "10000"]),
    ]  # fmt: skip
    for out, args in steps:
        if out.exists() or (args[0] == "split" and not split_it):
            continue
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "musig", "-q", *args])
        _, status, usage = os.wait4(proc.pid, 0)  # the usage of this child and its workers
        if status:
            raise SystemExit(f"{args[0]} failed")
        took, gb = time.perf_counter() - t, usage.ru_maxrss / 2**20
        print(f"{args[0]}: {took:.0f} s, peak {gb:.2f} GB", flush=True)
        with (work / "bench_scale.jsonl").open("a") as f:
            f.write(json.dumps({"stage": args[0], "seconds": took, "peak_gb": gb}) + "\n")
    if not split_it and not (work / SPEED_CHALLENGE).is_file():
        write_speed_challenge(world, work / SPEED_CHALLENGE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--playlists", type=int, default=100_000)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="MUSIG setting on top of MUSIG_SCALE, e.g. steps=2400 or num_threads=2",
    )
    ap.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage in this process
    ap.add_argument("--clean", action="store_true", help="delete WORK afterwards")
    ap.add_argument(
        "--no-split",
        action="store_true",
        help="stages read the generated world itself (no evaluation split: timing and memory "
        "only; recommend completes a speed-only challenge set of the world's own playlists)",
    )
    a = ap.parse_args()
    if a.stage:
        print(json.dumps(run_stage(a.stage, a.work, parse_overrides(a.set))))
        return
    a.work.mkdir(parents=True, exist_ok=True)
    prepare(a.work, a.playlists, a.seed, split_it=not a.no_split)
    print(f"{'stage':>12} {'wall s':>8} {'peak GB':>8}  details")
    for stage in a.stages:
        cmd = [sys.executable, "-m", "benchmarks.bench_scale", "--work", str(a.work)]
        env = heap_env(os.environ)  # as `python -m musig` runs (musig.heap)
        sets = [f"--set={pair}" for pair in a.set]
        done = subprocess.run(
            [*cmd, *sets, "--stage", stage], capture_output=True, text=True, env=env
        )
        if done.returncode:
            print(f"{stage:>12} FAILED: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        res = json.loads(done.stdout.strip().splitlines()[-1])
        res["playlists"] = a.playlists
        extra = {k: v for k, v in res.items() if k not in ("stage", "seconds", "peak_gb")}
        print(f"{stage:>12} {res['seconds']:8.1f} {res['peak_gb']:8.2f}  {extra}", flush=True)
        with (a.work / "bench_scale.jsonl").open("a") as f:
            f.write(json.dumps(res) + "\n")
    if a.clean:
        shutil.rmtree(a.work)


if __name__ == "__main__":
    main()
