"""MUSIG's training tasks: each draws a batch of seed tracks and scores the encoder's output.

A task is an object with ``sample(rng, batch_size) -> (seeds, target)`` — the tracks to encode and
whatever its loss needs — and ``loss(z, target)`` on the seeds' embeddings ``z`` (in seed order).
The training loop draws one task per step (multi-task sampling) and never looks inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musig.csr import CSR


def draw_playlists(indptr: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
    """int64 (B,) playlists drawn uniformly, with replacement, among those of >= 2 entries."""
    eligible = np.flatnonzero(np.diff(indptr) >= 2)
    return eligible[rng.integers(0, len(eligible), batch)]


def sample_contexts(
    indptr: np.ndarray,
    tracks: np.ndarray,
    batch: int,
    context: int,
    rng: np.random.Generator,
    playlists: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per sampled playlist, one target track and ``context`` other entries of it.

    Args:
        playlists: int64 (B,) the playlists, when the caller drew them (:func:`draw_playlists`).
    Returns:
        target int64 (B,), context int64 (B, C); positions drawn with replacement, never the
        target's own position.
    """
    lengths = np.diff(indptr)
    p = draw_playlists(indptr, batch, rng) if playlists is None else playlists
    length = lengths[p][:, None]
    t_pos = (rng.random((batch, 1)) * length).astype(np.int64)
    c_pos = (rng.random((batch, context)) * (length - 1)).astype(np.int64)
    c_pos += c_pos >= t_pos  # skip the target's position
    start = indptr[p][:, None]
    return tracks[start + t_pos][:, 0], tracks[start + c_pos]


