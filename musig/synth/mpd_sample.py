"""Playlists of an MPD-profile world: tastes per slice and a scalable sampler.

The model is the default profile's: playlist ``t`` with unit tastes ``u_1, u_2`` (equal unless it
mixes two scenes) draws tracks without replacement (Plackett-Luce, i.e. Gumbel top-k) from

    p_t(j) ∝ w_j**a * (exp(b u_1·ẑ_j) + exp(b u_2·ẑ_j))     (one term for a single scene)

over the materialised universe (:func:`musig.synth.mpd.universe`). Scoring every track for every
playlist is O(playlists x tracks), 2e12 at MPD size, so the sampler splits the candidates:

- **Head, exact.** Each scene ranks all tracks once by ``a log w + b_s ĉ_s·ẑ`` (``b_s`` =
  ``scene_sharpness``, softer than ``b`` so the ranking covers the spread of tastes around the
  scene centre); its top ``head_size`` tracks are scored exactly for every playlist of the scene
  (one matrix product) and get their own Gumbel keys, as in the default sampler.
- **Tail, importance-sampled.** ``tail_candidates`` candidates per playlist come from a proposal
  ``q``: with probability ``1 - defensive_share`` the scene's next ``tail_size`` tracks ∝ that
  scene score, else any track ∝ popularity**``defensive_power`` (flatter, so rare tracks near
  the taste come up too). A candidate in the playlist's head is discarded; the others get the
  key ``log p̃_t(j) - log(m q(j)) + Gumbel``, whose maximum over ``m`` draws approximates the
  Gumbel maximum over the whole tail (Ẑ = mean p̃/q is unbiased).

The playlist is the top ``L`` keys over head and tail, in key order. It is exact when the tail
holds no mass and approximate otherwise. On the 50k-playlist world (``python -m
benchmarks.mpd_sampler``) the heads hold about half of a playlist's probability and heads plus
tail lists 97 %; tracks drawn score within 0.5 % of exact Gumbel top-k over the whole universe
in mean ``b cos(taste, z)`` and lean to popular ones (mean log-popularity 0.35 higher): finite
importance samples underestimate the heavy-tailed tail mass.
``tests/test_synth_mpd.py`` checks both against :func:`exact_slice`. Tastes come from a stream
per slice, so :func:`musig.synth.mpd_oracle.log_probs` recomputes any playlist's ``p_t``
without sampling again.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from musig.synth.mpd import (
    STREAM_SAMPLE,
    STREAM_TASTE,
    MpdConfig,
    Universe,
    _lengths,
    universe,
)


class Plan(NamedTuple):
    """What a slice's playlists look like before any track is drawn."""

    length: np.ndarray  # int64 (B,)
    scene: np.ndarray  # int64 (B, 2) both equal for single-scene playlists
    mixed: np.ndarray  # bool (B,)
    taste: np.ndarray  # float32 (B, 2, D) b * unit taste (second = first when not mixed)


class SceneTables(NamedTuple):
    """Per-scene heads and tail proposals over the universe, built once per world."""

    head: np.ndarray  # int64 (S, H) universe ids of each scene's head
    head_unit: np.ndarray  # float32 (S, H, D)
    head_bias: np.ndarray  # float32 (S, H)
    head_dup: np.ndarray  # bool (S, S, H): head[s2][k] is also in head[s1]
    info: np.ndarray  # uint32 (U', 4) per track, one cache line for the tail's lookups:
    # bias (float32 bits), log popularity proposal (float32 bits), head and tail scene bit masks
    tail_id: np.ndarray  # int64 (S*T,) tail tracks, scene-major
    tail_cdf: np.ndarray  # float64 (S*T,) s + cumulative proposal within scene s
    tail_guide: np.ndarray  # int64 (S*T,) first index of tail_cdf >= k / T (a guide table)
    tail_logz: np.ndarray  # float64 (S,) log-normaliser of the scene score over its tail
    scene_dir: np.ndarray  # float32 (S, D) scene_sharpness * unit scene centre
    pop_cdf: np.ndarray  # float64 (U',) cumulative popularity proposal, ends at 1
    pop_guide: np.ndarray  # int64 (U',) first index of pop_cdf >= k / U'


