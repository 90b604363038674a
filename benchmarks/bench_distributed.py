"""What the distributed path costs on one machine: Spark vs local graph build, 2 vs 1 processes.

    python -m benchmarks.bench_distributed --data sample_data --work /tmp/bench_dist

On two cores nothing here can speed up; it measures the overheads a cluster run pays on top of
the work: Spark's start and job scheduling against musig's blocked builder (same Parquet output,
identical co-occurrence edges), and the per-example cost of DDP training on two gloo processes
(spawn, dataset and graph loaded per rank, gradient all-reduces) against one process at the same
total number of examples. Prints a table and writes ``WORK/bench_distributed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def graph_builds(data: Path, work: Path, repeats: int) -> dict:
    """Seconds of the local and the Spark build (session start apart) of MUSIG's graph."""
    from musig.data import load_dataset
    from musig.features import load_features
    from musig.methods import get, resolve_config
    from musig.parquet_graph import build_parquet_graph, read_meta
    from musig.spark_graph import session

    ds = load_dataset(data)
    method, cfg = get("musig"), resolve_config("musig")
    feats = load_features(ds, progress=False)
    args = (ds, feats.scaled, feats.mask, method.graph_config(cfg), method.relations(cfg))
    out = {"tracks": ds.num_tracks, "playlists": ds.num_playlists}
    local = []
    for i in range(repeats):
        t = time.perf_counter()
        build_parquet_graph(*args, work / f"local{i}", engine="local")
        local.append(time.perf_counter() - t)
    t = time.perf_counter()
    spark = session("local[2]", "2g")
    out["spark_start_s"] = time.perf_counter() - t
    remote = []
    try:
        for i in range(repeats):
            t = time.perf_counter()
            build_parquet_graph(*args, work / f"spark{i}", engine="spark", spark=spark)
            remote.append(time.perf_counter() - t)
    finally:
        spark.stop()
    out["local_s"], out["spark_s"] = min(local), min(remote)
    out["edges"] = read_meta(work / "local0")["edges"]
    return out


def training(data: Path, work: Path, steps: int, batch: int) -> dict:
    """Wall seconds of ``musig train`` on 1 and 2 processes at the same total examples."""
    out = {"steps": steps, "batch_size": batch}
    sets = ["--set", f"steps={steps}", "--set", f"batch_size={batch}", "--set", "eval_every=100000"]
    for nproc in (1, 2):
        run = work / f"run{nproc}"
        cmd = [sys.executable, "-m", "musig", "-q", "train", "--data", str(data), "--out", str(run)]
        t = time.perf_counter()
        subprocess.run([*cmd, *sets, "--no-map", "--nproc", str(nproc)], check=True)
        wall = time.perf_counter() - t
        meta = json.loads((run / "run.json").read_text())
        log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
        loop = max(r["seconds"] for r in log if r["kind"] == "train")
        out[f"nproc{nproc}"] = {
            "wall_s": wall,
            "fit_s": meta["train_seconds"],
            "loop_s": loop,
            "ms_per_example": 1000 * loop / (steps * batch),
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("sample_data"))
    p.add_argument("--work", type=Path, default=Path("/tmp/bench_dist"))
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=256)
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MUSIG_CACHE_DIR", str(a.work / "cache"))
    result = {"load_average": os.getloadavg()[0]}
    result["graph"] = graph_builds(a.data, a.work / "graphs", a.repeats)
    result["train"] = training(a.data, a.work / "train", a.steps, a.batch_size)
    result["load_average_after"] = os.getloadavg()[0]
    g, t = result["graph"], result["train"]
    print(f"graph of {g['tracks']} tracks, {g['playlists']} playlists, edges {g['edges']}")
    print(f"  local build {g['local_s']:.1f} s; Spark local[2] start {g['spark_start_s']:.1f} s")
    print(f"  + build {g['spark_s']:.1f} s ({g['spark_s'] / g['local_s']:.0f}x local)")
    for nproc in (1, 2):
        r = t[f"nproc{nproc}"]
        print(
            f"train {nproc} process(es), {t['steps']} steps x {t['batch_size']}: loop "
            f"{r['loop_s']:.1f} s ({r['ms_per_example']:.3f} ms/example), fit {r['fit_s']:.1f} s,"
            f" command {r['wall_s']:.1f} s"
        )
    (a.work / "bench_distributed.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
