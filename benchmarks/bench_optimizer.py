"""The per-track table's optimizer step: ``torch.optim.SparseAdam`` against musig's
:class:`musig.train.LazyAdam`, side by side on one table and the same batches.

    python -m benchmarks.bench_optimizer [--tracks 1960000] [--rows 30000 120000] [--steps 20]

A step's rows are drawn at random (a sampled subgraph touches ~10^5 tracks at MPD size); prints
each optimizer's seconds a step on one thread, the ratio, and the largest weight difference.
"""

from __future__ import annotations

import argparse
import time

import torch

from musig.train import LazyAdam


def _run(optimizer, tracks: int, rows: int, steps: int) -> tuple[float, torch.Tensor]:
    torch.manual_seed(0)
    table = torch.nn.Embedding(tracks, 128, sparse=True)
    opt = optimizer(table.parameters(), lr=0.045)
    draws = torch.Generator().manual_seed(1)
    seconds = []
    for _ in range(steps):
        ids = torch.randperm(tracks, generator=draws)[:rows]
        opt.zero_grad()
        table(ids).pow(2).sum().backward()
        t = time.perf_counter()
        opt.step()
        seconds.append(time.perf_counter() - t)
    warm = seconds[len(seconds) // 4 :]
    return sum(warm) / len(warm), table.weight.detach()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=1_960_000)
    ap.add_argument("--rows", type=int, nargs="+", default=[30_000, 120_000])
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for rows in a.rows:
        sparse_s, sparse_w = _run(torch.optim.SparseAdam, a.tracks, rows, a.steps)
        lazy_s, lazy_w = _run(LazyAdam, a.tracks, rows, a.steps)
        diff = (sparse_w - lazy_w).abs().max().item()
        print(
            f"{a.tracks:,} x 128 table, {rows:,} rows a step: SparseAdam {sparse_s:.3f} s, "
            f"LazyAdam {lazy_s:.3f} s ({sparse_s / lazy_s:.2f}x); max weight difference {diff:.1e}"
        )


if __name__ == "__main__":
    main()