def slice_plan(cfg: MpdConfig, uni: Universe, sl: int) -> Plan:
    """Lengths, scenes and tastes of slice ``sl`` (pids ``sl * slice_size ...``), own stream."""
    rng = np.random.default_rng([cfg.seed, STREAM_TASTE, sl])
    b = min(cfg.slice_size, cfg.num_playlists - sl * cfg.slice_size)
    s, d = cfg.num_scenes, cfg.latent_dim
    length = _lengths(cfg, rng.random(b))
    scene = rng.choice(s, size=(b, 1), p=uni.scene_weight).repeat(2, axis=1)
    mixed = (rng.random(b) < cfg.mix_prob) & (s > 1)
    scene[mixed, 1] = (scene[mixed, 0] + rng.integers(1, max(s, 2), size=mixed.sum())) % s
    taste = uni.scene_centre[scene] + cfg.taste_scale * rng.standard_normal((b, 2, d))
    taste[~mixed, 1] = taste[~mixed, 0]
    taste = cfg.taste_concentration * taste / np.linalg.norm(taste, axis=2, keepdims=True)
    return Plan(length, scene.astype(np.int64), mixed, taste.astype(np.float32))


def _scene_tops(uni: Universe, scene_dir: np.ndarray, k: int) -> list[np.ndarray]:
    """Per scene, the ids of the k best tracks by a log w + b_s ĉ_s·ẑ, best first.

    Tracks are scored in chunks for all scenes at once; each chunk's k best per scene join a
    running candidate set, so memory stays at a chunk of scores (float32 (C, S)).
    """
    n, s = len(uni.bias), len(scene_dir)
    best = [np.zeros(0, np.int64)] * s
    best_score = [np.zeros(0, np.float32)] * s
    step = 1 << 20
    for a in range(0, n, step):
        score = (
            uni.bias[a : a + step, None] + uni.unit[a : a + step].astype(np.float32) @ scene_dir.T
        )
        for c in range(s):
            ids = np.concatenate([best[c], a + np.arange(len(score))])
            val = np.concatenate([best_score[c], score[:, c]])
            keep = np.argpartition(-val, k - 1)[:k] if len(val) > k else np.arange(len(val))
            best[c], best_score[c] = ids[keep], val[keep]
    out = []
    for c in range(s):
        order = np.lexsort((best[c], -best_score[c]))  # score desc, ties by id: deterministic
        out.append((best[c][order], best_score[c][order]))
    return out


@functools.lru_cache(maxsize=2)
def scene_tables(cfg: MpdConfig) -> SceneTables:
    """Heads and tail proposals of every scene of ``universe(cfg)`` (see the module docstring)."""
    if cfg.num_scenes > 32:
        raise ValueError("MpdConfig.num_scenes must be <= 32 (scene bit masks)")
    uni = universe(cfg)
    n, s = len(uni.bias), cfg.num_scenes
    h = min(cfg.head_size, n)
    t = max(min(cfg.tail_size, n - h), 0)
    c = uni.scene_centre / np.linalg.norm(uni.scene_centre, axis=1, keepdims=True)
    scene_dir = (cfg.scene_sharpness * c).astype(np.float32)
    head = np.empty((s, h), np.int64)
    head_bits, tail_bits = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
    tail_id, tail_cdf, tail_logz = [], [], np.zeros(s)
    for k, (top, score) in enumerate(_scene_tops(uni, scene_dir, h + t)):
        head[k] = np.sort(top[:h])
        head_bits[top[:h]] |= np.uint32(1 << k)
        tail_bits[top[h:]] |= np.uint32(1 << k)
        w = score[h:].astype(np.float64)
        tail_logz[k] = np.logaddexp.reduce(w) if t else 0.0
        tail_id.append(top[h:])
        tail_cdf.append(k + np.cumsum(np.exp(w - tail_logz[k])))
    head_dup = np.stack([[np.isin(head[s2], head[s1]) for s2 in range(s)] for s1 in range(s)])
    pop = np.exp(cfg.defensive_power * (uni.bias.astype(np.float64) - uni.bias.max()))
    pop /= pop.sum()
    info = np.empty((n, 4), np.uint32)
    info[:, 0] = uni.bias.view(np.uint32)
    info[:, 1] = np.log(np.maximum(pop, 1e-300)).astype(np.float32).view(np.uint32)
    info[:, 2], info[:, 3] = head_bits, tail_bits
    tail_cdf = np.concatenate(tail_cdf)
    pop_cdf = np.cumsum(pop)
    pop_cdf /= pop_cdf[-1]
    return SceneTables(
        head, uni.unit[head].astype(np.float32), uni.bias[head], head_dup, info,
        np.concatenate(tail_id), tail_cdf, _guide(tail_cdf, t), tail_logz, scene_dir, pop_cdf,
        _guide(pop_cdf, n),
    )  # fmt: skip


