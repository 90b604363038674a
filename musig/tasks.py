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
    candidates: Callable[[Tensor], tuple[Tensor, int]] = own_batch

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        target, context = sample_contexts(*self.playlists, batch_size, self.context, rng)
        return np.concatenate([target, context.ravel()]), target

    def loss(self, z: Tensor, target: np.ndarray) -> Tensor:
        b = len(target)
        query = F.normalize(z[b:].reshape(b, self.context, -1).mean(1), dim=-1)  # (B, D)
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
