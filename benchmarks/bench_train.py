"""Graph build, MUSIG training and inductive embedding of one 30 s clip, on a dataset folder.

    python -m benchmarks.bench_train --data sample_data [--set num_threads=2 ...] [--profile 200]

Prints wall times on this machine. ``--profile N`` instead trains N steps under torch's profiler
and prints where a step's time goes (the ops by self CPU time) and how much of the catalog one
step's subgraph reaches. The clip is rendered by the world's own generator (so it is
music-like) and written as a 30 s WAV; "warm" means after one embedding has compiled numba code.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from musig.audio import warmup
from musig.cli import parse_overrides
from musig.data import load_dataset
from musig.features import load_features
from musig.graph import build_graph
from musig.methods import resolve_config
from musig.pipeline import train_run
from musig.runs import load_run, read_log
from musig.sampling import cumulative_weights, sample_subgraph


def clip_30s(world: Path, out: Path) -> Path:
    """A 30 s WAV made of a catalog track's re-rendered audio repeated (the upload example)."""
    from musig.synth import render_track

    y, sr = render_track(world / "world.json", "synth:track:00001")
    sf.write(out, np.tile(y, int(np.ceil(30 * sr / len(y))))[: 30 * sr], sr)
    return out


def profile_steps(ds, feats, cfg, overrides: dict, steps: int) -> None:
    """Where a training step's time goes, and the size of a step's subgraph."""
    from torch.profiler import ProfilerActivity, profile

    graph = build_graph(ds, feats.scaled, feats.mask, cfg.graph)
    relations = {r: graph.relations[r] for r in cfg.relations}
    # A co-occurrence step's seeds: batch x (context + target) tracks plus the uniform
    # negatives, all from tracks with playlist history as in training.
    rng = np.random.default_rng(0)
    size = cfg.batch_size * (cfg.cooc_context + 1) + cfg.uniform_negatives
    seeds = rng.choice(np.flatnonzero(ds.popularity > 0), size)
    fanouts = {r: list(cfg.fanouts) for r in relations}
    cum = {r: cumulative_weights(g) for r, g in relations.items()}
    t = time.perf_counter()
    for _ in range(20):
        sub = sample_subgraph(relations, seeds, fanouts, random_state=rng, cum_weights=cum)
    sampler_ms = (time.perf_counter() - t) / 20 * 1e3
    edges = sum(e.shape[1] for e in sub.edge_index.values())
    print(
        f"a step's subgraph ({len(seeds):,} random seeds): {len(sub.n_id):,} nodes of "
        f"{graph.num_nodes:,} ({len(sub.n_id) / graph.num_nodes:.0%}), {edges:,} edges; "
        f"drawn in {sampler_ms:.1f} ms"
    )
    short = {**overrides, "steps": steps, "eval_every": steps}
    with tempfile.TemporaryDirectory() as tmp:
        train_run(ds, "musig", Path(tmp) / "warm", overrides={**short, "steps": 10},
                  features=feats, compute_map=False)  # fmt: skip
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run = train_run(ds, "musig", Path(tmp) / "run", overrides=short, features=feats,
                            compute_map=False)  # fmt: skip
        log = read_log(run)
    seconds = log.loc[log["kind"] == "train", "seconds"].iloc[-1]
    print(
        f"{steps} steps in {seconds:.1f} s under the profiler: {seconds / steps * 1e3:.0f} ms "
        f"a step, of which the sampler about {sampler_ms:.0f} ms (NumPy, not in the table)"
    )
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="sample_data", type=Path)
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a MUSIG setting changed from the registry's (repeatable)",
    )
    ap.add_argument("--profile", type=int, metavar="STEPS", help="profile this many steps instead")
    args = ap.parse_args()
    overrides = parse_overrides(args.set)
    ds = load_dataset(args.data)
    feats = load_features(ds)
    cfg = resolve_config("musig", overrides)
    if args.profile:
        profile_steps(ds, feats, cfg, overrides, args.profile)
        return
    t = time.perf_counter()
    graph = build_graph(ds, feats.scaled, feats.mask, cfg.graph)
    print(
        f"graph build: {time.perf_counter() - t:.2f} s "
        f"({', '.join(f'{r} {g.num_edges:,} entries' for r, g in graph.relations.items())})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_path = train_run(
            ds, "musig", Path(tmp) / "run", overrides=overrides, features=feats, compute_map=True
        )
        total = time.perf_counter() - t
        run = load_run(run_path)
        print(
            f"musig train (graph + fit): {run.meta['train_seconds']:.1f} s; "
            f"with the 2-D map and saving: {total:.1f} s  ({cfg.steps} steps"
            f"{''.join(f', {k}={v}' for k, v in overrides.items())})"
        )
        clip = clip_30s(args.data, Path(tmp) / "clip.wav")
        t = time.perf_counter()
        warmup()
        run.embed_audio(clip)
        print(
            f"first upload in a fresh process (numba compile, run load): "
            f"{time.perf_counter() - t:.2f} s"
        )
        times = []
        for _ in range(5):
            t = time.perf_counter()
            emb = run.embed_audio(clip)
            times.append(time.perf_counter() - t)
        print(
            f"30 s clip -> embedding + 10 neighbours, warm: median {np.median(times):.3f} s "
            f"(min {min(times):.3f}); nearest: {emb.neighbor_uris[0]}"
        )


if __name__ == "__main__":
    main()
