"""How close is the MPD profile's sampler to exact Gumbel top-k, and how fast is it?

    python -m benchmarks.mpd_sampler --playlists 50000 --rows 200

For the first ``rows`` playlists of slice 0 of a world of ``--playlists`` playlists: the share of
each playlist's probability mass p_t that lies in its scene head(s) (scored exactly), and the
mean b cos(taste, z) and mean log popularity of the tracks drawn by the sampler and by exact
Gumbel top-k over the whole universe (same tastes and lengths). Then one slice's sampling time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_limits

from musig.synth.mpd import MpdConfig, universe
from musig.synth.mpd_sample import _kernel, exact_slice, sample_slice, scene_tables, slice_plan


def head_mass(cfg: MpdConfig, uni, tab, plan, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 (R,) twice: share of p_t inside the playlist's head(s), and inside head(s) plus
    the scene tail lists the proposal draws from."""
    n, s = len(uni.bias), cfg.num_scenes
    total = np.full(len(rows), -np.inf)
    part = np.full((2, len(rows)), -np.inf)
    heads = [tab.head[plan.scene[r]].ravel() for r in rows.tolist()]
    t = len(tab.tail_id) // s
    tails = [tab.tail_id[np.r_[sc[0] * t : sc[0] * t + t, sc[1] * t : sc[1] * t + t]]
             for sc in plan.scene[rows]]  # fmt: skip
    for c in range(0, n, 1 << 20):
        unit = uni.unit[c : c + (1 << 20)].astype(np.float32)
        k = (_kernel(plan, unit, rows) + uni.bias[c : c + len(unit)]).astype(np.float64)
        total = np.logaddexp(total, np.logaddexp.reduce(k, axis=1))
        for i in range(len(rows)):
            for j, ids in enumerate((heads[i], np.concatenate([heads[i], tails[i]]))):
                m = np.unique(ids[(ids >= c) & (ids < c + len(unit))]) - c
                if len(m):
                    part[j, i] = np.logaddexp(part[j, i], np.logaddexp.reduce(k[i, m]))
    return np.exp(part[0] - total), np.exp(part[1] - total)


def drawn_stats(cfg, uni, plan, rows, length, tracks) -> tuple[float, float]:
    """Mean b cos(taste, z) and mean log popularity of drawn tracks."""
    unit = uni.unit[tracks].astype(np.float32)[:, None]
    per = np.repeat(rows, length)
    return float(_kernel(plan, unit, per)[:, 0].mean()), float(uni.bias[tracks].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--playlists", type=int, default=50_000)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = replace(MpdConfig(), num_playlists=args.playlists, seed=args.seed)
    with threadpool_limits(1):
        t = time.perf_counter()
        uni, tab = universe(cfg), scene_tables(cfg)
        print(f"{args.playlists} playlists: universe of {len(uni.bias):,} drawable tracks, "
              f"heads and tails built in {time.perf_counter() - t:.1f} s")  # fmt: skip
        plan = slice_plan(cfg, uni, 0)
        rows = np.arange(min(args.rows, len(plan.length)))
        share, listed = head_mass(cfg, uni, tab, plan, rows)
        for name, x in (("exact head", share), ("head + scene tail lists", listed)):
            print(
                f"p_t mass in the {name}: median {np.median(x):.3f}, "
                f"10th percentile {np.quantile(x, 0.1):.3f}, mean {x.mean():.3f}"
            )
        t = time.perf_counter()
        length, tracks = sample_slice(cfg, uni, tab, 0)
        took = time.perf_counter() - t
        off = np.concatenate([[0], np.cumsum(length)])
        mine = np.concatenate([tracks[off[r] : off[r + 1]] for r in rows])
        ex_len, ex_tracks = exact_slice(cfg, uni, 0, rows)
        a = drawn_stats(cfg, uni, plan, rows, length[rows], mine)
        e = drawn_stats(cfg, uni, plan, rows, ex_len, ex_tracks)
        print(f"{'':>10}  {'mean b cos':>10}  {'mean log w':>10}")
        print(f"{'sampler':>10}  {a[0]:10.3f}  {a[1]:10.3f}")
        print(f"{'exact':>10}  {e[0]:10.3f}  {e[1]:10.3f}")
        print(f"one slice ({len(length)} playlists, {int(length.sum()):,} entries): {took:.2f} s")


if __name__ == "__main__":
    main()
