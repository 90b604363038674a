"""MUSIG training's resident memory over its steps, and the cost of a step.

    python -m benchmarks.bench_memory --data SPLIT [--steps 300] [--every 100] [--trim N]
                                      [--threads 1]

Trains MUSIG on ``--data`` (the large-graph settings from 5M entries on, as ``bench_scale``) and
prints, every ``--every`` steps, the resident memory now, the peak so far and the seconds since
the start. ``--trim N`` hands glibc's free heap pages back to the system (``malloc_trim``) every
N steps from the training callback, to measure how much of the peak is allocator fragmentation.
It is an experiment, not part of musig: ``malloc_trim`` inside training crashed the two-process
DDP tests (glibc 2.36: "malloc(): unaligned tcache chunk detected", with gloo's threads
allocating at the same time).
"""

from __future__ import annotations

import argparse
import ctypes
import resource
import tempfile
import time
from pathlib import Path

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
    ap.add_argument("--trim", type=int, default=0, help="steps between trims (0: never)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (MUSIG's num_threads)")
    a = ap.parse_args()
    trim = ctypes.CDLL(None).malloc_trim
    start = time.perf_counter()

    def show(record: dict) -> None:
        if record.get("kind") != "train":
            return
        if a.trim and record["step"] % a.trim == 0:
            trim(0)
        if record["step"] % a.every == 0:
            print(
                f"step {record['step']:>6}  rss {_rss_gb():5.2f} GB  peak {_peak_gb():5.2f} GB  "
                f"{time.perf_counter() - start:6.0f} s",
                flush=True,
            )

    overrides = {
        "steps": a.steps,
        "eval_every": a.steps,
        "num_threads": a.threads,
        "graph": {"large_entries": 5_000_000},
    }
    with tempfile.TemporaryDirectory() as tmp:
        train_run(a.data, "musig", Path(tmp) / "run", overrides=overrides, compute_map=False,
                  callback=show)  # fmt: skip
    print(f"trim every {a.trim or 'never'} steps: peak {_peak_gb():.2f} GB (embedding included)")


if __name__ == "__main__":
    main()