def sample_shaped_contexts(
    indptr: np.ndarray,
    tracks: np.ndarray,
    batch: int,
    sizes: tuple[int, ...],
    first_share: float,
    rng: np.random.Generator,
    playlists: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contexts shaped like the challenge's seeds: per sampled playlist a size k from ``sizes``
    (capped at its length - 1) and, with probability ``first_share``, its first k tracks with a
    later track as the target (RecSys'18 "first k"), else k random tracks and another one.

    Args:
        playlists: int64 (B,) the playlists, when the caller drew them (:func:`draw_playlists`).
    Returns:
        target int64 (B,); context tracks int64 (M,) and their row in the batch int64 (M,).
    """
    lengths = np.diff(indptr)
    p = draw_playlists(indptr, batch, rng) if playlists is None else playlists
    length = lengths[p]
    k = np.minimum(np.asarray(sizes)[rng.integers(0, len(sizes), batch)], length - 1)
    first = rng.random(batch) < first_share
    # Random order of each playlist's positions (rows padded to the longest with +inf keys).
    width = int(length.max())
    keys = rng.random((batch, width))
    keys[np.arange(width)[None, :] >= length[:, None]] = np.inf
    order = np.argsort(keys, axis=1)
    # "first k": positions 0..k-1, target uniform in k..len-1; "random k": the first k of the
    # random order, target the next one.
    pos = np.where(first[:, None], np.arange(width)[None, :], order)
    t_first = k + (rng.random(batch) * (length - k)).astype(np.int64)
    target_pos = np.where(first, t_first, order[np.arange(batch), k])
    take = np.arange(width)[None, :] < k[:, None]
    row = np.repeat(np.arange(batch), k)
    start = indptr[p]
    context = tracks[start[row] + pos[take]]
    return tracks[start + target_pos], context, row


def log_target_prob(playlists: tuple[np.ndarray, np.ndarray], n: int) -> Tensor:
    """float32 (n,) log P(track is the target) under :func:`sample_contexts`: a uniform
    playlist, then a uniform entry of it."""
    indptr, tracks = playlists
    lengths = np.diff(indptr)
    eligible = lengths >= 2
    w = np.repeat(np.where(eligible, 1.0 / np.maximum(lengths, 1), 0.0), lengths)
    q = np.bincount(tracks, weights=w, minlength=n)
    return torch.from_numpy(np.log(np.maximum(q / max(q.sum(), 1e-12), 1e-12)).astype(np.float32))


def sample_pairs(g: CSR, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` edges drawn with probability proportional to weight: (src int64 (n,), dst (n,))."""
    cum = np.cumsum(g.weights, dtype=np.float64)
    e = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    src = np.searchsorted(g.indptr, e, side="right") - 1
    return src, g.indices[e]


def log_sampling_prob(g: CSR) -> Tensor:
    """float32 (N,) log P(track is a pair endpoint) under :func:`sample_pairs`: its weighted
    degree share."""
    strength = np.bincount(
        np.repeat(np.arange(g.num_nodes), np.diff(g.indptr)),
        weights=g.weights,
        minlength=g.num_nodes,
    )
    return torch.from_numpy(np.log(np.maximum(strength / strength.sum(), 1e-12)).astype(np.float32))


def own_tracks_mask(
    indptr: np.ndarray, tracks: np.ndarray, playlists: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """bool (B, C): candidate j is a track of row i's playlist (a false negative of row i).

    Looks up each playlist's entries among the sorted candidates, so the cost grows with the
    batch's playlist entries, not with B x C.

    Args:
        playlists: int64 (B,) each row's playlist; candidates: int64 (C,) track ids.
    """
    b = len(playlists)
    order = np.argsort(candidates, kind="stable")
    ranked = candidates[order]
    start, length = indptr[playlists], np.diff(indptr)[playlists]
    row = np.repeat(np.arange(b), length)
    entry = tracks[np.repeat(start - np.cumsum(length) + length, length) + np.arange(length.sum())]
    lo = np.searchsorted(ranked, entry, "left")
    count = np.searchsorted(ranked, entry, "right") - lo  # occurrences among the candidates
    hit = np.repeat(np.arange(len(entry)), count)
    pos = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
    mask = np.zeros((b, len(candidates)), bool)
    mask[row[hit], order[pos]] = True
    return mask


def own_batch(rows: Tensor) -> tuple[Tensor, int]:
    """The candidates of an in-batch softmax: this process's batch, its rows from offset 0.

    Under torch.distributed the candidates are every rank's batch
    (:meth:`musig.distributed.DDPReplica.candidates`), so that N processes with B/N examples each
    score the same softmax over B as one process with B.
    """
    return rows, 0


@dataclass
class CoocTask:
    """Organizational: the mean of ``context`` tracks of a playlist must pick out another track
    of it among the batch's targets — the query that playlist completion makes.

    In-batch softmax; with ``logq`` the log sampling probability is subtracted from the logits
    (Yi et al. 2019), else popular tracks, the most frequent negatives, are pushed from everything.
    Mixed negative sampling (Yang et al. 2020): ``uniform`` tracks drawn uniformly from
    ``pool`` join the in-batch candidates, so tail tracks, which are rarely a target,
    are pushed away from queries too; with ``mask_own`` a candidate that belongs to the row's
    playlist (another row's target, a uniform draw) is no negative of that row.
    """

    playlists: tuple[np.ndarray, np.ndarray]  # training playlists as CSR (indptr, tracks)
    log_q: Tensor  # (N,) from log_target_prob
    context: int
    temperature: float
    logq: bool
    # Contexts shaped like the challenge's seeds (sample_shaped_contexts) instead of ``context``
    # random tracks: the sizes to draw from, and the share of "first k" queries.
    shape: tuple[int, ...] = ()
    first_share: float = 0.8
    candidates: Callable[[Tensor], tuple[Tensor, int]] = own_batch
    uniform: int = 0  # uniform negatives per step
    pool: np.ndarray | None = None  # int64 (K,) tracks uniform negatives are drawn from
    mask_own: bool = False

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, tuple]:
        p = draw_playlists(self.playlists[0], batch_size, rng)
        if self.shape:
            target, context, row = sample_shaped_contexts(
                *self.playlists, batch_size, self.shape, self.first_share, rng, p
            )
        else:
            target, context = sample_contexts(*self.playlists, batch_size, self.context, rng, p)
            row = np.repeat(np.arange(batch_size), self.context)
            context = context.ravel()
        extra = np.zeros(0, np.int64)
        if self.uniform:
            extra = self.pool[rng.integers(0, len(self.pool), self.uniform)]
        mask = None
        if self.mask_own:
            mask = own_tracks_mask(*self.playlists, p, np.concatenate([target, extra]))
            mask[np.arange(batch_size), np.arange(batch_size)] = False  # the positive itself
        return np.concatenate([target, context, extra]), (target, row, mask)

    def loss(self, z: Tensor, target: tuple) -> Tensor:
        target, row, mask = target
        b, u = len(target), self.uniform
        owner = torch.from_numpy(row)
        context = z[b : len(z) - u]  # (M, D)
        summed = torch.zeros(b, z.shape[1], dtype=z.dtype).index_add_(0, owner, context)
        query = F.normalize(summed, dim=-1)  # (B, D): direction of the context's mean
        keys, offset = self.candidates(z[:b])  # (B_all, D): in-batch negatives
        log_q = self.candidates(self.log_q[target])[0]  # (B_all,)
        if u:
            keys = torch.cat([keys, z[len(z) - u :]])  # (B_all + U, D)
            # logQ as the log expected count of a candidate: b draws from q, u from the pool.
            uniform_q = torch.full((u,), float(np.log(u / len(self.pool)) - np.log(b)))
            log_q = torch.cat([log_q, uniform_q])
        logits = query @ keys.T / self.temperature  # (B, B_all + U)
        if self.logq:
            logits = logits - log_q[None, :]
        if mask is not None:
            full = torch.zeros(logits.shape, dtype=torch.bool)
            full[:, offset : offset + b] = torch.from_numpy(mask[:, :b])
            full[:, logits.shape[1] - u :] = torch.from_numpy(mask[:, b:])
            logits = logits.masked_fill(full, float("-inf"))
        return F.cross_entropy(logits, torch.arange(b) + offset)


@dataclass
class AcousticTask:
    """Content: link prediction on acoustic kNN edges, in-batch softmax in both directions."""

    edges: CSR  # training acoustic edges (held-out ones removed)
    log_q: Tensor  # (N,) from log_sampling_prob
    temperature: float
    logq: bool
    candidates: Callable[[Tensor], tuple[Tensor, int]] = own_batch

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, tuple]:
        u, v = sample_pairs(self.edges, batch_size, rng)
        return np.concatenate([u, v]), (u, v)

    def loss(self, z: Tensor, target: tuple[np.ndarray, np.ndarray]) -> Tensor:
        u, v = target
        zu, zv = z[: len(u)], z[len(u) :]
        (all_u, offset), (all_v, _) = self.candidates(zu), self.candidates(zv)  # (B_all, D)
        logits = zu @ all_v.T / self.temperature  # (B, B_all)
        logits_t = zv @ all_u.T / self.temperature
        if self.logq:
            logits = logits - self.candidates(self.log_q[v])[0][None, :]
            logits_t = logits_t - self.candidates(self.log_q[u])[0][None, :]
        labels = torch.arange(len(u)) + offset
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits_t, labels))


@dataclass
class GenreTask:
    """Stylistic: a linear classifier on the embedding predicts the track's genre."""

    tracks: np.ndarray  # int64 (T,) labelled training tracks
    genre: np.ndarray  # int64 (N,) genre codes
    head: nn.Module

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        seeds = rng.choice(self.tracks, size=min(batch_size, len(self.tracks)), replace=False)
        return seeds, self.genre[seeds]

    def loss(self, z: Tensor, target: np.ndarray) -> Tensor:
        return F.cross_entropy(self.head(z), torch.from_numpy(target))
