"""MUSIG training's resident memory over its steps, and the cost of a step.

    python -m benchmarks.bench_memory --data SPLIT [--steps 300] [--every 100] [--trim N]

Trains MUSIG on ``--data`` (the large-graph settings from 5M entries on, as ``bench_scale``) and
prints, every ``--every`` steps, the resident memory now, the peak so far and the seconds since
the start. ``--trim N`` overrides how often training hands freed memory back to the system
(``musig.train.TRIM_EVERY``; 0 = never), to compare settings side by side in separate runs.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from musig import train
from musig.pipeline import train_run


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**30


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--trim", type=int, help="steps between trims (0: never)")
    a = ap.parse_args()
    if a.trim is not None:
        train.TRIM_EVERY = a.trim or a.steps + 1
    start = time.perf_counter()

    def show(record: dict) -> None:
        if record.get("kind") == "train" and record["step"] % a.every == 0:
            print(
                f"step {record['step']:>6}  rss {_rss_gb():5.2f} GB  peak {_peak_gb():5.2f} GB  "
                f"{time.perf_counter() - start:6.0f} s",
                flush=True,
            )

    overrides = {"steps": a.steps, "eval_every": a.steps, "graph": {"large_entries": 5_000_000}}
    with tempfile.TemporaryDirectory() as tmp:
        train_run(a.data, "musig", Path(tmp) / "run", overrides=overrides, compute_map=False,
                  callback=show)  # fmt: skip
    print(f"trim every {train.TRIM_EVERY} steps: peak {_peak_gb():.2f} GB (embedding included)")


if __name__ == "__main__":
    main()