def _guide(cdf: np.ndarray, per_unit: int) -> np.ndarray:
    """Guide table of a cdf over [0, len(cdf) / per_unit): entry k = first index >= k/per_unit."""
    grid = np.arange(len(cdf), dtype=np.float64) / max(per_unit, 1)
    return np.minimum(np.searchsorted(cdf, grid), len(cdf) - 1)


def _kernel(plan: Plan, unit: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """log(exp(b u_1·ẑ) + exp(b u_2·ẑ)) (one term when not mixed) of playlists ``rows``.

    Args:
        unit: float32 (K, D) shared by the rows, or (R, K, D) one set per row.

    Returns:
        float32 (R, K).
    """
    t = plan.taste[rows]  # (R, 2, D)
    mixed = np.flatnonzero(plan.mixed[rows])
    if unit.ndim == 2:
        out = t[:, 0] @ unit.T
        if len(mixed):
            out[mixed] = np.logaddexp(out[mixed], t[mixed, 1] @ unit.T)
    else:
        out = np.einsum("rd,rkd->rk", t[:, 0], unit)
        if len(mixed):
            out[mixed] = np.logaddexp(out[mixed], np.einsum("rd,rkd->rk", t[mixed, 1], unit[mixed]))
    return out


def _guided_search(cdf: np.ndarray, guide: np.ndarray, per_unit: int, x: np.ndarray):
    """np.searchsorted(cdf, x) in O(1) expected time per x: start at the guide table's entry for
    x's cell and step forward; the few x still short after four steps are searched."""
    cell = np.minimum((x * per_unit).astype(np.int64), len(guide) - 1)
    idx = guide[cell]
    for _ in range(4):
        short = cdf[idx] < x
        if not short.any():
            return idx
        idx[short] += 1
        np.minimum(idx, len(cdf) - 1, out=idx)
    short = cdf[idx] < x
    idx[short] = np.searchsorted(cdf, x[short])
    return np.minimum(idx, len(cdf) - 1)


def _gumbel(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    e = rng.standard_exponential(shape, dtype=np.float32)
    return -np.log(np.maximum(e, np.float32(1e-30), out=e), out=e)


def sample_slice(cfg: MpdConfig, uni: Universe, tab: SceneTables, sl: int) -> tuple:
    """Draw slice ``sl``'s playlists with the head-exact, tail-importance-sampled sampler.

    Returns:
        (length int64 (B,), tracks int64 (sum length,) universe ids in playlist order).
    """
    plan = slice_plan(cfg, uni, sl)
    rng = np.random.default_rng([cfg.seed, STREAM_SAMPLE, sl])
    b, n, h = len(plan.length), len(uni.bias), tab.head.shape[1]
    # Head: exact keys over the first scene's head and, for mixed playlists, the second's (tracks
    # already in the first head masked, so that none gets two chances).
    mix = np.flatnonzero(plan.mixed)
    key1, key2 = _gumbel(rng, (b, h)), _gumbel(rng, (len(mix), h))
    for sc in np.unique(plan.scene):
        rows = np.flatnonzero(plan.scene[:, 0] == sc)
        key1[rows] += _kernel(plan, tab.head_unit[sc], rows) + tab.head_bias[sc]
        sub = np.flatnonzero(plan.scene[mix, 1] == sc)
        key2[sub] += _kernel(plan, tab.head_unit[sc], mix[sub]) + tab.head_bias[sc]
        key2[sub] = np.where(tab.head_dup[plan.scene[mix[sub], 0], sc], -np.inf, key2[sub])
    # Tail: m candidates per playlist from q = mean over its two scene slots of
    # (1 - eta) * scene tail + eta * popularity; candidates in either head are discarded.
    m, eta, s = cfg.tail_candidates, cfg.defensive_share, cfg.num_scenes
    slot = plan.scene[np.arange(b)[:, None], (rng.random((b, m)) < 0.5).astype(np.int64)]
    pop_pick = rng.random((b, m)) < eta
    u = rng.random((b, m))
    t = len(tab.tail_id) // s
    if t:
        at = _guided_search(tab.tail_cdf, tab.tail_guide, t, slot + u)
        cand = tab.tail_id[np.minimum(at, (slot + 1) * t - 1)]
    else:
        cand, pop_pick = np.zeros((b, m), np.int64), np.ones((b, m), bool)
    cand[pop_pick] = _guided_search(tab.pop_cdf, tab.pop_guide, n, u[pop_pick])
    unit = uni.unit[cand].astype(np.float32)  # (B, m, D)
    info = tab.info[cand]  # (B, m, 4)
    bias, logq = info.view(np.float32)[..., 0], info.view(np.float32)[..., 1]
    q = eta * np.exp(logq.astype(np.float64))  # (B, m)
    in_head = np.zeros((b, m), bool)
    for k in (0, 1):
        sk = plan.scene[:, k]
        bit = np.uint32(1) << sk[:, None].astype(np.uint32)
        in_head |= (info[..., 2] & bit) != 0
        if t:
            score = bias + np.einsum("bd,bmd->bm", tab.scene_dir[sk], unit)
            qt = np.exp(score.astype(np.float64) - tab.tail_logz[sk][:, None])
            q += 0.5 * (1 - eta) * np.where((info[..., 3] & bit) != 0, qt, 0.0)
    keyt = _kernel(plan, unit, np.arange(b)) + bias
    keyt += _gumbel(rng, (b, m)) - np.log(q * m).astype(np.float32)
    keyt[in_head] = -np.inf
    # Top-L distinct per playlist; single-scene and mixed playlists apart (different widths).
    out = np.empty(int(plan.length.sum()), np.int64)
    start = np.concatenate([[0], np.cumsum(plan.length)[:-1]])
    single = np.flatnonzero(~plan.mixed)
    groups = [
        (single, [tab.head[plan.scene[single, 0]], cand[single]], [key1[single], keyt[single]])
    ]
    if len(mix):
        groups.append((mix, [tab.head[plan.scene[mix, 0]], tab.head[plan.scene[mix, 1]],
                             cand[mix]], [key1[mix], key2, keyt[mix]]))  # fmt: skip
    for rows, ids, keys in groups:
        if len(rows):
            got = _top_distinct(np.concatenate(ids, 1), np.concatenate(keys, 1), plan.length[rows])
            lens = plan.length[rows]
            pos = np.repeat(start[rows] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
            out[pos + np.arange(len(got))] = got
    return plan.length, out


def exact_slice(cfg: MpdConfig, uni: Universe, sl: int, rows: np.ndarray | None = None) -> tuple:
    """Reference sampler: Gumbel top-k over the whole universe, O(B x U'), for checks.

    Same plans as :func:`sample_slice`, own noise; ``rows`` limits it to some playlists of the
    slice (positions). Memory stays at about 2^24 scores whatever the universe.

    Returns:
        (length int64 (R,), tracks int64 (sum length,)) as :func:`sample_slice`.
    """
    plan = slice_plan(cfg, uni, sl)
    rows = np.arange(len(plan.length)) if rows is None else np.asarray(rows, np.int64)
    rng = np.random.default_rng([cfg.seed, STREAM_SAMPLE, sl, 1])
    n = len(uni.bias)
    out = []
    step = max(1, (1 << 24) // n)
    for a in range(0, len(rows), step):
        r = rows[a : a + step]
        key = np.empty((len(r), n), np.float32)
        for c in range(0, n, 1 << 20):
            unit = uni.unit[c : c + (1 << 20)].astype(np.float32)
            key[:, c : c + len(unit)] = _kernel(plan, unit, r) + uni.bias[c : c + len(unit)]
        key += _gumbel(rng, key.shape)
        ids = np.broadcast_to(np.arange(n), key.shape)
        out.append(_top_distinct(ids, key, plan.length[r]))
    return plan.length[rows], np.concatenate(out)


def _top_distinct(ids: np.ndarray, keys: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Per row, the ids of the ``length`` largest keys, each id once (its largest key), in key
    order; ids (B, K) int64, keys (B, K) float32 (-inf = not a candidate) -> int64 (sum length,)."""
    k = min(int(length.max()) + 32, keys.shape[1])
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), 1), 1)
    tid, tkey = np.take_along_axis(ids, top, 1), np.take_along_axis(keys, top, 1)
    # Tail candidates can repeat: a stable sort by id keeps each id's highest key first.
    order = np.argsort(tid, axis=1, kind="stable")
    srt = np.take_along_axis(tid, order, 1)
    dup = np.zeros_like(srt, bool)
    np.put_along_axis(dup, order, np.c_[np.zeros(len(srt), bool), srt[:, 1:] == srt[:, :-1]], 1)
    valid = ~dup & np.isfinite(tkey)
    keep = valid & (np.cumsum(valid, axis=1) <= length[:, None])
    if (keep.sum(1) < length).any():  # k covers 32 repeats; more would need a wider k
        raise AssertionError("sampler: a playlist is short of distinct candidates")
    return tid[keep]
