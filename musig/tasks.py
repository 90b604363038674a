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


def sample_contexts(
    indptr: np.ndarray, tracks: np.ndarray, batch: int, context: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per sampled playlist, one target track and ``context`` other entries of it.

    Returns:
        target int64 (B,), context int64 (B, C); positions drawn with replacement, never the
        target's own position.
    """
    lengths = np.diff(indptr)
    eligible = np.flatnonzero(lengths >= 2)
    p = eligible[rng.integers(0, len(eligible), batch)]
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contexts shaped like the challenge's seeds: per sampled playlist a size k from ``sizes``
    (capped at its length - 1) and, with probability ``first_share``, its first k tracks with a
    later track as the target (RecSys'18 "first k"), else k random tracks and another one.

    Returns:
        target int64 (B,); context tracks int64 (M,) and their row in the batch int64 (M,).
    """
    lengths = np.diff(indptr)
    eligible = np.flatnonzero(lengths >= 2)
    p = eligible[rng.integers(0, len(eligible), batch)]
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

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, tuple]:
        if self.shape:
            target, context, row = sample_shaped_contexts(
                *self.playlists, batch_size, self.shape, self.first_share, rng
            )
        else:
            target, context = sample_contexts(*self.playlists, batch_size, self.context, rng)
            row = np.repeat(np.arange(batch_size), self.context)
            context = context.ravel()
        return np.concatenate([target, context]), (target, row)

    def loss(self, z: Tensor, target: tuple[np.ndarray, np.ndarray]) -> Tensor:
        target, row = target
        b = len(target)
        owner = torch.from_numpy(row)
        summed = torch.zeros(b, z.shape[1], dtype=z.dtype).index_add_(0, owner, z[b:])
        query = F.normalize(summed, dim=-1)  # (B, D): direction of the context's mean
        keys, offset = self.candidates(z[:b])  # (B_all, D): in-batch negatives
        logits = query @ keys.T / self.temperature  # (B, B_all)
        if self.logq:
            logits = logits - self.candidates(self.log_q[target])[0][None, :]
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
