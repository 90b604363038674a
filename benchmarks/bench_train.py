"""Graph build, MUSIG training and inductive embedding of one 30 s clip, on a dataset folder.

    python -m benchmarks.bench_train --data sample_data

Prints wall times on this machine. The clip is rendered by the world's own generator (so it is
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
from musig.data import load_dataset
from musig.features import load_features
from musig.graph import build_graph
from musig.methods import resolve_config
from musig.pipeline import train_run
from musig.runs import load_run


def clip_30s(world: Path, out: Path) -> Path:
    """A 30 s WAV made of a catalog track's re-rendered audio repeated (the upload example)."""
    from musig.synth import render_track

    y, sr = render_track(world / "world.json", "synth:track:00001")
    sf.write(out, np.tile(y, int(np.ceil(30 * sr / len(y))))[: 30 * sr], sr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="sample_data", type=Path)
    args = ap.parse_args()
    ds = load_dataset(args.data)
    feats = load_features(ds)
    cfg = resolve_config("musig")
    t = time.perf_counter()
    graph = build_graph(ds, feats.scaled, feats.mask, cfg.graph)
    print(
        f"graph build: {time.perf_counter() - t:.2f} s "
        f"({', '.join(f'{r} {g.num_edges:,} entries' for r, g in graph.relations.items())})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_path = train_run(ds, "musig", Path(tmp) / "run", features=feats, compute_map=True)
        total = time.perf_counter() - t
        run = load_run(run_path)
        print(
            f"musig train (graph + fit): {run.meta['train_seconds']:.1f} s; "
            f"with the 2-D map and saving: {total:.1f} s  ({cfg.steps} steps)"
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
